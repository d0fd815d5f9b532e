"""The hall configuration: one TOML file describes one hall.

Loading never stops at the first mistake: a hall admin editing a file of 60 services
wants every problem at once, each with the place it is at (``services[12].queue``), so
:func:`load_config` collects problems and raises :class:`ConfigError` with all of them.
The same messages are printed by ``hallq check-config`` and by a server that refuses to
start, so there is one list to fix.

The file format is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.hall import (  # the hall model lives in the core; this module only reads TOML
    ALWAYS_OPEN,
    DEFAULT_HALL_ID,
    KNOWN_LANGUAGES,
    OFFICE_ROLES,
    PERIOD_KINDS,
    ROLES,
    SERVICE_KINDS,
    SUBJECT_KINDS,
    AccountabilitySettings,
    AlertRule,
    Area,
    CaseFileSettings,
    Clerk,
    Contact,
    Department,
    DeviceToken,
    HallConfig,
    Names,
    NotifySettings,
    OpeningHours,
    QueueDef,
    Recipient,
    Rules,
    ServerSettings,
    ServiceDef,
    WindowDef,
)
from .core.pins import check_pin, hash_pin
from .core.ratings import parse_settings as parse_rating_settings

__all__ = [  # what readers of a hall file use; the model's home is core/hall.py
    "ALWAYS_OPEN",
    "DEMO_CONFIG",
    "load_county",
    "Area",
    "CaseFileSettings",
    "Clerk",
    "Contact",
    "Department",
    "ConfigError",
    "CountyConfig",
    "DeviceToken",
    "HallConfig",
    "OpeningHours",
    "QueueDef",
    "Rules",
    "ServerSettings",
    "ServiceDef",
    "WindowDef",
    "check_pin",
    "hash_pin",
    "load_config",
    "parse_config",
]

_PREFIX_RE = re.compile(r"^[A-Z]{1,2}$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_HOURS_RE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CASE_NUMBER_MAX = 50
"""GB/T 39046-2020 gives the case number (办件编号) up to 50 characters."""


class ConfigError(Exception):
    """A hall file that cannot be used; ``problems`` holds every problem found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s):\n" + "\n".join(problems))


# ---------------------------------------------------------------------------------------
# Loading and validation


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def load_config(path: str | os.PathLike[str]) -> HallConfig:
    """Read and validate a hall file; raise :class:`ConfigError` listing every problem."""
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(p), [f"{p}: file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(p), [f"{p}: not UTF-8 text ({exc.reason})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), [f"{p}: not valid TOML: {exc}"]) from None
    return parse_config(raw, source=str(p))


