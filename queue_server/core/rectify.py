"""The rectification ledger (差评整改台账): a bad rating followed through, as one table.

A dissatisfied or very dissatisfied rating opens a record owned by the department of
the case. Its life::

    open ─verify valid──────────────────────▶ verified ─contact─▶ contacted ─fix─▶ rectified
      │                                          ▲                                  │
      └─verify not_at_fault / malicious─▶ appealed                                callback
                                   │    (hall supervisor)                            ▼
                                   ├─decide overturn─┘                          called_back
                                   └─decide uphold──▶ dismissed                      │
                                                                                   close
                                                                                     ▼
                                                                                   closed

Every allowed step is one row of :data:`TRANSITIONS`, keyed by (state, op, outcome);
the store asks :func:`next_state` before it writes and the tests walk every row. Who may
take a step is the permission table's (``ledger.<op>``), never written here.

Deadlines count working days after the day of the rating with the hall calendar
(``RatingSettings``): verification and contact by ``contact_days``, the fix by
``rectify_days``, the call-back by ``callback_days``; an appeal is decided by the fix's
deadline. A record whose pending step is past its deadline is red, on its due day
yellow, green before. Dismissed and closed records are off the clock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from .calendar import WorkCalendar
from .errors import InvalidTransition, Refused
from .ratings import RatingSettings


class RState(StrEnum):
    OPEN = "open"
    APPEALED = "appealed"
    VERIFIED = "verified"
    CONTACTED = "contacted"
    RECTIFIED = "rectified"
    CALLED_BACK = "called_back"
    CLOSED = "closed"
    DISMISSED = "dismissed"


class ROp(StrEnum):
    VERIFY = "verify"
    DECIDE = "decide"
    CONTACT = "contact"
    FIX = "fix"
    CALLBACK = "callback"
    CLOSE = "close"


OP, AP, VE, CO, RE, CB, CL, DI = (
    RState.OPEN,
    RState.APPEALED,
    RState.VERIFIED,
    RState.CONTACTED,
    RState.RECTIFIED,
    RState.CALLED_BACK,
    RState.CLOSED,
    RState.DISMISSED,
)

TRANSITIONS: dict[tuple[RState, ROp, str], RState] = {
    # The department verifies the facts: a real fault, or not (an appeal: 申诉).
    (OP, ROp.VERIFY, "valid"): VE,
    (OP, ROp.VERIFY, "not_at_fault"): AP,
    (OP, ROp.VERIFY, "malicious"): AP,
    # The hall supervisor reviews the appeal (复核): upheld, the rating is set aside;
    # overturned, the department rectifies like any valid complaint.
    (AP, ROp.DECIDE, "uphold"): DI,
    (AP, ROp.DECIDE, "overturn"): VE,
    # The citizen is contacted (or could not be: that is recorded, and the loop goes on).
    (VE, ROp.CONTACT, "reached"): CO,
    (VE, ROp.CONTACT, "unreachable"): CO,
    # The fault is fixed, and what was done is written down.
    (CO, ROp.FIX, "done"): RE,
    # The call-back (回访): the citizen's view of the fix, or no answer.
    (RE, ROp.CALLBACK, "satisfied"): CB,
    (RE, ROp.CALLBACK, "dissatisfied"): CB,
    (RE, ROp.CALLBACK, "unreachable"): CB,
    # The department head signs the record off.
    (CB, ROp.CLOSE, "closed"): CL,
}

FINAL = frozenset({CL, DI})
OPEN_STATES = frozenset(set(RState) - FINAL)
NEEDS_TEXT = frozenset({ROp.VERIFY, ROp.FIX})
"""Steps that must say what was found or done (for the ledger; staff text, not the audit)."""
PHONE_STATES = frozenset({VE, CO, RE})
"""States in which the person calling back may see the citizen's full number."""


def outcomes(op: ROp) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k[2] for k in TRANSITIONS if k[1] is op))


def next_state(state: RState, op: ROp, outcome: str) -> RState:
    """The state after a step; a clear refusal when the table has no row for it."""
    if outcome not in outcomes(op):
        raise Refused(f"{op.value} takes one of: {', '.join(outcomes(op))}", code="bad_outcome")
    try:
        return TRANSITIONS[(state, op, outcome)]
    except KeyError:
        raise InvalidTransition(
            f"a record that is {state.value} cannot be given {op.value!r} now"
        ) from None


def possible(state: RState) -> list[ROp]:
    """The steps that may come next (for pages: one button per step)."""
    return list(dict.fromkeys(op for (st, op, _o) in TRANSITIONS if st is state))


# -- the clock -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Dues:
    contact: dt.date
    rectify: dt.date
    callback: dt.date


def dues(cal: WorkCalendar, opened_on: dt.date, settings: RatingSettings) -> Dues:
    """The step deadlines of a record opened on ``opened_on`` (raises CalendarMissing)."""
    return Dues(
        cal.add_working_days(opened_on, settings.contact_days),
        cal.add_working_days(opened_on, settings.rectify_days),
        cal.add_working_days(opened_on, settings.callback_days),
    )


def due_of(state: RState, d: Dues) -> dt.date | None:
    """When the pending step of a record in ``state`` is due; None off the clock."""
    return {
        OP: d.contact,
        VE: d.contact,
        AP: d.rectify,
        CO: d.rectify,
        RE: d.callback,
        CB: d.callback,
    }.get(state)


def light(state: RState, d: Dues | None, today: dt.date) -> str | None:
    """``red`` past the pending step's day, ``yellow`` on it, ``green`` before it."""
    if d is None:
        return None
    due = due_of(state, d)
    if due is None:
        return None
    if today > due:
        return "red"
    return "yellow" if today == due else "green"
