"""The ``[gateway]`` section of the hall file: parsed into typed settings, checked in full.

The queue server's config loader hands the raw section to :func:`validate` (so
``hallq check-config`` and the server report gateway mistakes too); the gateway itself
calls :func:`parse`, which returns the same problems plus the typed settings. Locations
are relative to the section (``buses[0].devices[1].window``).

Example::

    [gateway]
    server = "ws://127.0.0.1:8765/"     # default: [server] host and port of this file
    token_env = "HALLQ_GATEWAY_TOKEN"   # or token = "..." (the env variable wins)
    name = "gateway-1"                  # client name; prefix of idempotency keys
    request_timeout = 5.0               # s a key press may wait for the server
    rating_timeout = 60.0               # s a rating press may wait for the server
    reconnect_max = 2.0                 # s, longest pause between reconnect attempts
    clerk_format = "c{digits}"          # keypad sign-in digits -> clerk id

    [[gateway.buses]]
    name = "bus-1"
    port = "/dev/ttyUSB0"               # any serial_for_url URL
    baud = 9600
    rs485 = false                       # kernel RTS direction control
    frame = "dlt645-like"               # FF 68 frame variant
    keys = "slzc"                       # keypad key table: slzc | jq
    evaluator = "slzc"                  # evaluator command variant
    devices = [
      { address = 0x01, kind = "keypad", window = 1 },
      { address = 0x81, kind = "evaluator", window = 1, scale = 5 },  # or model = "slzc-4key"
      { address = 0x01, kind = "led", window = 1, language = "zh" },
    ]

    [[gateway.printers]]                # a receipt printer at a window (ESC/POS)
    window = 2
    url = "tcp://10.0.0.52:9100"        # as the kiosk's printer URLs
    profile = "80mm-gb18030"
    language = "zh"

Keypads and evaluators share the FF 68 address space of their bus; LED strips speak
another frame and have their own. A window has at most one device of each kind, and a
device is reported to the server as ``device = name`` (default ``window-N``), ``part =
kind``; a receipt printer as ``window-N``, ``part = printer``, with the kiosk printer's
conditions (``online``, ``paper_out``, ``not_answering`` ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus.frame import DEFAULT_VARIANT, FrameVariant

KINDS = ("keypad", "evaluator", "led")
BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
FRAME_VARIANTS: dict[str, FrameVariant] = {DEFAULT_VARIANT.name: DEFAULT_VARIANT}
EVALUATOR_VARIANTS: dict[str, ev.EvaluatorVariant] = {ev.SLZC_EVALUATOR.name: ev.SLZC_EVALUATOR}
LED_LANGUAGES = ("zh", "en")
# Named evaluator models: how many keys each has. An evaluator's scale must be stated (its
# ``scale`` or a ``model`` from here), never taken from the hall's rating_scale: a four-key
# device in a five-level hall would otherwise record its best key ("very good") as 4.
EVALUATOR_MODELS: dict[str, int] = {
    "slzc-4key": 4,  # HallQueFront-style: 0 poor, 1 fair, 2 good, 3 very good
    "generic-4key": 4,
    "generic-5key": 5,  # the national five levels, very dissatisfied .. very satisfied
}


@dataclass(frozen=True)
class DeviceSettings:
    address: int
    kind: str
    window: int
    name: str
    scale: int = 5  # evaluators: number of keys
    language: str = "zh"  # LED strips
    silence_timeout: float = 0.0  # > 0: no frame for this long means offline (keypads, evaluators)


@dataclass(frozen=True)
class PrinterSettings:
    """A receipt printer at a window (ESC/POS, not on a bus): it prints the receipt of
    each promised case opened at its window (``casefile.receipt``)."""

    window: int
    url: str
    profile: str = "80mm-gb18030"
    language: str = "zh"


@dataclass(frozen=True)
class BusSettings:
    name: str
    port: str
    baud: int = 9600
    rs485: bool = False
    frame: str = DEFAULT_VARIANT.name
    keys: str = "slzc"
    evaluator: str = ev.SLZC_EVALUATOR.name
    idle_gap: float = 0.2
    devices: tuple[DeviceSettings, ...] = ()


@dataclass(frozen=True)
class GatewaySettings:
    server: str
    token: str | None
    token_env: str | None
    name: str = "gateway"
    request_timeout: float = 5.0
    rating_timeout: float = 60.0
    reconnect_max: float = 2.0
    health_interval: float = 0.5
    printer_poll: float = 30.0
    """Seconds between status questions to an idle receipt printer (0 = never): paper
    that ran out overnight is on the supervisor's page before the first case of the day."""
    startup_grace: float = 2.0
    clerk_format: str = "{digits}"
    buses: tuple[BusSettings, ...] = ()
    printers: tuple[PrinterSettings, ...] = ()
    window_queues: Mapping[int, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    """Each window's queues in preference order (from ``[[windows]]``): how typed digits
    become a ticket label."""
    hall_rating_scale: int = 5
    hall_rating_seconds: float = 120.0

    def devices(self) -> Iterable[tuple[BusSettings, DeviceSettings]]:
        for bus in self.buses:
            for device in bus.devices:
                yield bus, device


_TOP = {
    "server",
    "token",
    "token_env",
    "name",
    "request_timeout",
    "rating_timeout",
    "reconnect_max",
    "health_interval",
    "printer_poll",
    "startup_grace",
    "clerk_format",
    "buses",
    "printers",
}
_PRINTER = {"window", "url", "profile", "language"}
_BUS = {"name", "port", "baud", "rs485", "frame", "keys", "evaluator", "idle_gap", "devices"}
_DEVICE = {"address", "kind", "window", "name", "scale", "model", "language", "silence_timeout"}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                self.add(_join(where, key), "unknown key; known: " + ", ".join(sorted(allowed)))

    def text(self, table: Mapping[str, Any], key: str, where: str, default: str | None) -> Any:
        value = table.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            self.add(_join(where, key), "must be non-empty text")
            return default
        return value

    def number(
        self, table: Mapping[str, Any], key: str, where: str, default: float, low: float = 0.0
    ) -> float:
        value = table.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.add(_join(where, key), "must be a number of seconds")
            return default
        if value < low:
            self.add(_join(where, key), f"must be at least {low}")
            return default
        return float(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def validate(section: dict[str, Any], raw: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """Problems of a ``[gateway]`` section as (location, message) pairs; none if it is fine."""
    _, problems = parse(section, raw)
    return problems


def parse(
    section: Mapping[str, Any], raw: Mapping[str, Any]
) -> tuple[GatewaySettings | None, list[tuple[str, str]]]:
    """Typed settings (None if anything is wrong) and every problem found."""
    c = _Checker()
    if not isinstance(section, Mapping):
        return None, [("", "must be a table")]
    c.keys(section, _TOP, "")
    windows, hall_scale, rating_seconds = _hall_facts(raw)

    server = c.text(section, "server", "", None)
    if server is None:
        srv = raw.get("server") if isinstance(raw.get("server"), Mapping) else {}
        host = srv.get("host", "127.0.0.1")
        host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        server = f"ws://{host}:{srv.get('port', 8765)}/"
    elif not server.startswith(("ws://", "wss://")):
        c.add("server", "must be a ws:// or wss:// URL")
    token = c.text(section, "token", "", None)
    token_env = c.text(section, "token_env", "", None)
    clerk_format = c.text(section, "clerk_format", "", "{digits}")
    try:
        clerk_format.format(digits="1")
    except (KeyError, IndexError, ValueError):
        c.add("clerk_format", 'must be a format with {digits} only, e.g. "c{digits}"')
        clerk_format = "{digits}"

    buses_raw = section.get("buses", [])
    buses: list[BusSettings] = []
    if not isinstance(buses_raw, list) or not buses_raw:
        c.add("buses", "list at least one bus ([[gateway.buses]] with a port)")
        buses_raw = []
    seen_parts: dict[tuple[int, str], str] = {}
    seen_names: dict[tuple[str, str], str] = {}
    for i, bus_raw in enumerate(buses_raw):
        where = f"buses[{i}]"
        if not isinstance(bus_raw, Mapping):
            c.add(where, "must be a table")
            continue
        bus = _bus(c, bus_raw, where, i, windows, hall_scale)
        for j, device in enumerate(bus.devices):
            dwhere = f"{where}.devices[{j}]"
            other = seen_parts.get((device.window, device.kind))
            if other:
                c.add(dwhere, f"window {device.window} already has a {device.kind} ({other})")
            seen_parts[(device.window, device.kind)] = dwhere
            other = seen_names.get((device.name, device.kind))
            if other and other != dwhere:
                c.add(_join(dwhere, "name"), f"{device.name!r} {device.kind} repeats {other}")
            seen_names[(device.name, device.kind)] = dwhere
        buses.append(bus)
    ports = [b.port for b in buses]
    for i, bus in enumerate(buses):
        if bus.port in ports[:i]:
            c.add(f"buses[{i}].port", f"{bus.port!r} is already used by another bus")

    printers = _printers(c, section.get("printers", []), windows)

    settings = GatewaySettings(
        server=server,
        token=token,
        token_env=token_env,
        name=c.text(section, "name", "", "gateway"),
        request_timeout=c.number(section, "request_timeout", "", 5.0, 0.1),
        rating_timeout=c.number(section, "rating_timeout", "", 60.0, 0.1),
        reconnect_max=c.number(section, "reconnect_max", "", 2.0, 0.05),
        health_interval=c.number(section, "health_interval", "", 0.5, 0.05),
        printer_poll=c.number(section, "printer_poll", "", 30.0, 0.0),
        startup_grace=c.number(section, "startup_grace", "", 2.0),
        clerk_format=clerk_format,
        buses=tuple(buses),
        printers=printers,
        window_queues=windows,
        hall_rating_scale=hall_scale,
        hall_rating_seconds=rating_seconds,
    )
    return (None if c.problems else settings), c.problems


def _printers(
    c: _Checker,
    raw: Any,
    windows: Mapping[int, tuple[str, ...]],  # noqa: ANN401
) -> tuple[PrinterSettings, ...]:
    """``[[gateway.printers]]``: at most one receipt printer per window."""
    from hardware.printer.profile import PROFILES

    if not isinstance(raw, list):
        c.add("printers", "must be a list of tables ([[gateway.printers]])")
        return ()
    out: list[PrinterSettings] = []
    seen: dict[int, str] = {}
    for i, table in enumerate(raw):
        where = f"printers[{i}]"
        if not isinstance(table, Mapping):
            c.add(where, "must be a table")
            continue
        c.keys(table, _PRINTER, where)
        window = table.get("window")
        if not isinstance(window, int) or isinstance(window, bool) or window not in windows:
            c.add(_join(where, "window"), "required: a window number of [[windows]]")
            continue
        if window in seen:
            c.add(_join(where, "window"), f"window {window} already has a printer ({seen[window]})")
            continue
        seen[window] = where
        url = c.text(table, "url", where, None)
        if url is None:
            c.add(_join(where, "url"), "required: tcp://host:9100, usb:///dev/usb/lp0, ...")
            continue
        profile = c.text(table, "profile", where, "80mm-gb18030")
        if profile not in PROFILES:
            c.add(_join(where, "profile"), "unknown profile; known: " + ", ".join(PROFILES))
            continue
        language = c.text(table, "language", where, "zh")
        if language not in LED_LANGUAGES:
            c.add(_join(where, "language"), "must be one of " + ", ".join(LED_LANGUAGES))
            continue
        out.append(PrinterSettings(window, url, profile, language))
    return tuple(out)


def _hall_facts(raw: Mapping[str, Any]) -> tuple[dict[int, tuple[str, ...]], int, float]:
    """What the gateway needs from the rest of the hall file (already checked there)."""
    windows: dict[int, tuple[str, ...]] = {}
    for w in raw.get("windows", []) if isinstance(raw.get("windows"), list) else []:
        if isinstance(w, Mapping) and isinstance(w.get("number"), int):
            queues = w.get("queues", [])
            windows[w["number"]] = tuple(q for q in queues if isinstance(q, str))
    rules = raw.get("rules") if isinstance(raw.get("rules"), Mapping) else {}
    scale = rules.get("rating_scale", 5)
    seconds = rules.get("rating_timeout_seconds", 120)
    return (
        windows,
        scale if scale in (4, 5) else 5,
        float(seconds) if isinstance(seconds, int | float) else 120.0,
    )


def _bus(
    c: _Checker,
    table: Mapping[str, Any],
    where: str,
    index: int,
    windows: Mapping[int, tuple[str, ...]],
    hall_scale: int,
) -> BusSettings:
    c.keys(table, _BUS, where)
    port = c.text(table, "port", where, None)
    if port is None:
        c.add(_join(where, "port"), "required: the serial port, e.g. /dev/ttyUSB0")
        port = ""
    baud = table.get("baud", 9600)
    if baud not in BAUDS or isinstance(baud, bool):
        c.add(_join(where, "baud"), "must be one of " + ", ".join(map(str, BAUDS)))
        baud = 9600
    rs485 = table.get("rs485", False)
    if not isinstance(rs485, bool):
        c.add(_join(where, "rs485"), "must be true or false")
        rs485 = False
    frame = c.text(table, "frame", where, DEFAULT_VARIANT.name)
    if frame not in FRAME_VARIANTS:
        c.add(_join(where, "frame"), "unknown frame variant; known: " + ", ".join(FRAME_VARIANTS))
    keys = c.text(table, "keys", where, "slzc")
    if keys not in kp.VARIANTS:
        c.add(_join(where, "keys"), "unknown key table; known: " + ", ".join(kp.VARIANTS))
    evaluator = c.text(table, "evaluator", where, ev.SLZC_EVALUATOR.name)
    if evaluator not in EVALUATOR_VARIANTS:
        c.add(
            _join(where, "evaluator"),
            "unknown evaluator variant; known: " + ", ".join(EVALUATOR_VARIANTS),
        )
    idle_gap = c.number(table, "idle_gap", where, 0.2, 0.01)
    devices_raw = table.get("devices", [])
    if not isinstance(devices_raw, list) or not devices_raw:
        c.add(_join(where, "devices"), "list the devices on this bus")
        devices_raw = []
    devices: list[DeviceSettings] = []
    addresses: dict[tuple[bool, int], int] = {}
    for j, d in enumerate(devices_raw):
        dwhere = f"{where}.devices[{j}]"
        if not isinstance(d, Mapping):
            c.add(dwhere, "must be a table")
            continue
        device = _device(c, d, dwhere, windows, hall_scale)
        if device is None:
            continue
        space = (device.kind == "led", device.address)
        if space in addresses:
            c.add(
                _join(dwhere, "address"),
                f"address 0x{device.address:02x} is already used on this bus "
                f"(devices[{addresses[space]}])",
            )
        addresses[space] = j
        devices.append(device)
    return BusSettings(
        name=c.text(table, "name", where, f"bus-{index + 1}"),
        port=port,
        baud=baud,
        rs485=rs485,
        frame=frame,
        keys=keys,
        evaluator=evaluator,
        idle_gap=idle_gap,
        devices=tuple(devices),
    )


def _scale(c: _Checker, table: Mapping[str, Any], where: str, kind: Any) -> int:
    """An evaluator's number of keys: ``scale``, or the ``model``'s; required."""
    for key in ("scale", "model"):
        if key in table and kind != "evaluator":
            c.add(_join(where, key), f"only evaluators have a {key}")
    if kind != "evaluator":
        return 5
    scale = table.get("scale")
    model = table.get("model")
    from_model = None
    if model is not None:
        from_model = EVALUATOR_MODELS.get(model) if isinstance(model, str) else None
        if from_model is None:
            c.add(
                _join(where, "model"),
                "unknown evaluator model; known: " + ", ".join(EVALUATOR_MODELS),
            )
    if scale is None:
        if model is None:
            c.add(
                _join(where, "scale"),
                "required for an evaluator: 4 or 5 (keys on the device), or model = one of "
                + ", ".join(EVALUATOR_MODELS)
                + "; it is never taken from the hall's "
                "rating_scale",
            )
        return from_model or 5
    if scale not in (4, 5) or isinstance(scale, bool):
        c.add(_join(where, "scale"), "must be 4 or 5 (keys on the evaluator)")
        return from_model or 5
    if from_model is not None and from_model != scale:
        c.add(_join(where, "scale"), f"model {model} has {from_model} keys, not {scale}")
    return scale


def _device(
    c: _Checker,
    table: Mapping[str, Any],
    where: str,
    windows: Mapping[int, tuple[str, ...]],
    hall_scale: int,
) -> DeviceSettings | None:
    c.keys(table, _DEVICE, where)
    ok = True
    address = table.get("address")
    if not isinstance(address, int) or isinstance(address, bool) or not 0 <= address <= 255:
        c.add(_join(where, "address"), "required: the bus address, 0-255 (0x81 is fine)")
        ok = False
    kind = table.get("kind")
    if kind not in KINDS:
        c.add(_join(where, "kind"), "required: one of " + ", ".join(KINDS))
        ok = False
    window = table.get("window")
    if not isinstance(window, int) or isinstance(window, bool):
        c.add(_join(where, "window"), "required: the window number this device serves")
        ok = False
    elif window not in windows:
        c.add(_join(where, "window"), f"no window {window} in [[windows]]")
        ok = False
    scale = _scale(c, table, where, kind)
    if kind == "evaluator" and scale == 5 and hall_scale == 4:
        c.add(
            _join(where, "scale"),
            "a five-key evaluator cannot rate in a hall with rating_scale = 4 "
            "(its worst key is level 1); use a four-key device or set scale = 4",
        )
    language = table.get("language", "zh")
    if "language" in table and kind != "led":
        c.add(_join(where, "language"), "only LED strips have a language")
    if language not in LED_LANGUAGES:
        c.add(_join(where, "language"), "must be one of " + ", ".join(LED_LANGUAGES))
        language = "zh"
    silence = c.number(table, "silence_timeout", where, 0.0)
    if silence and kind == "led":
        c.add(_join(where, "silence_timeout"), "LED strips never answer; leave it out")
    name = c.text(table, "name", where, f"window-{window}")
    if isinstance(name, str) and len(name) > 64:
        c.add(_join(where, "name"), "at most 64 characters")
    if not ok:
        return None
    return DeviceSettings(
        address=address,
        kind=kind,
        window=window,
        name=name,
        scale=scale,
        language=language,
        silence_timeout=silence,
    )
