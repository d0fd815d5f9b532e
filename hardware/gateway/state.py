"""The gateway's picture of the hall and of its devices: pure, time passed in.

:class:`HallView` folds server events and snapshots into what each window's keypad and
LED strip should show. :class:`Presence` decides, from facts the bus reports (port up or
down, frames heard), whether each device is online, and yields only the *changes*, so the
server hears about a device once per change and not on every tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACTIVE = ("called", "serving")


@dataclass
class WindowView:
    number: int
    status: str | None = None  # open / paused / closed; None until the server said
    ticket: str | None = None
    ticket_status: str | None = None

    @property
    def current(self) -> str | None:
        """The ticket being called or served, which keypads and strips show."""
        return self.ticket if self.ticket_status in ACTIVE else None

    def led(self) -> tuple[str, str | None]:
        """What the strip shows: ("serving", label), ("paused", None) or ("idle", None)."""
        if self.status == "paused":
            return "paused", None
        if self.status == "open" and self.current:
            return "serving", self.current
        return "idle", None


@dataclass
class HallView:
    """Windows and queue lengths as the events describe them."""

    window_queues: Mapping[int, Sequence[str]]
    windows: dict[int, WindowView] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)

    def window(self, number: int) -> WindowView:
        return self.windows.setdefault(number, WindowView(number))

    def waiting_at(self, number: int) -> int | None:
        counts = [self.waiting[q] for q in self.window_queues.get(number, ()) if q in self.waiting]
        return sum(counts) if counts else None

    def apply_window(self, data: Mapping[str, Any]) -> int | None:
        """A ``window.changed`` payload (or a snapshot's window); returns the window number."""
        number = data.get("number")
        if not isinstance(number, int):
            return None
        view = self.window(number)
        view.status = data.get("status")
        view.ticket = data.get("ticket")
        view.ticket_status = data.get("ticket_status")
        return number

    def apply_called(self, data: Mapping[str, Any]) -> int | None:
        """``ticket.called`` / ``ticket.recalled``: the ticket view names its window."""
        number, label = data.get("window"), data.get("label")
        if not isinstance(number, int) or not isinstance(label, str):
            return None
        view = self.window(number)
        view.ticket, view.ticket_status = label, data.get("status", "called")
        return number

    def apply_stats(self, data: Mapping[str, Any]) -> list[int]:
        """``queue.stats``: returns the windows whose waiting count changed."""
        queue, waiting = data.get("queue"), data.get("waiting")
        if not isinstance(queue, str) or not isinstance(waiting, int):
            return []
        if self.waiting.get(queue) == waiting:
            return []
        self.waiting[queue] = waiting
        return [n for n, qs in self.window_queues.items() if queue in qs]

    def apply_snapshot(self, snap: Mapping[str, Any]) -> None:
        for w in snap.get("windows", []) or []:
            if isinstance(w, Mapping):
                self.apply_window(w)
        for q in snap.get("queues", []) or []:
            if isinstance(q, Mapping):
                self.apply_stats(q)


@dataclass(frozen=True)
class DeviceKey:
    name: str  # device name reported to the server (default window-N)
    part: str  # keypad / evaluator / led
    bus: str
    address: int
    silence_timeout: float = 0.0


@dataclass(frozen=True)
class Change:
    device: DeviceKey
    state: str  # online / offline
    detail: str | None


class Presence:
    """Online/offline per device.

    A device is online when its bus port is open and, if it has a ``silence_timeout``, it
    sent a frame within that time (counted from the port opening, so a device is not
    offline the moment the port comes up). Before the first verdict a device is unknown;
    a port still closed ``startup_grace`` seconds after the start makes its devices
    offline, so a misconfigured port is reported rather than silently waited for.
    """

    def __init__(self, devices: Iterable[DeviceKey], started: float, startup_grace: float):
        self.devices = list(devices)
        self.started = started
        self.startup_grace = startup_grace
        self.state: dict[DeviceKey, str] = {}
        self._bus_up: dict[str, bool] = {}
        self._bus_since: dict[str, float] = {}
        self._bus_error: dict[str, str | None] = {}
        self._heard: dict[tuple[str, int], float] = {}

    def link(self, bus: str, up: bool, now: float, error: str | None = None) -> list[Change]:
        if self._bus_up.get(bus) != up:
            self._bus_since[bus] = now
        self._bus_up[bus] = up
        self._bus_error[bus] = error
        return self.evaluate(now)

    def heard(self, bus: str, address: int, now: float) -> None:
        self._heard[(bus, address)] = now

    def evaluate(self, now: float) -> list[Change]:
        changes = []
        for device in self.devices:
            verdict = self._verdict(device, now)
            if verdict is None:
                continue
            state, detail = verdict
            if self.state.get(device) != state:
                self.state[device] = state
                changes.append(Change(device, state, detail))
        return changes

    def _verdict(self, device: DeviceKey, now: float) -> tuple[str, str | None] | None:
        up = self._bus_up.get(device.bus)
        if not up:
            if up is None and now - self.started < self.startup_grace:
                return None
            error = self._bus_error.get(device.bus) or "port closed"
            return "offline", f"bus {device.bus}: {error}"[:200]
        if device.silence_timeout > 0:
            last = max(
                self._heard.get((device.bus, device.address), 0.0),
                self._bus_since.get(device.bus, now),
            )
            if now - last > device.silence_timeout:
                return "offline", f"silent for {device.silence_timeout:g} s"
        return "online", None
