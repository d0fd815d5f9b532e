"""Wrong guesses counted in the database: PINs at sign-in and for priority, ticket proofs.

A guess is counted *before* it is checked (:func:`reserve`), in the same transaction that
reads the count, so guesses in flight at once each take their own place in the count and
the lock comes after the allowed number however they are timed: a burst of parallel
sign-ins cannot read one stale count. The right answer clears the count
(:func:`succeeded`). Kept in the database, so every server process behind one PostgreSQL
honours the same lock, and a restart does not forget it. Time is passed in (the server's
clock), so lock expiry is tested without waiting.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ..core.errors import Refused
from . import schema as s

GUESSES_BEFORE_LOCK = 5
LOCK_S = 300

_t = s.sign_in_failures.c


def reserve(
    conn: Connection,
    subject: str,
    now: dt.datetime,
    *,
    limit: int = GUESSES_BEFORE_LOCK,
    lock_for: dt.timedelta = dt.timedelta(seconds=LOCK_S),
    message: str = "too many wrong PINs; try again in a few minutes",
) -> dt.datetime | None:
    """Count one guess for ``subject``, or refuse with ``locked`` when it is locked.

    The guess stays counted unless :func:`succeeded` clears it; the ``limit``-th guess
    in a row without a success locks the subject for ``lock_for``. Returns the lock's
    end when this guess set it (supervisors are told), else None.
    """
    row = conn.execute(
        select(_t.failures, _t.locked_until).where(_t.subject == subject).with_for_update()
    ).first()
    if row is not None and row.locked_until is not None:
        if row.locked_until > now:
            raise Refused(message, code="locked", until=row.locked_until.isoformat())
        row = None  # the lock ran out: a fresh start
        conn.execute(delete(s.sign_in_failures).where(_t.subject == subject))
    failures = (row.failures if row is not None else 0) + 1
    locked_until = now + lock_for if failures >= limit else None
    values = {"failures": failures, "locked_until": locked_until, "at": now}
    if row is None:
        conn.execute(insert(s.sign_in_failures).values(subject=subject, **values))
    else:
        conn.execute(update(s.sign_in_failures).where(_t.subject == subject).values(**values))
    return locked_until


def check(conn: Connection, subject: str, now: dt.datetime, message: str) -> None:
    """Refuse with ``locked`` while ``subject`` is locked; counts nothing."""
    until = conn.execute(select(_t.locked_until).where(_t.subject == subject)).scalar_one_or_none()
    if until is not None and until > now:
        raise Refused(message, code="locked", until=until.isoformat())


def succeeded(conn: Connection, subject: str) -> None:
    """The right answer: forget the wrong guesses before it."""
    conn.execute(delete(s.sign_in_failures).where(_t.subject == subject))


def failures(conn: Connection, subject: str) -> int:
    return conn.execute(select(_t.failures).where(_t.subject == subject)).scalar_one_or_none() or 0
