"""Hall operations against the database: load rows, ask the core, write, record events.

Each public method is one operation of the protocol. It runs inside a transaction the
caller opened (see :mod:`queue_server.store.db`), raises a
:class:`~queue_server.core.errors.HallError` to refuse, and returns the reply plus the
events to publish. Nothing here is visible to clients before the transaction commits.

Rows that decide who gets a ticket are locked (``FOR UPDATE``; ``SKIP LOCKED`` on the
waiting ticket being called) so two server processes on one PostgreSQL never call one
ticket to two windows. SQLite has one writer at a time, which gives the same guarantee.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import Connection, RowMapping

from ..core import estimate, pins, ratings, rules
from ..core.errors import HallError, NotFound, Refused
from ..core.hall import HallConfig, ServiceDef
from ..core.permissions import Actor, Target, authorize
from ..core.states import TicketOp, TicketStatus, WindowOp, WindowStatus, ticket_next, window_next
from . import callorder, casefiles, estimate_records, ledger, lines, lockout
from . import schema as s
from . import statements as st
from .db import on_reader

NEWCOMER_ID = 2**62
"""Id of the ticket someone would take now, in a queue's figures: after every real one."""
TOKEN_BYTES = 16
FOLLOW_DAYS = 30
"""How long after its promised case closed a ticket's phone page still shows it."""
DETAIL_MAX = 200
"""The longest device detail kept ("paper near end", "cover open since 09:12")."""
_ZERO = dt.timedelta(0)
CACHE_S = 10.0
EVENT_DAYS = 3
"""How long queue figures shared by many requests are reused (other servers' changes)."""
DEFAULT_LIMIT_MINUTES = 15
"""A case's time limit when its service is no longer configured."""


@dataclass(slots=True)
class Outcome:
    """What an operation produced: the reply and the events to publish after commit."""

    reply: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def ticket_view(row: RowMapping) -> dict[str, Any]:
    """The public face of a ticket: what displays and clerks see (never the token)."""
    return {
        "id": row["id"],
        "label": rules.ticket_label(row["prefix"], row["number"]),
        "queue": row["queue"],
        "service": row["service_id"],
        "status": row["status"],
        "priority": row["priority"],
        "language": row["language"],
        "issued_at": iso(row["issued_at"]),
        "window": row["window"],
        "target_window": row["target_window"],
        "recalls": row["recalls"],
        "called_at": iso(row["called_at"]),
        "started_at": iso(row["started_at"]),
    }


_t, _w, _c = s.tickets.c, s.windows.c, s.cases.c
# The estimate's reads, built once (see statements.py for why).
_CASE_SECONDS = (
    select(_c.called_at, _c.ended_at)
    .select_from(s.cases.join(s.tickets, _t.id == _c.ticket_id))
    .where(_t.queue == bindparam("queue"), _c.ended_at.is_not(None))
    .order_by(_c.ended_at.desc())
    .limit(bindparam("n"))
)
_EST_WAITING = select(
    _t.id, _t.queue, _t.sort_at, _t.priority, _t.appointment_at, _t.target_window
).where(
    _t.day == bindparam("day"),
    _t.status == "waiting",
    or_(
        _t.queue.in_(bindparam("queues", expanding=True)),
        _t.target_window.in_(bindparam("numbers", expanding=True)),
    ),
)
# The same tickets, but of each queue's priority and ordinary lines only the first
# MAX_CALLS (no replay gets past them) and the ticket being estimated; the rest are
# counted (``n``). An issue at 2,000 waiting read every one of them into Python.
_line_kind = case(
    (_t.target_window.is_not(None), 2),
    (_t.priority == rules.APPOINTMENT, 3),
    (_t.priority.is_not(None), 1),
    else_=0,
)
_est_ranked = (
    select(
        _t.id,
        _t.queue,
        _t.sort_at,
        _t.priority,
        _t.appointment_at,
        _t.target_window,
        _line_kind.label("kind"),
        func.row_number()
        .over(partition_by=(_t.queue, _line_kind), order_by=(_t.sort_at, _t.id))
        .label("rn"),
        func.count().over(partition_by=(_t.queue, _line_kind)).label("n"),
    )
    .where(
        _t.day == bindparam("day"),
        _t.status == "waiting",
        or_(
            _t.queue.in_(bindparam("queues", expanding=True)),
            _t.target_window.in_(bindparam("numbers", expanding=True)),
        ),
    )
    .subquery()
)
_r = _est_ranked.c
_EST_WAITING_FIRST = select(
    _r.id,
    _r.queue,
    # Times as the driver gives them (text on SQLite), made aware UTC by _utc: the
    # column type's own conversion was most of the cost of reading a long line.
    type_coerce(_r.sort_at, String()),
    _r.priority,
    type_coerce(_r.appointment_at, String()),
    _r.target_window,
    _r.kind,
    _r.n,
).where(or_(_r.rn <= bindparam("first"), _r.kind >= 2, _r.id == bindparam("ticket")))


_utc = lines.utc
_WINDOWS = lines.WINDOWS  # (a name of its own: `_hall_now` has a local `lines`)
"""What ``schema.UTCDateTime`` gives for a stored time, from the driver's raw value."""


_EST_ISSUED = (
    select(_t.queue, _t.priority.is_not(None), func.count())
    .where(
        _t.day == bindparam("day"),
        _t.queue.in_(bindparam("queues", expanding=True)),
        _t.issued_at >= bindparam("since", type_=s.UTCDateTime()),
    )
    .group_by(_t.queue, _t.priority.is_not(None))
)


