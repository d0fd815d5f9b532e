"""Who may do what, and to which ticket or window: the one permission table of the hall.

Every operation of the protocol is listed in :data:`TABLE` with, for each role that may
use it, the *scope* of what it may touch. The server checks the role before anything else
(:func:`scope_of`); the store checks the scope with :func:`authorize` once it has loaded
the target (a window, a ticket), because only then is it known whose the target is. The
protocol's role lists (``protocol.OPS``) and the role table in ``docs/protocol.md`` are
made from this table, so it is written once.

Scopes::

    any           anything in the hall
    own_window    the window the actor works at: a clerk's own window; a gateway's
                  windows (every window when its token names none); admin: any
    window_ticket a ticket at the actor's window (called, serving, or last there)
    window_queue  a ticket waiting for the actor's window (its queues, or sent to it)
    own_ticket    the citizen's own ticket: the phone page's bound ticket, or at a kiosk
                  a ticket whose check code (printed on it) or token (its QR) was shown
    self          the actor itself: a device's own state, a clerk's own figures
    own_department a case file of the actor's department (back-office staff)

Pure: no I/O, no SQL; the store passes in what it found.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .errors import Forbidden
from .hall import OFFICE_ROLES


class Scope(StrEnum):
    ANY = "any"
    OWN_WINDOW = "own_window"
    WINDOW_TICKET = "window_ticket"
    WINDOW_QUEUE = "window_queue"
    OWN_TICKET = "own_ticket"
    SELF = "self"
    OWN_DEPARTMENT = "own_department"


ROLES = (
    "kiosk",
    "clerk",
    "display",
    "gateway",
    "supervisor",
    "admin",
    "citizen",
    "officer",
    "approver",
    "head",
    "county",
)
STAFF = ("kiosk", "clerk", "display", "gateway", "supervisor", "admin")
OFFICE = OFFICE_ROLES
"""Back-office staff: sign in with id + PIN + role, without a window."""

_A, _W, _WT, _WQ, _OT, _SELF = (
    Scope.ANY,
    Scope.OWN_WINDOW,
    Scope.WINDOW_TICKET,
    Scope.WINDOW_QUEUE,
    Scope.OWN_TICKET,
    Scope.SELF,
)
_AT_WINDOW = {"clerk": _W, "gateway": _W, "admin": _A}
_D = Scope.OWN_DEPARTMENT
_OFFICE_ALL = dict.fromkeys(OFFICE, _D)
_DECIDERS = {"approver": _D, "head": _D}

TABLE: dict[str, dict[str, Scope]] = {
    "hello": dict.fromkeys(ROLES, _A),
    "hall.info": dict.fromkeys(ROLES, _A),
    "snapshot": dict.fromkeys(STAFF, _A),
    # A phone page subscribes too; it is sent only its own ticket's events.
    "subscribe": {**dict.fromkeys(STAFF, _A), "citizen": _OT, **dict.fromkeys(OFFICE, _A)},
    "ticket.issue": {"kiosk": _A, "admin": _A},
    # Staff look a ticket up by its token (the token is the proof); a phone page only its own.
    "ticket.status": {**dict.fromkeys(STAFF, _A), "citizen": _OT},
    "ticket.rejoin": {"kiosk": _OT, "clerk": _WQ, "supervisor": _A, "admin": _A},
    "ticket.cancel": {"kiosk": _OT, "clerk": _WT, "gateway": _WT, "supervisor": _A, "admin": _A},
    "ticket.transfer": {"clerk": _WT, "gateway": _WT, "supervisor": _A, "admin": _A},
    "appointment.create": {"admin": _A},
    "appointment.checkin": {"kiosk": _A, "admin": _A},
    "window.open": dict(_AT_WINDOW),
    "window.pause": dict(_AT_WINDOW),
    "window.resume": dict(_AT_WINDOW),
    "window.close": dict(_AT_WINDOW),
    "call.next": dict(_AT_WINDOW),
    "call.number": {"clerk": _WQ, "gateway": _WQ, "admin": _A},
    "call.recall": dict(_AT_WINDOW),
    "case.start": dict(_AT_WINDOW),
    "case.finish": dict(_AT_WINDOW),
    "case.no_show": dict(_AT_WINDOW),
    # The evaluator at a window rates that window's last case; a citizen rates their own.
    "rating.submit": {"gateway": _W, "kiosk": _OT, "citizen": _OT, "admin": _A},
    "device.report": {"kiosk": _SELF, "display": _SELF, "gateway": _A},
    "window.waiting": {"clerk": _W, "supervisor": _A, "admin": _A},
    "clerk.today": {"clerk": _SELF, "supervisor": _A, "admin": _A},
    # The rectification ledger (core/rectify.py): the case's department verifies,
    # contacts, fixes and calls back (head or officer); an appeal goes to the hall
    # supervisor; only the head signs a record off. The full call-back number is shown
    # only to the department's staff who call (ledger.phone, audited).
    "ledger.list": {"head": _D, "officer": _D, "supervisor": _A, "admin": _A},
    "ledger.get": {"head": _D, "officer": _D, "supervisor": _A, "admin": _A},
    "ledger.verify": {"head": _D, "officer": _D},
    "ledger.decide": {"supervisor": _A},
    "ledger.contact": {"head": _D, "officer": _D},
    "ledger.fix": {"head": _D, "officer": _D},
    "ledger.callback": {"head": _D, "officer": _D},
    "ledger.close": {"head": _D},
    "ledger.phone": {"head": _D, "officer": _D},
    "ledger.export": {"supervisor": _A, "admin": _A},
    # Promised cases (core/casefile.py). The window opens one for a finished ticket; B
    # (officer) reviews, A (approver) decides, and the head can do what A does; either
    # may stop or restart the clock; only A or the head grants more time; the pick-up
    # window (any clerk) hands the result over.
    "casefile.accept": {"clerk": _WT, "admin": _A},
    "casefile.review": {"officer": _D},
    "casefile.decide": dict(_DECIDERS),
    "casefile.suspend": dict(_OFFICE_ALL),
    "casefile.resume": dict(_OFFICE_ALL),
    "casefile.extend": dict(_DECIDERS),
    "casefile.refuse": dict(_OFFICE_ALL),
    "casefile.ready": dict(_OFFICE_ALL),
    "casefile.deliver": {"clerk": _A, "admin": _A},
    "casefile.list": {**_OFFICE_ALL, "supervisor": _A, "admin": _A},
    "casefile.get": {**_OFFICE_ALL, "clerk": _A, "supervisor": _A, "admin": _A},
    "casefile.figures": {"head": _D, "supervisor": _A, "admin": _A},
    "casefile.lights": {"supervisor": _A, "admin": _A},
    # A citizen at a kiosk: the case number and the code of the ticket that opened it.
    "casefile.lookup": {"kiosk": _OT},
    # The pick-up window (any clerk delivers) sees what its called ticket came for.
    "casefile.pickups": {"clerk": _WT, "admin": _A},
    # The receipt carries the citizen's proofs (check code, phone link): for the printer
    # of the window the case was opened at, driven by the gateway.
    "casefile.receipt": {"gateway": _W, "admin": _A},
    "alert.list": {"supervisor": _A, "admin": _A},
    "estimate.accuracy": {"supervisor": _A, "admin": _A},
    # Accountability (core/accountability.py): the head holds a talk reminder with the
    # person responsible and signs it off; supervisors follow every department's.
    "reminder.list": {"head": _D, "supervisor": _A, "admin": _A},
    "reminder.done": {"head": _D},
    # Reports (store/kpis.py, store/reportbook.py): the hall's figures for any period.
    "report.today": {"supervisor": _A, "admin": _A},
    "report.get": {"supervisor": _A, "admin": _A},
    "audit.list": {"supervisor": _A, "admin": _A},
    # The weekly publication (周公示): a hall display shows the ranking in turn with calls.
    "ranking.get": {"display": _A, "supervisor": _A, "admin": _A},
}

COUNTY_READS = (
    "hello",
    "hall.info",
    "snapshot",
    "subscribe",
    "window.waiting",
    "clerk.today",
    "ledger.list",
    "ledger.get",
    "casefile.list",
    "casefile.get",
    "casefile.figures",
    "casefile.lights",
    "alert.list",
    "estimate.accuracy",
    "reminder.list",
    "report.today",
    "report.get",
    "audit.list",
    "ranking.get",
)
"""The county leader (a ``county`` token of the county file, docs/deployment.md) looks
into every hall's supervisor view: the supervisor's operations that change nothing, in
the whole hall, and nothing else; never a clerk's, a kiosk's or a decision."""
for _op in COUNTY_READS:
    TABLE[_op] = {**TABLE[_op], "county": _A}

ARGUMENT_ROLES: dict[tuple[str, str], tuple[str, ...]] = {
    # Who is recorded as working a window: a clerk signed in with id and PIN is that
    # clerk; only the gateway (a keypad sign-in) and an admin may name someone else.
    ("window.open", "clerk"): ("gateway", "admin"),
    # Rating "the window's last case" or a case by id is the evaluator's form only.
    ("rating.submit", "window"): ("gateway", "admin"),
    ("rating.submit", "case"): ("gateway", "admin"),
    # Staff record a rating taken over the phone or by SMS: only an admin names the channel.
    ("rating.submit", "channel"): ("admin",),
    # An ID card's hash comes only from a kiosk with a reader (or an admin).
    ("ticket.issue", "id_hash"): ("kiosk", "admin"),
    ("appointment.checkin", "id_hash"): ("kiosk", "admin"),
}
"""Arguments only some of an operation's roles may give."""

