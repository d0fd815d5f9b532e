"""Promised cases after the window: opening, transitions, lists and the lights sweep.

The rules are in the core (``core/casefile.py``: the table, the clock, the lights;
``core/calendar.py``: working days); this module loads rows, asks the core, writes the
new state with a step row and an audit row, and returns the events, all in the caller's
transaction like :mod:`queue_server.store.ops`. The calendar is read from the database
in each operation that counts days, so a year loaded by ``hallq calendar load`` is used
at once by every server process.

What a step records (a reason, the missing materials) is for staff: it stays in
``casefile_steps`` and is shown by ``casefile.get``, never put in events or the audit,
since staff may write a citizen's circumstances into it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, RowMapping

from ..core.accountability import check_range
from ..core.calendar import CalendarMissing, WorkCalendar
from ..core.casefile import (
    CLOCK_RUNNING,
    OPEN_STATES,
    TRANSITIONS,
    CaseOp,
    CaseState,
    Clock,
    case_number,
    casefile_next,
    counter_key,
    days_left,
    due_day,
    early_before,
    light,
    local_day,
    progress,
    shift_due,
)
from ..core.errors import NotFound, Refused
from ..core.hall import ServiceDef
from ..core.permissions import Actor, Target, authorize, scope_of
from ..core.rules import check_code
from ..core.states import TicketStatus
from . import casefile_summaries, lockout, workdays
from . import schema as s

TEXT_MAX = 1000
"""The longest reason or list of missing materials kept with a step."""
EXTEND_MAX_DAYS = 60
LIST_MAX = 1000
KIOSK_GUESSES = 20
"""Wrong case lookups in a row from one kiosk (unknown numbers and wrong codes) before it
pauses lookups for ``KIOSK_LOCK``: one case takes a few guesses a day, this bounds a
sweep across many case numbers."""
KIOSK_LOCK = dt.timedelta(minutes=15)
SETTLE_MINUTES = 2
"""Minutes after midnight during which the lights are looked at every minute."""
_LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, None: 3}
_ON_THE_CLOCK = [st.value for st in (*CLOCK_RUNNING, CaseState.SUSPENDED)]


def _iso(t: dt.datetime | dt.date | None) -> str | None:
    return t.isoformat() if t is not None else None


class CaseFiles:
    """The case-file half of the hall's operations; ``ops`` is the hall's :class:`HallOps`."""

    def __init__(self, ops: Any) -> None:
        self.ops = ops
        self.config = ops.config
        self.settings = ops.config.casefiles

    # -- reading -----------------------------------------------------------------------

    def _row(self, conn: Connection, number: Any, lock: bool = True) -> RowMapping:
        if not isinstance(number, str) or not number.strip():
            raise Refused("a case number is needed", code="bad_request")
        q = select(s.casefiles).where(s.casefiles.c.number == number.strip())
        row = conn.execute(q.with_for_update() if lock else q).mappings().first()
        if row is None:
            raise NotFound(f"no case numbered {number.strip()!r}", code="unknown_case")
        return row

    def _light(self, row: RowMapping | dict[str, Any], cal: WorkCalendar, today: dt.date) -> Any:
        """The light the clock gives now; the stored one off the clock or without a day."""
        state = CaseState(row["state"])
        if row["due_on"] is None or state.value not in _ON_THE_CLOCK:
            return row["light"]
        clock = Clock(state, row["due_on"], row["promised_days"], row["suspended_on"])
        try:
            return light(clock, cal, today, self.settings).value
        except CalendarMissing:
            return row["light"]

    def view(
        self, row: RowMapping | dict[str, Any], cal: WorkCalendar, today: dt.date
    ) -> dict[str, Any]:
        """A case file as staff see it (no citizen data: the ticket is only its id)."""
        left = None
        if row["due_on"] is not None and row["state"] in _ON_THE_CLOCK:
            judged = row["suspended_on"] or today
            try:
                left = days_left(cal, row["due_on"], judged)
            except CalendarMissing:
                left = None
        return {
            "number": row["number"],
            "service": row["service_id"],
            "department": row["department"],
            "window": row["window"],
            "clerk": row["clerk"],
            "ticket_id": row["ticket_id"],
            "state": row["state"],
            "opened_at": _iso(row["opened_at"]),
            "due_on": _iso(row["due_on"]),
            "promised_days": row["promised_days"],
            "days_left": left,
            "light": row["light"],
            "suspended_days": row["suspended_days"],
            "extended_days": row["extended_days"],
            "ready_at": _iso(row["ready_at"]),
            "closed_at": _iso(row["closed_at"]),
        }

    # -- opening -----------------------------------------------------------------------

    def _next_seq(self, conn: Connection, key: str) -> int:
        """The hall's next running number for ``key``; the row lock makes it unique
        across server processes (two that race both wait on the one row)."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(
            dialect.insert(s.casefile_counters)
            .values(key=key, last=0)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        c = s.casefile_counters.c
        last = conn.execute(select(c.last).where(c.key == key).with_for_update()).scalar_one()
        conn.execute(update(s.casefile_counters).where(c.key == key).values(last=last + 1))
        return int(last) + 1

    def open(
        self,
        conn: Connection,
        actor: Actor,
        ticket_id: int,
        service: ServiceDef,
        window: int | None,
        clerk: str | None,
        case_id: int | None,
        now: dt.datetime,
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        """Open the case file of a ticket for a promised service; its clock starts today.

        Without a calendar for the days it needs, the file opens without a due day (the
        light sweep sets it once the year is loaded) and the reply says why.
        """
        assert service.kind == "promised" and service.department is not None
        today = local_day(now, self.config.tz)
        fmt = self.settings.number_format
        number = case_number(
            fmt, today, service.department, self._next_seq(conn, counter_key(fmt, today))
        )
        cal = workdays.read_calendar(conn)
        try:
            due: dt.date | None = due_day(cal, today, service.promised_days)
        except CalendarMissing:
            due = None
        values: dict[str, Any] = {
            "number": number,
            "ticket_id": ticket_id,
            "case_id": case_id,
            "service_id": service.id,
            "department": service.department,
            "window": window,
            "clerk": clerk,
            "state": CaseState.ACCEPTED.value,
            "suspended_from": None,
            "opened_at": now,
            "opened_on": today,
            "promised_days": service.promised_days,
            "due_on": due,
            "early_before": early_before(cal, due, self.settings) if due else None,
            "suspended_on": None,
            "suspended_days": 0,
            "suspensions": 0,
            "extended_days": 0,
            "light": None,
            "light_at": now,
            "ready_at": None,
            "finished_on": None,
            "closed_at": None,
            "updated_at": now,
        }
        values["light"] = self._light(values, cal, today)
        cid = conn.execute(insert(s.casefiles).values(**values)).inserted_primary_key[0]
        self._step(conn, cid, now, actor, "accept", None, CaseState.ACCEPTED.value, None)
        view = self.view(values, cal, today)
        if due is None:
            view["warning"] = "no_calendar"
        return view, [("casefile.opened", view)]

    def accept(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        """Open a case file for a ticket finished at the actor's window (idempotent: a
        ticket that has one already gets it back, and nothing is written)."""
        ticket = self.ops._find_ticket(conn, args, now)
        authorize(
            actor,
            "casefile.accept",
            Target(ticket_window=ticket["window"], ticket_id=ticket["id"]),
        )
        if ticket["status"] != TicketStatus.DONE.value:
            raise Refused("finish the ticket at the window first", code="not_finished")
        service = self.ops._service(args.get("service", ticket["service_id"]))
        if service.kind != "promised":
            raise Refused(f"{service.id} is done at the window, not promised", code="not_promised")
        existing = (
            conn.execute(select(s.casefiles).where(s.casefiles.c.ticket_id == ticket["id"]))
            .mappings()
            .first()
        )
        today = local_day(now, self.config.tz)
        if existing is not None:
            return self.view(existing, workdays.read_calendar(conn), today), []
        c = s.cases.c
        case = conn.execute(
            select(c.id, c.clerk)
            .where(c.ticket_id == ticket["id"], c.outcome == "done")
            .order_by(c.id.desc())
            .limit(1)
        ).first()
        view, events = self.open(
            conn,
            actor,
            ticket["id"],
            service,
            ticket["window"],
            case.clerk if case else None,
            case.id if case else None,
            now,
        )
        self.ops._audit(
            conn,
            now,
            actor,
            "casefile.accept",
            window=ticket["window"],
            ticket_id=ticket["id"],
            detail={"number": view["number"]},
        )
        return view, events

    # -- transitions -------------------------------------------------------------------

    def _step(
        self,
        conn: Connection,
        casefile_id: int,
        now: dt.datetime,
        actor: Actor,
        op: str,
        from_state: str | None,
        to_state: str,
        detail: dict[str, Any] | None,
    ) -> None:
        conn.execute(
            insert(s.casefile_steps).values(
                casefile_id=casefile_id,
                at=now,
                op=op,
                actor=actor.name,
                role=actor.role,
                from_state=from_state,
                to_state=to_state,
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            )
        )

    def transition(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime, op: CaseOp
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        row = self._row(conn, args.get("number"))
        name = f"casefile.{op.value}"
        authorize(actor, name, Target(department=row["department"]))
        state = CaseState(row["state"])
        before = CaseState(row["suspended_from"]) if row["suspended_from"] else None
        new = casefile_next(state, op, before)
        today = local_day(now, self.config.tz)
        cal = workdays.read_calendar(conn)
        values: dict[str, Any] = {"state": new.value, "updated_at": now}
        detail: dict[str, Any] = {}
        if op is CaseOp.DECIDE and args.get("note") is not None:
            detail["note"] = _text(args.get("note"), "note")
        elif op is CaseOp.SUSPEND:
            detail["materials"] = _text(args.get("materials"), "materials")
            values.update(
                suspended_from=state.value, suspended_on=today, suspensions=row["suspensions"] + 1
            )
        elif op is CaseOp.RESUME:
            values.update(suspended_from=None, suspended_on=None)
            if row["due_on"] is not None and row["suspended_on"] is not None:
                waited = max(cal.working_days_between(row["suspended_on"], today), 0)
                values["due_on"] = shift_due(cal, row["due_on"], row["suspended_on"], today)
                values["suspended_days"] = row["suspended_days"] + waited
                detail["waited_days"] = waited
        elif op is CaseOp.EXTEND:
            days = args.get("days")
            if not isinstance(days, int) or not 1 <= days <= EXTEND_MAX_DAYS:
                raise Refused(f"grant 1 to {EXTEND_MAX_DAYS} working days", code="bad_request")
            detail["reason"] = _text(args.get("reason"), "reason")
            if row["due_on"] is None:
                raise Refused(
                    "this case has no due day yet (no calendar loaded)", code="no_calendar"
                )
            values.update(
                due_on=cal.add_working_days(row["due_on"], days),
                extended_days=row["extended_days"] + days,
                promised_days=row["promised_days"] + days,
            )
            detail.update(days=days, approver=actor.name)
        elif op is CaseOp.REFUSE:
            detail["reason"] = _text(args.get("reason"), "reason")
            values.update(closed_at=now, finished_on=today)
        elif op is CaseOp.READY:
            values.update(ready_at=now, finished_on=today)
        elif op is CaseOp.DELIVER:
            values["closed_at"] = now
        if "due_on" in values:
            detail["due_on"] = values["due_on"].isoformat()
            values["early_before"] = early_before(cal, values["due_on"], self.settings)
        merged = {**dict(row), **values}
        values["light"] = merged["light"] = self._light(merged, cal, today)
        conn.execute(update(s.casefiles).where(s.casefiles.c.id == row["id"]).values(**values))
        self._step(conn, row["id"], now, actor, op.value, state.value, new.value, detail or None)
        self.ops._audit(
            conn,
            now,
            actor,
            name,
            window=actor.window,
            ticket_id=row["ticket_id"],
            detail={"number": row["number"], "to": new.value},
        )
        view = self.view(merged, cal, today)
        event = dict(view, op=op.value, was=state.value, by=actor.name)
        return view, [("casefile.changed", event)]

    # -- reads -------------------------------------------------------------------------

    def citizen_view(
        self, row: RowMapping | dict[str, Any], cal: WorkCalendar, today: dt.date
    ) -> dict[str, Any]:
        """What a citizen is shown of their promised case, on the phone page and at the
        kiosk alike: its number, service, where it is, when it is due and whether it waits
        at the pick-up window. No light, no staff names, no window, no ticket."""
        staff = self.view(row, cal, today)
        return {
            "number": row["number"],
            "service": row["service_id"],
            "state": row["state"],
            "due_on": staff["due_on"],
            "days_left": staff["days_left"],
            "ready": row["state"] == CaseState.READY.value,
            "progress": [
                st.value
                for st in progress(CaseState(row["state"]), _state_or_none(row["suspended_from"]))
            ],
        }

    def for_citizen(
        self, conn: Connection, ticket_id: int, now: dt.datetime
    ) -> dict[str, Any] | None:
        """The phone page's part of its ticket's promised case (:meth:`citizen_view`)."""
        row = (
            conn.execute(select(s.casefiles).where(s.casefiles.c.ticket_id == ticket_id))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return self.citizen_view(row, workdays.read_calendar(conn), local_day(now, self.config.tz))

    def _proved_case(
        self, conn: Connection, actor: Actor, number: Any, check: Any, now: dt.datetime
    ) -> RowMapping:
        """A case by its number, once the check code of the ticket that opened it was
        shown (printed on that ticket and on the case's receipt).

        Case numbers run in sequence, so the number alone proves nothing. Wrong codes
        are counted per case in the database (``store/lockout.py``) and the fifth locks
        the case until the hall's day ends; wrong tries in a row from one device
        (unknown numbers too) pause it for a while. The count is kept through the
        refusal; a right code clears both.
        """
        tomorrow = dt.datetime.combine(
            local_day(now, self.config.tz) + dt.timedelta(days=1), dt.time(), self.config.tz
        )
        kiosk = f"caselookup:{actor.name}"
        lockout.check(conn, kiosk, now, "too many wrong case lookups here; ask at the desk")
        try:
            row = self._row(conn, number, lock=False)
        except NotFound as exc:
            exc.kept.append(lambda c: _guess(c, kiosk, now, KIOSK_GUESSES, KIOSK_LOCK))
            raise
        subject = f"case:{row['number']}"
        lockout.check(conn, subject, now, "too many wrong codes for this case; ask at the desk")
        token = conn.execute(
            select(s.tickets.c.token).where(s.tickets.c.id == row["ticket_id"])
        ).scalar_one_or_none()
        ok = (
            token is not None
            and isinstance(check, str)
            and secrets.compare_digest(check, check_code(token))
        )
        if not ok:
            exc = Refused("the code does not match this case", code="wrong_check")
            lock = tomorrow - now
            exc.kept.append(lambda c: _guess(c, subject, now, lockout.GUESSES_BEFORE_LOCK, lock))
            exc.kept.append(lambda c: _guess(c, kiosk, now, KIOSK_GUESSES, KIOSK_LOCK))
            raise exc
        lockout.succeeded(conn, subject)
        lockout.succeeded(conn, kiosk)
        return row

    def lookup(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """A case number typed at a kiosk, with the check code of the ticket that opened
        the case (:meth:`_proved_case`): what the phone page shows of it."""
        row = self._proved_case(conn, actor, args.get("number"), args.get("check"), now)
        authorize(actor, "casefile.lookup", Target(ticket_id=row["ticket_id"], proved=True))
        today = local_day(now, self.config.tz)
        return self.citizen_view(row, workdays.read_calendar(conn), today)

    # -- pick-up by ticket (统一出件) ----------------------------------------------------

    def pickup_cases(
        self,
        conn: Connection,
        actor: Actor,
        args: dict[str, Any],
        service: ServiceDef,
        now: dt.datetime,
    ) -> list[RowMapping]:
        """The ready cases a pick-up ticket is taken for: a case number with its check
        code (:meth:`_proved_case`), or the QR token of the ticket that opened them (the
        token is the proof). Nothing asked, nothing linked: the clerk can still find a
        case by its number."""
        number, token = args.get("casefile"), args.get("case_token")
        if number is None and token is None:
            return []
        if service.id != self.settings.pickup_service:
            raise Refused(
                "a case is brought only to a ticket for the pick-up service", code="bad_request"
            )
        if number is not None:
            rows = [self._proved_case(conn, actor, number, args.get("check"), now)]
        else:
            t, c = s.tickets.c, s.casefiles.c
            rows = list(
                conn.execute(
                    select(s.casefiles)
                    .join(s.tickets, t.id == c.ticket_id)
                    .where(t.token == token if isinstance(token, str) else False)
                )
                .mappings()
                .all()
            )
            if not rows:
                raise NotFound("no case was opened for this ticket", code="unknown_case")
        ready = [r for r in rows if r["state"] == CaseState.READY.value]
        if not ready:
            raise Refused(
                f"case {rows[0]['number']} is not ready for pick-up yet ({rows[0]['state']})",
                code="not_ready",
            )
        return ready

    def link_pickup(
        self, conn: Connection, ticket_id: int, rows: list[RowMapping], now: dt.datetime
    ) -> list[str]:
        """Bring the cases to the pick-up ticket (a later ticket replaces an earlier one)."""
        p = s.casefile_pickups.c
        for row in rows:
            done = conn.execute(
                update(s.casefile_pickups)
                .where(p.casefile_id == row["id"])
                .values(ticket_id=ticket_id, at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(s.casefile_pickups).values(
                        casefile_id=row["id"], ticket_id=ticket_id, at=now
                    )
                )
        return [r["number"] for r in rows]

    def pickups(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """The cases a pick-up ticket was taken for, as the clerk who called it sees them
        (with the deliver action while ready)."""
        ticket = self.ops._find_ticket(conn, args, now)
        authorize(
            actor,
            "casefile.pickups",
            Target(ticket_window=ticket["window"], ticket_id=ticket["id"]),
        )
        p, c = s.casefile_pickups.c, s.casefiles.c
        rows = (
            conn.execute(
                select(s.casefiles)
                .join(s.casefile_pickups, p.casefile_id == c.id)
                .where(p.ticket_id == ticket["id"])
                .order_by(c.number)
            )
            .mappings()
            .all()
        )
        today = local_day(now, self.config.tz)
        cal = workdays.read_calendar(conn)
        return {
            "ticket_id": ticket["id"],
            "cases": [
                dict(self.view(r, cal, today), actions=self.actions(actor, r["state"]))
                for r in rows
            ],
        }

    def receipt(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """What the window's printer prints for a case opened there: the citizen's view,
        the acceptance day, the check code that proves the case at a kiosk and the link of
        the ticket's phone page (its QR). Those two are the citizen's proofs, so only the
        window the case was opened at (its gateway, its clerk) may have them."""
        row = self._row(conn, args.get("number"), lock=False)
        authorize(actor, "casefile.receipt", Target(window=row["window"]))
        token = conn.execute(
            select(s.tickets.c.token).where(s.tickets.c.id == row["ticket_id"])
        ).scalar_one()
        today = local_day(now, self.config.tz)
        view = self.citizen_view(row, workdays.read_calendar(conn), today)
        service = self.config.service(row["service_id"])
        return dict(
            view,
            hall_name=dict(self.config.name),
            service_name=dict(service.name) if service is not None else {},
            window=row["window"],
            opened_on=_iso(row["opened_on"]),
            promised_days=row["promised_days"],
            check=check_code(token),
            url=f"{self.config.server.public_url.rstrip('/')}/t/{token}",
        )

    @staticmethod
    def actions(actor: Actor, state: str) -> list[str]:
        """What this actor may do to a case in this state: the state table and the
        permission table together, so a page draws its buttons from neither copy."""
        return [
            op.value
            for op in CaseOp
            if (CaseState(state), op) in TRANSITIONS
            and scope_of(actor.role, f"casefile.{op.value}") is not None
        ]

    def get(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        row = self._row(conn, args.get("number"), lock=False)
        authorize(actor, "casefile.get", Target(department=row["department"]))
        c = s.casefile_steps.c
        steps = conn.execute(
            select(c.at, c.op, c.actor, c.role, c.from_state, c.to_state, c.detail)
            .where(c.casefile_id == row["id"])
            .order_by(c.id)
        ).all()
        today = local_day(now, self.config.tz)
        view = self.view(row, workdays.read_calendar(conn), today)
        view["actions"] = self.actions(actor, row["state"])
        view["steps"] = [
            {
                "at": _iso(r.at),
                "op": r.op,
                "by": r.actor,
                "role": r.role,
                "from": r.from_state,
                "to": r.to_state,
                **(json.loads(r.detail) if r.detail else {}),
            }
            for r in steps
        ]
        return view

    def list(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        dept = args.get("department", actor.department)
        if not isinstance(dept, str) or self.config.department(dept) is None:
            raise NotFound(f"unknown department {dept!r}", code="unknown_department")
        authorize(actor, "casefile.list", Target(department=dept))
        state = args.get("state", "open")
        if state == "open":
            states = [st.value for st in OPEN_STATES]
        elif state in {st.value for st in CaseState}:
            states = [state]
        else:
            raise Refused(f"unknown state {state!r}", code="bad_request")
        limit = args.get("limit", 200)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
            raise Refused(f"limit is 1 to {LIST_MAX}", code="bad_request")
        c = s.casefiles.c
        rows = (
            conn.execute(
                select(s.casefiles)
                .where(c.department == dept, c.state.in_(states))
                .order_by(c.due_on, c.id)
            )
            .mappings()
            .all()
        )
        today = local_day(now, self.config.tz)
        cal = workdays.read_calendar(conn)
        views = sorted(
            (dict(self.view(r, cal, today), actions=self.actions(actor, r["state"])) for r in rows),
            key=lambda v: (_LIGHT_ORDER.get(v["light"], 3), v["due_on"] or "9999"),
        )
        counts = {k: sum(1 for v in views if v["light"] == k) for k in ("red", "yellow", "green")}
        return {"department": dept, "state": state, "counts": counts, "cases": views[:limit]}

    def lights(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """The supervisor's lights panel: the cases on the clock per department and light
        (as the sweep set them), and the red ones with the working days they are over."""
        authorize(actor, "casefile.lights", Target())
        c = s.casefiles.c
        on_clock = c.state.in_(_ON_THE_CLOCK)
        counts = {d.id: {"red": 0, "yellow": 0, "green": 0} for d in self.config.departments}
        for dept, lit, n in conn.execute(
            select(c.department, c.light, func.count())
            .where(on_clock)
            .group_by(c.department, c.light)
        ):
            if lit in ("red", "yellow", "green"):
                counts.setdefault(dept, {"red": 0, "yellow": 0, "green": 0})[lit] = int(n)
        today = local_day(now, self.config.tz)
        cal = workdays.read_calendar(conn)
        red = []
        for row in conn.execute(
            select(c.number, c.service_id, c.department, c.due_on, c.state, c.suspended_on)
            .where(on_clock, c.light == "red")
            .order_by(c.due_on, c.id)
            .limit(LIST_MAX)
        ):
            try:
                over = -days_left(cal, row.due_on, row.suspended_on or today)
            except CalendarMissing:
                over = None
            red.append(
                {
                    "number": row.number,
                    "service": row.service_id,
                    "department": row.department,
                    "due_on": _iso(row.due_on),
                    "state": row.state,
                    "days_over": over,
                }
            )
        return {
            "departments": [{"department": d, **n} for d, n in counts.items()],
            "red": red,
        }

    def figures(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """On-time and early completion (按时办结率, 提前办结率) of the case files accepted
        in a period, per department, window, clerk or service.

        A case is *finished* when it is ready (办结) or refused; it is on time when that
        happened by the end of its due day, early with ``early_days`` working days to
        spare (``core.casefile.timeliness``). Open cases count as overdue once red.
        """
        today = local_day(now, self.config.tz)
        start = _day(args.get("from"), today.replace(day=1), "from")
        end = _day(args.get("to"), today, "to")
        check_range(start, end)  # the reports' rule: reversed or over a year is refused
        by = args.get("by", "department")
        column = {"department": "department", "window": "window", "clerk": "clerk"}.get(
            by, "service_id" if by == "service" else None
        )
        if column is None:
            raise Refused("by is department, window, clerk or service", code="bad_request")
        dept = args.get("department", actor.department)
        if dept is not None and (not isinstance(dept, str) or self.config.department(dept) is None):
            raise NotFound(f"unknown department {dept!r}", code="unknown_department")
        authorize(actor, "casefile.figures", Target(department=dept))
        by_key, total = casefile_summaries.grouped(conn, start, end, (column,), dept)
        out = [
            dict(casefile_summaries.rates(g), key=k)
            for k, g in sorted(by_key[column].items(), key=lambda kv: str(kv[0]))
        ]
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by": by,
            "department": dept,
            "early_days": self.settings.early_days,
            "rows": out,
            "total": casefile_summaries.rates(total),
        }

    # -- the lights sweep --------------------------------------------------------------

    def _on_the_clock(self, conn: Connection, lock: bool) -> list[RowMapping]:
        q = select(s.casefiles).where(s.casefiles.c.state.in_(_ON_THE_CLOCK))
        return list(conn.execute(q.with_for_update() if lock else q).mappings().all())

    def lights_epoch(self, conn: Connection, now: dt.datetime) -> tuple[Any, ...]:
        """What every light depends on besides its own case: the hall-local day and the
        loaded calendar years. A case's own steps set its light as they are written, so
        the full look (:meth:`lights_due`) is needed only when this changes; one small
        read, not a read of every open case."""
        y = s.calendar_years.c
        years = tuple(tuple(r) for r in conn.execute(select(y.year, y.loaded_at).order_by(y.year)))
        local = now.astimezone(self.config.tz)
        # A step written with the old day may commit just after the new day's look: the
        # first minutes of a day are looked at every minute, then the day is settled.
        settling = local.minute if (local.hour, local.minute) < (0, SETTLE_MINUTES) else None
        return (local.date(), years, settling)

    def lights_due(self, conn: Connection, now: dt.datetime) -> bool:
        """Whether the sweep has anything to write (read first, on a read connection)."""
        cal = workdays.read_calendar(conn)
        today = local_day(now, self.config.tz)
        for row in self._on_the_clock(conn, lock=False):
            if row["due_on"] is None and cal.covers(row["opened_on"].year):
                return True
            if self._light(row, cal, today) != row["light"]:
                return True
        return False

    def sweep_lights(self, conn: Connection, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
        """Turn the lights the clock has moved, each change announced once.

        Computed from stored due days, so a server that was down when a case turned red
        turns it at its first sweep. Due days missing for want of a calendar are set
        first. Another process may sweep the same row at the same moment: only the one
        whose update still finds the old light announces the change.
        """
        cal = workdays.read_calendar(conn)
        today = local_day(now, self.config.tz)
        events = []
        for row in self._on_the_clock(conn, lock=False):
            values: dict[str, Any] = {}
            if row["due_on"] is None:
                try:
                    values["due_on"] = due_day(cal, row["opened_on"], row["promised_days"])
                except CalendarMissing:
                    continue
                values["early_before"] = early_before(cal, values["due_on"], self.settings)
            merged = {**dict(row), **values}
            new = self._light(merged, cal, today)
            if new == row["light"] and not values:
                continue
            c = s.casefiles.c
            same_light = c.light.is_(None) if row["light"] is None else c.light == row["light"]
            done = conn.execute(
                update(s.casefiles)
                .where(and_(c.id == row["id"], same_light, c.state == row["state"]))
                .values(light=new, light_at=now, **values)
            )
            if done.rowcount != 1 or new == row["light"]:
                continue
            view = self.view(dict(merged, light=new), cal, today)
            events.append(
                (
                    "casefile.light",
                    {
                        "number": row["number"],
                        "department": row["department"],
                        "service": row["service_id"],
                        "window": row["window"],
                        "clerk": row["clerk"],
                        "light": new,
                        "was": row["light"],
                        "due_on": view["due_on"],
                        "days_left": view["days_left"],
                    },
                )
            )
        return events


def _guess(
    conn: Connection, subject: str, now: dt.datetime, limit: int, lock: dt.timedelta
) -> None:
    """Count one wrong lookup; one already locked (a race) is counted no further."""
    try:
        lockout.reserve(conn, subject, now, limit=limit, lock_for=lock)
    except Refused:
        pass


def _state_or_none(value: str | None) -> CaseState | None:
    return CaseState(value) if value else None


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > TEXT_MAX:
        raise Refused(f"give the {what} as text (up to {TEXT_MAX} characters)", code="bad_request")
    return value.strip()


def _day(value: Any, default: dt.date, what: str) -> dt.date:
    if value is None:
        return default
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else _bad(what)
    except ValueError:
        return _bad(what)


def _bad(what: str) -> dt.date:
    raise Refused(f"{what} must be a date like 2026-11-01", code="bad_request")
