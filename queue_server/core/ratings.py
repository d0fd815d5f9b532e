"""Ratings as the national good/bad review scheme (好差评) records them: the one mapping.

HallQ stores a rating level as its own value, 1 (非常不满意, worst) to 5 (非常满意, best),
whatever key or button produced it. Codes exist only at the edges, converted through
:data:`LEVEL_TABLE`, the one explicit table of levels and codes in both orders met in
the field:

* ``national``: GB/T 39046-2020 codes 1 = 非常满意 ... 5 = 非常不满意;
* ``provincial``: several provincial interfaces code 1 = 非常不满意 ... 5 = 非常满意.

The hall file chooses one (``[ratings] code_order``). A device's key number is never
passed through as a code (that is the code-order trap).

Also here: the channel codes, the short list of reasons a citizen picks for a bad
rating, the checks of a rating's extras (reasons, free text, a call-back phone number
with consent), the phone mask, and the national record of one rating. Pure: no I/O.
The meaning of "satisfied" and of a bad rating stays in :mod:`rules` (used from there).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import rules
from .errors import Refused

# -- levels and codes ------------------------------------------------------------------

LEVEL_TABLE: tuple[tuple[int, str, str, int, int], ...] = (
    # HallQ level, 中文, English, national code (GB/T 39046), provincial code
    (5, "非常满意", "very satisfied", 1, 5),
    (4, "满意", "satisfied", 2, 4),
    (3, "基本满意", "basically satisfied", 3, 3),
    (2, "不满意", "dissatisfied", 4, 2),
    (1, "非常不满意", "very dissatisfied", 5, 1),
)
"""THE table of rating levels and their codes. Everything else is made from it."""

CODE_ORDERS = ("national", "provincial")
_COLUMN = {"national": 3, "provincial": 4}


def level_code(level: int, order: str) -> str:
    """The code of a HallQ level in the hall's chosen order (``national``/``provincial``)."""
    col = _COLUMN[order]
    for row in LEVEL_TABLE:
        if row[0] == level:
            return str(row[col])
    raise ValueError(f"no rating level {level!r}")


def level_of_code(code: str | int, order: str) -> int:
    """The HallQ level a code stands for in an order (for data coming back in)."""
    col = _COLUMN[order]
    for row in LEVEL_TABLE:
        if str(row[col]) == str(code).strip():
            return row[0]
    raise ValueError(f"no rating code {code!r} in the {order} order")


def level_label(level: int, lang: str = "zh") -> str:
    """The level's name as people read it (``非常满意``, ``very satisfied``)."""
    for row in LEVEL_TABLE:
        if row[0] == level:
            return row[1] if lang == "zh" else row[2]
    raise ValueError(f"no rating level {level!r}")


def level_names() -> dict[int, dict[str, str]]:
    """Each level's name in Chinese and English as screens show it (``非常满意``, ``Very
    satisfied``): made from :data:`LEVEL_TABLE`, published in ``hall.info``
    (``rating_levels``) and read by the kiosk, the web pages and the evaluator's log, so
    a level is named one way everywhere."""
    return {row[0]: {"zh": row[1], "en": row[2][:1].upper() + row[2][1:]} for row in LEVEL_TABLE}


def levels_for_clients() -> list[dict[str, Any]]:
    """``hall.info``'s ``rating_levels``: best first, with the level's id and names."""
    names = level_names()
    return [
        {"level": row[0], "id": level_name(row[0]), "name": names[row[0]]} for row in LEVEL_TABLE
    ]


def level_name(level: int) -> str:
    """The level's identifier (``very_satisfied``), as :data:`rules.NATIONAL_LEVELS` has it."""
    return rules.NATIONAL_LEVELS[level]


# -- channels --------------------------------------------------------------------------

CHANNELS: dict[str, tuple[str, str, str]] = {
    # HallQ channel: (national channel code, 中文, English)
    "pc": ("1", "PC端", "PC"),
    "mobile": ("2", "移动端", "mobile app"),
    "phone": ("3", "二维码", "phone page by QR code"),
    "device": ("4", "政务大厅平板电脑", "evaluation device at the window"),
    "kiosk": ("5", "政务大厅其他终端", "hall kiosk"),
    "call": ("6", "电话", "phone call"),
    "sms": ("7", "短信", "SMS"),
    "system": ("8", "系统默认评价", "system default (not rated in time)"),
}
"""Where a rating came from, and its channel code. Codes 1-7 follow GB/T 39046 table 9
in the order quoted; 8 for the system default is the provincial interfaces' (not
verified: a hall may set its province's codes in ``[ratings] channel_codes``).
``phone`` is the citizen's phone page opened from the ticket's QR code."""

