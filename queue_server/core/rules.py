"""The hall's arithmetic: service days, numbering, call order, estimates, ratings.

Plain functions with time passed in, so every rule can be tested at any hour (midnight,
a day of the week the queue is closed) without waiting for the clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .errors import Refused
from .hall import OpeningHours, QueueDef, ServiceDef

PRIORITY_KINDS = ("elderly", "disabled", "pregnant", "veteran")
"""Reasons a kiosk may mark a ticket for priority service (after staff confirm)."""
APPOINTMENT = "appointment"
"""The priority kind of a ticket issued by an appointment check-in."""


def service_day(now: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The hall-local date a moment belongs to; numbers restart when it changes."""
    if now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return now.astimezone(tz).date()


def ticket_label(prefix: str, number: int) -> str:
    """``A`` and 12 make ``A012``; past 999 the number simply grows (``A1000``)."""
    return f"{prefix}{number:03d}"


def check_code(token: str) -> str:
    """Four digits printed on the ticket and shown on its phone page, made from its token.

    Ticket numbers are on every hall display; the check code is only on the citizen's
    own paper and phone, so a kiosk asks for it before letting someone rate or cancel a
    ticket by number. Derived, not stored: nothing more to keep or leak.
    """
    digest = hashlib.sha256(b"hallq-check:" + token.encode()).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 10000:04d}"


