"""What the kiosk shows, as plain state with no window and no I/O.

The model is a Kivy ``EventDispatcher`` so the ``.kv`` screens can bind to its properties,
but it never touches a widget, the network or the clock: time is passed in (``touch``,
``tick``), and the controller feeds it server replies and printer results. So every rule
here (idle reset, PIN entry, which services a search shows, what the ticket screen says
when the printer fails) is tested without a window and without waiting.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from kivy.event import EventDispatcher
from kivy.properties import (
    BooleanProperty,
    DictProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    OptionProperty,
    StringProperty,
)

from kiosk import i18n
from kiosk.search import ServiceIndex

SCREENS = (
    "home",
    "services",
    "detail",
    "priority",
    "appointment",
    "ticket",
    "rating",
    "case",
)
PRIORITY_KINDS = ("elderly", "disabled", "pregnant", "veteran")
PRINT_STATES = ("idle", "printing", "printed", "failed", "none")
CODE_LENGTH = 8
PIN_MAX = 8
PIN_MIN = 4
STAFF_MAX = 12
CHECK_LENGTH = 4
LABEL_MAX = 6
CASE_MAX = 24
CASE_STAGES = ("accepted", "in_review", "decided", "ready", "delivered")
"""The road of a promised case as the citizen is shown it (the server says which are
reached: ``progress`` of ``casefile.lookup``)."""


def wait_range(figures: Mapping[str, Any]) -> tuple[int, int] | None:
    """The 80 % range (low, high) the server sent with an estimate, if it is a real range.

    Shown as the phone page shows it (``ticket.js``): only when low < high, so "0" and a
    point range stay one figure.
    """
    lo, hi = figures.get("est_wait_low"), figures.get("est_wait_high")
    if isinstance(lo, int) and isinstance(hi, int) and lo < hi:
        return lo, hi
    return None


PHONE_MAX = 12
"""A mobile number is 11 digits, a fixed line with its area code up to 12."""


class KioskModel(EventDispatcher):
    """The kiosk's state; methods are the citizen's actions and the outside world's news.

    ``idle_seconds`` sends an untouched kiosk home; on the ticket screen the citizen gets
    ``ticket_seconds`` to read (``ticket_fail_seconds`` when the ticket did not print, so
    there is time to photograph the QR code).
    """

    screen = OptionProperty("home", options=SCREENS)
    language = StringProperty("zh")
    large_text = BooleanProperty(False)
    hall = ObjectProperty(None, allownone=True)
    connection = StringProperty("connecting")
    area = StringProperty("")  # "" = every area (search)
    query = StringProperty("")
    results = ListProperty([])
    service = StringProperty("")
    priority = StringProperty("")
    staff_entry = StringProperty("")  # the hall guide's staff number (工号)
    pin_step = OptionProperty("staff", options=("staff", "pin"))
    pin_entry = StringProperty("")
    pin_error = BooleanProperty(False)
    code_entry = StringProperty("")
    label_entry = StringProperty("")
    check_entry = StringProperty("")  # the check code printed on the ticket
    rating_token = StringProperty("")  # the ticket's token, read from its QR code
    rating_step = OptionProperty(
        "label", options=("label", "check", "level", "reasons", "phone", "thanks")
    )
    # After one of the two lowest levels: why (reasons picked), and a call-back number
    # only with the citizen's consent. Kept on this screen only; cleared when it is left.
    pending_level = NumericProperty(0)
    picked_reasons = ListProperty([])
    phone_entry = StringProperty("")
    phone_consent = BooleanProperty(False)
    case_entry = StringProperty("")  # a case number (办件编号) being typed
    case_step = OptionProperty("number", options=("number", "check", "shown"))
    case_view = DictProperty({})  # what casefile.lookup answered
    ticket = DictProperty({})
    queues_now = DictProperty({})  # queue prefix -> {"waiting", "est_wait_minutes"}
    print_state = OptionProperty("idle", options=PRINT_STATES)
    printer_condition = StringProperty("")
    error = StringProperty("")  # a refusal code from the server, shown on the screen
    busy = BooleanProperty(False)
    idle_left = NumericProperty(0)
    version = NumericProperty(0)  # bumped when texts must be redrawn (language, hall)

    def __init__(
        self,
        *,
        idle_seconds: float = 60,
        ticket_seconds: float = 20,
        ticket_fail_seconds: float = 90,
        staff_id: str | None = None,
        pin_required: bool = True,
        featured: tuple[str, ...] = (),
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.idle_seconds = idle_seconds
        self.ticket_seconds = ticket_seconds
        self.ticket_fail_seconds = ticket_fail_seconds
        self.default_staff = staff_id  # a guide on duty at this kiosk, if configured
        self.pin_required = pin_required
        self.featured = featured
        self.counts: Counter[str] = Counter()
        self.index: ServiceIndex | None = None
        self._last_touch = 0.0
        self.back_to = "home"
        self._screen_seen = "home"
        self._services: dict[str, Mapping[str, Any]] = {}
        self.visit = 0
        self._case_proof: tuple[str, str] | str = ("", "")
        """Which citizen is at the kiosk: bumped by :meth:`reset`, so whatever belongs to
        one citizen (a request's retry key) is forgotten when they leave."""

    # -- the hall ------------------------------------------------------------------------

    def set_hall(self, info: Mapping[str, Any]) -> None:
        """Take ``hall.info``; the default language is the hall's first one we can show."""
        self._services = {sv["id"]: sv for sv in info.get("services", [])}
        self.index = ServiceIndex(info.get("services", []))
        self.hall = dict(info)
        if self.language not in self.languages:
            self.language = self.languages[0]
        self._refresh_results()
        self.version += 1

    @property
    def languages(self) -> list[str]:
        offered = list((self.hall or {}).get("languages") or ["zh", "en"])
        shown = [lang for lang in offered if lang in i18n.CATALOGS]
        return shown or ["zh"]

    @property
    def online(self) -> bool:
        return self.connection == "online" and self.hall is not None

    def areas(self) -> list[Mapping[str, Any]]:
        return list((self.hall or {}).get("areas", []))

    def services_in(self, area: str) -> list[Mapping[str, Any]]:
        return [sv for sv in self._services.values() if not area or sv.get("area") == area]

    def service_info(self, service_id: str | None = None) -> Mapping[str, Any]:
        return self._services.get(service_id or self.service, {})

    def most_used(self, n: int = 6) -> list[str]:
        """Configured favourites first, then what this kiosk issued most, then hall order."""
        order = [s for s in self.featured if s in self._services]
        by_count = sorted(self._services, key=lambda s: -self.counts[s])
        for sid in by_count:
            if sid not in order:
                order.append(sid)
        return order[:n]

    # -- texts ---------------------------------------------------------------------------

    def t(self, key: str, **values: Any) -> str:
        return i18n.tr(self.language, key, **values)

    def name(self, names: Mapping[str, Any] | None) -> str:
        return str(i18n.pick(names, self.language))

    def service_name(self, service_id: str | None = None) -> str:
        return self.name(self.service_info(service_id).get("name"))

    def error_text(self) -> str:
        return i18n.error_text(self.language, self.error, self.screen) if self.error else ""

    def people_ahead(self, n: int) -> str:
        return i18n.count(self.language, "people_ahead", int(n))

    def queue_now(self, service_id: str | None = None) -> str:
        """How many wait for the service's queue now and about how long: shown before the
        number is taken, so a citizen can decide to come back later. "" until known."""
        stats = self.queues_now.get(self.service_info(service_id).get("queue"))
        if not stats:
            return ""
        wait = stats.get("est_wait_minutes")
        if wait is None:
            return self.t("queue_now_unknown", n=stats.get("waiting", 0))
        span = wait_range(stats)
        if span:
            return self.t(
                "queue_now_range", n=stats.get("waiting", 0), m=wait, lo=span[0], hi=span[1]
            )
        return self.t("queue_now", n=stats.get("waiting", 0), m=wait)

    def wait_text(self, ticket: Mapping[str, Any]) -> str:
        """The ticket's wait as the phone page shows it: "about 12 min (8–20)", one figure
        when the range is a point (or the server sends none)."""
        wait = ticket.get("est_wait_minutes")
        if wait is None:
            return self.t("est_wait_unknown")
        span = wait_range(ticket)
        if span:
            return self.t("est_wait_range", n=wait, lo=span[0], hi=span[1])
        return self.t("est_wait", n=wait)

    def where_to_go(self, service_id: str | None = None) -> str:
        return i18n.where_to_go(self.hall or {}, self.service_info(service_id), self.language)

    def print_text(self) -> str:
        if self.print_state == "printing":
            return self.t("print_printing")
        if self.print_state == "printed":
            return self.t("print_printed")
        if self.print_state == "none":
            return self.t("print_none")
        if self.print_state == "failed":
            reason = self.t(f"printer_{self.printer_condition or 'not_answering'}")
            return self.t("print_failed", reason=reason)
        return ""

    def instruction(self) -> str:
        """The screen's main instruction, for the read-aloud button."""
        s = self.screen
        if not self.online:
            return self.t("offline_title") + "。" + self.t("offline_body")
        if s == "home":
            return self.name((self.hall or {}).get("name")) + "。" + self.t("areas")
        if s == "services":
            return self.t("search_hint")
        if s == "detail":
            return self.service_name() + "。" + self.t("take_number")
        if s == "priority":
            return self.t("pin_prompt") if self.priority else self.t("priority_title")
        if s == "appointment":
            return self.t("appointment_title")
        if s == "ticket":
            label = self.ticket.get("label", "")
            return f"{self.t('your_number')} {label}。{self.print_text()}"
        if s == "case":
            if self.case_step == "shown":
                return f"{self.case_state_text()}。{self.case_due_text()}"
            return self.t("case_check_title") if self.case_step == "check" else self.t("case_title")
        if s == "rating":
            if self.rating_step == "level":
                return self.t("rating_choose", label=self.label_entry)
            return (
                self.t("rating_thanks") if self.rating_step == "thanks" else self.t("rating_title")
            )
        return ""

    # -- navigation ----------------------------------------------------------------------

    def go(self, screen: str) -> None:
        self.error = ""
        self.screen = screen

    def set_language(self, language: str) -> None:
        if language in i18n.CATALOGS:
            self.language = language
            self.version += 1

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text

    def open_area(self, area: str) -> None:
        self.area = area
        self.query = ""
        self._refresh_results()
        self.go("services")

    def open_search(self) -> None:
        self.open_area("")

    def type_letter(self, letter: str) -> None:
        if len(self.query) < 12:
            self.query += letter.lower()
            self._refresh_results()

    def delete_letter(self) -> None:
        self.query = self.query[:-1]
        self._refresh_results()

    def clear_query(self) -> None:
        self.query = ""
        self._refresh_results()

    def _refresh_results(self) -> None:
        if self.index is None:
            self.results = []
            return
        found = self.index.search(self.query)
        if self.area:
            found = [s for s in found if self._services[s].get("area") == self.area]
        self.results = found

    def open_service(self, service_id: str) -> None:
        if service_id in self._services:
            self.back_to = self.screen if self.screen in ("home", "services") else "home"
            self.service = service_id
            self.priority = ""
            self.go("detail")

    # -- priority, confirmed by a hall guide --------------------------------------------

    def open_priority(self) -> None:
        self.priority = ""
        self._clear_staff()
        self.go("priority")

    def _clear_staff(self) -> None:
        self.staff_entry = self.default_staff or ""
        self.pin_entry = ""
        self.pin_step = "staff"
        self.pin_error = False

    def choose_priority(self, kind: str) -> bool:
        """Pick a reason; True when the ticket may be issued now (no guide asked)."""
        if kind not in PRIORITY_KINDS or not self.priority_available:
            return False
        self.priority = kind
        self._clear_staff()
        self.error = ""
        return not self.pin_needed

    @property
    def pin_needed(self) -> bool:
        return self.pin_required

    @property
    def priority_available(self) -> bool:
        """The server checks the guide's staff number and PIN; the kiosk only asks."""
        return True

    @property
    def staff_letters(self) -> str:
        """The letters (and signs) the hall's staff numbers use besides digits, for the
        guide's staff-number pad: from the staff ids in ``hall.info`` and this kiosk's own
        guide, so a guide whose id is ``c001`` can type it (digits only could not)."""
        ids = [str(c.get("id", "")) for c in (self.hall or {}).get("clerks", [])]
        ids.append(self.default_staff or "")
        return "".join(sorted({ch for i in ids for ch in i if not ch.isdigit()}))

    def pin_digit(self, digit: str) -> None:
        """A key of the guide's pad: digits always; the staff number's letters only while
        the staff number is typed (a PIN is digits)."""
        letter = self.pin_step == "staff" and len(digit) == 1 and digit in self.staff_letters
        if not (digit.isdigit() or letter):
            return
        if self.pin_step == "staff" and len(self.staff_entry) < STAFF_MAX:
            self.staff_entry += digit
        elif self.pin_step == "pin" and len(self.pin_entry) < PIN_MAX:
            self.pin_entry += digit
        self.pin_error = False
        self.error = ""

    def pin_clear(self) -> None:
        if self.pin_step == "pin" and not self.pin_entry:
            self.pin_step = "staff"
        elif self.pin_step == "pin":
            self.pin_entry = ""
        else:
            self.staff_entry = ""

    def pin_confirm(self) -> str | None:
        """OK on the pad: the staff number first, then the PIN. Returns the typed PIN,
        handed on for the server to check with :attr:`staff_id` (the kiosk keeps no PIN to
        compare with), and clears the entry at once; None while something is missing."""
        if self.pin_step == "staff":
            if self.staff_entry:
                self.pin_step = "pin"
            return None
        pin, self.pin_entry = self.pin_entry, ""
        if len(pin) < PIN_MIN:
            self.pin_error = True
            return None
        return pin

    @property
    def staff_id(self) -> str:
        """The guide who confirms: the staff number typed now, else the kiosk's own."""
        return self.staff_entry or (self.default_staff or "")

    # -- appointment code ----------------------------------------------------------------

    def open_appointment(self) -> None:
        self.code_entry = ""
        self.go("appointment")

    def code_digit(self, digit: str) -> None:
        if digit.isdigit() and len(self.code_entry) < CODE_LENGTH:
            self.code_entry += digit
            self.error = ""

    def code_delete(self) -> None:
        self.code_entry = self.code_entry[:-1]

    @property
    def code_complete(self) -> bool:
        return len(self.code_entry) == CODE_LENGTH

    # -- rating --------------------------------------------------------------------------

    def open_rating(self) -> None:
        self.label_entry = ""
        self.check_entry = ""
        self.rating_token = ""
        self._clear_followup()
        self.rating_step = "label"
        self.go("rating")

    def _clear_followup(self) -> None:
        """Forget the reasons and the number typed (the next citizen sees none of it)."""
        self.pending_level = 0
        self.picked_reasons = []
        self.phone_entry = ""
        self.phone_consent = False

    def asks_why(self, level: int) -> bool:
        """The server says which levels ask for reasons (hall.info): the two lowest."""
        return level in (self.hall or {}).get("rating_followup_levels", [])

    def level_picked(self, level: int) -> bool:
        """True when the rating goes out now; False when the citizen is asked why first."""
        if not self.asks_why(level):
            return True
        self._clear_followup()
        self.pending_level = level
        self.rating_step = "reasons"
        self.error = ""
        return False

    def reasons(self) -> list[dict[str, Any]]:
        return list((self.hall or {}).get("rating_reasons", []))

    def toggle_reason(self, rid: str) -> None:
        picked = list(self.picked_reasons)
        self.picked_reasons = [r for r in picked if r != rid] if rid in picked else picked + [rid]

    def reasons_done(self) -> None:
        self.rating_step = "phone"
        self.error = ""

    def phone_key(self, key: str) -> None:
        if key.isdigit() and len(self.phone_entry) < PHONE_MAX:
            self.phone_entry += key
            self.error = ""

    def phone_delete(self) -> None:
        if self.phone_entry:
            self.phone_entry = self.phone_entry[:-1]
        else:
            self.rating_step = "reasons"

    def toggle_consent(self) -> None:
        self.phone_consent = not self.phone_consent

    def rating_extras(self) -> dict[str, Any]:
        """What goes with a bad rating: the reasons, and the number only with consent
        (the server refuses a number without it, so it is never sent without)."""
        extras: dict[str, Any] = {"reasons": list(self.picked_reasons)}
        if self.phone_entry:
            extras["phone"] = self.phone_entry
            extras["consent"] = bool(self.phone_consent)
        return extras

    def prefixes(self) -> list[str]:
        """Every queue's prefix, for the rating pad (a hall may have a dozen queues)."""
        seen: list[str] = []
        for q in (self.hall or {}).get("queues", []):
            if q.get("prefix") and q["prefix"] not in seen:
                seen.append(q["prefix"])
        return seen

    def label_key(self, key: str) -> None:
        """Queue letters then digits, as printed on the ticket (``A012``)."""
        if len(self.label_entry) >= LABEL_MAX:
            return
        if key.isalpha() and (not self.label_entry or self.label_entry[-1].isalpha()):
            self.label_entry += key.upper()
        elif key.isdigit() and self.label_entry:
            self.label_entry += key
        self.error = ""

    def label_delete(self) -> None:
        self.label_entry = self.label_entry[:-1]

    @property
    def label_complete(self) -> bool:
        prefix = self.label_entry.rstrip("0123456789")
        digits = self.label_entry[len(prefix) :]
        return 1 <= len(prefix) <= 2 and prefix.isalpha() and bool(digits)

    def rating_levels(self) -> list[int]:
        """Best first; a four-key hall has no "very dissatisfied"."""
        scale = int((self.hall or {}).get("rating_scale", 5))
        return [5, 4, 3, 2] if scale == 4 else [5, 4, 3, 2, 1]

    def label_entered(self) -> None:
        """The number, then the check code printed on the ticket: proof the case is the
        citizen's own (the numbers of others are on the hall display)."""
        if self.label_complete:
            self.error = ""
            self.check_entry = ""
            self.rating_step = "level" if self.rating_token else "check"

    def check_key(self, key: str) -> None:
        if key.isdigit() and len(self.check_entry) < CHECK_LENGTH:
            self.check_entry += key
            self.error = ""

    def check_delete(self) -> None:
        if self.check_entry:
            self.check_entry = self.check_entry[:-1]
        else:
            self.rating_step = "label"

    def check_entered(self) -> None:
        if len(self.check_entry) == CHECK_LENGTH:
            self.error = ""
            self.rating_step = "level"

    def rating_proof(self) -> dict[str, str]:
        """The proof ``rating.submit`` carries that the case is this citizen's: the
        ticket's token from its scanned QR code, else the check code typed from it."""
        if self.rating_token:
            return {"token": self.rating_token}
        return {"check": self.check_entry} if self.check_entry else {}

    def rated(self) -> None:
        self._clear_followup()
        self.rating_step = "thanks"
        self.error = ""

    # -- a case's progress, by its number --------------------------------------------------

    def open_case(self) -> None:
        self.case_entry = ""
        self.check_entry = ""
        self.case_view = {}
        self.case_step = "number"
        self.go("case")

    def case_keys(self) -> list[str]:
        """The keys besides the digits that the hall's case numbers need (``T``, ``-``, a
        department id), from ``hall.info``."""
        return [str(k) for k in (self.hall or {}).get("case_number_keys", [])]

    def case_key(self, key: str) -> None:
        if self.case_step == "check":
            self.check_key(key)
        elif self.case_step == "number" and (key.isdigit() or key in self.case_keys()):
            if len(self.case_entry) + len(key) <= CASE_MAX:
                self.case_entry += key
                self.error = ""

    def case_delete(self) -> None:
        if self.case_step == "check" and not self.check_entry:
            self.case_step = "number"
        elif self.case_step == "check":
            self.check_entry = self.check_entry[:-1]
        else:
            self.case_entry = self.case_entry[:-1]

    def case_entered(self) -> bool:
        """OK on the pad: the number, then the check code of the ticket the case was
        opened for (the number alone is anyone's guess). True when the lookup may go."""
        if self.case_step == "number" and self.case_entry:
            self.error = ""
            self.check_entry = ""
            self.case_step = "check"
        elif self.case_step == "check" and len(self.check_entry) == CHECK_LENGTH:
            return True
        return False

    def case_shown(self, view: Mapping[str, Any], token: str = "") -> None:
        """The case on screen; ``token`` when it was opened by scanning the QR of the
        ticket that opened it (the token is the proof, nothing was typed)."""
        self.busy = False
        self.error = ""
        # The code leaves the screen; it is kept (until the kiosk goes home) only to take
        # a pick-up number for this case with the same proof.
        self._case_proof = token or (self.case_entry, self.check_entry)
        if token:
            self.case_entry = str(view.get("number", ""))
        self.check_entry = ""
        self.case_view = dict(view)
        self.case_step = "shown"

    @property
    def can_take_pickup(self) -> bool:
        """A ready case, in a hall with a pick-up service: its number can be taken here."""
        pickup = (self.hall or {}).get("pickup_service")
        return bool(pickup and self.case_step == "shown" and self.case_view.get("ready"))

    def pickup_args(self) -> dict[str, Any]:
        """``ticket.issue`` for the pick-up service, bringing the case just shown."""
        base = {"service": (self.hall or {}).get("pickup_service"), "language": self.language}
        if isinstance(self._case_proof, str):
            return {**base, "case_token": self._case_proof}
        number, check = self._case_proof
        return {**base, "casefile": number, "check": check}

    def case_state_text(self) -> str:
        state = str(self.case_view.get("state", ""))
        return self.t(f"case_state_{state}") if state else ""

    def case_due_text(self) -> str:
        """The due day and the working days left while the clock runs; "" otherwise."""
        due, left = self.case_view.get("due_on"), self.case_view.get("days_left")
        if not due or self.case_view.get("state") in ("ready", "delivered", "refused"):
            return ""
        if left is None or left < 1:
            return self.t("case_due", date=due)
        return i18n.count(self.language, "case_due_left", int(left), date=due)

    def case_stages(self) -> list[tuple[str, bool]]:
        """Each stage of the road with whether the case has reached it."""
        reached = set(self.case_view.get("progress") or ())
        return [(self.t(f"stage_{st}"), st in reached) for st in CASE_STAGES]

    # -- replies -------------------------------------------------------------------------

    def ticket_issued(self, reply: Mapping[str, Any], printing: bool) -> None:
        self.busy = False
        self.error = ""
        self._clear_staff()  # the guide's PIN is not kept past its one use
        self.ticket = dict(reply)
        if reply.get("service"):
            self.counts[str(reply["service"])] += 1
        self.print_state = "printing" if printing else "none"
        self.go("ticket")

    def refused(self, code: str) -> None:
        """A refusal is shown where the citizen looks, and what it refused is asked again:
        a wrong guide sign-in goes back to the staff number, a wrong check code to it."""
        self.busy = False
        self.error = code
        if self.screen == "priority":
            self._clear_staff()
            self.pin_error = code in ("unauthorized", "locked", "staff_needed")
        if self.screen == "rating" and code in ("unauthorized", "wrong_check", "locked"):
            self.check_entry = ""
            self.rating_step = "check"
        elif self.screen == "rating" and code in ("unknown_ticket", "nothing_to_rate"):
            self.rating_step = "label"
            self.rating_token = ""
            self._clear_followup()
        elif self.screen == "rating" and code in ("bad_phone", "consent_needed"):
            self.rating_step = "phone"
        if self.screen == "case" and code in ("wrong_check", "locked"):
            self.check_entry = ""
            self.case_step = "check"
        elif self.screen == "case" and code in ("unknown_case", "bad_request"):
            self.check_entry = ""
            self.case_step = "number"

    def printed(self, ok: bool, condition: str) -> None:
        self.printer_condition = condition
        if self.print_state == "printing":
            self.print_state = "printed" if ok else "failed"

    def connection_changed(self, state: str) -> None:
        self.connection = state

    # -- idle ----------------------------------------------------------------------------

    def touch(self, now: float) -> None:
        self._last_touch = now
        self.tick(now)

    def timeout(self) -> float:
        if self.screen == "ticket":
            failed = self.print_state in ("failed", "none")
            return self.ticket_fail_seconds if failed else self.ticket_seconds
        return self.idle_seconds

    def tick(self, now: float) -> bool:
        """Update the countdown; True when it ran out and the kiosk went home.

        A screen change counts as activity (the reply that opened the ticket screen), so
        the ticket is shown for its full time however long the request took."""
        if self.screen != self._screen_seen:
            self._screen_seen = self.screen
            self._last_touch = now
        if self.screen == "home" or self.busy:
            self.idle_left = 0
            if self.busy:
                self._last_touch = now
            return False
        left = self.timeout() - (now - self._last_touch)
        if left <= 0:
            self.reset()
            return True
        self.idle_left = int(left + 0.999)
        return False

    def reset(self) -> None:
        """Back to a fresh home screen for the next citizen: nothing of this one stays."""
        self.visit += 1
        self.area = ""
        self.query = ""
        self.service = ""
        self.priority = ""
        self._clear_staff()
        self.code_entry = ""
        self.label_entry = ""
        self.check_entry = ""
        self.rating_token = ""
        self._clear_followup()
        self.rating_step = "label"
        self.case_entry = ""
        self.case_step = "number"
        self.case_view = {}
        self._case_proof = ("", "")
        self.ticket = {}
        self.print_state = "idle"
        self.error = ""
        self.idle_left = 0
        self.large_text = False
        if self.hall is not None and self.languages:
            self.language = self.languages[0]
        self._refresh_results()
        self.go("home")
