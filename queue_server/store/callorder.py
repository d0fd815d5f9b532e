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

from sqlalchemy import and_, case, or_

from ..core import rules
from . import schema as s

t = s.tickets.c


def call_class(now: Any) -> Any:
    """``rules.call_class`` as a CASE: priority, then an appointment due, then the rest."""
    return case(
        (and_(t.priority.is_not(None), t.priority != rules.APPOINTMENT), rules.PRIORITY_CLASS),
        (
            and_(
                t.priority == rules.APPOINTMENT,
                or_(t.appointment_at.is_(None), t.appointment_at <= now),
            ),
            rules.APPOINTMENT_CLASS,
        ),
        else_=rules.ORDINARY_CLASS,
    )


def call_key(window_queues: Sequence[str], now: Any) -> list[Any]:
    """``rules.call_key`` as ORDER BY terms: class, preference (ordinary only), time, id."""
    cls = call_class(now)
    pref = case(*[(t.queue == q, i) for i, q in enumerate(window_queues)], else_=0)
    return [cls, case((cls == rules.ORDINARY_CLASS, pref), else_=0), t.sort_at, t.id]


def waits_for(window: int, window_queues: Sequence[str]) -> Any:
    """``rules.eligible``: sent to this window, or to none and in one of its queues."""
    return or_(
        t.target_window == window,
        and_(t.target_window.is_(None), t.queue.in_(list(window_queues))),
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