ARGUMENT_SELF = {("window.open", "clerk")}
"""...which the other roles may still give when they name themselves."""

STAFF_CONFIRMED_PRIORITY = ("kiosk",)
"""Roles whose priority tickets need a staff member's id and PIN checked by the server.

A kiosk stands in public: a priority ticket goes before everyone, so a hall guide
confirms it with their own credential (same hashing and lock-out as a clerk sign-in).
An admin console is staff already."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: the device or person behind the credential, its role, its window.

    ``window`` is a clerk's window, or the one window of a device token that names one;
    ``ticket_id`` binds a phone page to its ticket; ``department`` is back-office
    staff's department.
    """

    name: str
    role: str
    window: int | None = None
    ticket_id: int | None = None
    department: str | None = None
    id_reader: bool = False
    """A kiosk whose ``[[devices]]`` entry declares an ID card reader."""


@dataclass(frozen=True, slots=True)
class Target:
    """What an operation touches, as the store found it.

    ``window`` the window acted at; ``ticket_window`` where the ticket is or last was;
    ``waits_here`` whether the ticket waits for the actor's window (its queues, or sent
    to it; None before the ticket is loaded, when only the window is checked);
    ``ticket_id`` the ticket; ``proved`` whether a kiosk showed the ticket's check code
    or token; ``subject`` the device or clerk an operation is about; ``department``
    the department of a case file (or of a list asked for).
    """

    window: int | None = None
    ticket_window: int | None = None
    waits_here: bool | None = None
    ticket_id: int | None = None
    proved: bool = False
    subject: str | None = None
    department: str | None = None


