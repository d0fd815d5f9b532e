"""The HallQ wire protocol, version 1: one module that server and clients share.

Every message is one JSON object in one WebSocket text frame. A client sends requests::

    {"v": 1, "id": "7", "op": "ticket.issue", "args": {"service": "hukou-move"},
     "key": "kiosk-1:5b1f..."}

and gets exactly one reply with the same ``id``::

    {"v": 1, "id": "7", "ok": true, "result": {...}}
    {"v": 1, "id": "7", "ok": false, "error": {"code": "daily_cap", "message": "..."}}

The server pushes events, numbered hall-wide, to subscribed clients::

    {"v": 1, "event": "ticket.called", "seq": 1042, "at": "2026-...Z", "data": {...}}

``docs/protocol.md`` documents every operation and event with examples; this module is
the single place their names, argument types and permissions live. Imports nothing
heavy, so a kiosk or display can use it without the server's database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from . import jsonenc
from .core import permissions

VERSION = 1

# Close codes (4000-4999 are the application's own range).
CLOSE_AUTH_FAILED = 4001
"""The first message was not a valid ``hello``, or its token is unknown."""
CLOSE_AUTH_TIMEOUT = 4002
"""No ``hello`` within the time allowed."""
CLOSE_TAKEN_OVER = 4003
"""Another console signed in to this window and took it over; sign in again to take it back."""
CLOSE_TOO_SLOW = 4004
"""The connection did not read its events fast enough (its send buffer passed
``[server] max_send_buffer_bytes``); reconnect and subscribe with ``since``."""
CLOSE_SERVER_STOPPING = 1001
"""The server is shutting down (SIGTERM); reconnect and resume."""

# Error codes of the protocol layer; the hall's rules add their own (see core.errors).
BAD_JSON = "bad_json"
BAD_REQUEST = "bad_request"
UNKNOWN_OP = "unknown_op"
TOO_LARGE = "too_large"
FORBIDDEN = "forbidden"
INTERNAL = "internal"
UNAVAILABLE = "unavailable"
TIMEOUT = "timeout"

ROLES = permissions.ROLES


@dataclass(frozen=True, slots=True)
class OpSpec:
    """An operation: who may use it, its arguments, and whether it takes an idempotency key.

    ``args`` maps an argument to ``(types, required)``; deeper checks (a known service,
    a window this clerk owns) are the hall's rules and happen in the server. ``roles``
    come from the permission table (``core/permissions.py``), never written here.
    """

    roles: tuple[str, ...]
    args: dict[str, tuple[tuple[type, ...], bool]] = field(default_factory=dict)
    idempotent: bool = False
    doc: str = ""


_S, _I = (str,), (int,)
_WIN = {"window": (_I, False)}
_TICKET_REF = {"label": (_S, False), "ticket_id": (_I, False)}
_CASE = {"number": (_S, True)}
_LEDGER = {"id": (_I, True)}
_PROOF = {"check": (_S, False), "token": (_S, False)}
"""What shows a kiosk's citizen holds a ticket: the check code printed on it, or its
token (the QR code)."""

_SPECS: dict[str, tuple[dict[str, tuple[tuple[type, ...], bool]], bool, str]] = {
    "hello": (
        {
            "token": (_S, False),
            "ticket": (_S, False),
            "clerk": (_S, False),
            "pin": (_S, False),
            "window": (_I, False),
            "role": (_S, False),
            "client": (_S, False),
            "protocol": (_I, False),
            "take_over": ((bool,), False),
        },
        False,
        "authenticate (device token, clerk id + PIN + window, back-office staff id + PIN "
        "+ role, or a ticket's token); "
        "must be the first message",
    ),
    "hall.info": ({}, False, "the hall's static description: names, areas, services"),
    "snapshot": ({}, False, "the live state now, with the sequence it is current to"),
    "subscribe": (
        {"since": (_I, False), "calls": (_S, False)},
        False,
        'receive events; resume after `since` or get a snapshot; `calls`: "combined" '
        "for one `call` event per call instead of three",
    ),
    "ticket.issue": (
        {
            "service": (_S, True),
            "language": (_S, False),
            "priority": (_S, False),
            "staff": (_S, False),
            "staff_pin": (_S, False),
            "birth_date": (_S, False),
            "id_hash": (_S, False),
            "casefile": (_S, False),
            "check": (_S, False),
            "case_token": (_S, False),
        },
        True,
        "take a number (for the pick-up service, with a ready case's `casefile` number and "
        "`check` code, or the `case_token` of the ticket that opened it); a kiosk's "
        "priority ticket needs `staff` and `staff_pin`, or for a "
        "senior the `birth_date` from the ID card read by a kiosk that has a reader",
    ),
    "ticket.status": ({"token": (_S, False)}, False, "a ticket's live state by its token"),
    "ticket.rejoin": ({**_TICKET_REF, **_PROOF}, True, ""),
    "ticket.cancel": ({**_TICKET_REF, **_PROOF}, True, ""),
    "ticket.transfer": (
        {**_WIN, **_TICKET_REF, "to_queue": (_S, False), "to_window": (_I, False)},
        True,
        "",
    ),
    "appointment.create": (
        {
            "service": (_S, True),
            "start": (_S, True),
            "end": (_S, True),
            "code": (_S, False),
            "language": (_S, False),
            "id_number": (_S, False),
        },
        True,
        "book; with `id_number` (hashed at once with the hall's salt, never kept) the "
        "citizen can check in with the ID card",
    ),
    "appointment.checkin": (
        {"code": (_S, False), "id_hash": (_S, False), "language": (_S, False)},
        True,
        "check in by the booking's code, or by the ID card read at a kiosk with a reader",
    ),
    "window.open": ({**_WIN, "clerk": (_S, False)}, True, ""),
    "window.pause": ({**_WIN, "reason": (_S, False)}, True, ""),
    "window.resume": (_WIN, True, ""),
    "window.close": (_WIN, True, ""),
    "call.next": (_WIN, True, ""),
    "call.number": ({**_WIN, "label": (_S, True)}, True, ""),
    "call.recall": (_WIN, True, ""),
    "case.start": (_WIN, True, ""),
    "case.finish": (_WIN, True, ""),
    "case.no_show": (_WIN, True, ""),
    "rating.submit": (
        {
            "level": (_I, True),
            "case": (_I, False),
            **_WIN,
            **_TICKET_REF,
            **_PROOF,
            "reasons": ((list,), False),
            "text": (_S, False),
            "phone": (_S, False),
            "consent": ((bool,), False),
            "channel": (_S, False),
        },
        True,
        "rate a finished case once; for the two lowest levels the citizen may pick "
        "`reasons` and leave a call-back `phone` with `consent: true` (core/ratings.py)",
    ),
    "device.report": (
        {"device": (_S, False), "part": (_S, False), "state": (_S, True), "detail": (_S, False)},
        False,
        "",
    ),
    "window.waiting": (
        {**_WIN, "limit": (_I, False)},
        False,
        "a window's waiting tickets in call order, and its current ticket (read-only)",
    ),
    "ledger.list": (
        {"department": (_S, False), "state": (_S, False), "limit": (_I, False)},
        False,
        "the rectification ledger: bad ratings being followed through, red first (read-only)",
    ),
    "ledger.get": (_LEDGER, False, "one ledger record and its steps (read-only)"),
    "ledger.verify": (
        {**_LEDGER, "outcome": (_S, True), "note": (_S, False)},
        True,
        "the facts checked: valid, not_at_fault or malicious (the last two are appeals); "
        "the `note` saying what was found is required (`note_needed`)",
    ),
    "ledger.decide": (
        {**_LEDGER, "outcome": (_S, True), "note": (_S, False)},
        True,
        "the hall supervisor's review of an appeal: uphold (set aside) or overturn",
    ),
    "ledger.contact": (
        {**_LEDGER, "outcome": (_S, True), "note": (_S, False)},
        True,
        "the citizen contacted: reached or unreachable",
    ),
    "ledger.fix": (
        {**_LEDGER, "outcome": (_S, False), "note": (_S, False)},
        True,
        "what was rectified (the `note` is required: `note_needed`)",
    ),
    "ledger.callback": (
        {**_LEDGER, "outcome": (_S, True), "note": (_S, False), "level": (_I, False)},
        True,
        "the call-back: satisfied, dissatisfied or unreachable, with the citizen's "
        "rating of the fix (`level`) where reached",
    ),
    "ledger.close": ({**_LEDGER, "note": (_S, False)}, True, "the head signs the record off"),
    "ledger.phone": (
        _LEDGER,
        False,
        "the citizen's full call-back number, for the person calling (audited)",
    ),
    "ledger.export": (
        {"kind": (_S, True), "from": (_S, False), "to": (_S, False), "format": (_S, False)},
        False,
        "ratings or rectifications of a period in the national field names, JSON or CSV "
        "(read-only; never a phone number)",
    ),
    "alert.list": (
        {"limit": (_I, False)},
        False,
        "the newest alerts and how their delivery went (read-only)",
    ),
    "estimate.accuracy": (
        {"day": (_S, False), "rows": ((bool,), False)},
        False,
        "today's wait-estimate error per queue, and the per-ticket rows for export (read-only)",
    ),
    "clerk.today": (
        {**_WIN, "clerk": (_S, False)},
        False,
        "one clerk's figures for the service day (read-only)",
    ),
    "casefile.accept": (
        {**_TICKET_REF, "service": (_S, False)},
        True,
        "open the case file of a ticket finished at this window for a promised service "
        "(finishing one opens it already; this is for a ticket taken for another item)",
    ),
    "casefile.review": (_CASE, True, "B takes the accepted case into review"),
    "casefile.decide": ({**_CASE, "note": (_S, False)}, True, "A decides the reviewed case"),
    "casefile.suspend": (
        {**_CASE, "materials": (_S, True)},
        True,
        "stop the clock: the citizen must bring the materials listed",
    ),
    "casefile.resume": (_CASE, True, "restart the clock; the days waited are given back"),
    "casefile.extend": (
        {**_CASE, "days": (_I, True), "reason": (_S, True)},
        True,
        "grant more working days, with a reason (A or the head)",
    ),
    "casefile.refuse": ({**_CASE, "reason": (_S, True)}, True, "not accepted or not granted"),
    "casefile.ready": (_CASE, True, "the result waits at the pick-up window"),
    "casefile.deliver": (_CASE, True, "handed to the citizen at the pick-up window"),
    "casefile.list": (
        {"department": (_S, False), "state": (_S, False), "limit": (_I, False)},
        False,
        "a department's open case files, red first (read-only)",
    ),
    "casefile.get": (_CASE, False, "one case file and its steps, by case number (read-only)"),
    "casefile.figures": (
        {"from": (_S, False), "to": (_S, False), "by": (_S, False), "department": (_S, False)},
        False,
        "on-time and early completion of the case files accepted in a period (read-only)",
    ),
    "casefile.lights": (
        {},
        False,
        "the lights of the cases on the clock per department, and the red ones (read-only)",
    ),
    "casefile.lookup": (
        {**_CASE, "check": (_S, True)},
        False,
        "a citizen's case at the kiosk, by its number and the check code of its ticket",
    ),
    "casefile.pickups": (
        _TICKET_REF,
        False,
        "the cases a pick-up ticket at this window was taken for",
    ),
    "casefile.receipt": (
        _CASE,
        False,
        "what the window's printer prints for a case opened there (read-only)",
    ),
    "reminder.list": (
        {"department": (_S, False), "state": (_S, False), "limit": (_I, False)},
        False,
        "talk reminders and accountability records (read-only)",
    ),
    "reminder.done": (
        {"id": (_I, True), "note": (_S, True)},
        True,
        "the department head held the talk reminder: sign it off with what was said",
    ),
    "report.today": ({}, False, "the hall's figures for today so far, with charts (read-only)"),
    "report.get": (
        {"period": (_S, False), "from": (_S, False), "to": (_S, False), "format": (_S, False)},
        False,
        "the hall's report for a period: json, or a csv/xlsx file as base64 (read-only)",
    ),
    "audit.list": (
        {
            "period": (_S, False),
            "from": (_S, False),
            "to": (_S, False),
            "actor": (_S, False),
            "op": (_S, False),
            "ticket": ((str, int), False),
            "case": (_S, False),
            "limit": (_I, False),
            "format": (_S, False),
        },
        False,
        "the audit log, filtered by period, actor, operation, ticket, case (read-only)",
    ),
    "ranking.get": (
        {"period": (_S, False)},
        False,
        "windows ranked by satisfaction and on-time rate, the last week by default (read-only)",
    ),
}

OPS: dict[str, OpSpec] = {
    op: OpSpec(permissions.roles_for(op), args, idempotent, doc)
    for op, (args, idempotent, doc) in _SPECS.items()
}
assert set(OPS) == set(permissions.TABLE), "every operation needs a row in the permission table"

EVENTS: dict[str, str] = {
    "ticket.issued": "a ticket was taken (data: ticket)",
    "ticket.called": "a ticket was called to a window (data: ticket + area, case)",
    "call": 'a call in one event, for subscribers with calls "combined" (data: ticket, '
    "window, queue, seqs): stands for its ticket.called, window.changed, queue.stats",
    "ticket.recalled": "the current ticket of a window was called again",
    "ticket.started": "the citizen arrived; service started",
    "ticket.finished": "the case was finished",
    "ticket.no_show": "nobody came after the recalls",
    "ticket.rejoined": "a no-show came back and waits again by original time",
    "ticket.transferred": "sent to another queue or window, keeping its original time",
    "ticket.cancelled": "withdrawn",
    "window.changed": "a window opened, paused, resumed, closed or changed ticket",
    "queue.stats": "a queue's waiting count and estimate changed",
    "rating.requested": "prompt the window's evaluation device (data: case, window, due)",
    "rating.recorded": "a case was rated",
    "rating.dissatisfied": "alert: a dissatisfied rating; it opens a ledger record",
    "rating.not_rated": "the rating time ran out; the case is recorded as not rated",
    "case.overdue": "red light: a case ran past its service's time limit",
    "device.state": "a device part changed state (printer paper, keypad online, ...)",
    "ledger.opened": "a bad rating opened a rectification record (id, case, department, "
    "window, level, due days; never the phone number)",
    "ledger.changed": "a ledger record took a step (id, op, outcome, state, was, by)",
    "ledger.overdue": "alert: a ledger record's step is past its deadline "
    "(id, department, window, state, due)",
    "signin.locked": "alert: wrong PINs locked a clerk id or an address (kind, who, until)",
    "casefile.opened": "a promised case was accepted at a window (data: case file)",
    "casefile.changed": "a case file moved (data: case file + op, from, by)",
    "casefile.light": "alert: a case file's light changed on the clock "
    "(data: number, department, service, window, clerk, light, was, due_on, days_left)",
    "queue.unattended": "alert: people wait with no open window for their queue (queue, ...)",
    "reminder.raised": "alert: a window or clerk under the satisfaction threshold for an "
    "assessment period; a talk reminder for the department head (id, subject, period, rate)",
    "accountability.raised": "alert: more talk reminders than the limit in the rolling "
    "period; for the leader in charge (id, subject, department, reminders)",
    "reminder.done": "the head signed a talk reminder off (id, subject, by, at)",
}


class ProtocolError(Exception):
    """The peer sent something that is not a valid request; answered, never fatal."""

    def __init__(self, code: str, message: str, request_id: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Request:
    id: str | int
    op: str
    args: dict[str, Any]
    key: str | None = None


INT_MIN, INT_MAX = -(2**31), 2**31 - 1
"""Whole numbers in requests fit in 32 bits (the database's ids do); others are refused."""
MAX_DEPTH = 16
"""Requests are flat objects; anything nested deeper than this is not one of ours."""


def parse_request(text: str | bytes, max_bytes: int) -> Request:
    """Decode and check one request frame; raise :class:`ProtocolError` with a code.

    Everything a hostile or broken client can send ends here as a refusal with a code:
    binary frames, sizes counted in bytes, JSON nested beyond reason, numbers beyond 32
    bits or not finite, and text that is not valid Unicode (a lone surrogate could be
    read but never written back: not to the database, not into a reply).
    """
    if isinstance(text, bytes | bytearray | memoryview):
        raise ProtocolError(BAD_REQUEST, "send requests as text frames of JSON, not binary")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ProtocolError(
            TOO_LARGE, f"message of {size} bytes is over the {max_bytes} byte limit"
        )
    try:
        msg = json.loads(text)
    except RecursionError:
        raise ProtocolError(BAD_JSON, "not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise ProtocolError(BAD_JSON, f"not valid JSON: {exc}") from None
    problem = _unusable(msg)
    if problem is not None:
        raise ProtocolError(BAD_REQUEST, problem)
    if not isinstance(msg, dict):
        raise ProtocolError(BAD_REQUEST, "a request must be a JSON object")
    rid = msg.get("id")
    if not isinstance(rid, str | int) or isinstance(rid, bool):
        raise ProtocolError(BAD_REQUEST, "a request needs an id (text or number)")
    v = msg.get("v", VERSION)
    if v != VERSION:
        raise ProtocolError(
            BAD_REQUEST,
            f"protocol version {v!r} is not supported; this server speaks {VERSION}",
            rid,
        )
    op = msg.get("op")
    if not isinstance(op, str):
        raise ProtocolError(BAD_REQUEST, "a request needs an op", rid)
    spec = OPS.get(op)
    if spec is None:
        raise ProtocolError(UNKNOWN_OP, f"unknown operation {op!r}", rid)
    args = msg.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError(BAD_REQUEST, "args must be a JSON object", rid)
    for name, value in args.items():
        if name not in spec.args:
            raise ProtocolError(BAD_REQUEST, f"{op}: unknown argument {name!r}", rid)
        types, _ = spec.args[name]
        if value is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        ):
            expected = " or ".join(_TYPE_NAMES[t] for t in types)
            raise ProtocolError(BAD_REQUEST, f"{op}: {name} must be {expected}", rid)
    for name, (_, required) in spec.args.items():
        if required and args.get(name) is None:
            raise ProtocolError(BAD_REQUEST, f"{op}: {name} is required", rid)
    key = msg.get("key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 128):
        raise ProtocolError(BAD_REQUEST, "key must be text of 1 to 128 characters", rid)
    return Request(rid, op, args, key)


_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false"}


def _unusable(msg: Any) -> str | None:
    """Why a decoded message cannot be used at all, or None; walked without recursion."""
    stack: list[tuple[Any, int]] = [(msg, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"a request is nested at most {MAX_DEPTH} levels deep"
        if isinstance(value, str):
            if not _is_text(value):
                return "text must be valid Unicode (a lone surrogate is not)"
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not INT_MIN <= value <= INT_MAX:
                return "whole numbers must fit in 32 bits"
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return "numbers must be finite"
        elif isinstance(value, dict):
            for k, v in value.items():
                if not _is_text(k):
                    return "text must be valid Unicode (a lone surrogate is not)"
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return None


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request(
    rid: str | int, op: str, args: dict[str, Any] | None = None, key: str | None = None
) -> str:
    msg: dict[str, Any] = {"v": VERSION, "id": rid, "op": op, "args": args or {}}
    if key is not None:
        msg["key"] = key
    return dumps(msg)


def ok(rid: Any, result: Any) -> str:
    return dumps({"v": VERSION, "id": rid, "ok": True, "result": result})


def error(rid: Any, code: str, message: str, details: dict[str, Any] | None = None) -> str:
    err: dict[str, Any] = {"code": code, "message": message}
    if details:
        err["details"] = details
    return dumps({"v": VERSION, "id": rid, "ok": False, "error": err})


def event(seq: int, kind: str, at: str, data: dict[str, Any]) -> str:
    return dumps({"v": VERSION, "event": kind, "seq": seq, "at": at, "data": data})


def dumps(msg: dict[str, Any]) -> str:
    return jsonenc.dumps(msg)
