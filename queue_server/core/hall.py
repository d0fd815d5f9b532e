"""The hall as the rules see it: areas, queues, services, windows, devices, clerks.

Plain frozen dataclasses, beside the rules that use them (``rules.py``,
``permissions.py``). ``queue_server/config.py`` only turns a TOML file into these (with
every problem located); nothing here reads a file or knows TOML.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from .ratings import RatingSettings

ROLES = ("kiosk", "clerk", "display", "gateway", "supervisor", "admin", "county")
KNOWN_LANGUAGES = ("zh", "en", "mn")
SERVICE_KINDS = ("instant", "promised")
OFFICE_ROLES = ("officer", "approver", "head")
"""Back-office roles a ``[[clerks]]`` entry may hold: ``officer`` (B: accepts and does the
first review), ``approver`` (A: reviews and decides), ``head`` (the department head)."""


Names = dict[str, str]
"""Text per language code, e.g. ``{"zh": "户籍办理", "en": "Household registration"}``."""


@dataclass(frozen=True, slots=True)
class Area:
    id: str
    name: Names
    location: Names = field(default_factory=dict)
    """Floor and place in the building ("二楼东侧" / "2F east"): part of where to go."""


@dataclass(frozen=True, slots=True)
class Contact:
    """A member of staff an alert may reach: a staff id and the staff's own work contacts.

    These are staff data, given by the hall (a department head's office phone), never a
    citizen's; alerts are routed to them by the notifier.
    """

    staff: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Department:
    """A department of the hall: it owns services and the back office that processes
    their promised cases. ``head`` is the department head (red lights reach them);
    ``leader`` the leader in charge (分管领导), often outside the hall."""

    id: str
    name: Names
    head: Contact
    leader: Contact | None = None


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """Intervals of the service day, in hall-local time, on the given ISO weekdays."""

    intervals: tuple[tuple[dt.time, dt.time], ...]
    weekdays: frozenset[int]

    def is_open(self, local: dt.datetime) -> bool:
        if local.isoweekday() not in self.weekdays:
            return False
        t = local.time()
        return any(start <= t < end for start, end in self.intervals)


ALWAYS_OPEN = OpeningHours(((dt.time(0, 0), dt.time(23, 59, 59, 999999)),), frozenset(range(1, 8)))


@dataclass(frozen=True, slots=True)
class QueueDef:
    prefix: str
    name: Names
    area: str
    hours: OpeningHours = ALWAYS_OPEN
    daily_cap: int | None = None


@dataclass(frozen=True, slots=True)
class ServiceDef:
    id: str
    name: Names
    area: str
    queue: str
    kind: str = "instant"
    department: str | None = None
    promised_days: int = 0
    time_limit_minutes: int = 15
    daily_cap: int | None = None
    materials: dict[str, tuple[str, ...]] = field(default_factory=dict)
    steps: dict[str, tuple[str, ...]] = field(default_factory=dict)
    location: Names = field(default_factory=dict)
    """Where this service is when not where its area is (``Area.location`` otherwise)."""


@dataclass(frozen=True, slots=True)
class WindowDef:
    number: int
    area: str
    queues: tuple[str, ...]
    name: Names = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceToken:
    """A credential: who signs in with it, in which role, and for clerks which window."""

    name: str
    role: str
    token: str
    window: int | None = None
    id_reader: bool = False
    """A kiosk with a second-generation ID card reader: its senior citizens' priority
    needs no hall guide (the card's birth date shows the age)."""


@dataclass(frozen=True, slots=True)
class Clerk:
    """A person who signs in at a window with an id and a PIN (kept only as a hash)."""

    id: str
    name: str
    pin_hash: str
    windows: tuple[int, ...] = ()  # empty: any window
    roles: tuple[str, ...] = ()  # back-office roles (OFFICE_ROLES); empty: a window clerk only
    department: str | None = None  # where the back-office roles apply
    staff_number: str = ""
    """工号: shown with the name on the display over the clerk's window, as halls do."""

    def may_use(self, window: int) -> bool:
        return not self.windows or window in self.windows


@dataclass(frozen=True, slots=True)
class CaseFileSettings:
    """How promised cases are numbered and when their light turns yellow.

    ``number_format`` fields: ``{year}``, ``{date}`` (YYYYMMDD), ``{dept}`` and ``{seq}``
    (a running number, per year when the format shows the year or date, else for ever).
    Yellow comes ``yellow_days`` working days before the due day, or, with
    ``yellow_share``, once no more than that share of the promised working days is left.
    """

    number_format: str = "{year}-{seq:06d}"
    yellow_days: int = 1
    yellow_share: float | None = None
    early_days: int = 1
    """A case is *early* when it is ready at least this many working days before its
    due day ends (提前办结); on time when ready by the end of the due day."""
    pickup_service: str | None = None
    """The service of the unified pick-up window (统一出件): a ticket for it taken with a
    case's number and check code (or the earlier ticket's QR) brings that case to the
    clerk who calls it."""


PERIOD_KINDS = ("day", "week", "month")
SUBJECT_KINDS = ("window", "clerk", "department", "service")


@dataclass(frozen=True, slots=True)
class AccountabilitySettings:
    """``[accountability]``: when a satisfaction rate leads to a talk reminder (谈话提醒)
    and reminders to an accountability record (问责); rules in ``core/accountability.py``.

    ``periods``: the assessment periods that yield reminders (月考核: month); each is
    assessed once it has ended. ``subjects``: whose rate is assessed. A rate counts only
    with at least ``min_ratings`` ratings; below ``threshold`` it yields a reminder; more
    than ``reminder_limit`` reminders of one subject in ``rolling_days`` days yield an
    accountability record for the leader in charge.
    """

    threshold: float = 0.80
    min_ratings: int = 20
    periods: tuple[str, ...] = ("month",)
    subjects: tuple[str, ...] = ("window", "clerk")
    reminder_limit: int = 3
    rolling_days: int = 365


@dataclass(frozen=True, slots=True)
class Rules:
    recall_limit: int = 3
    no_show_rejoin_minutes: int = 30
    rating_timeout_seconds: int = 120
    rating_scale: int = 5
    rolling_cases: int = 20
    default_service_minutes: float = 8.0
    max_message_bytes: int = 64 * 1024
    idempotency_hours: int = 24
    unattended_minutes: int = 10
    senior_age: int = 65
    per_person_daily_cap: int = 2
    """Tickets one ID card may take for one service in a day (0: no cap)."""
    """From this age a citizen whose ID card was read at a kiosk gets priority unasked."""
    """People waiting this long with no open window for their queue: ``queue.unattended``."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Where the server listens, and the limits that keep it serving under abuse.

    The limits are per process. A hall's phones share one Wi-Fi address behind NAT, so
    the per-address limit is generous; a phone-page token needs only a few connections
    (a phone, a second tab). ``allowed_origins`` lists the web origins whose pages may
    open a WebSocket (empty: only pages served by this server itself, and clients that
    send no Origin, such as kiosks and displays). ``tls_cert``/``tls_key`` make it serve
    https and wss.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    db: str = "sqlite:///hallq.db"
    public_url: str = "http://127.0.0.1:8765"
    allowed_origins: tuple[str, ...] = ()
    tls_cert: str | None = None
    tls_key: str | None = None
    max_connections: int = 10_000
    max_connections_per_address: int = 2_000
    max_connections_per_ticket: int = 4
    max_hello_bytes: int = 4096
    max_send_buffer_bytes: int = 256 * 1024
    """Unsent bytes one connection may hold before it is dropped as too slow (4004)."""
    compression: str = "none"
    """``none`` or ``deflate`` (permessage-deflate, if the client offers it)."""


DEFAULT_HALL_ID = "main"
"""The id of a hall whose file gives none (``[hall] id``): one hall in its database."""


@dataclass(frozen=True)
class HallConfig:
    name: Names
    timezone: str
    languages: tuple[str, ...]
    areas: tuple[Area, ...]
    queues: tuple[QueueDef, ...]
    services: tuple[ServiceDef, ...]
    windows: tuple[WindowDef, ...]
    devices: tuple[DeviceToken, ...]
    clerks: tuple[Clerk, ...] = ()
    departments: tuple[Department, ...] = ()
    casefiles: CaseFileSettings = CaseFileSettings()
    accountability: AccountabilitySettings = AccountabilitySettings()
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Device sections (``[gateway]``, ``[kiosk]``, ``[display]``) checked by their packages."""
    rules: Rules = Rules()
    server: ServerSettings = ServerSettings()
    notify: NotifySettings = field(default_factory=lambda: NotifySettings())
    ratings: RatingSettings = field(default_factory=lambda: _rating_defaults())
    """``[ratings]``: codes, reasons, the ledger's deadlines, upload (core/ratings.py)."""
    id_salt: bytes | None = None
    """The hall's secret for hashing ID numbers (``[hall] id_salt_env``); the kiosks'
    readers use the same, so a booked appointment and a card read give one hash."""
    source: str = "<memory>"
    hall_id: str = DEFAULT_HALL_ID
    """``[hall] id``: the hall's name in a database several halls share (its PostgreSQL
    schema ``hall_<id>``, its locks and channel) and in a county file."""
    staff_photos: str | None = None
    """``[hall] staff_photos``: a directory of clerks' photos (``<clerk id>.jpg`` or
    ``.png``) for the window displays; staff data, served to display devices only."""

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def queue(self, prefix: str) -> QueueDef | None:
        return self._by_prefix.get(prefix)

    def service(self, service_id: str) -> ServiceDef | None:
        return self._by_service.get(service_id)

    def window(self, number: int) -> WindowDef | None:
        return self._by_window.get(number)

    def token(self, secret: str) -> DeviceToken | None:
        return self._by_token.get(secret)

    def clerk(self, clerk_id: str) -> Clerk | None:
        return self._by_clerk.get(clerk_id)

    def department(self, dept_id: str | None) -> Department | None:
        return self._by_department.get(dept_id) if dept_id is not None else None

    @functools.cached_property
    def _by_department(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    @functools.cached_property
    def _by_clerk(self) -> dict[str, Clerk]:
        return {c.id: c for c in self.clerks}

    # Look-ups happen on every request, so each table is indexed once, on first use.
    @functools.cached_property
    def _by_prefix(self) -> dict[str, QueueDef]:
        return {q.prefix: q for q in self.queues}

    @functools.cached_property
    def _by_service(self) -> dict[str, ServiceDef]:
        return {sv.id: sv for sv in self.services}

    @functools.cached_property
    def _by_window(self) -> dict[int, WindowDef]:
        return {w.number: w for w in self.windows}

    @functools.cached_property
    def _by_token(self) -> dict[str, DeviceToken]:
        return {d.token: d for d in self.devices}


def _rating_defaults() -> RatingSettings:
    from .ratings import RatingSettings  # ratings.py builds on rules.py, which needs this

    return RatingSettings()


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member of staff who receives alerts, and where (all optional, at least one).

    Staff contacts, not citizens': alerts never carry a citizen's personal data."""

    id: str
    name: str = ""
    email: str | None = None
    phone: str | None = None
    webhook: bool = False
    """Also send this recipient's alerts to the hall's webhook (e.g. a work-chat bot)."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    """``on`` an event kind, alert ``to`` recipients over ``channels`` (empty: all theirs)."""

    on: str
    to: tuple[str, ...]
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """How alerts leave the building: a webhook, an SMTP server, an HTTP SMS gateway."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "hallq@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_url: str | None = None
    sms_body: str = '{"phone": "{phone}", "text": "{text}"}'
    """The gateway's JSON body; ``{phone}`` and ``{text}`` are filled in (JSON-escaped)."""
    max_tries: int = 8
    recipients: tuple[Recipient, ...] = ()
    alerts: tuple[AlertRule, ...] = ()

    def recipient(self, rid: str) -> Recipient | None:
        return next((r for r in self.recipients if r.id == rid), None)
