"""Random sequences of hall operations on a real SQLite file, checked against the core.

Hypothesis drives issue, open/pause, call, finish, no-show, rejoin, transfer, cancel and
the clock (across midnight too) in any order; after every step the invariants the hall
lives by must hold: numbers unique per queue and day, no ticket held by two windows, every
call the one the core's call order picks, every transition one the state table allows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import select

from queue_server.config import load_config
from queue_server.core import rules
from queue_server.core.errors import HallError
from queue_server.core.states import TICKET_TRANSITIONS, TicketStatus, WindowOp
from queue_server.store import schema as s

from .harness import GATEWAY, KIOSK, SUPERVISOR, Clock, Store

CONFIG = load_config(Path(__file__).parent.parent / "hall_test.toml")
WINDOWS = st.sampled_from([1, 2, 3])
SERVICES = st.sampled_from(["general", "marriage", "party-transfer", "party-fee"])


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = Store(CONFIG, f"sqlite:///{Path(self.tmp.name) / 'h.db'}", Clock())
        self.status: dict[int, str] = {}  # ticket id -> last status seen

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    def _try(self, fn, actor, args, *extra):
        try:
            return self.store.run(fn, actor, args, *extra)
        except HallError:
            return None

    def _tickets(self):
        with self.store.engine.begin() as conn:
            return conn.execute(select(s.tickets)).mappings().all()

    @initialize()
    def open_windows(self):
        for w in (1, 2, 3):
            self.store.open(w)

    @rule(
        services=st.lists(SERVICES, min_size=1, max_size=4),
        priority=st.sampled_from([None, None, None, "elderly"]),
    )
    def issue(self, services, priority):
        for service in services:
            self._try(self.store.ops.issue, KIOSK, {"service": service, "priority": priority})
            self.store.clock.advance(seconds=1)

    @rule(window=WINDOWS, op=st.sampled_from(list(WindowOp)))
    def window(self, window, op):
        self._try(self.store.ops.window_op, GATEWAY, {"window": window}, op)

    @rule(window=WINDOWS)
    def call_next(self, window):
        now = self.store.clock()
        day = rules.service_day(now, CONFIG.tz)
        waiting = [
            rules.Candidate(
                t["id"],
                t["queue"],
                t["sort_at"],
                t["priority"],
                t["appointment_at"],
                t["target_window"],
            )
            for t in self._tickets()
            if t["status"] == "waiting" and t["day"] == day
        ]
        expected = rules.select_next(waiting, window, CONFIG.window(window).queues, now)
        got = self._try(self.store.ops.call_next, GATEWAY, {"window": window})
        if got is not None:
            called = got["ticket"]
            assert (called and called["id"]) == (expected and expected.id)

    @rule(window=WINDOWS, op=st.sampled_from(["start", "finish", "no_show", "recall"]))
    def case_op(self, window, op):
        fn = {
            "start": self.store.ops.start,
            "finish": self.store.ops.finish,
            "no_show": self.store.ops.no_show,
            "recall": self.store.ops.recall,
        }[op]
        self._try(fn, GATEWAY, {"window": window})

    @rule(window=WINDOWS, to=st.sampled_from(["A", "B", "C", 1, 2, 3]))
    def transfer(self, window, to):
        key = "to_queue" if isinstance(to, str) else "to_window"
        self._try(self.store.ops.transfer, GATEWAY, {"window": window, key: to})

    @precondition(lambda self: self.status)
    @rule(data=st.data(), op=st.sampled_from(["rejoin", "cancel"]))
    def by_id(self, data, op):
        tid = data.draw(st.sampled_from(sorted(self.status)))
        fn = self.store.ops.rejoin if op == "rejoin" else self.store.ops.cancel
        self._try(fn, SUPERVISOR, {"ticket_id": tid})

    @rule(minutes=st.sampled_from([1, 1, 7, 31, 60 * 14]))
    def time_passes(self, minutes):
        self.store.clock.advance(minutes=minutes)

    @invariant()
    def hall_is_consistent(self):
        tickets = self._tickets()
        labels = [(t["day"], t["prefix"], t["number"]) for t in tickets]
        assert len(labels) == len(set(labels)), "a number given twice in a day"
        for t in tickets:
            old = self.status.get(t["id"], "waiting")
            if old != t["status"]:
                allowed = {
                    new
                    for (frm, _op), new in TICKET_TRANSITIONS.items()
                    if frm == TicketStatus(old)
                }
                assert TicketStatus(t["status"]) in allowed, (old, t["status"])
            self.status[t["id"]] = t["status"]
        with self.store.engine.begin() as conn:
            wins = conn.execute(select(s.windows)).mappings().all()
            open_cases = conn.execute(
                select(s.cases.c.ticket_id).where(s.cases.c.outcome.is_(None))
            ).all()
        held = [w["ticket_id"] for w in wins if w["ticket_id"] is not None]
        by_id = {t["id"]: t for t in tickets}
        active = [tid for tid in held if by_id[tid]["status"] in ("called", "serving")]
        assert len(active) == len(set(active)), "one ticket held by two windows"
        for w in wins:
            tid = w["ticket_id"]
            if tid is not None and by_id[tid]["status"] in ("called", "serving"):
                assert by_id[tid]["window"] == w["number"]
        ids = [c.ticket_id for c in open_cases]
        assert len(ids) == len(set(ids)), "two open cases for one ticket"
        for tid in ids:
            assert by_id[tid]["status"] in ("called", "serving")

    @invariant()
    def queue_figures_match_a_recount(self):
        """The waiting count and longest wait every issue and call publish (taken from
        the estimate's read of the queue's group) are exactly a recount of the table."""
        now = self.store.clock()
        day = rules.service_day(now, CONFIG.tz)
        tickets = self._tickets()
        for q in CONFIG.queues:
            mine = [
                t["sort_at"]
                for t in tickets
                if t["status"] == "waiting" and t["day"] == day and t["queue"] == q.prefix
            ]
            got = self.store.read(self.store.ops.queue_stats, q.prefix)
            assert got["waiting"] == len(mine), (q.prefix, got, len(mine))
            longest = int((now - min(mine)).total_seconds()) if mine else 0
            assert got["longest_wait_s"] == longest, (q.prefix, got, longest)


TestHallMachine = HallMachine.TestCase
TestHallMachine.settings = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
