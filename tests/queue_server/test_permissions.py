"""Every role × operation × scope of the permission table, against a real server.

The expectations are made from ``core/permissions.TABLE`` (who may use what, and with
which scope), and each scope is tried from inside and from outside: a role outside the
table is refused with ``forbidden`` whatever it sends; a role inside it is never refused
with ``forbidden`` for a target within its scope (it may be refused for other reasons:
a busy window, a ticket already finished); and a target outside its scope is refused
with ``forbidden``. Requests go over real WebSocket connections, one per role, so the
check covers the server's dispatch and the store's checks together.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import websockets

from queue_server.core import rules
from queue_server.core.permissions import ROLES, TABLE, Scope, scope_of

from .harness import Clock, running_hall

TOKENS = {
    "kiosk": "kiosk-1-secret",
    "clerk": "clerk-1-secret",  # window 1, which serves queues A and B
    "display": "display-1-secret",
    "gateway": "gateway-secret",  # every window
    "supervisor": "supervisor-secret",
    "admin": "admin-secret",
    "county": "county-secret",
}
OFFICE_HELLO = {  # back office of the civil department: id + PIN + role, no window
    "officer": {"clerk": "o-civil", "pin": "1234"},
    "approver": {"clerk": "a-civil", "pin": "1234"},
    "head": {"clerk": "h-civil", "pin": "1234", "role": "head"},
}
_ids = itertools.count(1)


class Conn:
    """A raw connection: one request, its reply; events in between are skipped."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def ask(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        rid = str(next(_ids))
        msg = {"v": 1, "id": rid, "op": op, "args": args or {}}
        if op not in ("hello", "subscribe", "snapshot", "hall.info"):
            msg["key"] = f"perm-{rid}"
        await self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
            if reply.get("id") == rid:
                return reply


async def _connect(port: int, hello: dict[str, Any]) -> Conn:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/")
    conn = Conn(ws)
    reply = await conn.ask("hello", hello)
    assert reply["ok"], reply
    return conn


