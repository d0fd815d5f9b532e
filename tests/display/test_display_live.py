"""The display app under a real window, against a real queue server on loopback.

Each test runs the app, the server and clerk clients on one asyncio loop, drives the hall
through the protocol as a clerk would, and checks what the widgets on screen say once
the frame showing it has been flipped.
"""

from __future__ import annotations

import asyncio

import pytest

from display.devtools import running_display, until, until_drawn
from display.options import DisplayOptions
from queue_server import protocol as p
from queue_server.server import HallServer
from tests.queue_server.harness import connected, running_hall


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    from display.fonts import find_cjk_font, register_default_font

    register_default_font(find_cjk_font())


def run(coro):
    return asyncio.run(coro)


def make_app(port, **kw):
    from display.app import DisplayApp

    kw.setdefault("token", "display-1-secret")
    app = DisplayApp(DisplayOptions(server=f"ws://127.0.0.1:{port}/", backoff_max=0.3, **kw))
    app.page_clock = lambda: 0.0  # the first page, in Chinese (pages turn on this clock)
    return app


async def shown(app, check, what, timeout=5.0):
    """Wait for ``check`` to hold for the state and its frame to be on screen."""
    await until(check, timeout, what)
    await until_drawn(app, timeout)


def test_hall_display_shows_each_clerk_call(config, sqlite_url):
    """Each call reaches the screen: the newest number, its window, the recent list, the
    tiles. How fast is a benchmark (benchmarks/display_latency.py, docs/benchmarks.md),
    not a bound here: a loaded machine may be slow, never wrong."""

    async def main():
        async with (
            running_hall(config, sqlite_url) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            app = make_app(hall.port)
            kinds = []  # what the client hands the app: one event per call (issue 14)
            on_event = app._on_event
            app._on_event = lambda k, q, d: (kinds.append(k), on_event(k, q, d))
            async with running_display(app):
                root = app.root
                assert root.title_text and root.ids.newest_label.text == ""
                for _ in range(4):
                    await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                await clerk.request("call.next", {})
                await shown(app, lambda: root.ids.newest_label.text == "A001", "A001")
                await clerk.request("case.start", {})
                await clerk.request("case.finish", {})
                app.latencies.clear()
                for expected in ("A002", "A003", "A004"):
                    await clerk.request("call.next", {})
                    await shown(
                        app,
                        lambda e=expected: root.ids.newest_label.text == e,
                        expected,
                        timeout=60,
                    )
                    await clerk.request("case.start", {})
                    await clerk.request("case.finish", {})
                assert root.ids.newest_window.text == "1号窗口"
                assert root.ids.newest_zh.text == "请到1号窗口办理"
                assert [r.label for r in reversed(root.ids.recent.children)] == [
                    "A003",
                    "A002",
                    "A001",
                ]
                assert root.connection_text == ""
                tiles = list(reversed(root.ids.windows.children))
                # Windows 2 and 3 never opened: one line, not a tile each (issue 12).
                assert [t.number for t in tiles] == ["1号窗口"]
                assert root.ids.closed_line.text == "未开放窗口：2–3"
                queues = {r.prefix: r.waiting for r in root.ids.queues.children}
                assert queues["A"] == "无人等候"
                # every call was measured (the benchmark reports the figures)
                assert len([k for k, _ in app.latencies if k == "ticket.called"]) == 3
                assert kinds.count("call") == 4 and "ticket.called" not in kinds

    run(main())


def test_newest_call_is_highlighted_then_calms_down(config, sqlite_url):
    async def main():
        async with (
            running_hall(config, sqlite_url) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            app = make_app(hall.port, highlight_seconds=60.0)
            now = [1000.0]
            app.clock = lambda: now[0]  # the highlight's time is this clock's, not the wall's
            async with running_display(app):
                await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                await clerk.request("call.next", {})
                await shown(app, lambda: app.root.highlight, "the highlight")
                tile = list(reversed(app.root.ids.windows.children))[0]
                assert tile.highlight and tile.line == "A001"
                # 59.9 s later by the display's clock: still highlighted, however long
                # the machine took to get here
                now[0] += 59.9
                app._refresh()
                await until_drawn(app, 10)
                assert app.root.highlight and tile.highlight
                # past 60 s: the display's own tick calms it down, with no call to help it
                now[0] += 0.2
                await until(lambda: not app.root.highlight, 10, "the highlight to end")
                await until_drawn(app, 10)
                assert not tile.highlight
                assert app.root.ids.newest_label.text == "A001"  # still shown, just calm

    run(main())


def test_zone_display_shows_only_its_areas(config, sqlite_url):
    async def main():
        async with (
            running_hall(config, sqlite_url) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "clerk-1-secret") as civil,
            connected(hall.port, "clerk-3-secret") as party,
        ):
            app = make_app(hall.port, areas=frozenset({"party"}))
            async with running_display(app):
                root = app.root
                # The zone's only window is closed: said in one line, no tile.
                assert [t.number for t in root.ids.windows.children] == []
                assert root.ids.closed_line.text == "未开放窗口：3"
                await until(
                    lambda: {r.prefix for r in root.ids.queues.children} == {"C"},
                    5,
                    "party queues only",
                )
                await kiosk.request("ticket.issue", {"service": "general"})
                await kiosk.request("ticket.issue", {"service": "party-fee"})
                await civil.request("window.open", {})
                await party.request("window.open", {})
                await civil.request("call.next", {})  # A001, civil: not for this screen
                await party.request("call.next", {})  # C001
                await shown(app, lambda: root.ids.newest_label.text == "C001", "C001")
                assert "A001" not in [c.label for c in app.state.calls]
                assert root.ids.recent.children == []
                assert root.title_text == "党务"
                # a whole-hall display on the same server sees both
                whole = app.state
                assert whole.filter.areas == frozenset({"party"})

    run(main())


def test_window_display_states_serving_paused_closed(config, sqlite_url):
    async def main():
        async with (
            running_hall(config, sqlite_url) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            app = make_app(hall.port, window=1)
            async with running_display(app):
                root = app.root
                ids = root.ids
                assert root.mode == "closed" and ids.line_zh.text == "本窗口暂停服务"
                assert ids.number_text.text == "1号窗口"
                await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                await shown(app, lambda: root.mode == "idle", "idle")
                await clerk.request("call.next", {})
                await shown(app, lambda: root.mode == "called", "called")
                assert ids.ticket.text == "A001" and root.highlight
                assert "A001" in ids.line_zh.text
                await clerk.request("case.start", {})
                await shown(app, lambda: root.mode == "serving", "serving")
                assert ids.ticket.text == "A001" and ids.line_zh.text == "正在办理"
                assert not root.highlight
                await clerk.request("window.pause", {"reason": "午休"})
                await shown(app, lambda: root.mode == "paused", "paused")
                assert "午休" in ids.line_zh.text
                await clerk.request("window.resume", {})
                await clerk.request("case.finish", {})
                await clerk.request("window.close", {})
                await shown(app, lambda: root.mode == "closed", "closed")
                assert ids.ticket.text == ""

    run(main())


def test_server_restart_shows_reconnecting_then_resyncs(config, tmp_path):
    url = f"sqlite:///{tmp_path / 'hall.db'}"

    async def main():
        async with running_hall(config, url) as hall:
            port = hall.port
            async with (
                connected(port, "kiosk-1-secret") as kiosk,
                connected(port, "clerk-1-secret") as clerk,
            ):
                await kiosk.request("ticket.issue", {"service": "general"})
                await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                await clerk.request("call.next", {})
        # (the server is stopped here; the display starts against a fresh one below)
        hall2 = HallServer(config, url)
        await hall2.start("127.0.0.1", port)
        app = make_app(port)
        try:
            async with running_display(app):
                root = app.root
                await shown(app, lambda: root.ids.newest_label.text == "A001", "A001")
                assert root.connection_text == ""
                await hall2.stop()
                await shown(app, lambda: "Reconnecting" in root.connection_text, "the mark")
                assert not app.state.live and root.highlight is False
                assert root.ids.connection_mark.opacity == 1
                # the screen is not frozen: the clock keeps running while away
                before = root.time_text
                await until(lambda: root.time_text != before, 3, "the clock to tick")
                hall3 = HallServer(config, url)
                await hall3.start("127.0.0.1", port)
                try:
                    async with connected(port, "clerk-1-secret") as clerk:
                        await clerk.request("case.start", {})
                        await clerk.request("case.finish", {})
                        await clerk.request("call.next", {})
                        await shown(
                            app, lambda: root.ids.newest_label.text == "A002", "A002", timeout=10
                        )
                        await shown(app, lambda: root.connection_text == "", "mark gone")
                        assert app.state.live
                        # resynced: the display's state equals a fresh snapshot
                        snap = await clerk.request("snapshot")
                        assert {
                            w["number"]: (w["status"], w["ticket"]) for w in snap["windows"]
                        } == {n: (w.status, w.ticket) for n, w in app.state.windows.items()}
                        assert {q["queue"]: q["waiting"] for q in snap["queues"]} == {
                            p: q.waiting for p, q in app.state.queues.items()
                        }
                        assert [t["label"] for t in snap["recent_calls"]][:2] == [
                            app.state.newest.label
                        ] + [c.label for c in app.state.recent()][:1]
                finally:
                    await hall3.stop()
        finally:
            await hall2.stop()

    run(main())


@pytest.mark.skipif(
    __import__("shutil").which("espeak-ng") is None,
    reason="espeak-ng not installed (Debian: espeak-ng)",
)
def test_speaking_zone_display_announces_its_calls_and_recalls_only(config, sqlite_url, tmp_path):
    from display.voice import VoiceConfig, VoicePlayer
    from display.voice.text import CallKind

    async def main():
        voice = VoicePlayer.from_config(
            VoiceConfig(speaks=True, engine="espeak", output="wav", wav_dir=tmp_path)
        )
        async with (
            running_hall(config, sqlite_url) as hall,
            connected(hall.port, "kiosk-1-secret") as kiosk,
            connected(hall.port, "clerk-1-secret") as civil,
            connected(hall.port, "clerk-3-secret") as party,
        ):
            app = make_app(hall.port, areas=frozenset({"party"}), speak=True)
            app.voice = voice
            async with running_display(app):
                await kiosk.request("ticket.issue", {"service": "general"})
                await kiosk.request("ticket.issue", {"service": "party-fee", "language": "en"})
                await civil.request("window.open", {})
                await party.request("window.open", {})
                await civil.request("call.next", {})  # another zone: shown elsewhere, silent
                await party.request("call.next", {})
                await party.request("call.recall", {})
                await shown(app, lambda: app.root.ids.newest_label.text == "C001", "C001")
                await until(
                    lambda: len(voice.records) >= 1 and voice.queue.idle, 30, "the announcements"
                )
        calls = [c for r in voice.records for c in r.announcement.calls]
        # the recall arrived while the first call still waited or was being spoken:
        # merged into it, or spoken after it; never the civil A001
        assert {c.ticket for c in calls} == {"C001"}
        assert all(c.window == 3 and c.language == "en" for c in calls)
        assert calls[0].kind is CallKind.CALL
        assert all(r.error is None and r.audio_seconds > 1 for r in voice.records)
        assert len(list(tmp_path.glob("*.wav"))) == len(voice.records)
        assert all(
            b.started >= a.ended for a, b in zip(voice.records, voice.records[1:], strict=False)
        )

    run(main())


def test_reconnect_to_a_server_that_cannot_replay_resyncs_from_its_snapshot(config, tmp_path):
    """A server on another (restored, replaced) database cannot resume the display's
    sequence: the display must take the snapshot and drop everything it showed before."""

    async def main():
        from queue_server.store import db

        for name in ("one.db", "two.db"):
            engine = db.open_engine(f"sqlite:///{tmp_path / name}")
            db.upgrade(engine)
            engine.dispose()
        hall = HallServer(config, f"sqlite:///{tmp_path / 'one.db'}")
        await hall.start("127.0.0.1", 0)
        port = hall.port
        app = make_app(port)
        try:
            async with running_display(app):
                root = app.root
                async with (
                    connected(port, "kiosk-1-secret") as kiosk,
                    connected(port, "clerk-1-secret") as clerk,
                ):
                    for _ in range(3):
                        await kiosk.request("ticket.issue", {"service": "general"})
                    await clerk.request("window.open", {})
                    await clerk.request("call.next", {})
                    await shown(app, lambda: root.ids.newest_label.text == "A001", "A001")
                await hall.stop()
                await shown(app, lambda: "Reconnecting" in root.connection_text, "the mark")
                hall = HallServer(config, f"sqlite:///{tmp_path / 'two.db'}")
                await hall.start("127.0.0.1", port)
                await shown(app, lambda: root.connection_text == "", "back online", 10)
                assert root.ids.newest_label.text == ""
                assert app.state.window(1).status == "closed"
                assert {r.prefix: r.waiting for r in root.ids.queues.children}["A"] == "无人等候"
        finally:
            await hall.stop()

    run(main())


def test_window_display_names_the_clerk_signed_in_at_it(config, sqlite_url):
    """The display over window 2 shows who works it (name and 工号) once a clerk signs
    in there with id and PIN, and nobody once the window closes."""
    from tests.queue_server.test_server import _hello

    async def main():
        async with running_hall(config, sqlite_url) as hall:
            app = make_app(hall.port, window=2)
            async with running_display(app):
                root = app.root
                ws, reply = await _hello(hall.port, clerk="c001", pin="1234", window=2)
                assert reply["ok"]
                await ws.send(p.request(1, "window.open", {}))
                await ws.recv()
                await shown(app, lambda: root.clerk == "工号 0001  Clerk One", "clerk")
                assert root.ids.clerk.text == "工号 0001  Clerk One"
                await ws.send(p.request(2, "window.close", {}))
                await shown(app, lambda: root.clerk == "", "nobody")
                await ws.close()

    run(main())


def test_window_display_shows_the_clerks_photo_or_initials(tmp_path, sqlite_url):
    """Beside name and 工号: the photo from the hall's staff_photos (fetched over HTTP
    with the display's token), initials for a clerk without one."""
    from tests.queue_server.test_photos import hall_with_photos
    from tests.queue_server.test_server import _hello

    config = hall_with_photos(tmp_path)

    async def main():
        async with running_hall(config, sqlite_url) as hall:
            app = make_app(hall.port, window=2)
            async with running_display(app):
                root = app.root
                ws, reply = await _hello(hall.port, clerk="c001", pin="1234", window=2)
                assert reply["ok"]
                await ws.send(p.request(1, "window.open", {}))
                await ws.recv()
                await shown(app, lambda: root.photo is not None, "the photo", timeout=20)
                assert root.ids.photo.width > 0 and root.ids.initials.text == ""
                assert root.photo.size == (64, 64)
                await ws.send(p.request(2, "window.close", {}))
                await shown(app, lambda: root.photo is None and root.clerk == "", "nobody")
                await ws.close()
            app3 = make_app(hall.port, window=3)
            async with running_display(app3):
                root = app3.root
                ws, reply = await _hello(hall.port, clerk="c003", pin="1234", window=3)
                assert reply["ok"]
                await ws.send(p.request(1, "window.open", {}))
                await ws.recv()
                await shown(app3, lambda: root.initials == "PC", "initials")
                assert root.photo is None and root.ids.initials.text == "PC"
                assert root.ids.photo.width == 0
                await ws.close()


def test_hall_display_publishes_last_weeks_ranking_in_its_notice_line(config, sqlite_url):
    """周公示: the display asks the server for last week's ranking and scrolls it after
    the hall's own notice."""
    import dataclasses
    import datetime as dt

    from queue_server.core.hall import AccountabilitySettings
    from tests.queue_server.harness import GATEWAY, Clock, Store

    cfg = dataclasses.replace(config, accountability=AccountabilitySettings(min_ratings=1))
    st = Store(cfg, sqlite_url, Clock(dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)))
    try:  # last week (W47): window 1 serves two, one satisfied
        st.open(1, "c-1")
        for level in (5, 2):
            st.issue("general")
            st.call_next(1)
            st.finish(1)
            st.run(st.ops.rate, GATEWAY, {"window": 1, "level": level})
    finally:
        st.close()

    async def main():
        async with running_hall(cfg, sqlite_url, Clock()) as hall:
            app = make_app(hall.port, notice="欢迎光临", ranking_minutes=1.0)
            async with running_display(app):
                await until(lambda: "第1名 1号窗口" in app.root.notice, 10, "the ranking shown")
                assert app.root.notice.startswith("欢迎光临")
                notice = app.root.notice
                assert "满意率50.0%" in notice and "2026-11-16至2026-11-22" in notice

    run(main())