def parse_config(raw: dict[str, Any], source: str = "<memory>") -> HallConfig:
    problems = _Problems()
    hall = _table(raw, "hall", problems, "hall")
    _check_keys(
        hall,
        {"id", "name", "timezone", "languages", "id_salt_env", "staff_photos"},
        problems,
        "hall",
    )
    hall_id = _hall_id(hall, problems)
    staff_photos = _staff_photos(hall, problems, source)
    id_salt = None
    salt_var = _get(hall, "id_salt_env", str, problems, "hall", default=None)
    if salt_var is not None:
        salt = os.environ.get(salt_var, "")
        if len(salt.encode()) < 16:
            problems.add(
                "hall.id_salt_env", f"environment variable {salt_var!r} must hold 16+ bytes"
            )
        id_salt = salt.encode() or None
    languages = tuple(_get(hall, "languages", list, problems, "hall", default=["zh", "en"]))
    if not languages or len(set(languages)) != len(languages):
        problems.add("hall.languages", "must list each language once, the main one first")
        languages = languages or ("zh",)
    for i, lang in enumerate(languages):
        if lang not in KNOWN_LANGUAGES:
            problems.add(
                f"hall.languages[{i}]",
                f"unknown language {lang!r}; known: " + ", ".join(KNOWN_LANGUAGES),
            )
    name = _names(hall.get("name"), problems, "hall.name", languages)
    timezone = _get(hall, "timezone", str, problems, "hall", default="Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("hall.timezone", f"unknown time zone {timezone!r}")

    rules = _rules(raw.get("rules", {}), problems)
    server = _server(raw.get("server", {}), problems)
    notify = _notify(raw, problems)

    areas = tuple(_areas(raw, problems, languages))
    area_ids = {a.id for a in areas}
    queues = tuple(_queues(raw, problems, languages, area_ids))
    prefixes = {q.prefix for q in queues}
    departments = tuple(_departments(raw, problems, languages))
    dept_ids = {d.id for d in departments}
    services = tuple(_services(raw, problems, languages, area_ids, prefixes, dept_ids))
    windows = tuple(_windows(raw, problems, languages, area_ids, prefixes))
    devices = tuple(_devices(raw, problems, {w.number for w in windows}))
    clerks = tuple(_clerks(raw, problems, {w.number for w in windows}, dept_ids))
    _check_heads(departments, clerks, problems)
    casefiles = _casefiles(raw.get("casefiles", {}), problems)
    pickup = casefiles.pickup_service
    if pickup is not None and not any(sv.id == pickup and sv.kind == "instant" for sv in services):
        problems.add(
            "casefiles.pickup_service", f"{pickup!r} is not an instant service of [[services]]"
        )
    accountability = _accountability(raw.get("accountability", {}), problems)
    ratings, rating_problems = parse_rating_settings(raw.get("ratings", {}))
    for where, message in rating_problems:
        problems.add(f"ratings.{where}" if where else "ratings", message)
    if ratings.upload_secret_env and not os.environ.get(ratings.upload_secret_env):
        problems.add(
            "ratings.upload_secret_env",
            f"environment variable {ratings.upload_secret_env!r} is not set",
        )
    sections: dict[str, dict[str, Any]] = {}
    for section, validator in SECTION_VALIDATORS.items():
        if section in raw:
            if not isinstance(raw[section], dict):
                problems.add(section, "must be a table")
                continue
            sections[section] = raw[section]
            for where, message in _run_validator(validator, raw[section], raw):
                problems.add(f"{section}.{where}" if where else section, message)

    queue_area = {q.prefix: q.area for q in queues}
    for i, sv in enumerate(services):
        if sv.queue in queue_area and sv.area != queue_area[sv.queue]:
            problems.add(
                f"services[{i}].area",
                f"{sv.area!r} differs from the area "
                f"{queue_area[sv.queue]!r} of its queue {sv.queue!r}",
            )
    fed = {s.queue for s in services}
    for i, q in enumerate(queues):
        if q.prefix not in fed:
            problems.add(f"queues[{i}]", f"queue {q.prefix!r} has no service feeding it")
        if not any(q.prefix in w.queues for w in windows):
            problems.add(f"queues[{i}]", f"queue {q.prefix!r} is served by no window")
    for key in raw:
        if key not in {
            "hall",
            "rules",
            "server",
            "areas",
            "queues",
            "services",
            "windows",
            "devices",
            "clerks",
            "departments",
            "casefiles",
            "accountability",
            "ratings",
            "notify",
            "alerts",
            *SECTION_VALIDATORS,
        }:
            problems.add(key, "unknown section")

    if problems.items:
        raise ConfigError(source, problems.items)
    return HallConfig(
        name=name,
        id_salt=id_salt,
        timezone=timezone,
        languages=languages,
        areas=areas,
        queues=queues,
        services=services,
        windows=windows,
        devices=devices,
        clerks=clerks,
        departments=departments,
        casefiles=casefiles,
        accountability=accountability,
        ratings=ratings,
        sections=sections,
        rules=rules,
        notify=notify,
        server=server,
        source=source,
        staff_photos=staff_photos,
        hall_id=hall_id,
    )


HALL_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""A hall id: it names the hall's PostgreSQL schema (``hall_<id>``) and channel, so only
lowercase letters, digits and ``_``, starting with a letter, at most 32."""


def _hall_id(hall: dict[str, Any], problems: _Problems) -> str:
    """``[hall] id``, or ``main`` when absent: a database holding one hall needs no id
    (SQLite always holds one); halls that share a PostgreSQL database must each give
    their own, and a county file refuses two halls with one id."""
    value = _get(hall, "id", str, problems, "hall", default=DEFAULT_HALL_ID)
    if not HALL_ID.match(value):
        problems.add(
            "hall.id",
            f"{value!r} is not a hall id: 1 to 32 lowercase letters, digits or _, "
            "starting with a letter",
        )
        return DEFAULT_HALL_ID
    return value


def _staff_photos(hall: dict[str, Any], problems: _Problems, source: str) -> str | None:
    """``staff_photos = "photos"``: a directory, relative to the hall file."""
    value = _get(hall, "staff_photos", str, problems, "hall", default=None)
    if value is None:
        return None
    base = Path(source).parent if source and not source.startswith("<") else Path.cwd()
    path = (base / value).resolve()
    if not path.is_dir():
        problems.add("hall.staff_photos", f"no such directory {str(path)!r}")
        return None
    return str(path)


def _table(raw: dict[str, Any], key: str, problems: _Problems, where: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        problems.add(where, "missing section")
        return {}
    if not isinstance(value, dict):
        problems.add(where, "must be a table")
        return {}
    return value


_MISSING = object()


def _get(
    table: dict[str, Any],
    key: str,
    kind: type,
    problems: _Problems,
    where: str,
    default: Any = _MISSING,
) -> Any:
    if key not in table:
        if default is _MISSING:
            problems.add(f"{where}.{key}", "missing")
            return kind()
        return default
    value = table[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        problems.add(f"{where}.{key}", f"must be {_kind_name(kind)}, got {value!r}")
        return kind() if default is _MISSING else default
    return value


def _kind_name(kind: type) -> str:
    return {
        str: "text",
        int: "a whole number",
        float: "a number",
        list: "a list",
        dict: "a table",
        bool: "true or false",
    }.get(kind, kind.__name__)


def _names(value: Any, problems: _Problems, where: str, languages: tuple[str, ...]) -> Names:
    if isinstance(value, str):
        return {languages[0] if languages else "zh": value}
    if not isinstance(value, dict) or not value:
        problems.add(where, 'must be a table of text per language, e.g. {zh = "…", en = "…"}')
        return {}
    out: Names = {}
    for lang, text in value.items():
        if lang not in KNOWN_LANGUAGES:
            problems.add(f"{where}.{lang}", f"unknown language {lang!r}")
        elif not isinstance(text, str) or not text.strip():
            problems.add(f"{where}.{lang}", "must be non-empty text")
        else:
            out[lang] = text
    if languages and languages[0] not in value:
        problems.add(where, f"missing the hall's main language {languages[0]!r}")
    return out


def _location(t: dict[str, Any], problems: _Problems, where: str, langs: tuple[str, ...]) -> Names:
    """``location = { zh = "二楼东侧", en = "2F east" }``: optional; when given, in every
    language of the hall, since the ticket says it in the citizen's language."""
    if "location" not in t:
        return {}
    names = _names(t["location"], problems, f"{where}.location", langs)
    if names and isinstance(t["location"], dict):
        for lang in langs:
            if lang not in names and lang not in t["location"]:
                problems.add(f"{where}.location", f"missing language {lang!r}")
    return names


def _text_lists(value: Any, problems: _Problems, where: str) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, "must be a table of lists per language")
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for lang, items in value.items():
        if lang not in KNOWN_LANGUAGES:
            problems.add(f"{where}.{lang}", f"unknown language {lang!r}")
        elif not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            problems.add(f"{where}.{lang}", "must be a list of text")
        else:
            out[lang] = tuple(items)
    return out


def _list_of_tables(raw: dict[str, Any], key: str, problems: _Problems) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.add(key, f"must be an array of tables ([[{key}]])")
        return []
    if not value:
        problems.add(key, "at least one entry is needed")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], problems: _Problems, where: str) -> None:
    for key in table:
        if key not in allowed:
            problems.add(f"{where}.{key}", "unknown key")


