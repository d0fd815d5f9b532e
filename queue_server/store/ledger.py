"""The rectification ledger in the database: opening, steps, lists, lights, the phone.

The rules are in the core (``core/rectify.py``: the state table and deadlines;
``core/ratings.py``: codes and the phone checks); who may take a step is the permission
table's. Each step is written with a step row, an audit row and an event, in the
caller's transaction, like :mod:`queue_server.store.casefiles`.

The citizen's call-back number lives in one column of one table: never in a step, an
event, the audit, an alert, an export or a log line. Views show it masked; the full
number is given only by ``ledger.phone`` to the department's staff while a call is still
to be made, and that reading is audited (without the number). It is erased when the
record closes or is dismissed, or when its retention runs out (:meth:`Ledger.prune`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from ..core import ratings, rectify
from ..core.calendar import CalendarMissing, WorkCalendar
from ..core.casefile import local_day
from ..core.errors import NotFound, Refused
from ..core.permissions import Actor, Target, authorize, scope_of
from ..core.rectify import FINAL, OPEN_STATES, PHONE_STATES, Dues, ROp, RState
from . import schema as s
from . import workdays

NOTE_MAX = 2000
LIST_MAX = 500
_r = s.rectifications.c
_DEFAULT_OUTCOME = {ROp.FIX: "done", ROp.CLOSE: "closed"}
"""Steps with one outcome need not name it."""
_LIGHT_ORDER = {"red": 0, "yellow": 1, "green": 2, None: 3}


def _iso(t: dt.datetime | dt.date | None) -> str | None:
    return t.isoformat() if t is not None else None


class Ledger:
    """The ledger half of the hall's operations; ``ops`` is the hall's ``HallOps``."""

    def __init__(self, ops: Any) -> None:
        self.ops = ops
        self.config = ops.config
        self.settings = ops.config.ratings

    # -- opening -----------------------------------------------------------------------

    def _dues(self, cal: WorkCalendar, opened_on: dt.date) -> Dues | None:
        try:
            return rectify.dues(cal, opened_on, self.settings)
        except CalendarMissing:
            return None

    def open(
        self,
        conn: Connection,
        case: RowMapping,
        level: int,
        department: str | None,
        phone: str | None,
        now: dt.datetime,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Open the record of a bad rating (in the rating's transaction)."""
        today = local_day(now, self.config.tz)
        cal = workdays.read_calendar(conn)
        d = self._dues(cal, today)
        values = {
            "case_id": case["id"],
            "ticket_id": case["ticket_id"],
            "department": department,
            "service_id": case["service_id"],
            "window": case["window"],
            "clerk": case["clerk"],
            "level": level,
            "state": RState.OPEN.value,
            "light": rectify.light(RState.OPEN, d, today),
            "opened_at": now,
            "opened_on": today,
            "contact_due": d.contact if d else None,
            "rectify_due": d.rectify if d else None,
            "callback_due": d.callback if d else None,
            "phone": phone,
            "phone_until": now + dt.timedelta(days=self.settings.phone_days) if phone else None,
            "updated_at": now,
        }
        rid = conn.execute(insert(s.rectifications).values(**values)).inserted_primary_key[0]
        self._step(conn, rid, now, "system", "system", "open", None, None, "open", None)
        view = self.view(dict(values, id=rid), today)
        return [("ledger.opened", view)]

    # -- reading -----------------------------------------------------------------------

    def _row(self, conn: Connection, rid: Any, lock: bool = True) -> RowMapping:
        if not isinstance(rid, int) or isinstance(rid, bool):
            raise Refused("a ledger record id is needed", code="bad_request")
        q = select(s.rectifications).where(_r.id == rid)
        row = conn.execute(q.with_for_update() if lock else q).mappings().first()
        if row is None:
            raise NotFound(f"no ledger record {rid}", code="unknown_record")
        return row

    def view(self, row: RowMapping | dict[str, Any], today: dt.date) -> dict[str, Any]:
        """A record as staff and events see it: the phone only masked, and only whether
        one was given."""
        state = RState(row["state"])
        d = (
            Dues(row["contact_due"], row["rectify_due"], row["callback_due"])
            if row["contact_due"] is not None
            else None
        )
        due = rectify.due_of(state, d) if d else None
        return {
            "id": row["id"],
            "case": row["case_id"],
            "ticket_id": row["ticket_id"],
            "department": row["department"],
            "service": row["service_id"],
            "window": row["window"],
            "clerk": row["clerk"],
            "level": row["level"],
            "meaning": ratings.level_name(row["level"]),
            "state": state.value,
            "light": row.get("light"),
            "opened_at": _iso(row["opened_at"]),
            "due": _iso(due),
            "contact_due": _iso(row["contact_due"]),
            "rectify_due": _iso(row["rectify_due"]),
            "callback_due": _iso(row["callback_due"]),
            "finding": row.get("finding"),
            "appeal": row.get("appeal"),
            "contact": row.get("contact"),
            "callback": row.get("callback"),
            "fix_level": row.get("fix_level"),
            "closed_at": _iso(row.get("closed_at")),
            "has_phone": row.get("phone") is not None,
        }

    def staff_view(self, actor: Actor, row: RowMapping, today: dt.date) -> dict[str, Any]:
        """The view for one member of staff: the masked phone and the steps it may take."""
        view = self.view(row, today)
        view["phone"] = ratings.mask_phone(row["phone"])
        view["actions"] = self.actions(actor, row["state"])
        # What each step may record, from the state table (pages draw it, never copy it).
        state = row["state"]
        view["outcomes"] = {
            op: [o for (st, rop, o) in rectify.TRANSITIONS if st == state and rop == op]
            for op in view["actions"]
        }
        return view

    @staticmethod
    def actions(actor: Actor, state: str) -> list[str]:
        """Steps this actor may take now: the state table and the permission table
        together, so a page draws its buttons from neither copy."""
        return [
            op.value
            for op in rectify.possible(RState(state))
            if scope_of(actor.role, f"ledger.{op.value}") is not None
        ]

    def _steps(self, conn: Connection, rid: int) -> list[dict[str, Any]]:
        c = s.rectification_steps.c
        rows = conn.execute(
            select(c.at, c.op, c.outcome, c.actor, c.role, c.from_state, c.to_state, c.detail)
            .where(c.rectification_id == rid)
            .order_by(c.id)
        ).all()
        return [
            {
                "at": _iso(r.at),
                "op": r.op,
                "outcome": r.outcome,
                "by": r.actor,
                "role": r.role,
                "from": r.from_state,
                "to": r.to_state,
                **(json.loads(r.detail) if r.detail else {}),
            }
            for r in rows
        ]

    def get(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        row = self._row(conn, args.get("id"), lock=False)
        self._authorize(actor, "ledger.get", row)
        view = self.staff_view(actor, row, local_day(now, self.config.tz))
        view["steps"] = self._steps(conn, row["id"])
        return view

    def list(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """Open records (or ``state``: one state, ``all``), red first; one department's
        for its staff, the hall's (or one department's) for the supervisor."""
        dept = args.get("department", actor.department)
        if dept is not None and (not isinstance(dept, str) or self.config.department(dept) is None):
            raise NotFound(f"unknown department {dept!r}", code="unknown_department")
        authorize(actor, "ledger.list", Target(department=dept))
        state = args.get("state", "open")
        q = select(s.rectifications)
        if state == "open":
            q = q.where(_r.state.in_([st.value for st in OPEN_STATES]))
        elif state in {st.value for st in RState}:
            q = q.where(_r.state == state)
        elif state != "all":
            raise Refused(f"unknown state {state!r}", code="bad_request")
        limit = args.get("limit", 200)
        if not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
            raise Refused(f"limit is 1 to {LIST_MAX}", code="bad_request")
        if dept is not None:
            q = q.where(_r.department == dept)
        rows = conn.execute(q.order_by(_r.id.desc()).limit(limit)).mappings().all()
        today = local_day(now, self.config.tz)
        views = sorted(
            (self.staff_view(actor, r, today) for r in rows),
            key=lambda v: (_LIGHT_ORDER.get(v["light"], 3), v["due"] or "9999", -v["id"]),
        )
        counts = {k: sum(1 for v in views if v["light"] == k) for k in ("red", "yellow", "green")}
        return {"department": dept, "state": state, "counts": counts, "records": views}

    def _authorize(self, actor: Actor, op: str, row: RowMapping) -> None:
        authorize(actor, op, Target(department=row["department"], window=row["window"]))

    # -- steps -------------------------------------------------------------------------

    def _step(
        self,
        conn: Connection,
        rid: int,
        now: dt.datetime,
        actor: str,
        role: str,
        op: str,
        outcome: str | None,
        from_state: str | None,
        to_state: str,
        detail: dict[str, Any] | None,
    ) -> None:
        conn.execute(
            insert(s.rectification_steps).values(
                rectification_id=rid,
                at=now,
                op=op,
                outcome=outcome,
                actor=actor,
                role=role,
                from_state=from_state,
                to_state=to_state,
                detail=json.dumps(detail, ensure_ascii=False) if detail else None,
            )
        )

    def step(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime, op: ROp
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        """Take one step of a record: the role, the order, then the write.

        A step repeated with the same idempotency key gets its first answer back (the
        server's idempotency table); a step the record is past is ``invalid_state``.
        """
        row = self._row(conn, args.get("id"))
        name = f"ledger.{op.value}"
        self._authorize(actor, name, row)
        state = RState(row["state"])
        outcome = args.get("outcome", _DEFAULT_OUTCOME.get(op))
        if not isinstance(outcome, str):
            raise Refused(
                f"{op.value} takes one of: {', '.join(rectify.outcomes(op))}", code="bad_outcome"
            )
        new = rectify.next_state(state, op, outcome)
        note = args.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
            raise Refused(f"the note is text up to {NOTE_MAX} characters", code="bad_request")
        note = note.strip() if isinstance(note, str) and note.strip() else None
        if op in rectify.NEEDS_TEXT and note is None:
            raise Refused("say what was found or done (it goes in the ledger)", code="note_needed")
        values: dict[str, Any] = {"state": new.value, "updated_at": now}
        if op is ROp.VERIFY:
            values["finding"] = outcome
        elif op is ROp.DECIDE:
            values["appeal"] = outcome
        elif op is ROp.CONTACT:
            values.update(contact=outcome, contacted_at=now)
        elif op is ROp.FIX:
            values["rectified_at"] = now
        elif op is ROp.CALLBACK:
            level = args.get("level")
            if level is not None:
                if outcome == "unreachable":
                    raise Refused(
                        "an unreachable citizen gave no rating of the fix", code="bad_request"
                    )
                ratings_ok = isinstance(level, int) and not isinstance(level, bool)
                if not ratings_ok or not 1 <= level <= 5:
                    raise Refused("level is 1 (worst) to 5 (best)", code="bad_rating")
            values.update(callback=outcome, callback_at=now, fix_level=level)
        if new in FINAL:
            # The purpose of the number is done: it goes with the record's closing.
            values.update(closed_at=now, phone=None, phone_until=None)
        today = local_day(now, self.config.tz)
        merged = {**dict(row), **values}
        d = (
            Dues(row["contact_due"], row["rectify_due"], row["callback_due"])
            if row["contact_due"] is not None
            else None
        )
        values["light"] = merged["light"] = rectify.light(new, d, today)
        conn.execute(update(s.rectifications).where(_r.id == row["id"]).values(**values))
        detail = {"note": note} if note else None
        if op is ROp.CALLBACK and values.get("fix_level") is not None:
            detail = {**(detail or {}), "fix_level": values["fix_level"]}
        self._step(
            conn,
            row["id"],
            now,
            actor.name,
            actor.role,
            op.value,
            outcome,
            state.value,
            new.value,
            detail,
        )
        # The note may hold what the citizen said: it stays in the ledger, not the audit.
        self.ops._audit(
            conn,
            now,
            actor,
            name,
            window=row["window"],
            ticket_id=row["ticket_id"],
            detail={"record": row["id"], "outcome": outcome, "to": new.value},
        )
        view = self.staff_view(actor, merged, today)  # type: ignore[arg-type]
        event = dict(self.view(merged, today), op=op.value, outcome=outcome, was=state.value)
        event["by"] = actor.name
        return view, [("ledger.changed", event)]

    def phone(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> dict[str, Any]:
        """The full number, to the department's staff who make the call, while a call is
        still to be made. Audited as read (never the number itself)."""
        row = self._row(conn, args.get("id"), lock=False)
        self._authorize(actor, "ledger.phone", row)
        if row["phone"] is None:
            raise NotFound("no call-back number was left, or it is erased", code="no_phone")
        if RState(row["state"]) not in PHONE_STATES:
            raise Refused(
                "the number is shown only while a call is to be made (after verification)",
                code="not_calling",
            )
        self.ops._audit(
            conn, now, actor, "ledger.phone", window=row["window"], detail={"record": row["id"]}
        )
        return {"id": row["id"], "phone": row["phone"]}

    # -- timers ------------------------------------------------------------------------

    def _adopt(self, row: RowMapping) -> str | None:
        """The department of a record migrated from the follow-up list: its service's."""
        service = self.config.service(row["service_id"])
        return service.department if service is not None else None

    def lights_due(self, conn: Connection, now: dt.datetime) -> bool:
        """Whether the sweep has anything to write (read first, on a read connection)."""
        return bool(self._changes(conn, now))

    def _changes(
        self, conn: Connection, now: dt.datetime
    ) -> list[tuple[RowMapping, dict[str, Any]]]:
        today = local_day(now, self.config.tz)
        cal: WorkCalendar | None = None
        out = []
        rows = conn.execute(
            select(s.rectifications).where(_r.state.in_([st.value for st in OPEN_STATES]))
        ).mappings()
        for row in rows:
            values: dict[str, Any] = {}
            if row["department"] is None and self._adopt(row) is not None:
                values["department"] = self._adopt(row)
            d = None
            if row["contact_due"] is None:
                cal = cal or workdays.read_calendar(conn)
                d = self._dues(cal, row["opened_on"])
                if d is not None:
                    values.update(
                        contact_due=d.contact, rectify_due=d.rectify, callback_due=d.callback
                    )
            else:
                d = Dues(row["contact_due"], row["rectify_due"], row["callback_due"])
            new = rectify.light(RState(row["state"]), d, today)
            if new != row["light"]:
                values["light"] = new
            if values:
                out.append((row, values))
        return out

    def sweep(self, conn: Connection, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
        """Turn the lights the clock has moved; a record turning red is announced once
        (compare-and-set on the old light, so two server processes do not both)."""
        today = local_day(now, self.config.tz)
        events = []
        for row, values in self._changes(conn, now):
            same = _r.light.is_(None) if row["light"] is None else _r.light == row["light"]
            done = conn.execute(
                update(s.rectifications)
                .where(and_(_r.id == row["id"], same, _r.state == row["state"]))
                .values(**values)
            )
            if done.rowcount != 1 or values.get("light") != "red":
                continue
            view = self.view({**dict(row), **values}, today)
            events.append(
                (
                    "ledger.overdue",
                    {
                        "id": row["id"],
                        "department": view["department"],
                        "service": view["service"],
                        "window": view["window"],
                        "state": view["state"],
                        "due": view["due"],
                    },
                )
            )
        return events

    def prune(self, conn: Connection, now: dt.datetime) -> None:
        """Erase call-back numbers whose retention ran out (closing erases the rest)."""
        conn.execute(
            update(s.rectifications)
            .where(_r.phone.is_not(None), _r.phone_until <= now)
            .values(phone=None, phone_until=None)
        )
