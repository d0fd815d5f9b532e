"""A promised case's life from the window to delivery, as one table, and its clock.

A promised service (办件 with a promised time, 承诺件) is accepted at the window, processed
in its department's back office and handed back at the unified pick-up window (统一出件)::

    accepted ─review (B)─▶ in_review ─decide (A)─▶ decided ─ready─▶ ready ─deliver─▶ delivered
        │                      │
        └─refuse─▶ refused ◀───┘
    accepted / in_review / decided ──suspend──▶ suspended ──resume──▶ (where it was)
    accepted / in_review / decided / suspended ──extend──▶ (the same state, a later due day)

Every allowed change is one row of :data:`TRANSITIONS`; the store asks
:func:`casefile_next` before it writes, and the tests walk every row.

The clock: a case is due at the end of the ``promised_days``-th working day after the day
it was accepted (the acceptance day itself is not counted). A suspension (中止: waiting for
the citizen's missing materials) stops the clock; on resume the due day moves by the
working days the case spent suspended. An extension (延期) moves it by the working days an
approver grants. The clock stops when the case is ready (办结) or refused.

Lights are a pure function of (case, calendar, now): red once the due day has ended,
yellow when few working days are left (``CaseFileSettings``), green otherwise. A
suspended case keeps the light it had when it was suspended.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from enum import StrEnum

from .calendar import CalendarMissing, WorkCalendar
from .errors import InvalidTransition
from .hall import CaseFileSettings


class CaseState(StrEnum):
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    READY = "ready"
    DELIVERED = "delivered"
    REFUSED = "refused"
    SUSPENDED = "suspended"


class CaseOp(StrEnum):
    REVIEW = "review"
    DECIDE = "decide"
    READY = "ready"
    DELIVER = "deliver"
    REFUSE = "refuse"
    SUSPEND = "suspend"
    RESUME = "resume"
    EXTEND = "extend"


AC, IR, DE, RD, DL, RF, SU = (
    CaseState.ACCEPTED,
    CaseState.IN_REVIEW,
    CaseState.DECIDED,
    CaseState.READY,
    CaseState.DELIVERED,
    CaseState.REFUSED,
    CaseState.SUSPENDED,
)
RESUMED = None
"""In the table: the state the case was in when it was suspended."""

TRANSITIONS: dict[tuple[CaseState, CaseOp], CaseState | None] = {
    # B (officer) takes the accepted case into the first review.
    (AC, CaseOp.REVIEW): IR,
    # A (approver) reviews and decides.
    (IR, CaseOp.DECIDE): DE,
    # The result (licence, certificate) is made and sent to the pick-up window: 办结.
    (DE, CaseOp.READY): RD,
    # Handed to the citizen at the unified pick-up window.
    (RD, CaseOp.DELIVER): DL,
    # 不予受理 (not accepted, after a look by B) or 不予许可 (not granted, in review).
    (AC, CaseOp.REFUSE): RF,
    (IR, CaseOp.REFUSE): RF,
    # 中止: materials missing; the clock stops until the citizen brings them.
    (AC, CaseOp.SUSPEND): SU,
    (IR, CaseOp.SUSPEND): SU,
    (DE, CaseOp.SUSPEND): SU,
    (SU, CaseOp.RESUME): RESUMED,
    # 延期: a later due day, granted by an approver with a reason.
    (AC, CaseOp.EXTEND): AC,
    (IR, CaseOp.EXTEND): IR,
    (DE, CaseOp.EXTEND): DE,
    (SU, CaseOp.EXTEND): SU,
}

CLOCK_RUNNING = frozenset({AC, IR, DE})
"""States in which the case is on the clock (and its light may change)."""
FINAL_STATES = frozenset({DL, RF})
OPEN_STATES = frozenset({AC, IR, DE, SU, RD})
"""States the office lists: everything not delivered or refused."""


PROGRESS = (AC, IR, DE, RD, DL)
"""The road a case takes when all goes well, as a citizen is shown it."""


def progress(state: CaseState, suspended_from: CaseState | None = None) -> tuple[CaseState, ...]:
    """The stages of :data:`PROGRESS` a case has reached: a suspended case has reached
    where it was stopped, a refused one only acceptance (its state says the rest)."""
    at = suspended_from if state is SU else state
    if at not in PROGRESS:
        return (AC,)
    return PROGRESS[: PROGRESS.index(at) + 1]


def casefile_next(
    state: CaseState, op: CaseOp, suspended_from: CaseState | None = None
) -> CaseState:
    """The state after ``op``; :class:`InvalidTransition` when the table has no row."""
    try:
        new = TRANSITIONS[(state, op)]
    except KeyError:
        raise InvalidTransition(
            f"a case that is {state.value} cannot be given {op.value!r}"
        ) from None
    if new is RESUMED:
        if suspended_from is None or suspended_from not in CLOCK_RUNNING:
            raise InvalidTransition("this suspended case does not say where it was")
        return suspended_from
    return new


# -- numbers -------------------------------------------------------------------------


_FIELDS = {"year", "date", "dept", "seq"}


def case_number(fmt: str, day: dt.date, dept: str, seq: int) -> str:
    """The case number (办件编号) from the hall's format, e.g. ``"{year}-{seq:06d}"``.

    Only the documented fields are allowed, so a typo is a configuration error.
    """
    for _text, name, _spec, _conv in string.Formatter().parse(fmt):
        if name is not None and name not in _FIELDS:
            raise KeyError(name)
    return fmt.format(year=f"{day.year:04d}", date=day.strftime("%Y%m%d"), dept=dept, seq=seq)


def number_keys(fmt: str, departments: list[str]) -> list[str]:
    """The keys besides the digits a kiosk pad needs to type any case number of the
    format: the letters and marks of its fixed text, and each department id when the
    number shows it (a key types the whole id, as the rating pad types a queue prefix)."""
    keys: list[str] = []
    for text, name, _spec, _conv in string.Formatter().parse(fmt):
        for ch in text:
            if not ch.isdigit() and not ch.isspace() and ch not in keys:
                keys.append(ch)
        if name == "dept":
            keys += [d for d in departments if d not in keys]
    return keys


def counter_key(fmt: str, day: dt.date) -> str:
    """Which running number a new case takes: per year when the number shows the year."""
    return str(day.year) if ("{year" in fmt or "{date" in fmt) else "all"


# -- the clock -----------------------------------------------------------------------


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def due_day(cal: WorkCalendar, accepted_on: dt.date, promised_days: int) -> dt.date:
    """The last working day of the promise: ``promised_days`` working days after acceptance."""
    return cal.add_working_days(accepted_on, promised_days)


def shift_due(
    cal: WorkCalendar, due_on: dt.date, suspended_on: dt.date, resumed_on: dt.date
) -> dt.date:
    """The due day after a suspension from ``suspended_on`` to ``resumed_on``.

    The working days the case waited, (suspended_on, resumed_on], are given back; a
    suspension and resumption on the same day moves nothing.
    """
    waited = max(cal.working_days_between(suspended_on, resumed_on), 0)
    return cal.add_working_days(due_on, waited)


@dataclass(frozen=True, slots=True)
class Clock:
    """What the light needs of a case (as stored)."""

    state: CaseState
    due_on: dt.date
    promised_days: int
    """Working days promised, extensions included (the yellow share is of these)."""
    suspended_on: dt.date | None = None


def days_left(cal: WorkCalendar, due_on: dt.date, today: dt.date) -> int:
    """Working days left after today up to the due day; 0 on the due day, < 0 past it."""
    return cal.working_days_between(today, due_on)


def light(case: Clock, cal: WorkCalendar, today: dt.date, settings: CaseFileSettings) -> Light:
    """Red past the due day, yellow when little is left, green otherwise.

    ``today`` is the hall-local date now. A suspended case is judged on the day it was
    suspended (its clock stopped then). Ready, delivered and refused cases are off the
    clock: their light stays what it was, so callers ask only for running cases.
    """
    if case.state == CaseState.SUSPENDED and case.suspended_on is not None:
        today = case.suspended_on
    if today > case.due_on:
        return Light.RED
    left = days_left(cal, case.due_on, today)
    if settings.yellow_share is not None:
        if left <= settings.yellow_share * case.promised_days:
            return Light.YELLOW
    elif left <= settings.yellow_days:
        return Light.YELLOW
    return Light.GREEN


def local_day(now: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The hall-local calendar date of an instant (due days end at local midnight)."""
    return now.astimezone(tz).date()


def timeliness(
    cal: WorkCalendar, ready_on: dt.date, due_on: dt.date, settings: CaseFileSettings
) -> str:
    """``early``, ``on_time`` or ``late`` for a case ready on ``ready_on`` (hall-local).

    Early means at least ``early_days`` working days to spare: with the default 1, a case
    due Friday and ready on Thursday is early, ready on Friday only on time. Early cases
    are on time too (the on-time rate counts both).
    """
    if ready_on > due_on:
        return "late"
    return (
        "early" if cal.working_days_between(ready_on, due_on) >= settings.early_days else "on_time"
    )


def early_before(cal: WorkCalendar, due_on: dt.date, settings: CaseFileSettings) -> dt.date | None:
    """The first day on which finishing is no longer early: a case finished before it
    is early (:func:`timeliness`). Stored beside the due day so reports count early
    cases in SQL; None when the calendar does not reach back far enough."""
    try:
        return cal.working_day_back(due_on, settings.early_days)
    except CalendarMissing:
        return None