def _areas(raw: dict[str, Any], problems: _Problems, langs: tuple[str, ...]) -> list[Area]:
    out: list[Area] = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(raw, "areas", problems)):
        where = f"areas[{i}]"
        _check_keys(t, {"id", "name", "location"}, problems, where)
        area_id = _get(t, "id", str, problems, where)
        if area_id and not _ID_RE.match(area_id):
            problems.add(f"{where}.id", f"{area_id!r} must be lower-case letters, digits, - or _")
        if area_id in seen:
            problems.add(f"{where}.id", f"duplicate area {area_id!r}")
        seen.add(area_id)
        out.append(
            Area(
                area_id,
                _names(t.get("name"), problems, f"{where}.name", langs),
                _location(t, problems, where, langs),
            )
        )
    return out


def _hours(value: Any, weekdays: Any, problems: _Problems, where: str) -> OpeningHours:
    if value is None and weekdays is None:
        return ALWAYS_OPEN
    intervals: list[tuple[dt.time, dt.time]] = []
    if value is not None and (not isinstance(value, list) or not value):
        problems.add(f"{where}.hours", 'must be a non-empty list like ["08:30-12:00"]')
        value = None
    for j, item in enumerate(value or ["00:00-24:00"]):
        m = _HOURS_RE.match(item) if isinstance(item, str) else None
        if not m:
            problems.add(f"{where}.hours[{j}]", f'{item!r} must look like "08:30-12:00"')
            continue
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 == 0:
            h2, m2 = 23, 59
            end = dt.time(23, 59, 59, 999999)
        elif h2 > 23 or m2 > 59:
            problems.add(f"{where}.hours[{j}]", f"{item!r} has an impossible time")
            continue
        else:
            end = dt.time(h2, m2)
        if h1 > 23 or m1 > 59:
            problems.add(f"{where}.hours[{j}]", f"{item!r} has an impossible time")
            continue
        start = dt.time(h1, m1)
        if start >= end:
            problems.add(f"{where}.hours[{j}]", f"{item!r} ends before it starts")
            continue
        intervals.append((start, end))
    days = weekdays if weekdays is not None else [1, 2, 3, 4, 5, 6, 7]
    if (
        not isinstance(days, list)
        or not days
        or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in days)
    ):
        problems.add(f"{where}.weekdays", "must be a list of ISO weekdays 1 (Monday) to 7")
        days = [1, 2, 3, 4, 5, 6, 7]
    return OpeningHours(tuple(intervals), frozenset(days))


def _cap(t: dict[str, Any], problems: _Problems, where: str) -> int | None:
    cap = _get(t, "daily_cap", int, problems, where, default=None)
    if cap is not None and cap < 1:
        problems.add(f"{where}.daily_cap", "must be at least 1 (leave it out for no cap)")
    return cap


def _queues(
    raw: dict[str, Any], problems: _Problems, langs: tuple[str, ...], areas: set[str]
) -> list[QueueDef]:
    out: list[QueueDef] = []
    seen: set[str] = set()
    for i, t in enumerate(_list_of_tables(raw, "queues", problems)):
        where = f"queues[{i}]"
        _check_keys(
            t, {"prefix", "name", "area", "hours", "weekdays", "daily_cap"}, problems, where
        )
        prefix = _get(t, "prefix", str, problems, where)
        if prefix and not _PREFIX_RE.match(prefix):
            problems.add(f"{where}.prefix", f"{prefix!r} must be one or two capital letters")
        if prefix in seen:
            problems.add(f"{where}.prefix", f"duplicate queue prefix {prefix!r}")
        seen.add(prefix)
        area = _get(t, "area", str, problems, where)
        if area and area not in areas:
            problems.add(f"{where}.area", f"unknown area {area!r}")
        out.append(
            QueueDef(
                prefix=prefix,
                name=_names(t.get("name"), problems, f"{where}.name", langs),
                area=area,
                hours=_hours(t.get("hours"), t.get("weekdays"), problems, where),
                daily_cap=_cap(t, problems, where),
            )
        )
    return out


def _services(
    raw: dict[str, Any],
    problems: _Problems,
    langs: tuple[str, ...],
    areas: set[str],
    prefixes: set[str],
    departments: set[str],
) -> list[ServiceDef]:
    out: list[ServiceDef] = []
    seen: set[str] = set()
    allowed = {
        "id",
        "name",
        "area",
        "queue",
        "kind",
        "department",
        "promised_days",
        "time_limit_minutes",
        "daily_cap",
        "materials",
        "steps",
        "location",
    }
    for i, t in enumerate(_list_of_tables(raw, "services", problems)):
        where = f"services[{i}]"
        _check_keys(t, allowed, problems, where)
        sid = _get(t, "id", str, problems, where)
        if sid and not _ID_RE.match(sid):
            problems.add(f"{where}.id", f"{sid!r} must be lower-case letters, digits, - or _")
        if sid in seen:
            problems.add(f"{where}.id", f"duplicate service {sid!r}")
        seen.add(sid)
        area = _get(t, "area", str, problems, where)
        if area and area not in areas:
            problems.add(f"{where}.area", f"unknown area {area!r}")
        queue = _get(t, "queue", str, problems, where)
        if queue and queue not in prefixes:
            problems.add(f"{where}.queue", f"unknown queue {queue!r}")
        kind = _get(t, "kind", str, problems, where, default="instant")
        if kind not in SERVICE_KINDS:
            problems.add(f"{where}.kind", f"{kind!r} must be one of {', '.join(SERVICE_KINDS)}")
        dept = _get(t, "department", str, problems, where, default=None)
        if dept is not None and dept not in departments:
            problems.add(f"{where}.department", f"unknown department {dept!r}")
        elif dept is None and (departments or kind == "promised"):
            problems.add(
                f"{where}.department",
                "missing: a promised service needs the department whose back office "
                "processes its cases"
                if kind == "promised"
                else "missing: every service belongs to one of the [[departments]]",
            )
        days = _get(t, "promised_days", int, problems, where, default=0)
        if kind == "promised" and days < 1:
            problems.add(f"{where}.promised_days", "a promised service needs promised_days >= 1")
        if kind == "instant" and days:
            problems.add(f"{where}.promised_days", "only promised services have promised_days")
        limit = _get(t, "time_limit_minutes", int, problems, where, default=15)
        if limit < 1:
            problems.add(f"{where}.time_limit_minutes", "must be at least 1")
        out.append(
            ServiceDef(
                id=sid,
                name=_names(t.get("name"), problems, f"{where}.name", langs),
                area=area,
                queue=queue,
                kind=kind,
                department=dept,
                promised_days=days,
                time_limit_minutes=limit,
                daily_cap=_cap(t, problems, where),
                materials=_text_lists(t.get("materials"), problems, f"{where}.materials"),
                steps=_text_lists(t.get("steps"), problems, f"{where}.steps"),
                location=_location(t, problems, where, langs),
            )
        )
    return out