def scope_of(role: str, op: str) -> Scope | None:
    """The scope a role has for an operation; None when the role may not use it."""
    return TABLE.get(op, {}).get(role)


def roles_for(op: str) -> tuple[str, ...]:
    return tuple(r for r in ROLES if r in TABLE.get(op, {}))


def operations_of(role: str) -> tuple[str, ...]:
    """The operations a role may use, in the table's order. The hello reply carries
    them (``may``), so a page offers only what its credential may do, from this table
    and no copy of it (a county token on /supervisor: its reads, none of its buttons)."""
    return tuple(op for op, roles in TABLE.items() if role in roles)


def check_role(actor: Actor, op: str, args: dict[str, object]) -> None:
    """The check made before anything else: the role, and arguments reserved to some."""
    if scope_of(actor.role, op) is None:
        raise Forbidden(f"a {actor.role} may not use {op}")
    for name, value in args.items():
        allowed = ARGUMENT_ROLES.get((op, name))
        if allowed is None or actor.role in allowed:
            continue
        if (op, name) in ARGUMENT_SELF and value == actor.name:
            continue
        raise Forbidden(f"a {actor.role} may not give {name!r} to {op}")
    if "id_hash" in args and actor.role == "kiosk" and not actor.id_reader:
        raise Forbidden("only a kiosk with an ID card reader sends a card's hash")