def _cases(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each operation: the arguments a role sends to stay in its scope ("in") and the
    ones that leave it ("out", a list), by role; "*" is the default for any role."""
    a2, c1, f3 = state["A002"], state["C001"], state["C002"]
    civil, party = state["casefile:civil"], state["casefile:party"]
    in_civil = {"number": civil}
    own_dept = {
        "in": {"*": in_civil},
        "out": {r: [{"number": party}] for r in ("officer", "approver", "head")},
    }
    at_w1 = {"window": 1}
    win = {
        "in": {"*": at_w1, "clerk": {}},
        "out": {"clerk": [{"window": 2}]},
    }
    return {
        "hello": {"in": {"*": {"token": "x"}}},
        "hall.info": {"in": {"*": {}}},
        "snapshot": {"in": {"*": {}}},
        "subscribe": {"in": {"*": {}}},
        "ticket.issue": {"in": {"*": {"service": "general"}}},
        "ticket.status": {
            "in": {"*": {"token": a2["token"]}, "citizen": {}},
            "out": {"citizen": [{"token": c1["token"]}]},
        },
        "ticket.rejoin": {
            "in": {"*": {"label": "A002"}, "kiosk": {"label": "C001", "check": c1["check"]}},
            "out": {"clerk": [{"label": "C001"}], "kiosk": [{"label": "C001"}]},
        },
        "ticket.cancel": {
            "in": {"*": {"label": "A001"}, "kiosk": {"label": "C001", "check": c1["check"]}},
            "out": {
                "clerk": [{"label": "B001"}, {"label": "C001"}],
                "gateway": [{"label": "C001"}],
                "kiosk": [{"label": "C001"}, {"ticket_id": c1["id"]}],
            },
        },
        "ticket.transfer": {
            "in": {"*": {"window": 1, "to_queue": "B"}, "clerk": {"to_queue": "B"}},
            "out": {
                "clerk": [{"label": "C001", "to_queue": "A"}, {"window": 2, "to_queue": "A"}],
                "gateway": [{"label": "C001", "to_queue": "A"}],
            },
        },
        "appointment.create": {
            "in": {
                "*": {
                    "service": "general",
                    "start": "2026-11-24T10:30:00+08:00",
                    "end": "2026-11-24T11:00:00+08:00",
                }
            }
        },
        "appointment.checkin": {"in": {"*": {"code": "NOSUCH1"}}},
        "window.open": {
            "in": {"*": {"window": 1, "clerk": "c-1"}, "clerk": {}},
            "out": {"clerk": [{"window": 2}, {"clerk": "someone-else"}]},
        },
        "window.pause": win,
        "window.resume": win,
        "window.close": win,
        "call.next": win,
        "call.number": {
            "in": {"*": {"window": 1, "label": "A002"}, "clerk": {"label": "A002"}},
            "out": {
                "clerk": [{"label": "C001"}, {"window": 2, "label": "A002"}],
                "gateway": [{"window": 1, "label": "C001"}],
            },
        },
        "call.recall": win,
        "case.start": win,
        "case.finish": win,
        "case.no_show": win,
        "rating.submit": {
            "in": {
                "*": {"label": "C002", "level": 5},
                "gateway": {"window": 3, "level": 5},
                "kiosk": {"label": "C002", "check": f3["check"], "level": 5},
                "citizen": {"level": 5},
            },
            "out": {
                "kiosk": [
                    {"label": "C002", "level": 5},
                    {"window": 3, "level": 5},
                    {"case": 1, "level": 5},
                ],
            },
        },
        "device.report": {
            "in": {"*": {"state": "ok"}, "gateway": {"device": "keypad-9", "state": "ok"}},
            "out": {
                "kiosk": [{"device": "display-1", "state": "ok"}],
                "display": [{"device": "kiosk-1", "state": "ok"}],
            },
        },
        "window.waiting": {"in": {"*": at_w1, "clerk": {}}, "out": {"clerk": [{"window": 2}]}},
        "clerk.today": {
            "in": {"*": {"clerk": "c-1"}, "clerk": {}},
            "out": {"clerk": [{"clerk": "someone-else"}, {"window": 2}]},
        },
        "alert.list": {"in": {"*": {}}},
        "estimate.accuracy": {"in": {"*": {"rows": True}}},
        **_ledger_cases(state),
        # C002 was finished at window 3; clerk-1 works at window 1.
        "casefile.accept": {
            "in": {"*": {"label": "C002", "service": "party-archive"}, "clerk": {"label": "A001"}},
            "out": {"clerk": [{"label": "C002", "service": "party-archive"}]},
        },
        "casefile.review": own_dept,
        "casefile.decide": own_dept,
        "casefile.suspend": {
            "in": {"*": {**in_civil, "materials": "proof of address"}},
            "out": {
                r: [{"number": party, "materials": "x"}] for r in ("officer", "approver", "head")
            },
        },
        "casefile.resume": own_dept,
        "casefile.extend": {
            "in": {"*": {**in_civil, "days": 2, "reason": "expert opinion needed"}},
            "out": {r: [{"number": party, "days": 1, "reason": "x"}] for r in ("approver", "head")},
        },
        "casefile.refuse": {
            "in": {"*": {**in_civil, "reason": "not our item"}},
            "out": {r: [{"number": party, "reason": "x"}] for r in ("officer", "approver", "head")},
        },
        "casefile.ready": own_dept,
        "casefile.deliver": {"in": {"*": in_civil}},
        "casefile.list": {
            "in": {"*": {"department": "civil"}, "officer": {}},
            "out": {r: [{"department": "party"}] for r in ("officer", "approver", "head")},
        },
        "casefile.get": own_dept,
        "casefile.figures": {
            "in": {"*": {"department": "civil"}, "head": {}},
            "out": {"head": [{"department": "party"}]},
        },
        # The civil case was opened for C002: its check code is the proof.
        "casefile.lights": {"in": {"*": {}}},
        # A001 was called at window 1 (clerk-1's); C001 waits for window 3.
        "casefile.pickups": {
            "in": {"*": {"label": "A001"}},
            "out": {"clerk": [{"label": "C001"}, {"label": "B001"}]},
        },
        # The gateway token serves every window; one for a single window: test_casefile_lookup.
        "casefile.receipt": {"in": {"*": in_civil}},
        "casefile.lookup": {
            "in": {"*": {**in_civil, "check": f3["check"]}},
            "out": {"kiosk": [{**in_civil, "check": "0000" if f3["check"] != "0000" else "1111"}]},
        },
        "reminder.list": {
            "in": {"*": {"department": "civil"}, "head": {}},
            "out": {"head": [{"department": "party"}]},
        },
        # No reminder exists here: the head's own-department check on a real one is
        # tried in test_accountability.py.
        "reminder.done": {"in": {"*": {"id": 999999, "note": "talked"}}},
        "report.today": {"in": {"*": {}}},
        "report.get": {"in": {"*": {"period": "2026-11"}}},
        "audit.list": {"in": {"*": {"actor": "gateway"}}},
        "ranking.get": {"in": {"*": {}}},
    }


def _ledger_cases(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Ledger steps on the civil department's record (in) and the party's (out)."""
    civil, party = state["ledger:civil"], state["ledger:party"]
    office = ("officer", "head")

    def step(**extra: Any) -> dict[str, Any]:
        return {
            "in": {"*": {"id": civil, **extra}},
            "out": {r: [{"id": party, **extra}] for r in office},
        }

    return {
        "ledger.list": {
            "in": {"*": {}, "supervisor": {"department": "party"}},
            "out": {r: [{"department": "party"}] for r in office},
        },
        "ledger.get": step(),
        "ledger.verify": step(outcome="valid", note="checked the recording"),
        "ledger.decide": {"in": {"*": {"id": civil, "outcome": "overturn"}}},
        "ledger.contact": step(outcome="reached"),
        "ledger.fix": step(note="materials list corrected"),
        "ledger.callback": step(outcome="satisfied", level=5),
        "ledger.close": step(),
        "ledger.phone": step(),
        "ledger.export": {"in": {"*": {"kind": "ratings"}}},
    }


# A phone page asking about another ticket is told it does not exist (not "forbidden"),
# so it cannot even learn that the token is real.
_OUT_CODE = {
    ("ticket.status", "citizen"): "unknown_ticket",
    # A kiosk without the case's code is told the code is wrong (and the guess counted).
    ("casefile.lookup", "kiosk"): "wrong_check",
}


def test_every_role_operation_and_scope_against_a_real_server(config, db_url):
    async def main() -> list[str]:
        async with running_hall(config, db_url, Clock()) as hall:
            admin = await _connect(hall.port, {"token": TOKENS["admin"]})
            gw = await _connect(hall.port, {"token": TOKENS["gateway"]})
            for w in (1, 2, 3):
                assert (await gw.ask("window.open", {"window": w, "clerk": f"c-{w}"}))["ok"]
            state: dict[str, Any] = {}
            services = ("general", "marriage", "party-transfer", "party-transfer", "general")
            for service in (*services, "party-archive"):
                r = (await admin.ask("ticket.issue", {"service": service}))["result"]
                state[r["label"]] = r
            # A001 at window 1, B001 at window 2, C002 finished at window 3 (to rate),
            # C001 waiting for window 3 only, A002 waiting for windows 1 and 2.
            assert (await gw.ask("call.number", {"window": 1, "label": "A001"}))["ok"]
            assert (await gw.ask("call.number", {"window": 2, "label": "B001"}))["ok"]
            assert (await gw.ask("call.number", {"window": 3, "label": "C002"}))["ok"]
            assert (await gw.ask("case.finish", {"window": 3}))["ok"]
            # A civil case file opened by hand for C002 (the window found the citizen
            # asking for a promised item), and a party one opened by finishing C003.
            r = await admin.ask("casefile.accept", {"label": "C002", "service": "marriage"})
            assert r["ok"], r
            state["casefile:civil"] = r["result"]["number"]
            assert (await gw.ask("call.number", {"window": 3, "label": "C003"}))["ok"]
            r = await gw.ask("case.finish", {"window": 3})
            state["casefile:party"] = r["result"]["casefile"]["number"]
            # Two bad ratings open ledger records: C003 (party) at window 3, and B001
            # (marriage, civil) finished at window 2.
            r = await gw.ask("rating.submit", {"window": 3, "level": 1})
            assert r["ok"], r
            assert (await gw.ask("case.finish", {"window": 2}))["ok"]
            assert (await gw.ask("rating.submit", {"window": 2, "level": 2}))["ok"]
            listed = (await admin.ask("ledger.list", {}))["result"]["records"]
            by_dept = {rec["department"]: rec["id"] for rec in listed}
            state["ledger:civil"], state["ledger:party"] = by_dept["civil"], by_dept["party"]
            conns = {role: await _connect(hall.port, {"token": t}) for role, t in TOKENS.items()}
            for role, hello in OFFICE_HELLO.items():
                conns[role] = await _connect(hall.port, hello)
            conns["citizen"] = await _connect(hall.port, {"ticket": state["A002"]["token"]})
            cases = _cases(state)
            assert set(cases) == set(TABLE), "every operation of the table is tried"
            wrong: list[str] = []
            # Outside first, so nothing done inside a scope moves a target out of it.
            for phase in ("out", "in"):
                for op, role in itertools.product(TABLE, ROLES):
                    scope = scope_of(role, op)
                    spec = cases[op]
                    if phase == "in":
                        args = spec["in"].get(role, spec["in"]["*"])
                        tries = [args]
                    else:
                        tries = list(spec.get("out", {}).get(role, []))
                        if scope is None:
                            tries = [spec["in"].get(role, spec["in"]["*"])]
                    for args in tries:
                        if op == "subscribe" and scope is not None:
                            continue  # a subscription is tried last, on its own
                        reply = await conns[role].ask(op, args)
                        code = None if reply["ok"] else reply["error"]["code"]
                        if scope is None or phase == "out":
                            want = "forbidden" if scope is None else _OUT_CODE.get((op, role))
                            if code != (want or "forbidden"):
                                wrong.append(f"{role} {op} {args}: {code}, not refused")
                        elif code == "forbidden":
                            wrong.append(f"{role} {op} {args}: forbidden within its scope")
            for role in ROLES:  # every role may subscribe (a phone page to its own ticket)
                reply = await conns[role].ask("subscribe", {})
                if not reply["ok"]:
                    wrong.append(f"{role} subscribe: {reply['error']}")
            for c in conns.values():
                await c.ws.close()
            await admin.ws.close()
            await gw.ws.close()
            return wrong

    wrong = asyncio.run(main())
    assert wrong == [], "\n".join(wrong)


def test_table_scopes_are_all_tried():
    """Each scope of the table has at least one operation whose "out" case is tried, so
    a scope check dropped from the store cannot go unnoticed."""
    state: dict[str, Any] = {
        label: {"id": 1, "token": f"t-{label}", "check": rules.check_code(f"t-{label}")}
        for label in ("A002", "C001", "C002")
    }
    state.update({"casefile:civil": "T1", "casefile:party": "T2"})
    state.update({"ledger:civil": 1, "ledger:party": 2})
    cases = _cases(state)
    tried = {
        scope_of(role, op)
        for op, spec in cases.items()
        for role in spec.get("out", {})
        if spec["out"][role]
    }
    restricted = {sc for roles in TABLE.values() for sc in roles.values()} - {Scope.ANY}
    assert restricted <= tried


# Decisions a change of the table must not make silently: each was once found allowed
# by mistake or is a promise the hall makes. Written out here, not derived from TABLE.
NEVER = [
    ("kiosk", "appointment.create"),  # bookings come from the hall's booking channels
    ("kiosk", "call.next"),
    ("kiosk", "ledger.list"),
    ("clerk", "ledger.verify"),  # a bad rating is verified by the department, not the window
    ("clerk", "ledger.list"),
    ("clerk", "ledger.phone"),
    ("officer", "ledger.decide"),  # an appeal is decided above the department
    ("head", "ledger.decide"),
    ("officer", "ledger.close"),  # only the head signs a record off
    ("supervisor", "ledger.phone"),  # the number is for the person who calls, no one else
    ("admin", "ledger.phone"),
    ("display", "ledger.export"),
    ("clerk", "appointment.create"),
    ("display", "ticket.issue"),
    ("display", "rating.submit"),
    ("citizen", "ticket.cancel"),
    ("citizen", "snapshot"),
    ("gateway", "ticket.issue"),
    ("supervisor", "call.next"),
    ("officer", "casefile.decide"),  # B does not decide (A and B roles)
    ("officer", "casefile.extend"),  # more time is granted by A or the head
    ("officer", "call.next"),
    ("supervisor", "casefile.decide"),
    ("admin", "casefile.decide"),  # a decision is a named approver's, never a console's
    ("county", "call.next"),  # the county looks; the hall's staff act
    ("county", "ticket.issue"),
    ("county", "ticket.cancel"),
    ("county", "window.open"),
    ("county", "ledger.decide"),
    ("county", "ledger.phone"),
    ("county", "rating.submit"),
]
PINNED = {
    ("clerk", "ticket.cancel"): Scope.WINDOW_TICKET,
    ("clerk", "ticket.transfer"): Scope.WINDOW_TICKET,
    ("clerk", "call.number"): Scope.WINDOW_QUEUE,
    ("clerk", "call.next"): Scope.OWN_WINDOW,
    ("kiosk", "rating.submit"): Scope.OWN_TICKET,
    ("kiosk", "ticket.cancel"): Scope.OWN_TICKET,
    ("citizen", "rating.submit"): Scope.OWN_TICKET,
    ("kiosk", "device.report"): Scope.SELF,
    ("clerk", "clerk.today"): Scope.SELF,
    ("officer", "casefile.review"): Scope.OWN_DEPARTMENT,
    ("approver", "casefile.decide"): Scope.OWN_DEPARTMENT,
    ("head", "casefile.extend"): Scope.OWN_DEPARTMENT,
}


def test_the_county_only_reads():
    """Every operation open to a county token changes nothing (the server serves it on
    a read connection), so a county token can never act in a hall."""
    from queue_server.server import READ_OPS

    county = {op for op in TABLE if scope_of("county", op) is not None}
    assert county - {"hello", "hall.info", "subscribe"} <= READ_OPS
    assert all(scope_of("supervisor", op) for op in county)  # a supervisor's, no more


def test_the_hello_says_what_the_credential_may_do(config, sqlite_url):
    """The hello reply's ``may`` is the role's column of the one table (a page draws its
    buttons and panels from it): the county's holds only reads."""
    from queue_server.core.permissions import operations_of

    async def main() -> dict[str, list[str]]:
        got = {}
        async with running_hall(config, sqlite_url, Clock()) as hall:
            for role in ("county", "supervisor", "display", "admin"):
                ws = await websockets.connect(f"ws://127.0.0.1:{hall.port}/")
                try:
                    reply = await Conn(ws).ask("hello", {"token": TOKENS[role]})
                    got[role] = reply["result"]["may"]
                finally:
                    await ws.close()
        return got

    got = asyncio.run(main())
    for role, ops in got.items():
        assert (
            ops
            == [op for op in TABLE if scope_of(role, op) is not None]
            == list(operations_of(role))
        )
    assert "ledger.decide" in got["supervisor"] and "ledger.decide" not in got["county"]
    assert "report.get" in got["county"] and "report.get" not in got["display"]


def test_pinned_decisions_of_the_table():
    assert [(r, op) for r, op in NEVER if scope_of(r, op) is not None] == []
    assert {k: scope_of(*k) for k in PINNED} == PINNED


def test_protocol_roles_and_doc_table_come_from_the_table():
    from pathlib import Path

    from queue_server import protocol
    from queue_server.core.permissions import markdown_table, roles_for

    assert {op: spec.roles for op, spec in protocol.OPS.items()} == {
        op: roles_for(op) for op in TABLE
    }
    doc = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert markdown_table() in doc, (
        "regenerate the role table: python -m queue_server.core.permissions"
    )