def parse_label(label: str) -> tuple[str, int]:
    """Split ``A012`` into ``("A", 12)``; raise ValueError on anything else."""
    text = label.strip().upper()
    i = 0
    while i < len(text) and text[i].isalpha():
        i += 1
    prefix, digits = text[:i], text[i:]
    if not prefix or not digits.isdigit() or len(prefix) > 2:
        raise ValueError(f"{label!r} is not a ticket number like A012")
    return prefix, int(digits)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years of age on ``day`` (a 29 February birthday counts on 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def check_issue(
    service: ServiceDef,
    queue: QueueDef,
    local_now: dt.datetime,
    issued_service_today: int,
    issued_queue_today: int,
) -> None:
    """Refuse a ticket the hall cannot serve today, with a reason the kiosk can show."""
    if not queue.hours.is_open(local_now):
        raise Refused(
            f"queue {queue.prefix} is closed now", code="closed", opens=describe_hours(queue.hours)
        )
    if service.daily_cap is not None and issued_service_today >= service.daily_cap:
        raise Refused(
            f"today's {service.daily_cap} tickets for this service are all taken",
            code="daily_cap",
            cap=service.daily_cap,
        )
    if queue.daily_cap is not None and issued_queue_today >= queue.daily_cap:
        raise Refused(
            f"today's {queue.daily_cap} tickets of queue {queue.prefix} are all taken",
            code="daily_cap",
            cap=queue.daily_cap,
        )


def describe_hours(hours: OpeningHours) -> str:
    days = ",".join(str(d) for d in sorted(hours.weekdays))
    spans = " ".join(f"{a:%H:%M}-{b:%H:%M}" for a, b in hours.intervals)
    return f"weekdays {days} {spans}"


# ---------------------------------------------------------------------------------------
# Call order


@dataclass(frozen=True, slots=True)
class Candidate:
    """What call selection needs to know of a waiting ticket."""

    id: int
    queue: str
    sort_at: dt.datetime
    priority: str | None = None
    appointment_at: dt.datetime | None = None
    target_window: int | None = None


PRIORITY_CLASS, APPOINTMENT_CLASS, ORDINARY_CLASS = 0, 1, 2
"""The call order's classes, first called first (``store/callorder.py`` is their SQL)."""


def filed_class(priority: str | None) -> int:
    """The class a ticket is filed under from the moment it is issued: what the database
    stores and indexes (``tickets.call_class``), so ``call.next`` seeks instead of sorting
    the whole line. Only an appointment's class still moves with the clock (below)."""
    if priority is None:
        return ORDINARY_CLASS
    return APPOINTMENT_CLASS if priority == APPOINTMENT else PRIORITY_CLASS


def call_class(c: Candidate, now: dt.datetime) -> int:
    """Priority (elderly, disabled, ...) first, then an appointment whose slot has come,
    then everyone else (an appointment checked in early waits as an ordinary ticket)."""
    filed = filed_class(c.priority)
    if filed == APPOINTMENT_CLASS and c.appointment_at is not None and c.appointment_at > now:
        return ORDINARY_CLASS
    return filed


def eligible(c: Candidate, window: int, window_queues: Sequence[str]) -> bool:
    """A ticket sent to one window waits for that window only; others wait for any."""
    if c.target_window is not None:
        return c.target_window == window
    return c.queue in window_queues


def call_key(
    c: Candidate, window_queues: Sequence[str], now: dt.datetime
) -> tuple[int, int, dt.datetime, int]:
    """Sort key of the call order: THE call order. ``store/callorder.py`` is its only SQL
    form, checked against it by a property test on both databases.

    Priority and due appointments go by original time alone; everyone else by the
    window's queue preference, then original time. The ticket id breaks ties so the
    order is total and two servers agree on it.
    """
    cls = call_class(c, now)
    pref = window_queues.index(c.queue) if c.queue in window_queues else 0
    return (cls, pref if cls == ORDINARY_CLASS else 0, c.sort_at, c.id)


def select_next(
    candidates: Iterable[Candidate], window: int, window_queues: Sequence[str], now: dt.datetime
) -> Candidate | None:
    """The first ticket of the call order among those that wait for ``window``.

    A plain loop (not ``min`` over a filtered list): the wait estimate replays the call
    order hundreds of times per estimate, and this is most of its cost.
    """
    best, best_key = None, None
    for c in candidates:
        if eligible(c, window, window_queues):
            key = call_key(c, window_queues, now)
            if best_key is None or key < best_key:
                best, best_key = c, key
    return best


# ---------------------------------------------------------------------------------------
# Estimates


def rolling_service_minutes(durations_s: Sequence[float], default_minutes: float) -> float:
    """Mean of the last finished cases; the configured default until there are some.

    Cases under 10 s are skipped: they are clerks clicking through a no-show, and
    would make the estimate promise a wait that never happens.
    """
    real = [d for d in durations_s if d >= 10]
    if not real:
        return default_minutes
    return sum(real) / len(real) / 60.0


def estimate_wait_minutes(people_ahead: int, service_minutes: float, open_windows: int) -> int:
    """Minutes until a ticket with ``people_ahead`` is called, rounded up.

    With no window open yet the estimate assumes one: the kiosk still shows a figure
    rather than a blank, and the figure falls as windows open.
    """
    if people_ahead <= 0:
        return 0
    return math.ceil(people_ahead * service_minutes / max(1, open_windows))


# ---------------------------------------------------------------------------------------
# Ratings

NATIONAL_LEVELS = {
    5: "very_satisfied",
    4: "satisfied",
    3: "basically_satisfied",
    2: "dissatisfied",
    1: "very_dissatisfied",
}
"""The national good/bad review scheme's five levels; stored as 1 (worst) to 5 (best)."""


def allowed_levels(scale: int) -> range:
    """A five-key hall takes 1-5; a four-key hall lacks "very dissatisfied" and takes 2-5."""
    if scale == 5:
        return range(1, 6)
    if scale == 4:
        return range(2, 6)
    raise ValueError(f"rating scale must be 4 or 5, not {scale}")


def check_rating(level: int, scale: int) -> None:
    if level not in allowed_levels(scale):
        lo, hi = allowed_levels(scale)[0], allowed_levels(scale)[-1]
        raise Refused(f"rating {level} is outside this hall's scale {lo}-{hi}", code="bad_rating")


def is_dissatisfied(level: int) -> bool:
    """Dissatisfied and very dissatisfied (差评) go to the follow-up list and alert the head."""
    return level <= 2


SATISFIED_MIN = 4
"""THE meaning of "satisfied" in every rate HallQ shows or reports: 满意 (4) or 非常满意
(5). "Basically satisfied" (3) is neither satisfied nor a bad rating. The store's SQL
(``satisfied_count``) and the display's tally (the ``satisfied`` flag of
``rating.recorded``) use this constant; nothing else says it (docs/reports.md)."""


def is_satisfied(level: int) -> bool:
    """A rating that counts as satisfied in a satisfaction rate."""
    return level >= SATISFIED_MIN


def satisfaction(rated: int, satisfied: int) -> float | None:
    """Satisfied share of the rated cases; None with no ratings. Not-rated cases are not
    in ``rated`` (they are counted apart, never as satisfied or dissatisfied)."""
    return satisfied / rated if rated else None


def satisfaction_rate(levels: Iterable[int]) -> float | None:
    """Share of rated cases that are satisfied or better; None with no ratings."""
    got = list(levels)
    return satisfaction(len(got), sum(1 for v in got if is_satisfied(v)))


# ---------------------------------------------------------------------------------------
# Appointments

APPOINTMENT_EARLY_MINUTES = 30
"""How long before its slot an appointment may check in."""


def check_appointment(status: str, start: dt.datetime, end: dt.datetime, now: dt.datetime) -> None:
    """Refuse a check-in with the reason the citizen needs to hear."""
    if status == "checked_in":
        raise Refused("this appointment code has already been used", code="appointment_used")
    if status == "cancelled":
        raise Refused("this appointment was cancelled", code="appointment_cancelled")
    if now > end:
        raise Refused(
            "this appointment has expired", code="appointment_expired", ended=end.isoformat()
        )
    if now < start - dt.timedelta(minutes=APPOINTMENT_EARLY_MINUTES):
        raise Refused(
            "it is too early to check in for this appointment",
            code="appointment_too_early",
            starts=start.isoformat(),
        )