def _windows(
    raw: dict[str, Any],
    problems: _Problems,
    langs: tuple[str, ...],
    areas: set[str],
    prefixes: set[str],
) -> list[WindowDef]:
    out: list[WindowDef] = []
    seen: set[int] = set()
    for i, t in enumerate(_list_of_tables(raw, "windows", problems)):
        where = f"windows[{i}]"
        _check_keys(t, {"number", "area", "queues", "name"}, problems, where)
        number = _get(t, "number", int, problems, where)
        if number < 1 or number > 9999:
            problems.add(f"{where}.number", "must be between 1 and 9999")
        if number in seen:
            problems.add(f"{where}.number", f"duplicate window {number}")
        seen.add(number)
        area = _get(t, "area", str, problems, where)
        if area and area not in areas:
            problems.add(f"{where}.area", f"unknown area {area!r}")
        queues = _get(t, "queues", list, problems, where)
        if not all(isinstance(q, str) for q in queues):
            problems.add(f"{where}.queues", "must be a list of queue prefixes")
            queues = [q for q in queues if isinstance(q, str)]
        if not queues:
            problems.add(f"{where}.queues", "a window must serve at least one queue")
        for j, q in enumerate(queues):
            if q not in prefixes:
                problems.add(f"{where}.queues[{j}]", f"unknown queue {q!r}")
        if len(set(queues)) != len(queues):
            problems.add(f"{where}.queues", "a queue is listed twice")
        name = _names(t["name"], problems, f"{where}.name", langs) if "name" in t else {}
        out.append(WindowDef(number=number, area=area, queues=tuple(queues), name=name))
    return out


def _devices(raw: dict[str, Any], problems: _Problems, windows: set[int]) -> list[DeviceToken]:
    out: list[DeviceToken] = []
    seen: set[str] = set()
    names: set[str] = set()
    for i, t in enumerate(_list_of_tables(raw, "devices", problems)):
        where = f"devices[{i}]"
        _check_keys(
            t, {"name", "role", "token", "token_env", "window", "id_reader"}, problems, where
        )
        name = _get(t, "name", str, problems, where)
        if name in names:
            problems.add(f"{where}.name", f"duplicate device name {name!r}")
        names.add(name)
        role = _get(t, "role", str, problems, where)
        if role not in ROLES:
            problems.add(f"{where}.role", f"{role!r} must be one of {', '.join(ROLES)}")
        token = _token(t, problems, where)
        if token in seen:
            problems.add(f"{where}.token", "the same token is given to two devices")
        seen.add(token)
        window = _get(t, "window", int, problems, where, default=None)
        if role == "clerk" and window is None:
            problems.add(f"{where}.window", "a clerk token must name its window")
        if window is not None and window not in windows:
            problems.add(f"{where}.window", f"unknown window {window}")
        reader = _get(t, "id_reader", bool, problems, where, default=False)
        if reader and role != "kiosk":
            problems.add(f"{where}.id_reader", "only a kiosk has an ID card reader")
        out.append(DeviceToken(name=name, role=role, token=token, window=window, id_reader=reader))
    return out


def _token(t: dict[str, Any], problems: _Problems, where: str) -> str:
    """Tokens come from the file or, better for production, from the environment."""
    if "token_env" in t:
        var = t["token_env"]
        if "token" in t:
            problems.add(where, "give token or token_env, not both")
        if not isinstance(var, str) or not var:
            problems.add(f"{where}.token_env", "must be the name of an environment variable")
            return f"<unset {where}>"
        value = os.environ.get(var, "")
        if not value:
            problems.add(f"{where}.token_env", f"environment variable {var!r} is not set")
            return f"<unset {where}>"
        if len(value) < 8:
            problems.add(f"{where}.token_env", f"the token in {var} must be at least 8 characters")
        return value
    token = _get(t, "token", str, problems, where)
    if token and len(token) < 8:
        problems.add(f"{where}.token", "must be at least 8 characters")
    return token