def needs_staff_confirmation(actor: Actor, op: str, args: dict[str, object]) -> bool:
    return (
        op == "ticket.issue"
        and actor.role in STAFF_CONFIRMED_PRIORITY
        and bool(args.get("priority"))
    )


SENIOR_BY_ID_CARD = "elderly"
"""The one priority a kiosk with an ID card reader grants by itself, from the card's
birth date; every other reason still needs a hall guide's PIN."""


def senior_by_card(actor: Actor, args: dict[str, object], age: int | None, senior_age: int) -> bool:
    """A kiosk's elderly-priority ticket confirmed by the ID card instead of a guide."""
    return (
        actor.id_reader
        and args.get("priority") == SENIOR_BY_ID_CARD
        and age is not None
        and age >= senior_age
    )


def may_act_at(actor: Actor, window: int) -> bool:
    """A window is the actor's own: its clerk's, or one of a gateway's (all without one)."""
    if actor.role == "admin":
        return True
    if actor.role == "gateway" and actor.window is None:
        return True
    if actor.role in ("clerk", "gateway"):
        return actor.window == window
    return False


def authorize(actor: Actor, op: str, target: Target) -> None:
    """Refuse with ``forbidden`` unless the target is within the actor's scope for ``op``."""
    scope = scope_of(actor.role, op)
    if scope is None:
        raise Forbidden(f"a {actor.role} may not use {op}")
    if scope is Scope.ANY:
        return
    if scope is Scope.OWN_WINDOW:
        if target.window is None or not may_act_at(actor, target.window):
            raise Forbidden(
                f"{actor.name} works at window {actor.window}, not {target.window}"
                if actor.window is not None
                else f"{actor.name} may not act at window {target.window}"
            )
        return
    if scope is Scope.WINDOW_TICKET:
        if target.ticket_window is None or not may_act_at(actor, target.ticket_window):
            raise Forbidden(f"a {actor.role} acts only on the ticket at its own window")
        return
    if scope is Scope.WINDOW_QUEUE:
        if target.window is None or not may_act_at(actor, target.window):
            raise Forbidden(f"{actor.name} may not act at window {target.window}")
        if target.waits_here is False:  # None: the ticket is not loaded yet
            raise Forbidden(f"window {target.window} does not serve this ticket's queue")
        return
    if scope is Scope.OWN_TICKET:
        own = actor.ticket_id is not None and actor.ticket_id == target.ticket_id
        if not (own or (actor.role != "citizen" and target.proved)):
            raise Forbidden("only the ticket's own holder may do this")
        return
    if scope is Scope.SELF:
        if target.subject != actor.name:
            raise Forbidden(f"a {actor.role} acts only for itself")
        return
    if scope is Scope.OWN_DEPARTMENT:
        if actor.department is None or target.department != actor.department:
            raise Forbidden(f"{actor.name} works for department {actor.department}, not this one")
        return
    raise AssertionError(scope)  # pragma: no cover - every scope is handled above


def markdown_table() -> str:
    """The role table of ``docs/protocol.md``, made from :data:`TABLE`."""
    head = "| operation | " + " | ".join(ROLES) + " |"
    rule = "| --- | " + " | ".join(":-:" for _ in ROLES) + " |"
    rows = [
        f"| `{op}` | "
        + " | ".join(_CELL[TABLE[op][r]] if r in TABLE[op] else "" for r in ROLES).rstrip()
        + " |"
        for op in TABLE
    ]
    return "\n".join([head, rule, *rows])


_CELL = {
    Scope.ANY: "✓",
    Scope.OWN_WINDOW: "own window",
    Scope.WINDOW_TICKET: "ticket at own window",
    Scope.WINDOW_QUEUE: "ticket waiting for own window",
    Scope.OWN_TICKET: "own ticket",
    Scope.SELF: "itself",
    Scope.OWN_DEPARTMENT: "own department",
}


if __name__ == "__main__":  # print the doc's role table: python -m queue_server.core.permissions
    print(markdown_table())
