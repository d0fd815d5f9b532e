"""What a display shows, as a plain class fed by the queue server's snapshots and events.

No Kivy, no network, no clock of its own: the app hands in ``hall.info``, snapshots,
events and connection states, and passes the time in when it asks what is highlighted.
That keeps every rule of the screen (what a zone shows, which call is the newest, when a
highlight ends, what "reconnecting" means) testable without a window, and lets the
screens be thin views that read :class:`DisplayState` and draw it.

Rules worth knowing:

* **Zones.** ``areas`` limits the display to some areas of the hall: calls, windows and
  queues of other areas are left out. Calls carry their area; windows and queues get
  theirs from ``hall.info`` (a queue whose area is unknown is shown rather than hidden).
* **Window display.** ``window`` limits it to one window, and a call counts only if it
  is to that window.
* **Newest call.** The most recent ``ticket.called`` or ``ticket.recalled`` that passes
  the filter; it is highlighted for ``highlight_seconds`` from when the display received
  it (a recall highlights again, since the citizen is being called again).
* **One call, one event.** The display subscribes with calls "combined": a call arrives
  as one ``call`` event (``queue_server/callevent.py``) holding the ticket, its window
  and its queue's figures, applied as those three under the one ``seq`` it carries.
* **Resync.** A snapshot replaces windows, queues, recent calls and the day's
  satisfaction tally (from the server's per-window ``ratings_today``) outright.
  An event no newer than the last snapshot or event applied is ignored, so a replayed
  backlog arriving after a fresher snapshot cannot roll the screen back.
* **Connection.** ``live`` is true only while the client is online *and* a snapshot has
  been applied since it came online (the app asks for one on every reconnect). A screen
  that is not live must say so; it never looks live while it is not.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from queue_server.callevent import CALL
from queue_server.callevent import parts as call_parts

CALL_EVENTS = ("ticket.called", "ticket.recalled")
"""Events that put a number on the screens (and through the voice)."""

ONLINE = "online"


@dataclass(frozen=True, slots=True)
class Call:
    """One call shown on the display: a ticket sent to a window."""

    label: str
    window: int
    area: str | None
    queue: str | None
    language: str
    recall: bool
    ticket_id: int | None = None
    called_at: str | None = None
    received: float = 0.0
    """When this display received it (the app's monotonic clock); 0 from a snapshot."""


@dataclass(frozen=True, slots=True)
class WindowView:
    """A window as the screens draw it: its number, names and what it is doing."""

    number: int
    area: str | None
    name: dict[str, str]
    status: str  # open, paused, closed
    ticket: str | None
    ticket_status: str | None
    pause_reason: str | None
    clerk: str | None
    called_received: float = 0.0
    """When this display received the last call to this window (for its highlight)."""


@dataclass(frozen=True, slots=True)
class QueueView:
    prefix: str
    name: dict[str, str]
    area: str | None
    waiting: int
    est_wait_minutes: int | None
    open_windows: int
    longest_wait_s: int


@dataclass
class Satisfaction:
    """Ratings seen today: the share the server marks satisfied (its one rule,
    ``queue_server.core.rules.is_satisfied``: the ``satisfied`` flag of each rating)."""

    rated: int = 0
    satisfied: int = 0

    @property
    def rate(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


@dataclass
class DisplayFilter:
    """Which part of the hall a display shows."""

    areas: frozenset[str] | None = None
    window: int | None = None

    def call_passes(self, window: int | None, area: str | None) -> bool:
        if self.window is not None:
            return window == self.window
        if self.areas is None:
            return True
        return area in self.areas

    def area_passes(self, area: str | None) -> bool:
        return self.areas is None or area is None or area in self.areas


@dataclass
class DisplayState:
    """The display's whole model: fed by the client's callbacks, read by the screens.

    ``changed`` listeners are called with the event kind (or ``"snapshot"``,
    ``"connection"``, ``"info"``) after every change that could alter the screen, so
    the app can schedule one redraw per frame and measure event-to-screen latency.
    """

    filter: DisplayFilter = field(default_factory=DisplayFilter)
    recent_size: int = 8
    highlight_seconds: float = 8.0
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        self.hall_name: dict[str, str] = {}
        self.timezone: str | None = None
        self.areas: dict[str, dict[str, str]] = {}
        self.window_names: dict[int, dict[str, str]] = {}
        self.window_areas: dict[int, str] = {}
        self.queue_defs: dict[str, dict[str, Any]] = {}
        self.clerks: dict[str, dict[str, str]] = {}  # id -> name and staff number (hall.info)
        self.windows: dict[int, WindowView] = {}
        self.queues: dict[str, QueueView] = {}
        self.calls: deque[Call] = deque(maxlen=max(1, self.recent_size) + 1)
        self.satisfaction = Satisfaction()
        self.day: str | None = None
        self.server_offset: dt.timedelta | None = None
        self.connection: str = "connecting"
        self.synced = False
        """True once a snapshot has been applied since the client last came online."""
        self.last_seq: int | None = None
        self.version = 0
        self.listeners: list[Callable[[str], None]] = []

    # -- input ----------------------------------------------------------------------------

    def apply_hall_info(self, info: dict[str, Any]) -> None:
        """Names and areas of the hall (static); needed for zone filtering of queues."""
        self.hall_name = names(info.get("name"))
        self.timezone = info.get("timezone")
        self.areas = {a["id"]: names(a.get("name")) for a in info.get("areas", [])}
        self.window_names = {w["number"]: names(w.get("name")) for w in info["windows"]}
        self.window_areas = {w["number"]: w["area"] for w in info["windows"]}
        self.queue_defs = {q["prefix"]: q for q in info.get("queues", [])}
        self.clerks = {c["id"]: c for c in info.get("clerks", [])}
        # names and areas may arrive after the snapshot: re-derive what depends on them
        self.windows = {
            n: replace(
                w, name=self.window_names.get(n, w.name), area=w.area or self.window_areas.get(n)
            )
            for n, w in self.windows.items()
        }
        self.queues = {p: self._queue_view(_queue_dict(q)) for p, q in self.queues.items()}
        self._changed("info")

    def apply_snapshot(self, snap: dict[str, Any], now: float | None = None) -> None:
        """Replace the live state with a full snapshot (on subscribe and resync)."""
        if self.day is not None and snap.get("day") != self.day:
            self.satisfaction = Satisfaction()
        self.day = snap.get("day")
        self.last_seq = snap.get("seq", self.last_seq)
        self.windows = {}
        for w in snap.get("windows", []):
            view = self._window_view(w)
            self.windows[view.number] = view
        self.queues = {q["queue"]: self._queue_view(q) for q in snap.get("queues", [])}
        if "ratings_today" in snap:  # the server's tally for the day, this display's zone
            self.satisfaction = Satisfaction()
            for r in snap["ratings_today"]:
                if self.filter.call_passes(r["window"], self.window_areas.get(r["window"])):
                    self.satisfaction.rated += r["rated"]
                    self.satisfaction.satisfied += r["satisfied"]
        self.calls.clear()
        # recent_calls come newest first; keep ours oldest first, newest at the end
        for t in reversed(snap.get("recent_calls", [])):
            if t.get("window") is None:
                continue
            call = self._call(t, recall=False, received=0.0)
            if self.filter.call_passes(call.window, call.area):
                self.calls.append(call)
        self.synced = True
        self._changed("snapshot")

    def apply_event(
        self, kind: str, seq: int | None, data: dict[str, Any] | None, now: float | None = None
    ) -> bool:
        """Apply one pushed event; True if it changed what this display shows."""
        if not self.take_seq(seq):
            return False  # already in the state (replayed after a fresher snapshot)
        data = data or {}
        if kind == CALL:  # one call's three events, under its one seq
            changed = False
            for part, part_data in call_parts(data):
                changed = self.apply_event(part, None, part_data, now) or changed
            return changed
        now = self._now(now)
        changed = False
        if kind in CALL_EVENTS and data.get("window") is not None:
            call = self._call(data, recall=kind == "ticket.recalled", received=now)
            if self.filter.call_passes(call.window, call.area):
                self._add_call(call)
                w = self.windows.get(call.window)
                if w is not None:
                    self.windows[call.window] = replace(
                        w, ticket=call.label, ticket_status="called", called_received=now
                    )
                changed = True
        elif kind == "window.changed" and "number" in data:
            old = self.windows.get(data["number"])
            view = self._window_view(data)
            if old is not None and view.ticket == old.ticket:
                view = replace(view, called_received=old.called_received)
            self.windows[view.number] = view
            changed = self._window_shown(view)
        elif kind == "queue.stats" and "queue" in data:
            view = self._queue_view(data)
            self.queues[view.prefix] = view
            changed = self.filter.area_passes(view.area) and self.filter.window is None
        elif kind == "rating.recorded" and isinstance(data.get("level"), int):
            area = self.window_areas.get(data.get("window", -1))
            if self.filter.call_passes(data.get("window"), area):
                self.satisfaction.rated += 1
                self.satisfaction.satisfied += bool(data.get("satisfied"))
                changed = True
        if changed:
            self._changed(kind)
        return changed

    def take_seq(self, seq: int | None) -> bool:
        """Whether an event numbered ``seq`` is new here (and note it); None: unnumbered."""
        if seq is None:
            return True
        if self.last_seq is not None and seq <= self.last_seq:
            return False
        self.last_seq = seq
        return True

    def set_connection(self, state: str) -> None:
        """The client's connection state; leaving online means state may be stale."""
        state = str(state)
        if state == self.connection:
            return
        # Back online is not yet current: what was missed arrives as a replay or a
        # snapshot a moment later, and the app confirms with a snapshot of its own.
        self.connection = state
        if state != ONLINE:
            self.synced = False
        self._changed("connection")

    def note_server_time(self, kind: str, data: dict[str, Any], wall: dt.datetime) -> None:
        """Learn how far the server's clock is from ours, from events stamped with it.

        A ticket is called (or issued) at the server's time, so these stamps say what
        time it is in the hall. The day on the screens follows the hall's clock, not the
        display PC's: a PC whose clock is off, or a test hall living in another day, must
        not wipe the calls at its own midnight.
        """
        stamp = (
            data.get("called_at")
            if kind == "ticket.called"
            else (data.get("issued_at") if kind == "ticket.issued" else None)
        )
        if not isinstance(stamp, str):
            return
        try:
            server = dt.datetime.fromisoformat(stamp)
        except ValueError:
            return
        if server.tzinfo is not None:
            self.server_offset = server - wall

    def hall_day(self, wall: dt.datetime, tz: dt.tzinfo | None) -> str | None:
        """Today in the hall, by the server's clock; None until the server was heard."""
        if self.server_offset is None:
            return None
        now = wall + self.server_offset
        return (now.astimezone(tz) if tz else now.astimezone()).date().isoformat()

    def new_day(self, day: str) -> None:
        """Local midnight: yesterday's calls and ratings leave the screens."""
        if day != self.day:
            self.day = day
            self.calls.clear()
            self.satisfaction = Satisfaction()
            self._changed("day")

    # -- output -----------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.connection == ONLINE and self.synced

    @property
    def newest(self) -> Call | None:
        return self.calls[-1] if self.calls else None

    def recent(self) -> list[Call]:
        """Calls before the newest, newest first, at most ``recent_size``."""
        older = list(self.calls)[:-1]
        older.reverse()
        return older[: self.recent_size]

    def highlighted(self, now: float | None = None) -> bool:
        """Whether the newest call is still in its highlight period."""
        call = self.newest
        if call is None or call.received <= 0:
            return False
        return self._now(now) - call.received < self.highlight_seconds

    def window_highlighted(self, number: int, now: float | None = None) -> bool:
        w = self.windows.get(number)
        if w is None or w.called_received <= 0 or w.ticket_status != "called":
            return False
        return self._now(now) - w.called_received < self.highlight_seconds

    def shown_windows(self) -> list[WindowView]:
        return [w for _, w in sorted(self.windows.items()) if self._window_shown(w)]

    def shown_queues(self) -> list[QueueView]:
        return [q for _, q in sorted(self.queues.items()) if self.filter.area_passes(q.area)]

    def window(self, number: int) -> WindowView | None:
        return self.windows.get(number)

    # -- helpers ----------------------------------------------------------------------

    def _now(self, now: float | None) -> float:
        if now is not None:
            return now
        return self.clock() if self.clock is not None else time.monotonic()

    def _changed(self, why: str) -> None:
        self.version += 1
        for listener in list(self.listeners):
            listener(why)

    def _add_call(self, call: Call) -> None:
        # the same ticket called again (recall, or to another window) moves to the top
        # rather than filling the list with one number
        kept = [c for c in self.calls if c.label != call.label]
        self.calls.clear()
        self.calls.extend(kept)
        self.calls.append(call)  # the deque's maxlen drops the oldest

    def _call(self, t: dict[str, Any], *, recall: bool, received: float) -> Call:
        window = int(t["window"])
        return Call(
            label=str(t.get("label", "?")),
            window=window,
            area=t.get("area") or self.window_areas.get(window),
            queue=t.get("queue"),
            language=t.get("language") or "zh",
            recall=recall,
            ticket_id=t.get("id"),
            called_at=t.get("called_at"),
            received=received,
        )

    def _window_view(self, w: dict[str, Any]) -> WindowView:
        number = int(w["number"])
        return WindowView(
            number=number,
            area=w.get("area") or self.window_areas.get(number),
            name=self.window_names.get(number, {}),
            status=w.get("status") or "closed",
            ticket=w.get("ticket"),
            ticket_status=w.get("ticket_status"),
            pause_reason=w.get("pause_reason"),
            clerk=w.get("clerk"),
        )

    def _queue_view(self, q: dict[str, Any]) -> QueueView:
        prefix = q["queue"]
        qdef = self.queue_defs.get(prefix, {})
        return QueueView(
            prefix=prefix,
            name=names(qdef.get("name")),
            area=qdef.get("area"),
            waiting=int(q.get("waiting") or 0),
            est_wait_minutes=q.get("est_wait_minutes"),
            open_windows=int(q.get("open_windows") or 0),
            longest_wait_s=int(q.get("longest_wait_s") or 0),
        )

    def _window_shown(self, w: WindowView) -> bool:
        if self.filter.window is not None:
            return w.number == self.filter.window
        return self.filter.area_passes(w.area)


def names(value: Any) -> dict[str, str]:
    """Names per language; a bare string (or anything odd) counts as Chinese."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {"zh": str(value)} if value else {}


def _queue_dict(q: QueueView) -> dict[str, Any]:
    return {
        "queue": q.prefix,
        "waiting": q.waiting,
        "est_wait_minutes": q.est_wait_minutes,
        "open_windows": q.open_windows,
        "longest_wait_s": q.longest_wait_s,
    }


def parse_areas(text: str | None, known: Iterable[str] | None = None) -> frozenset[str] | None:
    """``"civil,party"`` → the set; empty or None → no filter. Unknown names raise."""
    if not text:
        return None
    areas = frozenset(a.strip() for a in text.split(",") if a.strip())
    if known is not None:
        unknown = sorted(areas - set(known))
        if unknown:
            raise ValueError(
                f"unknown area(s): {', '.join(unknown)}; this hall has: {', '.join(sorted(known))}"
            )
    return areas or None