SOURCE_OF_ROLE = {"gateway": "device", "kiosk": "kiosk", "citizen": "phone"}
"""The channel of a rating by who sent it; an admin names it (``channel``)."""
STAFF_ENTERED = ("device", "call", "sms")
"""Channels an admin may record a rating for (taken over the phone, by SMS, or keyed
in from a device that was offline)."""


def channel_code(channel: str, settings: RatingSettings) -> str:
    """The national code of a channel (the hall's own codes first, then the table)."""
    if channel in settings.channel_codes:
        return settings.channel_codes[channel]
    return CHANNELS[channel][0]


# -- settings --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a citizen may pick for a bad rating (差评原因)."""

    id: str
    name: dict[str, str]


DEFAULT_REASONS = (
    Reason("attitude", {"zh": "服务态度不好", "en": "Unfriendly service"}),
    Reason("slow", {"zh": "办理效率低", "en": "Too slow"}),
    Reason("wait", {"zh": "等候时间长", "en": "Waited too long"}),
    Reason("unclear", {"zh": "告知不清楚", "en": "Not told clearly what was needed"}),
    Reason("again", {"zh": "需要多次跑动", "en": "Had to come back again"}),
    Reason("rules", {"zh": "政策规定不合理", "en": "The rules themselves"}),
    Reason("other", {"zh": "其他", "en": "Other"}),
)


@dataclass(frozen=True, slots=True)
class RatingSettings:
    """``[ratings]`` of the hall file: codes, reasons, the ledger's deadlines, upload.

    Deadlines are working days after the day of the rating, counted with the hall's
    calendar: the citizen is contacted within ``contact_days``, the fault rectified
    within ``rectify_days`` and the citizen called back within ``callback_days``.
    A call-back phone number is erased when its record closes, or ``phone_days``
    calendar days after the rating at the latest.
    """

    region_code: str = ""
    code_order: str = "national"
    reasons: tuple[Reason, ...] = DEFAULT_REASONS
    channel_codes: Mapping[str, str] = field(default_factory=dict)
    text_max: int = 200
    contact_days: int = 1
    rectify_days: int = 5
    callback_days: int = 5
    phone_days: int = 30
    upload_url: str | None = None
    """Where new ratings and closed ledger records are sent (through the outbox)."""
    not_rated_level: int | None = None
    """The level a province's interface wants for a case not rated in time (its "system
    default rating"), sent with the system-default channel; None: no level, as the
    national standard has it. Only the export and upload carry it: HallQ's own rates
    still count a not-rated case apart, never as a rating."""
    upload_secret_env: str | None = None
    """The environment variable holding the upload's HMAC-SHA256 key (the
    ``X-HallQ-Signature`` header, as webhooks are signed); never the key itself."""

    def reason(self, rid: str) -> Reason | None:
        return next((r for r in self.reasons if r.id == rid), None)