class HallOps:
    def __init__(self, config: HallConfig) -> None:
        self.config = config
        self.tz = config.tz
        self._cache: dict[tuple[str, str], tuple[Any, float]] = {}
        self._next_stmts: dict[int, Any] = {}
        self.casefiles = casefiles.CaseFiles(self)
        self.ledger = ledger.Ledger(self)
        self._components: dict[str, tuple[list[str], list[estimate.WindowNow]]] = {}
        self._sessions: dict[tuple[str, dt.date], list[dt.datetime]] = {}
        self._past = estimate_records.PastRates()
        self._lines = lines.Lines()
        self._reader_lines = threading.local()

    def _kept_lines(self) -> lines.Lines:
        """The memory of the waiting lines this thread keeps: the writing thread's, or
        a reader thread's own (its snapshots may be older than the writer's memory; a
        thread's own are never older than its last)."""
        if not on_reader():
            return self._lines
        got: lines.Lines | None = getattr(self._reader_lines, "lines", None)
        if got is None:
            got = self._reader_lines.lines = lines.Lines()
        return got

    def forget(self, kind: str, prefix: str) -> None:
        """Drop a cached figure after a change that moves it."""
        self._cache.pop((kind, prefix), None)

    # -- helpers -----------------------------------------------------------------------

    def day(self, now: dt.datetime) -> dt.date:
        return rules.service_day(now, self.tz)

    def _service(self, service_id: Any) -> ServiceDef:
        service = self.config.service(service_id) if isinstance(service_id, str) else None
        if service is None:
            raise NotFound(f"unknown service {service_id!r}", code="unknown_service")
        return service

    def _window_number(self, actor: Actor, args: dict[str, Any], op: str | None = None) -> int:
        """The window an operation acts at (its argument, or the actor's own window).

        With ``op``, the actor must be allowed to act at it (the permission table's
        window scope); ops whose scope is about a ticket authorize once it is loaded.
        """
        number = args.get("window", actor.window)
        if not isinstance(number, int) or self.config.window(number) is None:
            raise NotFound(f"unknown window {number!r}", code="unknown_window")
        if op is not None:
            authorize(actor, op, Target(window=number))
        return number

    def waits_for(self, row: RowMapping, window: int | None) -> bool:
        """A ticket waits for this window: sent to it, or in one of its queues."""
        wdef = self.config.window(window) if window is not None else None
        return wdef is not None and rules.eligible(
            callorder.candidate(row), wdef.number, wdef.queues
        )

    def proved(
        self,
        conn: Connection,
        actor: Actor,
        row: RowMapping,
        args: dict[str, Any],
        now: dt.datetime,
    ) -> bool:
        """Whether a kiosk showed it holds the ticket: its check code or its QR token.

        Wrong proofs are counted per ticket in the database (kept through the refusal),
        and after a few the ticket takes none until its day ends, so four digits cannot
        be found by trying them all.
        """
        check, token = args.get("check"), args.get("token")
        if actor.role != "kiosk" or (check is None and token is None):
            return False
        subject = f"proof:{row['id']}"
        lock_for = dt.datetime.combine(row["day"], dt.time(), self.tz) + dt.timedelta(days=1)
        lockout.check(
            conn, subject, now, "too many wrong check codes for this ticket; ask at the desk"
        )
        ok = (isinstance(token, str) and secrets.compare_digest(token, row["token"])) or (
            isinstance(check, str) and secrets.compare_digest(check, rules.check_code(row["token"]))
        )
        if ok:
            lockout.succeeded(conn, subject)
            return True
        exc = Refused("the check code does not match this ticket", code="wrong_check")
        exc.kept.append(
            lambda c: lockout.reserve(c, subject, now, lock_for=max(lock_for - now, _ZERO))
        )
        raise exc

    def _lock_window(self, conn: Connection, number: int) -> RowMapping:
        row = conn.execute(st.WINDOW_LOCK, {"n": number}).mappings().first()
        if row is None:  # a window added to the config since the tables were filled
            conn.execute(insert(s.windows).values(number=number, status="closed"))
            row = conn.execute(st.WINDOW_LOCK, {"n": number}).mappings().one()
        return row

    def _ticket(self, conn: Connection, ticket_id: int, lock: bool = True) -> RowMapping:
        q = st.TICKET_LOCK if lock else st.TICKET
        row = conn.execute(q, {"id": ticket_id}).mappings().first()
        if row is None:
            raise NotFound(f"unknown ticket {ticket_id}", code="unknown_ticket")
        return row

    def _ticket_by_label(self, conn: Connection, label: Any, now: dt.datetime) -> RowMapping:
        if not isinstance(label, str):
            raise Refused("a ticket number like A012 is needed", code="bad_request")
        try:
            prefix, number = rules.parse_label(label)
        except ValueError as exc:
            raise Refused(str(exc), code="bad_request") from None
        row = (
            conn.execute(
                select(s.tickets)
                .where(
                    s.tickets.c.day == self.day(now),
                    s.tickets.c.prefix == prefix,
                    s.tickets.c.number == number,
                )
                .with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"no ticket {label} today", code="unknown_ticket")
        return row

    def _ticket_by_token(self, conn: Connection, token: Any, now: dt.datetime) -> RowMapping:
        row = (
            conn.execute(select(s.tickets).where(s.tickets.c.token == token).with_for_update())
            .mappings()
            .first()
            if isinstance(token, str)
            else None
        )
        if row is None or row["day"] != self.day(now):
            raise NotFound("no such ticket today", code="unknown_ticket")
        return row

    def _find_ticket(self, conn: Connection, args: dict[str, Any], now: dt.datetime) -> RowMapping:
        if "ticket_id" in args:
            if not isinstance(args["ticket_id"], int):
                raise Refused("ticket_id must be a whole number", code="bad_request")
            return self._ticket(conn, args["ticket_id"])
        return self._ticket_by_label(conn, args.get("label"), now)

    def _current(self, conn: Connection, win: RowMapping) -> RowMapping:
        if win["ticket_id"] is None:
            raise Refused(f"window {win['number']} has no current ticket", code="no_current")
        row = self._ticket(conn, win["ticket_id"])
        if row["window"] != win["number"]:
            # The ticket has moved on (rejoined and called elsewhere): not ours to act on.
            raise Refused(f"window {win['number']} has no current ticket", code="no_current")
        return row

    def _audit(
        self,
        conn: Connection,
        now: dt.datetime,
        actor: Actor,
        op: str,
        window: int | None = None,
        ticket_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        conn.execute(
            st.AUDIT_INSERT,
            {
                "at": now,
                "actor": actor.name,
                "role": actor.role,
                "op": op,
                "window": window,
                "ticket_id": ticket_id,
                # the audit's stored text keeps its format (reports and checks read it)
                "detail": json.dumps(detail, ensure_ascii=False) if detail else None,
            },
        )

    def audit_refusal(
        self,
        conn: Connection,
        now: dt.datetime,
        actor: Actor,
        op: str,
        args: dict[str, Any],
        exc: HallError,
    ) -> None:
        """A refused operation leaves one audit row (who tried what, and why not), and
        nothing else: the PINs, codes and tokens it carried are never written."""
        window = args.get("window") if isinstance(args.get("window"), int) else actor.window
        self._audit(conn, now, actor, op, window=window, detail={"refused": exc.code})

    def _set_ticket(self, conn: Connection, ticket_id: int, **values: Any) -> RowMapping:
        return conn.execute(st.TICKET_SET, {"_id": ticket_id, **values}).mappings().one()

    def _set_window(self, conn: Connection, number: int, **values: Any) -> RowMapping:
        return conn.execute(st.WINDOW_SET, {"_n": number, **values}).mappings().one()

    def window_view(self, row: RowMapping, ticket: RowMapping | None = None) -> dict[str, Any]:
        wdef = self.config.window(row["number"])
        return {
            "number": row["number"],
            "area": wdef.area if wdef else None,
            "status": row["status"],
            "clerk": row["clerk"],
            "ticket": rules.ticket_label(ticket["prefix"], ticket["number"]) if ticket else None,
            "ticket_status": ticket["status"] if ticket else None,
            "since": iso(row["since"]),
            "pause_reason": row["pause_reason"],
        }

    def _close_case(
        self, conn: Connection, case_id: int | None, now: dt.datetime, outcome: str, **values: Any
    ) -> None:
        if case_id is not None:
            conn.execute(
                st.CASE_SET, {"_id": case_id, "ended_at": now, "outcome": outcome, **values}
            )

    # -- queue figures -----------------------------------------------------------------

    def _cached(self, kind: str, prefix: str, compute: Any) -> Any:
        """Queue figures every issue and call shows, reused for ``CACHE_S`` at most.

        Changes made here drop them at once (:meth:`forget`); changes made by another
        server process on the same PostgreSQL show within ``CACHE_S``.
        """
        hit = self._cache.get((kind, prefix))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        value = compute()
        if not on_reader():  # a reader's snapshot may predate a write that just forgot it
            self._cache[(kind, prefix)] = (value, time.monotonic() + CACHE_S)
        return value

    def _case_ended(self, queue: str, called_at: dt.datetime | None, now: dt.datetime) -> None:
        """A case of ``queue``'s ticket, called at ``called_at``, ended ``now``: its window
        time joins the queue's recent cases (:meth:`case_seconds`).

        The kept figure takes it in front (the read orders them newest first) instead of
        being dropped, which re-read the queue's last cases at the next estimate after
        every finish. Only once it holds a full ``rolling_cases`` (a shorter one may lack
        cases the read would now bring in); its time to live stays, so another server's
        cases still show within ``CACHE_S``.
        """
        key, n = ("minutes", queue), self.config.rules.rolling_cases
        hit = self._cache.get(key)
        if hit is None or called_at is None or len(hit[0]) < n:
            self._cache.pop(key, None)
            return
        self._cache[key] = (((now - called_at).total_seconds(), *hit[0][: n - 1]), hit[1])

    def open_windows_for(self, conn: Connection, prefix: str) -> int:
        return self._cached("open", prefix, lambda: self._open_windows_for(conn, prefix))

    def _open_windows_for(self, conn: Connection, prefix: str) -> int:
        numbers = [w.number for w in self.config.windows if prefix in w.queues]
        if not numbers:
            return 0
        return conn.execute(
            select(func.count())
            .select_from(s.windows)
            .where(s.windows.c.number.in_(numbers), s.windows.c.status == "open")
        ).scalar_one()

    def service_minutes(self, conn: Connection, prefix: str) -> float:
        return estimate.service_minutes_from_cases(
            self.case_seconds(conn, prefix), self.config.rules.default_service_minutes
        )

    def case_seconds(self, conn: Connection, prefix: str) -> tuple[float, ...]:
        return self._cached("minutes", prefix, lambda: self._case_seconds(conn, prefix))

    def _case_seconds(self, conn: Connection, prefix: str) -> tuple[float, ...]:
        """Window time of the queue's recent cases, from the call to the end of the case.

        From the call, not from "start": the walk to the window, recalls and no-shows
        take window time too, and a hall whose keypads never press start still measures
        real cases instead of staying on the default.
        """
        rows = conn.execute(
            _CASE_SECONDS, {"queue": prefix, "n": self.config.rules.rolling_cases}
        ).all()
        return tuple(
            (end - called).total_seconds() for called, end in rows if called and end is not None
        )

    def _component(self, queue: str) -> tuple[list[str], list[estimate.WindowNow]]:
        """The queues sharing windows with ``queue``, and those windows (from the config)."""
        hit = self._components.get(queue)
        if hit is None:
            wdefs = [estimate.WindowNow(w.number, w.queues, None) for w in self.config.windows]
            queues, linked = estimate.component(wdefs, queue)
            hit = self._components[queue] = (sorted(queues), linked)
        return hit

    def _session_starts(self, queues: tuple[str, ...], now: dt.datetime) -> list[dt.datetime]:
        day = self.day(now)
        out: list[dt.datetime] = []
        for q in queues:
            key = (q, day)
            got = self._sessions.get(key)
            if got is None:
                qd = self.config.queue(q)
                got = [a for a, _ in estimate.sessions(qd.hours, self.tz, now)] if qd else []
                if len(self._sessions) > 1000:
                    self._sessions.clear()
                self._sessions[key] = got
            out.extend(got)
        return out

    def _hall_now(
        self,
        conn: Connection,
        queue: str,
        now: dt.datetime,
        *,
        brief: bool = False,
        ticket: int = 0,
        kept: bool = True,
    ) -> estimate.HallNow:
        """What :func:`estimate.estimate_wait` needs for ``queue``: its component only.

        ``brief``: of each long line only the first :data:`estimate.MAX_CALLS` are read,
        and ``ticket``; the rest are counted (``HallNow.hidden``). For estimates of
        tickets at the back of their line (a newcomer, the ticket just issued), whose
        figures this leaves as they were (property-tested); a ticket's phone page, which
        may be anywhere in its line, reads the whole line.

        ``kept``: the waiting tickets, the last hour's issued counts and the windows'
        state come from this thread's memory of the lines, which reads only what changed
        since (store/lines.py); the same as the reads below (``kept=False``, the tests'
        reference).
        """
        queues, linked = self._component(queue)
        numbers = [w.number for w in linked]
        day = self.day(now)
        hidden: dict[tuple[str, bool], int] = {}
        lines: dict[tuple[str, int], list[rules.Candidate]] | None = None
        since = now - dt.timedelta(minutes=estimate.FLOW_WINDOW_MINUTES)
        counts: dict[str, tuple[int, int]] | None = None
        state: dict[int, Any] | None = None
        if kept:
            (waiting, hidden, lines), counts, state = self._kept_lines().waiting(
                conn, queues, numbers, day, since, brief=brief, ticket=ticket
            )
        elif brief:
            waiting = []
            shown: dict[tuple[str, bool], int] = {}
            for id_, q, sort_at, prio, appt_at, target, kind, n in conn.execute(
                _EST_WAITING_FIRST,
                {
                    "day": day,
                    "queues": queues,
                    "numbers": numbers,
                    "first": estimate.MAX_CALLS,
                    "ticket": ticket,
                },
            ).all():
                c = rules.Candidate(id_, q, _utc(sort_at), prio, _utc(appt_at), target)  # type: ignore[arg-type]
                waiting.append(c)
                if kind < 2:
                    key = (c.queue, kind == 1)
                    shown[key] = shown.get(key, 0) + 1
                    hidden[key] = n
            hidden = {k: n - shown[k] for k, n in hidden.items() if n > shown[k]}
        else:
            waiting = [
                rules.Candidate(*r)
                for r in conn.execute(
                    _EST_WAITING, {"day": day, "queues": queues, "numbers": numbers}
                ).all()
            ]
        seconds = {q: self.case_seconds(conn, q) for q in queues}
        default = self.config.rules.default_service_minutes
        svc = {q: estimate.service_minutes_from_cases(d, default) for q, d in seconds.items()}
        for q in {c.queue for c in waiting if c.target_window is not None} - set(queues):
            # A ticket sent here from a queue of another group is served at its own
            # queue's pace (cached like the rest; rare).
            svc[q] = self.service_minutes(conn, q)
        hours = {q: qd.hours for q in queues if (qd := self.config.queue(q)) is not None}
        if state is None:  # the windows' state, read here
            state = {r.number: r for r in conn.execute(_WINDOWS, {"numbers": numbers})}
        windows = []
        for wd in linked:
            r = state.get(wd.number)
            busy = r is not None and r.tstatus in (TicketStatus.CALLED, TicketStatus.SERVING)
            free_at = estimate.window_free_at(
                status=r.status if r is not None else "closed",
                now=now,
                since=r.since if r is not None else None,
                busy_queue=r.queue if busy else None,
                busy_called_at=r.called_at if busy else None,
                service_minutes=svc,
                default_service_minutes=default,
                session_starts=self._session_starts(wd.queues, now),
                recent_s=seconds.get(r.queue, ()) if busy else (),
            )
            windows.append(estimate.WindowNow(wd.number, wd.queues, free_at))
        if counts is None:  # the tickets issued in the arrival window, counted here
            counts = {}
            for q, prio, n in conn.execute(
                _EST_ISSUED, {"day": day, "queues": queues, "since": since}
            ).all():
                o, p = counts.get(q, (0, 0))
                counts[q] = (o, p + n) if prio else (o + n, p)
        cv = {q: v for q, d in seconds.items() if (v := estimate.spread_from_cases(d)) is not None}
        return estimate.HallNow(
            service_cv=cv,
            now=now,
            tz=self.tz,
            waiting=waiting,
            windows=windows,
            service_minutes=svc,
            hours=hours,
            flows=estimate.blend_flows(
                estimate.flows_from_counts(counts, hours, self.tz, now),
                estimate.flows_from_past(
                    *self._past.counts(conn, queues, day, now, self.tz), hours, self.tz, now
                ),
            ),
            default_service_minutes=default,
            hidden=hidden,
            lines=lines,
        )

    def estimate(
        self,
        conn: Connection,
        ticket: rules.Candidate,
        now: dt.datetime,
        hall: estimate.HallNow | None = None,
    ) -> estimate.Estimate:
        """The wait promised to a citizen: the hall's call order played forward.

        ``hall`` is the state already read for this queue in the same operation.
        """
        return estimate.estimate(hall or self._hall_now(conn, ticket.queue, now), ticket)

    def _issue_estimates(
        self, hall: estimate.HallNow, ticket: rules.Candidate, now: dt.datetime
    ) -> tuple[estimate.Estimate, estimate.Estimate]:
        """At issue, the new ticket's figure and its queue's (a newcomer's): one replay."""
        mine, fresh = estimate.estimates(
            hall, [ticket, rules.Candidate(NEWCOMER_ID, ticket.queue, now)]
        )
        return mine, fresh

    def people_ahead(self, conn: Connection, ticket: RowMapping, now: dt.datetime) -> int:
        """Waiting tickets of the same queue that the call order puts first.

        The queue's own order is the estimate's basis: a window that also serves other
        queues shares its time, which the rolling service time already absorbs.
        """
        t = s.tickets.c
        queues = (ticket["queue"],)
        return conn.execute(
            select(func.count())
            .select_from(s.tickets)
            .where(
                t.day == ticket["day"],
                t.queue == ticket["queue"],
                t.status == "waiting",
                callorder.before(
                    callorder.call_key(queues, now), callorder.key_of(ticket, queues, now)
                ),
            )
        ).scalar_one()

    def queue_stats(
        self,
        conn: Connection,
        prefix: str,
        now: dt.datetime,
        hall: estimate.HallNow | None = None,
        est: estimate.Estimate | None = None,
    ) -> dict[str, Any]:
        if hall is None and est is None:
            hall = self._hall_now(conn, prefix, now, brief=True)  # the estimate needs it
        if hall is not None:
            # The estimate has just read the waiting tickets of the queue's group (the
            # same day and status; those of long lines only counted): count them here
            # instead of asking again. Those counted stand behind those read.
            waiting = hall.hidden.get((prefix, False), 0) + hall.hidden.get((prefix, True), 0)
            if hall.lines is not None:
                # The kept lines, each in (time, id) order (store/lines.py): its first
                # ticket is its oldest, and no pass over 1,200 tickets per issue.
                firsts = []
                for (q, _kind), line in hall.lines.items():
                    if q == prefix and line:
                        waiting += len(line)
                        firsts.append(line[0].sort_at)
                oldest = min(firsts, default=None)
            else:
                mine = [c.sort_at for c in hall.waiting if c.queue == prefix]
                waiting += len(mine)
                oldest = min(mine, default=None)
        else:
            waiting, oldest = conn.execute(
                st.WAITING_STATS, {"day": self.day(now), "queue": prefix}
            ).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=dt.UTC)
        minutes = self.service_minutes(conn, prefix)
        windows_open = self.open_windows_for(conn, prefix)
        if est is None:
            # The wait of someone taking an ordinary ticket now: last in the queue's line.
            est = self.estimate(conn, rules.Candidate(NEWCOMER_ID, prefix, now), now, hall)
        return {
            "queue": prefix,
            "waiting": waiting,
            "longest_wait_s": int((now - oldest).total_seconds()) if oldest else 0,
            "open_windows": windows_open,
            "service_minutes": round(minutes, 2),
            "est_wait_minutes": est.minutes,
            # the 80 % range, shown before a ticket is taken (kiosk service page)
            "est_wait_low": est.low,
            "est_wait_high": est.high,
        }

    def _pick_next(
        self, conn: Connection, number: int, queues: tuple[str, ...], now: dt.datetime
    ) -> RowMapping | None:
        """``call.next``'s ticket, locked: by index seeks (``callorder.next_ticket``);
        by the full ordered statement only when that finds none, which on PostgreSQL may
        mean another server is calling the first ticket right now (SQLite has one
        writer, so there it means the line is empty). The rare contended call pays for
        the sort, not every call."""
        stmts = self._next_stmts.get(number)
        if stmts is None:
            stmts = self._next_stmts[number] = (
                callorder.next_ticket(number, queues),
                self._next_stmt(number, queues),
            )
        params = {"now": now, "day": self.day(now)}
        row = conn.execute(stmts[0], params).mappings().first()
        if row is None and conn.dialect.name == "postgresql":
            row = conn.execute(stmts[1], params).mappings().first()
        return row

    def _next_stmt(self, number: int, queues: tuple[str, ...]) -> Any:
        """The window's line in call order, first row locked with SKIP LOCKED: a ticket
        another server is calling right now is passed over rather than waited for.
        Sorts every eligible ticket: only for a contended call (``_pick_next``)."""
        t = s.tickets.c
        return (
            select(s.tickets)
            .where(
                t.status == "waiting",
                t.day == bindparam("day"),
                callorder.waits_for(number, queues),
            )
            .order_by(*callorder.call_key(queues, bindparam("now", type_=s.UTCDateTime())))
            .limit(1)
            .with_for_update(skip_locked=True)
        )

    def all_queue_stats(self, conn: Connection, now: dt.datetime) -> list[dict[str, Any]]:
        """Every queue's figures: one read and one replay per group of queues sharing windows."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for q in self.config.queues:
            groups.setdefault(tuple(self._component(q.prefix)[0]), []).append(q.prefix)
        ests: dict[str, estimate.Estimate] = {}
        halls: dict[str, estimate.HallNow] = {}
        for prefixes in groups.values():
            hall = self._hall_now(conn, prefixes[0], now, brief=True)
            newcomers = [rules.Candidate(NEWCOMER_ID + i, q, now) for i, q in enumerate(prefixes)]
            for q, got in zip(prefixes, estimate.replay_many(hall, newcomers), strict=True):
                ests[q] = estimate.with_range(hall, q, got)
                halls[q] = hall
        return [
            self.queue_stats(conn, q.prefix, now, halls[q.prefix], est=ests[q.prefix])
            for q in self.config.queues
        ]

    # -- issue -------------------------------------------------------------------------

    def issue(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        service = self._service(args.get("service"))
        language = self._language(args.get("language"))
        priority = args.get("priority")
        if priority is not None and priority not in rules.PRIORITY_KINDS:
            raise Refused(
                f"unknown priority {priority!r}; one of " + ", ".join(rules.PRIORITY_KINDS),
                code="bad_request",
            )
        # A pick-up ticket may bring the citizen's ready cases to the clerk who calls it.
        pickup = self.casefiles.pickup_cases(conn, actor, args, service, now)
        out = self._issue(
            conn,
            actor,
            service,
            language,
            priority,
            None,
            None,
            now,
            op="ticket.issue",
            person=_person(args.get("id_hash")),
            # who confirmed a priority ticket at a kiosk (the server checked their PIN)
            confirmed_by=(args.get("staff") or ("id_card" if args.get("birth_date") else None))
            if priority is not None
            else None,
        )
        if pickup:
            out.reply["pickup"] = self.casefiles.link_pickup(conn, out.reply["id"], pickup, now)
        return out

    def _language(self, value: Any) -> str:
        if value is None:
            return self.config.languages[0]
        if value not in self.config.languages:
            raise Refused(
                f"language {value!r} is not offered here; one of "
                + ", ".join(self.config.languages),
                code="bad_request",
            )
        return value

    def _issue(
        self,
        conn: Connection,
        actor: Actor,
        service: ServiceDef,
        language: str,
        priority: str | None,
        appointment: str | None,
        appointment_at: dt.datetime | None,
        now: dt.datetime,
        op: str,
        confirmed_by: str | None = None,
        person: str | None = None,
    ) -> Outcome:
        queue = self.config.queue(service.queue)
        assert queue is not None  # the config loader checked every service's queue
        day = self.day(now)
        local = now.astimezone(self.tz)
        # Taking the number locks the queue's counter row: issue is serialised per queue
        # across processes, and a refusal below rolls the number back with the savepoint.
        number = st.next_number(conn, day, queue.prefix)
        issued_service = 0
        if service.daily_cap is not None:
            issued_service = conn.execute(
                st.SERVICE_ISSUED, {"day": day, "service": service.id}
            ).scalar_one()
        rules.check_issue(service, queue, local, issued_service, number - 1)
        cap = self.config.rules.per_person_daily_cap
        if person is not None and cap > 0:
            t = s.tickets.c
            taken = conn.execute(
                select(func.count())
                .select_from(s.tickets)
                .where(t.day == day, t.service_id == service.id, t.person == person)
            ).scalar_one()
            if taken >= cap:
                raise Refused(
                    f"this ID card has taken today's {cap} tickets for this service",
                    code="person_cap",
                    cap=cap,
                )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = (
            conn.execute(
                st.TICKET_INSERT,
                {
                    "day": day,
                    "prefix": queue.prefix,
                    "queue": queue.prefix,
                    "number": number,
                    "service_id": service.id,
                    "status": TicketStatus.WAITING.value,
                    "priority": priority,
                    "appointment_code": appointment,
                    "appointment_at": appointment_at,
                    "language": language,
                    "issued_at": now,
                    "sort_at": now,
                    "recalls": 0,
                    "transfers": 0,
                    "token": token,
                    "person": person,
                },
            )
            .mappings()
            .one()
        )
        ticket_id = row["id"]
        self._audit(
            conn,
            now,
            actor,
            op,
            ticket_id=ticket_id,
            detail={"service": service.id, "priority": priority}
            | ({"confirmed_by": confirmed_by} if confirmed_by else {}),
        )
        # Read once for both figures; the new ticket is at the back of its line.
        hall = self._hall_now(conn, queue.prefix, now, brief=True, ticket=ticket_id)
        est, fresh = self._issue_estimates(hall, callorder.candidate(row), now)
        stats = self.queue_stats(conn, queue.prefix, now, hall, est=fresh)
        if priority is None:
            # A fresh ordinary ticket is last in line: everyone waiting is ahead of it.
            ahead = stats["waiting"] - 1
        else:
            ahead = self.people_ahead(conn, row, now)
        estimate_records.record_issue(conn, row, est, now)  # measured at its first call
        view = ticket_view(row)
        reply = dict(
            view,
            token=token,
            check=rules.check_code(token),
            people_ahead=ahead,
            est_wait_minutes=est.minutes,
            est_wait_low=est.low,
            est_wait_high=est.high,
            url=f"{self.config.server.public_url.rstrip('/')}/t/{token}",
        )
        return Outcome(reply, [("ticket.issued", view), ("queue.stats", stats)])

    # -- appointments ------------------------------------------------------------------

    def appointment_create(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        service = self._service(args.get("service"))
        start, end = _when(args.get("start")), _when(args.get("end"))
        if start is None or end is None or end <= start:
            raise Refused(
                "start and end must be ISO times with a zone, end after start", code="bad_request"
            )
        code = (args.get("code") or _appointment_code()).strip().upper()
        if not isinstance(code, str) or not code.isalnum() or len(code) > 32:
            raise Refused(
                "an appointment code is letters and digits, at most 32", code="bad_request"
            )
        exists = conn.execute(
            select(s.appointments.c.code).where(s.appointments.c.code == code)
        ).first()
        if exists:
            raise Refused(f"appointment code {code} is taken", code="duplicate")
        language = self._language(args.get("language"))
        person = None
        if args.get("id_number") is not None:
            number = args["id_number"]
            if not isinstance(number, str) or len(number) != 18:
                raise Refused("id_number must be the 18-character ID number", code="bad_request")
            if self.config.id_salt is None:
                raise Refused(
                    "this hall has no ID salt ([hall] id_salt_env): cannot book by ID card",
                    code="bad_request",
                )
            person = pins.hash_id_number(number, self.config.id_salt)
        conn.execute(
            insert(s.appointments).values(
                person=person,
                code=code,
                service_id=service.id,
                start_at=start,
                end_at=end,
                language=language,
                status="booked",
                created_at=now,
            )
        )
        self._audit(conn, now, actor, "appointment.create", detail={"service": service.id})
        return Outcome(
            {
                "code": code,
                "service": service.id,
                "start": iso(start),
                "end": iso(end),
                "language": language,
                "status": "booked",
            }
        )

    def appointment_checkin(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        code, person = args.get("code"), _person(args.get("id_hash"))
        a = s.appointments.c
        if person is not None:
            # The card's booking that is open now (or soonest to open), if any.
            early = now + dt.timedelta(minutes=rules.APPOINTMENT_EARLY_MINUTES)
            where = and_(
                a.person == person, a.status == "booked", a.end_at >= now, a.start_at <= early
            )
        elif isinstance(code, str) and code:
            where = a.code == code.strip().upper()
        else:
            raise Refused("an appointment code (or an ID card) is needed", code="bad_request")
        appt = (
            conn.execute(select(s.appointments).where(where).order_by(a.start_at).with_for_update())
            .mappings()
            .first()
        )
        if appt is None:
            what = "this ID card" if person is not None else "this code"
            raise NotFound(f"no appointment now for {what}", code="appointment_unknown")
        rules.check_appointment(appt["status"], appt["start_at"], appt["end_at"], now)
        service = self._service(appt["service_id"])
        language = self._language(args.get("language") or appt["language"])
        out = self._issue(
            conn,
            actor,
            service,
            language,
            rules.APPOINTMENT,
            appt["code"],
            appt["start_at"],
            now,
            op="appointment.checkin",
        )
        conn.execute(
            update(s.appointments)
            .where(s.appointments.c.code == appt["code"])
            # checked in: the card's hash has served its purpose
            .values(status="checked_in", ticket_id=out.reply["id"], person=None)
        )
        return out

    # -- windows -----------------------------------------------------------------------

    def window_op(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime, op: WindowOp
    ) -> Outcome:
        number = self._window_number(actor, args, f"window.{op.value}")
        win = self._lock_window(conn, number)
        new = window_next(WindowStatus(win["status"]), op)
        values: dict[str, Any] = {"status": new.value, "since": now, "pause_reason": None}
        if op is WindowOp.OPEN:
            # Only the gateway and an admin may name the clerk (the permission table's
            # argument rule); anyone else is recorded as themselves.
            clerk = args.get("clerk") or actor.name
            if not isinstance(clerk, str) or len(clerk) > 64:
                raise Refused("clerk must be an id of at most 64 characters", code="bad_request")
            values["clerk"] = clerk
        elif op is WindowOp.PAUSE:
            reason = args.get("reason")
            if isinstance(reason, str) and len(reason) > 64:
                raise Refused("reason must be at most 64 characters", code="bad_request")
            values["pause_reason"] = reason if isinstance(reason, str) else None
        elif op is WindowOp.CLOSE:
            if win["ticket_id"] is not None:
                current = self._ticket(conn, win["ticket_id"], lock=False)
                if current["status"] in (TicketStatus.CALLED, TicketStatus.SERVING):
                    raise Refused(
                        f"finish, transfer or mark no-show "
                        f"{rules.ticket_label(current['prefix'], current['number'])} "
                        f"before closing",
                        code="window_busy",
                    )
            values.update(clerk=None, ticket_id=None, case_id=None)
        row = self._set_window(conn, number, **values)
        for q in self.config.window(number).queues:  # type: ignore[union-attr]
            self.forget("open", q)
        self._audit(
            conn,
            now,
            actor,
            f"window.{op.value}",
            window=number,
            detail={"clerk": values.get("clerk")} if op is WindowOp.OPEN else None,
        )
        ticket = (
            self._ticket(conn, row["ticket_id"], lock=False)
            if row["ticket_id"] is not None
            else None
        )
        view = self.window_view(row, ticket)
        events: list[tuple[str, dict[str, Any]]] = [("window.changed", view)]
        wdef = self.config.window(number)
        assert wdef is not None
        events += [("queue.stats", self.queue_stats(conn, q, now)) for q in wdef.queues]
        return Outcome(view, events)

    # -- calling -----------------------------------------------------------------------

    def _ready_window(
        self, conn: Connection, actor: Actor, args: dict[str, Any], op: str
    ) -> tuple[int, RowMapping]:
        number = self._window_number(actor, args, op)
        win = self._lock_window(conn, number)
        self._check_ready(conn, win)
        return number, win

    def _check_ready(self, conn: Connection, win: RowMapping) -> None:
        """A window that can call: open, not paused, nobody at it still."""
        number = win["number"]
        if win["status"] == WindowStatus.CLOSED:
            raise Refused(f"window {number} is closed; sign in first", code="window_closed")
        if win["status"] == WindowStatus.PAUSED:
            raise Refused(f"window {number} is paused", code="window_paused")
        if win["ticket_id"] is not None:
            current = self._ticket(conn, win["ticket_id"], lock=False)
            if current["status"] in (TicketStatus.CALLED, TicketStatus.SERVING):
                label = rules.ticket_label(current["prefix"], current["number"])
                raise Refused(
                    f"window {number} still has {label}: finish, transfer or mark no-show first",
                    code="window_busy",
                    ticket=label,
                )

    def call_next(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number, win = self._ready_window(conn, actor, args, "call.next")
        wdef = self.config.window(number)
        assert wdef is not None
        row = self._pick_next(conn, number, wdef.queues, now)
        if row is None:
            self._audit(conn, now, actor, "call.next", window=number, detail={"empty": True})
            return Outcome({"ticket": None, "window": number})
        return self._call(conn, actor, number, win, row, now, "call.next")

    def call_number(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number = self._window_number(actor, args, "call.number")
        win = self._lock_window(conn, number)  # the window first, as call.next: no deadlock
        row = self._ticket_by_label(conn, args.get("label"), now)
        # Whose ticket it is comes before the state of either: a clerk learns nothing of
        # tickets its window does not serve.
        authorize(
            actor, "call.number", Target(window=number, waits_here=self.waits_for(row, number))
        )
        self._check_ready(conn, win)
        if row["status"] != TicketStatus.WAITING:
            raise Refused(
                f"{args.get('label')} is {row['status']}, not waiting",
                code="invalid_state",
                status=row["status"],
            )
        return self._call(conn, actor, number, win, row, now, "call.number")

    def _call(
        self,
        conn: Connection,
        actor: Actor,
        number: int,
        win: RowMapping,
        row: RowMapping,
        now: dt.datetime,
        op: str,
    ) -> Outcome:
        new = ticket_next(TicketStatus(row["status"]), TicketOp.CALL)
        ticket = self._set_ticket(
            conn,
            row["id"],
            status=new.value,
            window=number,
            called_at=now,
            started_at=None,
            recalls=0,
            target_window=None,
        )
        case_id = conn.execute(
            st.CASE_INSERT,
            {
                "ticket_id": row["id"],
                "window": number,
                "clerk": win["clerk"],
                "service_id": row["service_id"],
                "called_at": now,
            },
        ).scalar_one()
        wrow = self._set_window(conn, number, ticket_id=row["id"], case_id=case_id, since=now)
        estimate_records.record_call(conn, row, now)
        self._audit(conn, now, actor, op, window=number, ticket_id=row["id"])
        view = ticket_view(ticket)
        return Outcome(
            {"ticket": view, "window": number, "case": case_id},
            [
                ("ticket.called", dict(view, area=self.config.window(number).area, case=case_id)),
                ("window.changed", self.window_view(wrow, ticket)),
                ("queue.stats", self.queue_stats(conn, ticket["queue"], now)),
            ],
        )

    def recall(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number = self._window_number(actor, args, "call.recall")
        win = self._lock_window(conn, number)
        row = self._current(conn, win)
        new = ticket_next(TicketStatus(row["status"]), TicketOp.RECALL)
        limit = self.config.rules.recall_limit
        if row["recalls"] >= limit:
            raise Refused(f"already recalled {limit} times; mark no-show", code="recall_limit")
        ticket = self._set_ticket(conn, row["id"], status=new.value, recalls=row["recalls"] + 1)
        self._audit(conn, now, actor, "call.recall", window=number, ticket_id=row["id"])
        view = ticket_view(ticket)
        return Outcome(
            {"ticket": view, "window": number},
            [("ticket.recalled", dict(view, area=self.config.window(number).area))],
        )

    def _case_op(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime, op: TicketOp
    ) -> tuple[int, RowMapping, RowMapping, TicketStatus]:
        number = self._window_number(actor, args, f"case.{op.value}")
        win = self._lock_window(conn, number)
        row = self._current(conn, win)
        return number, win, row, ticket_next(TicketStatus(row["status"]), op)

    def start(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number, win, row, new = self._case_op(conn, actor, args, now, TicketOp.START)
        ticket = self._set_ticket(conn, row["id"], status=new.value, started_at=now)
        conn.execute(st.CASE_SET, {"_id": win["case_id"], "started_at": now})
        self._audit(conn, now, actor, "case.start", window=number, ticket_id=row["id"])
        view = ticket_view(ticket)
        return Outcome(
            {"ticket": view, "window": number},
            [("ticket.started", view), ("window.changed", self.window_view(win, ticket))],
        )

    def finish(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number, win, row, new = self._case_op(conn, actor, args, now, TicketOp.FINISH)
        started = row["started_at"] or now
        ticket = self._set_ticket(
            conn, row["id"], status=new.value, finished_at=now, started_at=started
        )
        self._case_ended(ticket["queue"], row["called_at"], now)
        due = now + dt.timedelta(seconds=self.config.rules.rating_timeout_seconds)
        self._close_case(
            conn,
            win["case_id"],
            now,
            "done",
            rating_state="pending",
            rating_due=due,
            started_at=started,
        )
        wrow = self._set_window(conn, number, since=now)
        self._audit(conn, now, actor, "case.finish", window=number, ticket_id=row["id"])
        view = ticket_view(ticket)
        # A promised item is accepted here and lives on as a case file until delivery.
        opened: list[tuple[str, dict[str, Any]]] = []
        casefile = None
        service = self.config.service(ticket["service_id"])
        if service is not None and service.kind == "promised":
            casefile, opened = self.casefiles.open(
                conn, actor, row["id"], service, number, win["clerk"], win["case_id"], now
            )
        prompt = {
            "case": win["case_id"],
            "window": number,
            "label": view["label"],
            "ticket_id": row["id"],
            "due": iso(due),
            "scale": self.config.rules.rating_scale,
        }
        reply = {"ticket": view, "window": number, "case": win["case_id"]}
        if casefile is not None:
            reply["casefile"] = casefile
        return Outcome(
            reply,
            [
                ("ticket.finished", view),
                *opened,
                ("rating.requested", prompt),
                ("window.changed", self.window_view(wrow, ticket)),
                ("queue.stats", self.queue_stats(conn, ticket["queue"], now)),
            ],
        )

    def no_show(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        number, win, row, new = self._case_op(conn, actor, args, now, TicketOp.NO_SHOW)
        ticket = self._set_ticket(conn, row["id"], status=new.value, no_show_at=now)
        self._close_case(conn, win["case_id"], now, "no_show")
        self._case_ended(ticket["queue"], row["called_at"], now)  # its window time counts too
        # The window is free: a no-show that rejoins is called again like any ticket.
        wrow = self._set_window(conn, number, since=now, ticket_id=None, case_id=None)
        self._audit(conn, now, actor, "case.no_show", window=number, ticket_id=row["id"])
        view = ticket_view(ticket)
        return Outcome(
            {"ticket": view, "window": number},
            [("ticket.no_show", view), ("window.changed", self.window_view(wrow))],
        )

    def rejoin(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        row = self._find_ticket(conn, args, now)
        authorize(
            actor,
            "ticket.rejoin",
            Target(
                window=actor.window,
                # a no-show comes back to the window that called it, or one serving its queue
                waits_here=self.waits_for(row, actor.window) or row["window"] == actor.window,
                ticket_id=row["id"],
                proved=self.proved(conn, actor, row, args, now),
            ),
        )
        new = ticket_next(TicketStatus(row["status"]), TicketOp.REJOIN)
        limit = dt.timedelta(minutes=self.config.rules.no_show_rejoin_minutes)
        if row["no_show_at"] is not None and now - row["no_show_at"] > limit:
            raise Refused(
                f"more than {self.config.rules.no_show_rejoin_minutes} minutes since "
                f"the no-show; take a new ticket",
                code="rejoin_expired",
            )
        ticket = self._set_ticket(
            conn,
            row["id"],
            status=new.value,
            window=None,
            no_show_at=None,
            called_at=None,
            recalls=0,
        )
        self._audit(conn, now, actor, "ticket.rejoin", ticket_id=row["id"])
        view = ticket_view(ticket)
        return Outcome(
            {"ticket": view},
            [("ticket.rejoined", view), ("queue.stats", self.queue_stats(conn, row["queue"], now))],
        )

    def transfer(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        """Send a ticket on without the citizen queueing again: it keeps its original time.

        From a window (the current ticket) or, for supervisors, any waiting ticket by
        number. The target is a queue (``to_queue``) or one window (``to_window``).
        """
        to_queue, to_window = args.get("to_queue"), args.get("to_window")
        if (to_queue is None) == (to_window is None):
            raise Refused("give exactly one of to_queue or to_window", code="bad_request")
        if to_queue is not None and self.config.queue(to_queue) is None:
            raise NotFound(f"unknown queue {to_queue!r}", code="unknown_queue")
        target_window = None
        if to_window is not None:
            wdef = self.config.window(to_window) if isinstance(to_window, int) else None
            if wdef is None:
                raise NotFound(f"unknown window {to_window!r}", code="unknown_window")
            target_window = wdef.number
            # A ticket sent to a window that is not serving would wait unseen while the
            # citizen is told "very soon": refuse, and let the clerk choose another.
            status = conn.execute(
                select(s.windows.c.status).where(s.windows.c.number == target_window)
            ).scalar_one_or_none()
            if status != WindowStatus.OPEN:
                raise Refused(
                    f"window {target_window} is {status or 'closed'}; send the ticket to "
                    f"an open window or to its queue",
                    code="window_closed" if status != WindowStatus.PAUSED else "window_paused",
                )
        if "label" in args or "ticket_id" in args:
            row, number, win = self._find_ticket(conn, args, now), None, None
            authorize(
                actor,
                "ticket.transfer",
                Target(ticket_window=row["window"], ticket_id=row["id"]),
            )
            if row["status"] != TicketStatus.WAITING:
                raise Refused(
                    "only a waiting ticket can be redirected by number; the "
                    "window serving it transfers it",
                    code="invalid_state",
                )
        else:
            number = self._window_number(actor, args)
            authorize(actor, "ticket.transfer", Target(window=number, ticket_window=number))
            win = self._lock_window(conn, number)
            row = self._current(conn, win)
        new = ticket_next(TicketStatus(row["status"]), TicketOp.TRANSFER)
        queue = to_queue or row["queue"]
        ticket = self._set_ticket(
            conn,
            row["id"],
            status=new.value,
            queue=queue,
            target_window=target_window,
            window=None,
            transfers=row["transfers"] + 1,
            called_at=None,
            started_at=None,
            recalls=0,
        )
        events: list[tuple[str, dict[str, Any]]] = []
        if win is not None and number is not None:
            self._close_case(conn, win["case_id"], now, "transferred")
            # The ticket's cases, this one and any before, now count in its new queue.
            self.forget("minutes", row["queue"])
            self.forget("minutes", queue)
            wrow = self._set_window(conn, number, ticket_id=None, case_id=None, since=now)
            events.append(("window.changed", self.window_view(wrow)))
        self._audit(
            conn,
            now,
            actor,
            "ticket.transfer",
            window=number,
            ticket_id=row["id"],
            detail={"to_queue": to_queue, "to_window": target_window},
        )
        view = ticket_view(ticket)
        events.insert(
            0, ("ticket.transferred", dict(view, from_queue=row["queue"], from_window=number))
        )
        for q in {row["queue"], queue}:
            events.append(("queue.stats", self.queue_stats(conn, q, now)))
        return Outcome({"ticket": view}, events)

    def cancel(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        row = self._find_ticket(conn, args, now)
        authorize(
            actor,
            "ticket.cancel",
            Target(
                ticket_window=row["window"],
                ticket_id=row["id"],
                proved=self.proved(conn, actor, row, args, now),
            ),
        )
        new = ticket_next(TicketStatus(row["status"]), TicketOp.CANCEL)
        ticket = self._set_ticket(conn, row["id"], status=new.value, finished_at=now)
        events: list[tuple[str, dict[str, Any]]] = []
        if row["window"] is not None and row["status"] == TicketStatus.CALLED:
            win = self._lock_window(conn, row["window"])
            if win["ticket_id"] == row["id"]:
                self._close_case(conn, win["case_id"], now, "cancelled")
                self._case_ended(row["queue"], row["called_at"], now)
                wrow = self._set_window(
                    conn, row["window"], ticket_id=None, case_id=None, since=now
                )
                events.append(("window.changed", self.window_view(wrow)))
        self._audit(conn, now, actor, "ticket.cancel", window=row["window"], ticket_id=row["id"])
        view = ticket_view(ticket)
        events.insert(0, ("ticket.cancelled", view))
        events.append(("queue.stats", self.queue_stats(conn, row["queue"], now)))
        return Outcome({"ticket": view}, events)

    # -- ratings -----------------------------------------------------------------------

    def rate(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        """Record the citizen's rating of a finished case, once.

        The gateway names the window (its evaluator rates the window's last case), a
        kiosk names the ticket number with its check code (or gives its QR token), the
        phone page is bound to its own ticket. Who may use which form is the permission
        table's.
        """
        level = args.get("level")
        if not isinstance(level, int) or isinstance(level, bool):
            raise Refused("level must be a whole number", code="bad_request")
        rules.check_rating(level, self.config.rules.rating_scale)
        # Reasons, comment and call-back number are checked before anything is read or
        # written: bad input is refused whole.
        extras = ratings.check_extras(level, args, self.config.ratings)
        source = ratings.SOURCE_OF_ROLE.get(actor.role, "device")
        if "channel" in args:  # an admin keying in a rating taken over the phone or by SMS
            if args["channel"] not in ratings.STAFF_ENTERED:
                raise Refused(
                    "channel is one of " + ", ".join(ratings.STAFF_ENTERED), code="bad_request"
                )
            source = args["channel"]
        c = s.cases.c
        by_case = False
        if actor.ticket_id is not None:
            authorize(actor, "rating.submit", Target(ticket_id=actor.ticket_id))
            where = and_(c.ticket_id == actor.ticket_id, c.outcome == "done")
        elif "case" in args:
            where, by_case = c.id == args["case"], True
        elif "window" in args:
            number = self._window_number(actor, args, "rating.submit")
            where = and_(c.window == number, c.outcome == "done")
        else:
            if "label" not in args and "ticket_id" not in args and "token" in args:
                ticket = self._ticket_by_token(conn, args["token"], now)
            else:
                ticket = self._find_ticket(conn, args, now)
            authorize(
                actor,
                "rating.submit",
                Target(ticket_id=ticket["id"], proved=self.proved(conn, actor, ticket, args, now)),
            )
            where = and_(c.ticket_id == ticket["id"], c.outcome == "done")
        row = (
            conn.execute(
                select(s.cases)
                .where(where)
                .order_by(c.ended_at.desc(), c.id.desc())
                .limit(1)
                .with_for_update()
            )
            .mappings()
            .first()
        )
        if by_case and row is not None:
            authorize(actor, "rating.submit", Target(window=row["window"]))
        if row is None or row["outcome"] != "done":
            raise NotFound("no finished case to rate", code="nothing_to_rate")
        if row["rating_state"] == "rated":
            raise Refused("this case has already been rated", code="already_rated")
        if row["rating_state"] == "not_rated":
            raise Refused("the time to rate this case has passed", code="rating_closed")
        service = self.config.service(row["service_id"])
        department = service.department if service is not None else None
        conn.execute(
            update(s.cases)
            .where(c.id == row["id"])
            .values(
                rating_state="rated",
                rating=level,
                rating_source=source,
                rated_at=now,
                rating_text=extras.text,
                rating_reasons=";".join(extras.reasons) or None,
                rating_department=department,
            )
        )
        self._audit(
            conn,
            now,
            actor,
            "rating.submit",
            window=row["window"],
            ticket_id=row["ticket_id"],
            detail={"level": level},
        )
        ticket = self._ticket(conn, row["ticket_id"], lock=False)
        data = {
            "case": row["id"],
            "window": row["window"],
            "level": level,
            "meaning": rules.NATIONAL_LEVELS[level],
            "satisfied": rules.is_satisfied(level),
            "source": source,
            "label": rules.ticket_label(ticket["prefix"], ticket["number"]),
            "ticket_id": row["ticket_id"],
            "clerk": row["clerk"],
            "service": row["service_id"],
            "department": department,
            "reasons": list(extras.reasons),
        }
        events = [("rating.recorded", data)]
        if rules.is_dissatisfied(level):
            events.append(("rating.dissatisfied", data))
            # A bad rating is followed through: it opens a record on the ledger.
            events += self.ledger.open(conn, row, level, department, extras.phone, now)
        return Outcome(data, events)

    def expire_ratings(
        self, conn: Connection, now: dt.datetime
    ) -> list[tuple[str, dict[str, Any]]]:
        c = s.cases.c
        rows = conn.execute(
            select(c.id, c.window, c.ticket_id)
            .where(c.rating_state == "pending", c.rating_due <= now)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(
            update(s.cases)
            .where(c.id.in_([r.id for r in rows]))
            .values(rating_state="not_rated", rating_source="system")
        )
        return [
            ("rating.not_rated", {"case": r.id, "window": r.window, "ticket_id": r.ticket_id})
            for r in rows
        ]

    def _overdue_limit(self, service_id: str) -> int:
        """Minutes a case of this service may stay open before its light turns red."""
        service = self.config.service(service_id)
        return service.time_limit_minutes if service else DEFAULT_LIMIT_MINUTES

    def _overdue_rows(self, conn: Connection, now: dt.datetime) -> list[Any]:
        """Open, not yet flagged cases past their service's limit.

        Reads only the partial index of open cases (a few per window, whatever the
        history) from the shortest limit back, so the once-a-second sweep costs the same
        on the first day and after a year.
        """
        c = s.cases.c
        shortest = min(
            [sv.time_limit_minutes for sv in self.config.services] + [DEFAULT_LIMIT_MINUTES]
        )
        rows = conn.execute(
            select(c.id, c.window, c.service_id, c.called_at, c.ticket_id).where(
                c.outcome.is_(None),
                c.called_at < now - dt.timedelta(minutes=shortest),
                c.overdue_at.is_(None),
            )
        ).all()
        return [
            r
            for r in rows
            if now - r.called_at > dt.timedelta(minutes=self._overdue_limit(r.service_id))
        ]

    def unattended(self, conn: Connection, now: dt.datetime) -> list[dict[str, Any]]:
        """Queues where someone has waited ``unattended_minutes`` and no window serving
        the queue is open: the duty supervisor must send someone (read-only)."""
        limit = dt.timedelta(minutes=self.config.rules.unattended_minutes)
        out = []
        t = s.tickets.c
        for q in self.config.queues:
            oldest = conn.execute(
                select(t.id, t.sort_at)
                .where(t.day == self.day(now), t.queue == q.prefix, t.status == "waiting")
                .order_by(t.sort_at, t.id)
                .limit(1)
            ).first()
            if oldest is None or now - oldest.sort_at < limit:
                continue
            if self._open_windows_for(conn, q.prefix) > 0:
                continue
            waiting = conn.execute(
                st.WAITING_STATS, {"day": self.day(now), "queue": q.prefix}
            ).one()[0]
            out.append(
                {
                    "queue": q.prefix,
                    "waiting": waiting,
                    "waited_minutes": int((now - oldest.sort_at).total_seconds() // 60),
                    "oldest": oldest.id,
                }
            )
        return out

    def sweep_due(self, conn: Connection, now: dt.datetime) -> bool:
        """Whether the sweep has anything to write: read first, so an idle second of the
        sweeper takes no write lock (two indexed look-ups on a read connection)."""
        c = s.cases.c
        expired = conn.execute(
            select(c.id).where(c.rating_state == "pending", c.rating_due <= now).limit(1)
        ).first()
        return expired is not None or bool(self._overdue_rows(conn, now))

    def flag_overdue(self, conn: Connection, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
        """Red light: a case still open past its service's time limit, flagged once."""
        c = s.cases.c
        events = []
        for r in self._overdue_rows(conn, now):
            # Another server process may be flagging the same case right now: only the
            # one whose update finds it still unflagged announces it.
            flagged = conn.execute(
                update(s.cases).where(c.id == r.id, c.overdue_at.is_(None)).values(overdue_at=now)
            )
            if flagged.rowcount != 1:
                continue
            events.append(
                (
                    "case.overdue",
                    {
                        "case": r.id,
                        "window": r.window,
                        "service": r.service_id,
                        "limit_minutes": self._overdue_limit(r.service_id),
                    },
                )
            )
        return events

    def prune(self, conn: Connection, now: dt.datetime) -> None:
        """Forget what no one can need any more: replies to old retries, old events.

        Events are kept for ``EVENT_DAYS`` so a display that was off overnight can still
        resume; older ones only cost space (the audit table keeps the history).
        """
        # An appointment's person hash served its check-in only: gone once it has ended.
        conn.execute(
            update(s.appointments)
            .where(s.appointments.c.end_at < now, s.appointments.c.person.is_not(None))
            .values(person=None)
        )
        # A ticket's person hash served the day's cap only: gone once its day is over.
        conn.execute(
            update(s.tickets)
            .where(s.tickets.c.day < self.day(now), s.tickets.c.person.is_not(None))
            .values(person=None)
        )
        keep_keys = now - dt.timedelta(hours=self.config.rules.idempotency_hours)
        conn.execute(s.idempotency.delete().where(s.idempotency.c.at < keep_keys))
        conn.execute(s.events.delete().where(s.events.c.at < now - dt.timedelta(days=EVENT_DAYS)))
        # A call-back number served its ledger record only (closing erases it too).
        self.ledger.prune(conn, now)

    # -- devices -----------------------------------------------------------------------

    def device_report(
        self, conn: Connection, actor: Actor, args: dict[str, Any], now: dt.datetime
    ) -> Outcome:
        part, state = args.get("part", "device"), args.get("state")
        device = args.get("device") or actor.name
        authorize(actor, "device.report", Target(subject=device))
        for name, value in (("part", part), ("state", state), ("device", device)):
            if not isinstance(value, str) or not value or len(value) > 32 + 32 * (name == "device"):
                raise Refused(f"{name} must be short text", code="bad_request")
        detail = args.get("detail")
        if isinstance(detail, str) and len(detail) > DETAIL_MAX:
            # Kept in the database, in every event and snapshot: short, or not at all.
            raise Refused(f"detail must be at most {DETAIL_MAX} characters", code="bad_request")
        t = s.device_states.c
        old = conn.execute(
            select(t.state).where(t.device == device, t.part == part).with_for_update()
        ).scalar_one_or_none()
        values = {"state": state, "detail": detail if isinstance(detail, str) else None, "at": now}
        if old is None:
            conn.execute(insert(s.device_states).values(device=device, part=part, **values))
        else:
            conn.execute(
                update(s.device_states).where(t.device == device, t.part == part).values(**values)
            )
        data = {
            "device": device,
            "part": part,
            "state": state,
            "detail": values["detail"],
            "at": iso(now),
        }
        events = [] if old == state else [("device.state", data)]
        if old != state:
            self._audit(conn, now, actor, "device.report", detail={"part": part, "state": state})
        return Outcome(data, events)

    # -- reads -------------------------------------------------------------------------

    def _token_lives(
        self, conn: Connection, ticket_id: int, day: dt.date, now: dt.datetime
    ) -> bool:
        """A ticket's token opens its phone page on its own day, and after it for as long
        as the promised case it opened is being followed: while the case is open, and
        ``FOLLOW_DAYS`` after it closed (delivered or refused). The one rule for both the
        phone page's sign-in and its status."""
        if day == self.day(now):
            return True
        c = s.casefiles.c
        case = conn.execute(select(c.closed_at).where(c.ticket_id == ticket_id)).first()
        if case is None:
            return False
        return case.closed_at is None or now - case.closed_at <= dt.timedelta(days=FOLLOW_DAYS)

    def ticket_status(self, conn: Connection, token: str, now: dt.datetime) -> dict[str, Any]:
        """What the citizen's phone page shows (see :meth:`_token_lives` for how long)."""
        row = conn.execute(select(s.tickets).where(s.tickets.c.token == token)).mappings().first()
        if row is None or not self._token_lives(conn, row["id"], row["day"], now):
            raise NotFound("no such ticket today", code="unknown_ticket")
        view = ticket_view(row)
        ahead = self.people_ahead(conn, row, now) if row["status"] == "waiting" else 0
        est = (
            self.estimate(conn, callorder.candidate(row), now)
            if row["status"] == "waiting"
            else estimate.Estimate(0, 0, 0)
        )
        case_row = conn.execute(
            select(s.cases.c.rating_state)
            .where(s.cases.c.ticket_id == row["id"], s.cases.c.outcome == "done")
            .order_by(s.cases.c.id.desc())
            .limit(1)
        ).first()
        return dict(
            view,
            people_ahead=ahead,
            est_wait_minutes=est.minutes,
            est_wait_low=est.low,
            est_wait_high=est.high,
            rating_state=case_row[0] if case_row else None,
            casefile=self.casefiles.for_citizen(conn, row["id"], now),
            # the phone page shows it: the holder's proof at a kiosk (never broadcast)
            check=rules.check_code(row["token"]),
        )

    def ticket_for_token(self, conn: Connection, token: str, now: dt.datetime) -> tuple[int, str]:
        row = conn.execute(
            select(s.tickets.c.id, s.tickets.c.day, s.tickets.c.queue).where(
                s.tickets.c.token == token
            )
        ).first()
        if row is None or not self._token_lives(conn, row.id, row.day, now):
            raise NotFound("no such ticket today", code="unknown_ticket")
        return row.id, row.queue

    def token_of(self, conn: Connection, ticket_id: int) -> str:
        return conn.execute(
            select(s.tickets.c.token).where(s.tickets.c.id == ticket_id)
        ).scalar_one()

    def ticket_id_for_token(self, conn: Connection, token: str, now: dt.datetime) -> int:
        row = conn.execute(
            select(s.tickets.c.id, s.tickets.c.day).where(s.tickets.c.token == token)
        ).first()
        if row is None or not self._token_lives(conn, row.id, row.day, now):
            raise NotFound("no such ticket today", code="unknown_ticket")
        return row.id

    def snapshot(self, conn: Connection, now: dt.datetime) -> dict[str, Any]:
        day = self.day(now)
        wins = conn.execute(select(s.windows).order_by(s.windows.c.number)).mappings().all()
        ids = [w["ticket_id"] for w in wins if w["ticket_id"] is not None]
        current = (
            {
                r["id"]: r
                for r in conn.execute(select(s.tickets).where(s.tickets.c.id.in_(ids))).mappings()
            }
            if ids
            else {}
        )
        recent = (
            conn.execute(
                select(s.tickets)
                .where(s.tickets.c.day == day, s.tickets.c.called_at.is_not(None))
                .order_by(s.tickets.c.called_at.desc())
                .limit(20)
            )
            .mappings()
            .all()
        )
        devices = conn.execute(select(s.device_states)).mappings().all()
        midnight = dt.datetime.combine(day, dt.time(0), self.tz)
        c = s.cases.c
        ratings = conn.execute(
            select(
                c.window,
                func.count(),
                func.sum(case((c.rating >= rules.SATISFIED_MIN, 1), else_=0)),
            )
            .where(c.rating_state == "rated", c.rated_at >= midnight)
            .group_by(c.window)
            .order_by(c.window)
        ).all()
        return {
            # Today's ratings per window, so a display shows the day's satisfaction
            # from its first snapshot, not only from the ratings it happened to see.
            "ratings_today": [
                {"window": w, "rated": n, "satisfied": int(ok or 0)} for w, n, ok in ratings
            ],
            "day": day.isoformat(),
            "windows": [self.window_view(w, current.get(w["ticket_id"])) for w in wins],
            "queues": self.all_queue_stats(conn, now),
            "recent_calls": [
                dict(ticket_view(r), area=_area(self.config, r["window"])) for r in recent
            ],
            "devices": [
                {
                    "device": d["device"],
                    "part": d["part"],
                    "state": d["state"],
                    "detail": d["detail"],
                    "at": iso(d["at"]),
                }
                for d in devices
            ],
        }


def _area(config: HallConfig, window: int | None) -> str | None:
    wdef = config.window(window) if window is not None else None
    return wdef.area if wdef else None


def _person(value: Any) -> str | None:
    """An ID card's salted hash as the kiosk sends it (hex), or None; never the number."""
    if value is None:
        return None
    if not isinstance(value, str) or not 16 <= len(value) <= 64:
        raise Refused("id_hash must be the card's hash (16-64 hex digits)", code="bad_request")
    try:
        int(value, 16)
    except ValueError:
        raise Refused("id_hash must be hexadecimal", code="bad_request") from None
    return value.lower()


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


def _appointment_code() -> str:
    """Eight digits: typed on the kiosk's number pad or read out over the phone."""
    return "".join(secrets.choice("0123456789") for _ in range(8))


__all__ = ["Actor", "HallError", "HallOps", "Outcome", "ticket_view"]