def _clerks(
    raw: dict[str, Any], problems: _Problems, windows: set[int], departments: set[str]
) -> list[Clerk]:
    value = raw.get("clerks", [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.add("clerks", "must be an array of tables ([[clerks]])")
        return []
    out: list[Clerk] = []
    seen: set[str] = set()
    for i, t in enumerate(value):
        where = f"clerks[{i}]"
        _check_keys(
            t,
            {"id", "name", "pin_hash", "pin_env", "windows", "roles", "department", "staff_number"},
            problems,
            where,
        )
        cid = _get(t, "id", str, problems, where)
        if cid in seen:
            problems.add(f"{where}.id", f"duplicate clerk {cid!r}")
        seen.add(cid)
        name = _get(t, "name", str, problems, where, default=cid)
        if "pin_env" in t:
            pin = os.environ.get(str(t["pin_env"]), "")
            if not pin:
                problems.add(
                    f"{where}.pin_env", f"environment variable {t['pin_env']!r} is not set"
                )
            pin_hash = pin if pin.startswith("pbkdf2-sha256$") else hash_pin(pin)
        else:
            pin_hash = _get(t, "pin_hash", str, problems, where)
            if pin_hash and not pin_hash.startswith("pbkdf2-sha256$"):
                problems.add(f"{where}.pin_hash", "must be made by `hallq hash-pin`")
        wins = _get(t, "windows", list, problems, where, default=[])
        for j, w in enumerate(wins):
            if w not in windows:
                problems.add(f"{where}.windows[{j}]", f"unknown window {w!r}")
        roles = _get(t, "roles", list, problems, where, default=[])
        for j, role in enumerate(roles):
            if role not in OFFICE_ROLES:
                problems.add(
                    f"{where}.roles[{j}]", f"{role!r} must be one of {', '.join(OFFICE_ROLES)}"
                )
        if len(set(map(str, roles))) != len(roles):
            problems.add(f"{where}.roles", "a role is listed twice")
        dept = _get(t, "department", str, problems, where, default=None)
        if dept is not None and dept not in departments:
            problems.add(f"{where}.department", f"unknown department {dept!r}")
        if roles and dept is None:
            problems.add(f"{where}.department", "back-office roles need the clerk's department")
        out.append(
            Clerk(
                cid,
                name,
                pin_hash,
                tuple(w for w in wins if isinstance(w, int)),
                roles=tuple(r for r in roles if r in OFFICE_ROLES),
                department=dept,
                staff_number=_get(t, "staff_number", str, problems, where, default=""),
            )
        )
    return out


def _contact(value: Any, problems: _Problems, where: str) -> Contact | None:
    if not isinstance(value, dict):
        problems.add(where, 'must be a table like { staff = "d01", phone = "…" }')
        return None
    _check_keys(value, {"staff", "phone", "email"}, problems, where)
    staff = _get(value, "staff", str, problems, where)
    phone = _get(value, "phone", str, problems, where, default=None)
    if phone is not None and not _PHONE_RE.match(phone):
        problems.add(f"{where}.phone", f"{phone!r} is not a phone number")
    email = _get(value, "email", str, problems, where, default=None)
    if email is not None and not _EMAIL_RE.match(email):
        problems.add(f"{where}.email", f"{email!r} is not an e-mail address")
    return Contact(staff, phone, email)


def _departments(
    raw: dict[str, Any], problems: _Problems, langs: tuple[str, ...]
) -> list[Department]:
    """Departments are optional; a hall that has them puts every service in one."""
    value = raw.get("departments", [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        problems.add("departments", "must be an array of tables ([[departments]])")
        return []
    out: list[Department] = []
    seen: set[str] = set()
    for i, t in enumerate(value):
        where = f"departments[{i}]"
        _check_keys(t, {"id", "name", "head", "leader"}, problems, where)
        did = _get(t, "id", str, problems, where)
        if did and not _ID_RE.match(did):
            problems.add(f"{where}.id", f"{did!r} must be lower-case letters, digits, - or _")
        if did in seen:
            problems.add(f"{where}.id", f"duplicate department {did!r}")
        seen.add(did)
        if "head" not in t:
            problems.add(f"{where}.head", "missing: red lights reach the department head")
        head = _contact(t.get("head", {}), problems, f"{where}.head")
        leader = _contact(t["leader"], problems, f"{where}.leader") if "leader" in t else None
        out.append(
            Department(
                did,
                _names(t.get("name"), problems, f"{where}.name", langs),
                head or Contact(""),
                leader,
            )
        )
    return out


def _check_heads(
    departments: tuple[Department, ...], clerks: tuple[Clerk, ...], problems: _Problems
) -> None:
    """A department's head signs in to its office: a [[clerks]] entry with role head there."""
    by_id = {c.id: c for c in clerks}
    for i, d in enumerate(departments):
        if not d.head.staff:
            continue
        clerk = by_id.get(d.head.staff)
        if clerk is None:
            problems.add(f"departments[{i}].head.staff", f"unknown clerk {d.head.staff!r}")
        elif "head" not in clerk.roles or clerk.department != d.id:
            problems.add(
                f"departments[{i}].head.staff",
                f'clerk {clerk.id!r} needs roles = ["head"] and department = {d.id!r}',
            )


def _casefiles(value: Any, problems: _Problems) -> CaseFileSettings:
    if not isinstance(value, dict):
        problems.add("casefiles", "must be a table")
        return CaseFileSettings()
    _check_keys(
        value,
        {"number_format", "yellow_days", "yellow_share", "early_days", "pickup_service"},
        problems,
        "casefiles",
    )
    d = CaseFileSettings()
    fmt = _get(value, "number_format", str, problems, "casefiles", default=d.number_format)
    from .core.casefile import case_number

    try:
        sample = case_number(fmt, dt.date(2026, 12, 31), "department-id", 999_999)
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        problems.add("casefiles.number_format", f"{fmt!r} cannot be used: {exc!r}")
    else:
        if "{seq" not in fmt:
            problems.add("casefiles.number_format", "must contain {seq}, or numbers repeat")
        if len(sample) > CASE_NUMBER_MAX:
            problems.add(
                "casefiles.number_format", f"makes numbers over {CASE_NUMBER_MAX} characters"
            )
    yellow_days = _get(value, "yellow_days", int, problems, "casefiles", default=d.yellow_days)
    if yellow_days < 0:
        problems.add("casefiles.yellow_days", "must not be negative")
    share = _get(value, "yellow_share", float, problems, "casefiles", default=None)
    if share is not None:
        if "yellow_days" in value:
            problems.add("casefiles", "give yellow_days or yellow_share, not both")
        if not 0 < share < 1:
            problems.add("casefiles.yellow_share", "must be between 0 and 1, e.g. 0.2")
    early = _get(value, "early_days", int, problems, "casefiles", default=d.early_days)
    if early < 1:
        problems.add("casefiles.early_days", "must be at least 1")
    pickup = _get(value, "pickup_service", str, problems, "casefiles", default=None)
    return CaseFileSettings(fmt, yellow_days, share, early, pickup)


def _accountability(value: Any, problems: _Problems) -> AccountabilitySettings:
    """``[accountability]``: the satisfaction threshold and what follows from it."""
    d = AccountabilitySettings()
    if not isinstance(value, dict):
        problems.add("accountability", "must be a table")
        return d
    where = "accountability"
    _check_keys(
        value,
        {"threshold", "min_ratings", "periods", "subjects", "reminder_limit", "rolling_days"},
        problems,
        where,
    )
    threshold = _get(value, "threshold", float, problems, where, default=d.threshold)
    if not 0 < threshold <= 1:
        problems.add(f"{where}.threshold", "must be a share above 0 and at most 1, e.g. 0.8")
    ints = {}
    for key, least in (("min_ratings", 1), ("reminder_limit", 0), ("rolling_days", 1)):
        ints[key] = _get(value, key, int, problems, where, default=getattr(d, key))
        if ints[key] < least:
            problems.add(f"{where}.{key}", f"must be at least {least}")
    if ints["rolling_days"] > 3660:
        problems.add(f"{where}.rolling_days", "must be at most 3660 (ten years)")
    lists = {}
    for key, allowed in (("periods", PERIOD_KINDS), ("subjects", SUBJECT_KINDS)):
        got = _get(value, key, list, problems, where, default=list(getattr(d, key)))
        for j, x in enumerate(got):
            if x not in allowed:
                problems.add(f"{where}.{key}[{j}]", f"{x!r} must be one of {', '.join(allowed)}")
        lists[key] = tuple(dict.fromkeys(x for x in got if x in allowed))
    return AccountabilitySettings(threshold=float(threshold), **ints, **lists)


SECTION_VALIDATORS: dict[str, str] = {
    "gateway": "hardware.gateway.config:validate",
    "kiosk": "kiosk.config:validate",
    "display": "display.config:validate",
}
"""Device sections of the hall file, each checked by its own package when present.

The display reads most settings from its command line; ``[display]`` holds what every
hall display of the hall shows alike (the weekly ranking board), published in
``hall.info``."""


def _run_validator(
    target: str, section: dict[str, Any], raw: dict[str, Any]
) -> list[tuple[str, str]]:
    """Problems of a device section as (location, message); a missing validator is one.

    Every package ships with the project, so a validator that cannot be imported is a
    broken install, not a device "not here": saying nothing would let any nonsense
    through ``check-config``.
    """
    import importlib

    module, _, func = target.partition(":")
    try:
        validate = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        return [("", f"cannot be checked: {module}.{func} is unavailable ({exc})")]
    return list(validate(section, raw))


def _rules(value: Any, problems: _Problems) -> Rules:
    if not isinstance(value, dict):
        problems.add("rules", "must be a table")
        return Rules()
    defaults = Rules()
    kwargs: dict[str, Any] = {}
    for key in value:
        if not hasattr(defaults, key):
            problems.add(f"rules.{key}", "unknown key")
    for key, default in (
        ("recall_limit", 3),
        ("no_show_rejoin_minutes", 30),
        ("rating_timeout_seconds", 120),
        ("rating_scale", 5),
        ("rolling_cases", 20),
        ("max_message_bytes", 64 * 1024),
        ("idempotency_hours", 24),
        ("unattended_minutes", 10),
        ("senior_age", 65),
        ("per_person_daily_cap", 2),
    ):
        kwargs[key] = _get(value, key, int, problems, "rules", default=default)
        if kwargs[key] < 0:
            problems.add(f"rules.{key}", "must not be negative")
    kwargs["default_service_minutes"] = _get(
        value, "default_service_minutes", float, problems, "rules", default=8.0
    )
    if kwargs["rating_scale"] not in (4, 5):
        problems.add("rules.rating_scale", "must be 4 or 5")
    if kwargs["rolling_cases"] < 1:
        problems.add("rules.rolling_cases", "must be at least 1")
    if kwargs["max_message_bytes"] < 1024:
        problems.add("rules.max_message_bytes", "must be at least 1024")
    return Rules(**kwargs)


def _server(value: Any, problems: _Problems) -> ServerSettings:
    if not isinstance(value, dict):
        problems.add("server", "must be a table")
        return ServerSettings()
    ints = (
        "max_connections",
        "max_connections_per_address",
        "max_connections_per_ticket",
        "max_hello_bytes",
        "max_send_buffer_bytes",
    )
    _check_keys(
        value,
        {
            "host",
            "port",
            "db",
            "public_url",
            "allowed_origins",
            "tls_cert",
            "tls_key",
            "compression",
            *ints,
        },
        problems,
        "server",
    )
    d = ServerSettings()
    port = _get(value, "port", int, problems, "server", default=d.port)
    if not 0 <= port <= 65535:
        problems.add("server.port", "must be between 0 and 65535")
    limits = {}
    for name in ints:
        n = _get(value, name, int, problems, "server", default=getattr(d, name))
        if isinstance(n, int) and n < 1:
            problems.add(f"server.{name}", "must be at least 1")
        limits[name] = n
    if limits["max_hello_bytes"] < 256:
        problems.add("server.max_hello_bytes", "must be at least 256")
    if isinstance(limits["max_send_buffer_bytes"], int) and limits["max_send_buffer_bytes"] < 4096:
        problems.add("server.max_send_buffer_bytes", "must be at least 4096")
    compression = _get(value, "compression", str, problems, "server", default=d.compression)
    if compression not in ("none", "deflate"):
        problems.add("server.compression", 'must be "none" or "deflate"')
    origins = _get(value, "allowed_origins", list, problems, "server", default=[])
    for i, o in enumerate(origins):
        if not isinstance(o, str) or not re.match(r"^https?://[^/\s]+$", o):
            problems.add(f"server.allowed_origins[{i}]", "must be like https://hall.example")
    cert = _get(value, "tls_cert", str, problems, "server", default=None)
    key = _get(value, "tls_key", str, problems, "server", default=None)
    if (cert is None) != (key is None):
        problems.add("server", "give both tls_cert and tls_key, or neither")
    for name, path in (("tls_cert", cert), ("tls_key", key)):
        if path is not None and not Path(path).is_file():
            problems.add(f"server.{name}", f"no such file {path!r}")
    return ServerSettings(
        host=_get(value, "host", str, problems, "server", default=d.host),
        port=port,
        db=_get(value, "db", str, problems, "server", default=d.db),
        public_url=_get(value, "public_url", str, problems, "server", default=d.public_url),
        allowed_origins=tuple(o for o in origins if isinstance(o, str)),
        tls_cert=cert,
        tls_key=key,
        compression=compression if compression in ("none", "deflate") else d.compression,
        **limits,
    )


ALERT_EVENTS = (
    "rating.dissatisfied",
    "case.overdue",
    "casefile.light",
    "signin.locked",
    "queue.unattended",
    "reminder.raised",
    "accountability.raised",
)
"""Events an ``[[alerts]]`` rule may be ``on``."""
CHANNELS = ("email", "sms", "webhook")


def _notify(raw: dict[str, Any], problems: _Problems) -> NotifySettings:
    """``[notify]`` (transports, ``[[notify.recipients]]``) and the ``[[alerts]]`` rules."""
    value = raw.get("notify", {})
    if not isinstance(value, dict):
        problems.add("notify", "must be a table")
        value = {}
    _check_keys(
        value,
        {
            "webhook_url", "webhook_secret_env", "smtp_host", "smtp_port", "smtp_from",
            "smtp_user", "smtp_password_env", "smtp_starttls", "sms_url", "sms_body",
            "max_tries", "recipients",
        },
        problems,
        "notify",
    )  # fmt: skip
    d = NotifySettings()

    def secret(key: str) -> str | None:
        var = _get(value, key, str, problems, "notify", default=None)
        if var is None:
            return None
        if not os.environ.get(var):
            problems.add(f"notify.{key}", f"environment variable {var!r} is not set")
        return os.environ.get(var) or None

    def url(key: str) -> str | None:
        u = _get(value, key, str, problems, "notify", default=None)
        if u is not None and not re.match(r"^https?://[^\s]+$", u):
            problems.add(f"notify.{key}", "must be an http:// or https:// address")
        return u

    recipients: list[Recipient] = []
    rows = value.get("recipients", [])
    if not isinstance(rows, list):
        problems.add("notify.recipients", "must be a list of tables ([[notify.recipients]])")
        rows = []
    for i, t in enumerate(rows):
        where = f"notify.recipients[{i}]"
        if not isinstance(t, dict):
            problems.add(where, "must be a table")
            continue
        _check_keys(t, {"id", "name", "email", "phone", "webhook"}, problems, where)
        rid = _get(t, "id", str, problems, where)
        if any(r.id == rid for r in recipients):
            problems.add(f"{where}.id", f"duplicate recipient {rid!r}")
        email = _get(t, "email", str, problems, where, default=None)
        if email is not None and not re.match(r"^[^@\s]+@[^@\s]+$", email):
            problems.add(f"{where}.email", "must be an e-mail address")
        phone = _get(t, "phone", str, problems, where, default=None)
        if phone is not None and not re.match(r"^\+?[0-9]{5,15}$", phone):
            problems.add(f"{where}.phone", "must be digits, optionally after +")
        hook = _get(t, "webhook", bool, problems, where, default=False)
        if email is None and phone is None and not hook:
            problems.add(where, "give an email, a phone or webhook = true")
        recipients.append(
            Recipient(rid, _get(t, "name", str, problems, where, default=""), email, phone, hook)
        )
    rules: list[AlertRule] = []
    for i, t in enumerate(_list_of_tables(raw, "alerts", problems) if "alerts" in raw else []):
        where = f"alerts[{i}]"
        _check_keys(t, {"on", "to", "channels"}, problems, where)
        on = _get(t, "on", str, problems, where)
        if on not in ALERT_EVENTS:
            problems.add(f"{where}.on", f"{on!r} must be one of {', '.join(ALERT_EVENTS)}")
        to = _get(t, "to", list, problems, where)
        for j, rid in enumerate(to):
            if rid not in ("head", "leader") and not any(r.id == rid for r in recipients):
                problems.add(
                    f"{where}.to[{j}]",
                    f"unknown recipient {rid!r} (a [[notify.recipients]] id, head or leader)",
                )
        channels = _get(t, "channels", list, problems, where, default=[])
        for j, ch in enumerate(channels):
            if ch not in CHANNELS:
                problems.add(
                    f"{where}.channels[{j}]", f"{ch!r} must be one of {', '.join(CHANNELS)}"
                )
        rules.append(AlertRule(on, tuple(map(str, to)), tuple(map(str, channels))))
    settings = NotifySettings(
        webhook_url=url("webhook_url"),
        webhook_secret=secret("webhook_secret_env"),
        smtp_host=_get(value, "smtp_host", str, problems, "notify", default=None),
        smtp_port=_get(value, "smtp_port", int, problems, "notify", default=d.smtp_port),
        smtp_from=_get(value, "smtp_from", str, problems, "notify", default=d.smtp_from),
        smtp_user=_get(value, "smtp_user", str, problems, "notify", default=None),
        smtp_password=secret("smtp_password_env"),
        smtp_starttls=_get(value, "smtp_starttls", bool, problems, "notify", default=False),
        sms_url=url("sms_url"),
        sms_body=_get(value, "sms_body", str, problems, "notify", default=d.sms_body),
        max_tries=_get(value, "max_tries", int, problems, "notify", default=d.max_tries),
        recipients=tuple(recipients),
        alerts=tuple(rules),
    )
    for rule_i, rule in enumerate(settings.alerts):
        for ch in rule.channels:
            missing = {
                "email": settings.smtp_host is None,
                "sms": settings.sms_url is None,
                "webhook": settings.webhook_url is None,
            }[ch]
            if missing:
                problems.add(f"alerts[{rule_i}].channels", f"{ch} is not set up in [notify]")
    if settings.max_tries < 1:
        problems.add("notify.max_tries", "must be at least 1")
    return settings


DEMO_CONFIG = Path(__file__).parent / "demo" / "hall.toml"


# ---------------------------------------------------------------------------------------
# County files: several halls served together, and the county's own page


@dataclass(frozen=True)
class CountyConfig:
    """``county.toml``: the halls of one county (each its own hall file, port and id)
    and the county's settings: its page's address and the county leader's tokens."""

    name: str
    host: str
    port: int
    halls: tuple[HallConfig, ...]
    """Each with the county's tokens added as ``county`` devices (drill-down)."""
    dbs: dict[str, str]
    """Each hall's database URL by hall id: the county's ``db``, else the hall's own."""
    tokens: tuple[DeviceToken, ...]
    source: str
    links: dict[str, str] = dataclasses.field(default_factory=dict)
    """``[county.links]``: where the page links each hall (hall id → base URL, such as
    the reverse proxy's https address); by default the county page's host and the
    hall's port."""

    def hall(self, hall_id: str) -> HallConfig:
        """A hall by id; an unknown one is a located error listing the county's halls."""
        for h in self.halls:
            if h.hall_id == hall_id:
                return h
        raise ConfigError(
            self.source,
            [f"hall {hall_id!r}: no such hall in this county; its halls: "
             + ", ".join(h.hall_id for h in self.halls)],
        )  # fmt: skip

    def token(self, secret: str) -> DeviceToken | None:
        return next((t for t in self.tokens if hmac.compare_digest(t.token, secret)), None)


def load_county(path: str | os.PathLike[str], db: str | None = None) -> CountyConfig:
    """Read a county file and every hall file it lists; raise :class:`ConfigError` with
    every problem, each located (``halls[1]: ...``, or a hall file's own place).

    ``db``: a database URL that wins over the file's (``--db``, ``$HALLQ_DB``).
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(p), [f"{p}: file not found"]) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(str(p), [f"{p}: not a TOML file ({exc})"]) from None
    problems = _Problems()
    for key in raw:
        if key not in ("county", "tokens"):
            problems.add(key, "unknown section")
    county = _table(raw, "county", problems, "county")
    _check_keys(county, {"name", "host", "port", "db", "halls", "links"}, problems, "county")
    links = _get(county, "links", dict, problems, "county", default={})
    for hall_id, link in links.items():
        if not isinstance(link, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", link):
            problems.add(f"county.links.{hall_id}", "must be like https://hall.example")
    name = _get(county, "name", str, problems, "county")
    host = _get(county, "host", str, problems, "county", default="127.0.0.1")
    port = _get(county, "port", int, problems, "county", default=8780)
    if not 0 <= port <= 65535:
        problems.add("county.port", "must be between 0 and 65535")
    db = db or _get(county, "db", str, problems, "county", default=None)

    tokens: list[DeviceToken] = []
    for i, t in enumerate(_list_of_tables(raw, "tokens", problems)):
        where = f"tokens[{i}]"
        _check_keys(t, {"name", "token", "token_env"}, problems, where)
        tname = _get(t, "name", str, problems, where)
        secret = _token(t, problems, where)
        tokens.append(DeviceToken(name=f"county:{tname}", role="county", token=secret))
    if len({t.token for t in tokens}) != len(tokens):
        problems.add("tokens", "the same token is given twice")

    halls: list[HallConfig] = []
    dbs: dict[str, str] = {}
    files: dict[Path, int] = {}
    ids: dict[str, int] = {}
    ports: dict[int, str] = {port: "the county page"} if port else {}
    entries = _get(county, "halls", list, problems, "county", default=[])
    if not entries:
        problems.add("county.halls", "list at least one hall file")
    for i, entry in enumerate(entries):
        where = f"halls[{i}]"
        if not isinstance(entry, str):
            problems.add(where, "must be the path of a hall file")
            continue
        file = (p.parent / entry).resolve()
        if file in files:
            problems.add(where, f"{entry} is listed twice (also halls[{files[file]}])")
            continue
        files[file] = i
        try:
            hall = load_config(file)
        except ConfigError as exc:
            for problem in exc.problems:
                problems.add(where, f"{entry}: {problem}")
            continue
        if hall.hall_id in ids:
            problems.add(
                where,
                f"{entry} has hall id {hall.hall_id!r}, already halls[{ids[hall.hall_id]}]'s: "
                "give each hall its own [hall] id",
            )
            continue
        ids[hall.hall_id] = i
        hp = hall.server.port
        if hp and hp in ports:
            problems.add(where, f"{entry} listens on port {hp}, already {ports[hp]}'s")
        elif hp:
            ports[hp] = f"halls[{i}] ({entry})"
        url = db or hall.server.db
        for other, other_url in dbs.items():
            if url == other_url and url.startswith("sqlite"):
                problems.add(
                    where,
                    f"{entry} uses {url}, already hall {other!r}'s: SQLite holds one hall "
                    "per file (give each its own server.db, or use PostgreSQL)",
                )
        for t in tokens:
            if hall.token(t.token) is not None:
                problems.add(where, f"{entry}: a county token is also a device token of the hall")
        dbs[hall.hall_id] = url
        halls.append(
            dataclasses.replace(
                hall, devices=hall.devices + tuple(t for t in tokens if hall.token(t.token) is None)
            )
        )
    for hall_id in links:
        if hall_id not in ids:
            problems.add(f"county.links.{hall_id}", f"unknown hall id {hall_id!r}")
    if problems.items:
        raise ConfigError(str(p), problems.items)
    return CountyConfig(
        name=name, host=host, port=port, halls=tuple(halls), dbs=dbs, tokens=tuple(tokens),
        source=str(p), links=dict(links),
    )  # fmt: skip