def parse_settings(value: Any) -> tuple[RatingSettings, list[tuple[str, str]]]:
    """``[ratings]`` of the hall file into settings, with every problem as (where, what)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(value, dict):
        return RatingSettings(), [("", "must be a table")]
    d = RatingSettings()
    known = {
        "region_code",
        "code_order",
        "reasons",
        "channel_codes",
        "text_max",
        "contact_days",
        "rectify_days",
        "callback_days",
        "phone_days",
        "upload_url",
        "upload_secret_env",
        "not_rated_level",
    }
    for key in value:
        if key not in known:
            problems.append((key, "unknown key"))
    region = value.get("region_code", d.region_code)
    if not isinstance(region, str) or not re.fullmatch(r"\d{0,9}", region):
        problems.append(("region_code", "must be the region code, up to 9 digits, as text"))
        region = d.region_code
    order = value.get("code_order", d.code_order)
    if order not in CODE_ORDERS:
        problems.append(("code_order", f"must be one of {', '.join(CODE_ORDERS)}"))
        order = d.code_order
    ints: dict[str, int] = {}
    for key, lo in (
        ("text_max", 0),
        ("contact_days", 0),
        ("rectify_days", 1),
        ("callback_days", 1),
        ("phone_days", 1),
    ):
        v = value.get(key, getattr(d, key))
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            problems.append((key, f"must be a whole number, at least {lo}"))
            v = getattr(d, key)
        ints[key] = v
    if ints["contact_days"] > ints["rectify_days"]:
        problems.append(("contact_days", "the citizen is contacted before the fix is due"))
    reasons = d.reasons
    if "reasons" in value:
        raw = value["reasons"]
        got: list[Reason] = []
        if not isinstance(raw, list) or not raw:
            problems.append(("reasons", "must be a list of {id, name = {zh, en}} tables"))
        else:
            for i, r in enumerate(raw):
                rid = r.get("id") if isinstance(r, dict) else None
                name = r.get("name") if isinstance(r, dict) else None
                if not isinstance(rid, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,23}", rid):
                    problems.append((f"reasons[{i}].id", "must be a short lower-case id"))
                    continue
                if not isinstance(name, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) and v for k, v in name.items()
                ):
                    problems.append((f"reasons[{i}].name", "must be a table of texts per language"))
                    continue
                if any(g.id == rid for g in got):
                    problems.append((f"reasons[{i}].id", f"{rid!r} is listed twice"))
                got.append(Reason(rid, dict(name)))
            reasons = tuple(got) or d.reasons
    codes = value.get("channel_codes", {})
    if not isinstance(codes, dict) or not all(
        k in CHANNELS and isinstance(v, str) and v for k, v in codes.items()
    ):
        known_channels = ", ".join(CHANNELS)
        problems.append(("channel_codes", f"must map channels ({known_channels}) to codes"))
        codes = {}
    url = value.get("upload_url")
    if url is not None and (not isinstance(url, str) or not re.match(r"https?://", url)):
        problems.append(("upload_url", "must be an http(s) URL"))
        url = None
    default_level = value.get("not_rated_level")
    if default_level is not None and (
        isinstance(default_level, bool)
        or not isinstance(default_level, int)
        or not any(row[0] == default_level for row in LEVEL_TABLE)
    ):
        problems.append(("not_rated_level", "must be a level, 1 to 5"))
        default_level = None
    secret_env = value.get("upload_secret_env")
    if secret_env is not None and (
        not isinstance(secret_env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", secret_env)
    ):
        problems.append(("upload_secret_env", "must name an environment variable"))
        secret_env = None
    return (
        RatingSettings(
            region_code=region,
            code_order=order,
            reasons=reasons,
            channel_codes=dict(codes),
            upload_url=url,
            upload_secret_env=secret_env,
            not_rated_level=default_level,
            **ints,
        ),
        problems,
    )


# -- a rating's extras -----------------------------------------------------------------

_PHONE_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_FIXED = re.compile(r"0\d{9,11}")


def normalize_phone(value: Any) -> str:
    """A mainland mobile (11 digits from 13x) or fixed-line number with its area code,
    without spaces, dashes or +86; ``bad_phone`` otherwise."""
    if not isinstance(value, str) or len(value) > 32:
        raise Refused("give a phone number like 13812341234", code="bad_phone")
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if _PHONE_MOBILE.fullmatch(digits) or _PHONE_FIXED.fullmatch(digits):
        return digits
    raise Refused("that is not a phone number; give one like 13812341234", code="bad_phone")


def mask_phone(phone: str | None) -> str | None:
    """``138****1234``: enough for staff to recognise, not to dial."""
    if not phone:
        return None
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


@dataclass(frozen=True, slots=True)
class Extras:
    """What a citizen may add to a rating, checked."""

    reasons: tuple[str, ...] = ()
    text: str | None = None
    phone: str | None = None


def check_extras(level: int, args: Mapping[str, Any], settings: RatingSettings) -> Extras:
    """Check what comes with a rating; refuse with a stable code, before anything is written.

    Reasons are asked only for a bad rating (:func:`rules.is_dissatisfied`), and a
    call-back number only there too: a good rating has no call-back to make. A number
    is taken only with the citizen's explicit consent (``consent: true``).
    """
    bad = rules.is_dissatisfied(level)
    reasons = args.get("reasons")
    picked: tuple[str, ...] = ()
    if reasons is not None:
        if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
            raise Refused("reasons must be a list of reason ids", code="bad_request")
        if reasons and not bad:
            raise Refused(
                "reasons are asked only for a dissatisfied rating", code="reasons_not_asked"
            )
        for r in reasons:
            if settings.reason(r) is None:
                raise Refused(f"unknown reason {r!r}", code="unknown_reason")
        picked = tuple(dict.fromkeys(reasons))
    text = args.get("text")
    if text is not None:
        if not isinstance(text, str):
            raise Refused("text must be text", code="bad_request")
        text = text.strip() or None
        if text is not None and len(text) > settings.text_max:
            raise Refused(
                f"the comment is longer than {settings.text_max} characters", code="text_too_long"
            )
    phone = None
    if args.get("phone") not in (None, ""):
        if not bad:
            raise Refused(
                "a call-back number is asked only for a dissatisfied rating",
                code="phone_not_needed",
            )
        if args.get("consent") is not True:
            raise Refused(
                "a phone number is kept only with the citizen's consent", code="consent_needed"
            )
        phone = normalize_phone(args.get("phone"))
    return Extras(picked, text, phone)


# -- the national record ---------------------------------------------------------------

RATING_FIELDS: tuple[tuple[str, str], ...] = (
    # key in the record, national field name (GB/T 39046 table 9 and provincial interfaces)
    ("record_id", "记录编号"),
    ("case_number", "办件编号"),
    ("channel", "评价渠道"),
    ("rater", "评价人"),
    ("rated_at", "评价时间"),
    ("times", "评价次数"),
    ("first_or_second", "首评追评"),
    ("satisfaction", "满意度"),
    ("satisfaction_code", "满意度代码"),
    ("reasons", "差评原因"),
    ("text", "文字评价"),
    ("region_code", "行政区划代码"),
    ("department", "部门编码"),
    ("item_code", "事项编码"),
    ("clerk", "办件人员"),
    ("window", "窗口编号"),
    ("promise_type", "承诺类型"),
    ("accepted_on", "受理日期"),
)
"""The fields of an exported rating, in order, with their national names (the JSON keys
and the CSV header). Never a phone number: it is not a field."""

RECTIFICATION_FIELDS: tuple[tuple[str, str], ...] = (
    ("record_id", "记录编号"),
    ("case_number", "办件编号"),
    ("region_code", "行政区划代码"),
    ("department", "部门编码"),
    ("satisfaction_code", "满意度代码"),
    ("opened_at", "差评时间"),
    ("finding", "核实结果"),
    ("appeal", "申诉复核结果"),
    ("contact", "联系结果"),
    ("contacted_at", "联系时间"),
    ("rectified_at", "整改时间"),
    ("callback", "回访结果"),
    ("callback_at", "回访时间"),
    ("fix_satisfaction_code", "整改满意度代码"),
    ("state", "办理状态"),
    ("closed_at", "办结时间"),
    ("overdue", "是否超期"),
)


def national_time(t: dt.datetime | None, tz: dt.tzinfo) -> str:
    """``YYYYMMDDThhmmss`` in hall-local time, as the standard writes times."""
    return t.astimezone(tz).strftime("%Y%m%dT%H%M%S") if t is not None else ""


@dataclass(frozen=True, slots=True)
class RatedCase:
    """What the national record of one rating needs, as the store read it."""

    case_id: int
    case_number: str
    channel: str
    rated_at: dt.datetime | None
    level: int | None
    reasons: tuple[str, ...]
    text: str | None
    department: str | None
    service: str
    clerk: str | None
    window: int | None
    promised: bool
    accepted_on: dt.date | None


def rating_record(r: RatedCase, settings: RatingSettings, tz: dt.tzinfo) -> dict[str, str]:
    """One rating in the national field names (all values text; empty when unknown).

    A case not rated in time is recorded with the system-default channel and no level,
    or the hall's ``not_rated_level`` where its province's interface asks for one.
    """
    level = r.level
    if level is None and r.channel == "system":
        level = settings.not_rated_level
    values = {
        "record_id": f"R{r.case_id}",
        "case_number": r.case_number[:50],
        "channel": channel_code(r.channel, settings),
        "rater": "",
        "rated_at": national_time(r.rated_at, tz),
        "times": "1",
        "first_or_second": "1",
        "satisfaction": level_label(level) if level is not None else "",
        "satisfaction_code": level_code(level, settings.code_order) if level is not None else "",
        "reasons": ";".join(r.reasons),
        "text": r.text or "",
        "region_code": settings.region_code,
        "department": r.department or "",
        "item_code": r.service,
        "clerk": r.clerk or "",
        "window": str(r.window) if r.window is not None else "",
        "promise_type": "2" if r.promised else "1",
        "accepted_on": r.accepted_on.strftime("%Y%m%d") if r.accepted_on else "",
    }
    return {national: values[key] for key, national in RATING_FIELDS}


def national_row(values: Mapping[str, str], fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A record keyed by national names, from one keyed by HallQ's field keys."""
    return {national: values.get(key, "") for key, national in fields}
