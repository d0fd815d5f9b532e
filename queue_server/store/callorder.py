"""The call order in SQL: the one translation of ``rules.call_key`` and ``rules.eligible``.

The rule itself is written once, in :mod:`queue_server.core.rules`. The database must
pick the same ticket without loading every waiting one, so this module is its only SQL
form: ``call.next`` (with row locks), the clerk's waiting list and people-ahead all build
their queries from the functions here, and a property test plays random halls through
both and checks they agree (priorities, due and early appointments, transfers to a queue
or a window, queue preferences), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, or_, select, union_all

from ..core import rules
from . import schema as s

t = s.tickets.c


def call_class(now: Any, c: Any = t) -> Any:
    """``rules.call_class`` in SQL: the filed class (``tickets.call_class``, the database's
    own ``rules.filed_class``), except an appointment whose slot has not come yet, which
    waits as an ordinary ticket. ``c``: the columns to read (the table's, or a
    subquery's)."""
    return case(
        (
            and_(c.call_class == rules.APPOINTMENT_CLASS, c.appointment_at > now),
            rules.ORDINARY_CLASS,
        ),
        else_=c.call_class,
    )


def call_key(window_queues: Sequence[str], now: Any, c: Any = t) -> list[Any]:
    """``rules.call_key`` as ORDER BY terms: class, preference (ordinary only), time, id."""
    cls = call_class(now, c)
    pref = case(*[(c.queue == q, i) for i, q in enumerate(window_queues)], else_=0)
    return [cls, case((cls == rules.ORDINARY_CLASS, pref), else_=0), c.sort_at, c.id]


def waits_for(window: int, window_queues: Sequence[str]) -> Any:
    """``rules.eligible``: sent to this window, or to none and in one of its queues."""
    return or_(
        t.target_window == window,
        and_(t.target_window.is_(None), t.queue.in_(list(window_queues))),
    )


def next_ticket(window: int, window_queues: Sequence[str]) -> Select[Any]:
    """A window's next ticket by index seeks instead of a sort of the whole line.

    Whatever the line's length, the next ticket is among: the first priority and the
    first ordinary ticket of each of the window's queues (by ``sort_at``, ``id``: the
    order within one class and queue), every appointment of those queues (few; whether
    each is due depends on the clock), and every ticket sent to this window. Those few
    are put in order by :func:`call_key` and the first is locked with SKIP LOCKED.

    It returns no row when the line is empty, or (PostgreSQL) when another server is
    calling that very ticket: the caller then asks the full ordered statement.
    ``day`` and ``now`` are bound parameters.
    """
    day = bindparam("day")
    waiting = (t.day == day, t.status == "waiting")
    key = (t.id, t.queue, t.call_class, t.appointment_at, t.sort_at)  # what call_key reads
    parts: list[Any] = []
    for queue in window_queues:
        for cls in (rules.PRIORITY_CLASS, rules.ORDINARY_CLASS):
            first = (
                select(*key)
                .where(*waiting, t.target_window.is_(None), t.queue == queue, t.call_class == cls)
                .order_by(t.sort_at, t.id)
                .limit(1)
                .subquery()
            )
            parts.append(select(first))
    parts.append(
        select(*key).where(
            *waiting,
            t.target_window.is_(None),
            t.queue.in_(list(window_queues)),
            t.call_class == rules.APPOINTMENT_CLASS,
        )
    )
    parts.append(select(*key).where(*waiting, t.target_window == window))
    few = union_all(*parts).subquery("candidates")
    now = bindparam("now", type_=s.UTCDateTime())
    first_id = (
        select(few.c.id).order_by(*call_key(window_queues, now, few.c)).limit(1).scalar_subquery()
    )
    return (
        select(s.tickets)
        .where(t.id == first_id, t.status == "waiting")
        .with_for_update(skip_locked=True)
    )


def before(terms: Sequence[Any], key: Sequence[Any]) -> Any:
    """Rows whose key (``terms``) sorts before ``key``: the lexicographic "<"."""
    head, value = terms[0], key[0]
    if len(terms) == 1:
        return head < value
    return or_(head < value, and_(head == value, before(terms[1:], key[1:])))


def candidate(row: Any) -> rules.Candidate:
    """What the call order needs of a loaded ticket row."""
    return rules.Candidate(
        row["id"],
        row["queue"],
        row["sort_at"],
        row["priority"],
        row["appointment_at"],
        row["target_window"],
    )


def key_of(row: Any, window_queues: Sequence[str], now: dt.datetime) -> tuple[Any, ...]:
    """A loaded ticket's key, from the rule itself (for comparisons with :func:`before`)."""
    return rules.call_key(candidate(row), window_queues, now)
