"""有责投诉 (complaints upheld against staff) in the report: the ledger records whose
verification found the staff at fault — ``verified`` or any later state, including an
appeal the supervisor overturned — and not those dismissed on appeal, still under appeal
or not verified yet. Built through the store's own ledger steps, checked in the report
and in the XLSX, on SQLite and PostgreSQL."""

from __future__ import annotations

from openpyxl import load_workbook
from sqlalchemy import select

from queue_server.core import accountability as acc
from queue_server.core.rectify import ROp
from queue_server.store import reportbook
from queue_server.store import schema as s
from queue_server.store.ops import Actor, Outcome

from .harness import GATEWAY, SUPERVISOR, T0, Store

HEAD = Actor("h-civil", "head", department="civil")


def _step(st: Store, actor: Actor, op: ROp, **args) -> None:
    st.run(lambda c, a, g, n, o: Outcome(*st.ops.ledger.step(c, a, g, n, o)), actor, args, op)


def _bad_rating(st: Store) -> int:
    st.issue("general")
    st.call_next(1)
    st.finish(1)
    st.run(st.ops.rate, GATEWAY, {"window": 1, "level": 1})
    with st.engine.connect() as conn:
        return max(conn.execute(select(s.rectifications.c.id)).scalars())


def test_complaints_upheld_count_the_records_verified_or_later(config, db_url):
    st = Store(config, db_url)
    try:
        st.open(1)
        verified = _bad_rating(st)
        _step(st, HEAD, ROp.VERIFY, id=verified, outcome="valid", note="too long a wait")

        closed = _bad_rating(st)
        _step(st, HEAD, ROp.VERIFY, id=closed, outcome="valid", note="rude answer")
        _step(st, HEAD, ROp.CONTACT, id=closed, outcome="reached")
        _step(st, HEAD, ROp.FIX, id=closed, outcome="done", note="talked to the clerk")
        _step(st, HEAD, ROp.CALLBACK, id=closed, outcome="satisfied", level=4)
        _step(st, HEAD, ROp.CLOSE, id=closed)

        dismissed = _bad_rating(st)
        _step(st, HEAD, ROp.VERIFY, id=dismissed, outcome="not_at_fault", note="system down")
        _step(st, SUPERVISOR, ROp.DECIDE, id=dismissed, outcome="uphold", note="log seen")

        overturned = _bad_rating(st)
        _step(st, HEAD, ROp.VERIFY, id=overturned, outcome="malicious", note="a prank")
        _step(st, SUPERVISOR, ROp.DECIDE, id=overturned, outcome="overturn", note="video seen")

        appealed = _bad_rating(st)
        _step(st, HEAD, ROp.VERIFY, id=appealed, outcome="not_at_fault", note="not ours")

        _bad_rating(st)  # open: not verified yet

        with st.engine.connect() as conn:
            states = dict(
                conn.execute(select(s.rectifications.c.id, s.rectifications.c.state)).all()
            )
        assert sorted(states.values()) == sorted(
            ["verified", "closed", "dismissed", "verified", "appealed", "open"]
        )
        with st.engine.connect() as conn, conn.begin():
            report = reportbook.build(conn, st.ops, acc.parse_period(T0.date().isoformat()), T0)
        assert report["headline"]["complaints_upheld"] == 3  # verified, closed, overturned
        with st.engine.connect() as conn, conn.begin():
            other_day = reportbook.build(conn, st.ops, acc.parse_period("2026-11-23"), T0)
        assert other_day["headline"]["complaints_upheld"] == 0  # opened on another day

        import io

        wb = load_workbook(io.BytesIO(reportbook.to_xlsx(report)))
        head = {r[0]: r[1] for r in wb["概览"].iter_rows(min_row=4, values_only=True)}
        assert head["有责投诉"] == 3
    finally:
        st.close()
