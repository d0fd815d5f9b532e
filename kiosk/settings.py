"""The kiosk's settings: defaults, then a TOML file, then environment, then command line.

Secrets (the device token, the staff PIN) are best given through the environment
(``HALLQ_KIOSK_TOKEN``, ``HALLQ_KIOSK_STAFF_ID``) so they stay out of process lists and
shell history; they are never logged.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kiosk.exceptions import SettingsError


@dataclass
class KioskSettings:
    server: str = "ws://127.0.0.1:8765/"
    token: str | None = None
    name: str = "kiosk"
    printer: str = "none"
    printer_profile: str = "80mm-gb18030"
    # Ask the idle printer its state this often (s; 0 = never) and report changes, so
    # supervisors see paper low or out before a citizen does.
    printer_poll_seconds: float = 30.0
    scanner: str = "none"  # serial:/dev/ttyACM0?baudrate=9600 or hid:/dev/input/by-id/…
    scanner_terminator: str = "CR"  # CR, LF, CRLF or TAB
    id_reader: str = "none"  # the ID card reader's serial port, e.g. /dev/ttyUSB1
    id_salt: str | None = None  # HALLQ_ID_SALT: the hall's secret for ID number hashes
    staff_id: str | None = None
    """The hall guide on duty at this kiosk: their id in the hall file's ``[[clerks]]``.
    They type their own PIN to confirm a priority ticket, and the server checks it (with
    the clerks' hashing and lock-out); no PIN is kept at the kiosk."""
    priority_needs_pin: bool = True
    idle_seconds: float = 60.0
    ticket_seconds: float = 20.0
    ticket_fail_seconds: float = 90.0
    font: str | None = None
    width: int = 1920
    height: int = 1080
    windowed: bool = False
    featured: tuple[str, ...] = ()
    request_timeout: float = 30.0
    read_aloud: bool = True

    def __repr__(self) -> str:  # never print the secrets
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in ("token", "id_salt"):
            if shown[secret]:
                shown[secret] = "***"
        return f"KioskSettings({shown})"


_TYPES: dict[str, type] = {
    "server": str,
    "token": str,
    "name": str,
    "printer": str,
    "printer_profile": str,
    "printer_poll_seconds": float,
    "scanner": str,
    "scanner_terminator": str,
    "id_reader": str,
    "id_salt": str,
    "staff_id": str,
    "priority_needs_pin": bool,
    "idle_seconds": float,
    "ticket_seconds": float,
    "ticket_fail_seconds": float,
    "font": str,
    "width": int,
    "height": int,
    "windowed": bool,
    "featured": list,
    "request_timeout": float,
    "read_aloud": bool,
}


def check_table(table: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Typed values of a ``[kiosk]`` table and its problems as (key, message)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, value in table.items():
        want = _TYPES.get(key)
        if key == "staff_pin":
            problems.append(
                (
                    key,
                    "PINs are checked by the server now: set staff_id (the "
                    "guide's id in [[clerks]]) and remove staff_pin",
                )
            )
            continue
        if want is None:
            problems.append((key, "unknown kiosk setting"))
            continue
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, want) or (want is not bool and isinstance(value, bool)):
            problems.append((key, f"must be {_NAMES[want]}"))
            continue
        if want is float and (value < 0 if key == "printer_poll_seconds" else value <= 0):
            problems.append((key, "must be more than 0"))
            continue
        values[key] = tuple(str(v) for v in value) if want is list else value
    return values, problems


_NAMES = {
    str: "text",
    bool: "true or false",
    float: "a number",
    int: "a whole number",
    list: "a list",
}


def from_file(path: str | Path, base: KioskSettings | None = None) -> KioskSettings:
    """Read a kiosk TOML file: top-level keys, or a ``[kiosk]`` table (so a hall's own
    config file with a ``[kiosk]`` section works too)."""
    settings = base or KioskSettings()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read kiosk settings {path}: {exc}") from None
    if "kiosk" in data and isinstance(data["kiosk"], dict):
        table = data["kiosk"]
    elif "hall" in data:
        table = {}  # a hall file without a [kiosk] section
    else:
        table = data
    values, problems = check_table(table)
    if problems:
        lines = "; ".join(f"{key}: {msg}" for key, msg in problems)
        raise SettingsError(f"{path}: {lines}")
    for key, value in values.items():
        setattr(settings, key, value)
    return settings


def from_env(settings: KioskSettings, env: dict[str, str] | None = None) -> KioskSettings:
    env = dict(os.environ) if env is None else env
    if env.get("HALLQ_KIOSK_TOKEN"):
        settings.token = env["HALLQ_KIOSK_TOKEN"]
    if env.get("HALLQ_KIOSK_STAFF_ID"):
        settings.staff_id = env["HALLQ_KIOSK_STAFF_ID"]
    if env.get("HALLQ_ID_SALT"):
        settings.id_salt = env["HALLQ_ID_SALT"]
    if env.get("HALLQ_KIOSK_FONT"):
        settings.font = env["HALLQ_KIOSK_FONT"]
    return settings
