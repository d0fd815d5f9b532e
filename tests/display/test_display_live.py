"""The display app under a real window, against a real queue server on loopback.

Each test runs the app, the server and clerk clients on one asyncio loop, drives the hall
through the protocol as a clerk would, and checks what the widgets on screen say once
the frame showing it has been flipped.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from display.devtools import running_display, until, until_drawn
from display.options import DisplayOptions
from queue_server import protocol as p
from queue_server.server import HallServer
from tests.queue_server.harness import connected, running_hall

CALL_LATENCY_TARGET_S = 1.0
"""From the clerk's request to the flipped frame showing the number. Unloaded, this is
tens of milliseconds (see benchmarks/display_latency.py); the bound is loose because the
test machine's two cores are shared with other suites and software OpenGL."""


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    from display.fonts import find_cjk_font, register_default_font

    register_default_font(find_cjk_font())


def run(coro):
    return asyncio.run(coro)


def make_app(port, **kw):
    from display.app import DisplayApp

    kw.setdefault("token", "display-1-secret")
    return DisplayApp(DisplayOptions(server=f"ws://127.0.0.1:{port}/", backoff_max=0.3, **kw))


async def shown(app, check, what, timeout=5.0):
    """Wait for ``check`` to hold for the state and its frame to be on screen."""
    await until(check, timeout, what)
    await until_drawn(app, timeout)


def test_hall_display_shows_a_clerk_call_within_the_latency_target(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url) as hall, \
                connected(hall.port, "kiosk-1-secret") as kiosk, \
                connected(hall.port, "clerk-1-secret") as clerk:
            app = make_app(hall.port)
            t0 = time.perf_counter()
            async with running_display(app):
                print(f"display live and drawn in {time.perf_counter() - t0:.2f} s")
                root = app.root
                assert root.hall_zh and root.ids.newest_label.text == ""
                for _ in range(4):
                    await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                # the first call on a fresh window pays one-off costs (glyphs at new sizes,
                # new widgets); it must still show, but is not the steady-state figure
                await clerk.request("call.next", {})
                await shown(app, lambda: root.ids.newest_label.text == "A001", "A001")
                await clerk.request("case.start", {})
                await clerk.request("case.finish", {})
                app.latencies.clear()
                delays = []
                for expected in ("A002", "A003", "A004"):
                    t0 = time.perf_counter()
                    await clerk.request("call.next", {})
                    await until(lambda e=expected: root.ids.newest_label.text == e, 5, expected)
                    await until_drawn(app)
                    delays.append(time.perf_counter() - t0)
                    await clerk.request("case.start", {})
                    await clerk.request("case.finish", {})
                print(f"call → screen: {[round(d * 1000, 1) for d in delays]} ms")
                assert sorted(delays)[1] < CALL_LATENCY_TARGET_S  # the median of three
                assert root.ids.newest_window.text == "1号窗口"
                assert root.ids.newest_zh.text == "请到1号窗口办理"
                assert [r.label for r in reversed(root.ids.recent.children)] == [
                    "A003", "A002", "A001"]
                assert root.connection_text == ""
                tiles = list(reversed(root.ids.windows.children))
                # Windows 2 and 3 never opened: one line, not a tile each (issue 12).
                assert [t.number for t in tiles] == ["1号窗口"]
                assert root.ids.closed_line.text == "未开放窗口 Closed: 2–3"
                queues = {r.prefix: r.wait_zh for r in root.ids.queues.children}
                assert queues["A"] == "无人等候"
                calls = [t for kind, t in app.latencies if kind == "ticket.called"]
                assert len(calls) == 3 and sorted(calls)[1] < CALL_LATENCY_TARGET_S

    run(main())


def test_newest_call_is_highlighted_then_calms_down(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url) as hall, \
                connected(hall.port, "kiosk-1-secret") as kiosk, \
                connected(hall.port, "clerk-1-secret") as clerk:
            app = make_app(hall.port, highlight_seconds=1.0)
            async with running_display(app):
                await kiosk.request("ticket.issue", {"service": "general"})
                await clerk.request("window.open", {})
                await clerk.request("call.next", {})
                await shown(app, lambda: app.root.highlight, "the highlight")
                tile = list(reversed(app.root.ids.windows.children))[0]
                assert tile.highlight and tile.line == "A001"
                t = await until(lambda: not app.root.highlight, 3, "the highlight to end")
                assert 0.3 < t < 2.5 and not tile.highlight
                assert app.root.ids.newest_label.text == "A001"  # still shown, just calm

    run(main())


def test_zone_display_shows_only_its_areas(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url) as hall, \
                connected(hall.port, "kiosk-1-secret") as kiosk, \
                connected(hall.port, "clerk-1-secret") as civil, \
                connected(hall.port, "clerk-3-secret") as party:
            app = make_app(hall.port, areas=frozenset({"party"}))
            async with running_display(app):
                root = app.root
                # The zone's only window is closed: said in one line, no tile.
                assert [t.number for t in root.ids.windows.children] == []
                assert root.ids.closed_line.text == "未开放窗口 Closed: 3"
                await until(lambda: {r.prefix for r in root.ids.queues.children} == {"C"}, 5,
                            "party queues only")
                await kiosk.request("ticket.issue", {"service": "general"})
                await kiosk.request("ticket.issue", {"service": "party-fee"})
                await civil.request("window.open", {})
                await party.request("window.open", {})
                await civil.request("call.next", {})  # A001, civil: not for this screen
                await party.request("call.next", {})  # C001
                await shown(app, lambda: root.ids.newest_label.text == "C001", "C001")
                assert "A001" not in [c.label for c in app.state.calls]
                assert root.ids.recent.children == []
                assert root.zone_text == "党务"
                # a whole-hall display on the same server sees both
                whole = app.state
                assert whole.filter.areas == frozenset({"party"})

    run(main())


def test_window_display_states_serving_paused_closed(config, sqlite_url):
    async def main():
        async with running_hall(config, sqlite_url) as hall, \
                connected(hall.port, "kiosk-1-secret") as kiosk, \
                connected(hall.port, "clerk-1-secret") as clerk:
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
            async with connected(port, "kiosk-1-secret") as kiosk, \
                    connected(port, "clerk-1-secret") as clerk:
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
                        await shown(app, lambda: root.ids.newest_label.text == "A002", "A002",
                                    timeout=10)
                        await shown(app, lambda: root.connection_text == "", "mark gone")
                        assert app.state.live
                        # resynced: the display's state equals a fresh snapshot
                        snap = await clerk.request("snapshot")
                        assert {w["number"]: (w["status"], w["ticket"]) for w in snap["windows"]} \
                            == {n: (w.status, w.ticket) for n, w in app.state.windows.items()}
                        assert {q["queue"]: q["waiting"] for q in snap["queues"]} == \
                            {p: q.waiting for p, q in app.state.queues.items()}
                        assert [t["label"] for t in snap["recent_calls"]][:2] == \
                            [app.state.newest.label] + [c.label for c in app.state.recent()][:1]
                finally:
                    await hall3.stop()
        finally:
            await hall2.stop()

    run(main())


@pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None,
                    reason="espeak-ng not installed (Debian: espeak-ng)")
def test_speaking_zone_display_announces_its_calls_and_recalls_only(config, sqlite_url,
                                                                     tmp_path):
    from display.voice import VoiceConfig, VoicePlayer
    from display.voice.text import CallKind

    async def main():
        voice = VoicePlayer.from_config(VoiceConfig(
            speaks=True, engine="espeak", output="wav", wav_dir=tmp_path))
        async with running_hall(config, sqlite_url) as hall, \
                connected(hall.port, "kiosk-1-secret") as kiosk, \
                connected(hall.port, "clerk-1-secret") as civil, \
                connected(hall.port, "clerk-3-secret") as party:
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
                await until(lambda: len(voice.records) >= 1 and voice.queue.idle, 30,
                            "the announcements")
        calls = [c for r in voice.records for c in r.announcement.calls]
        # the recall arrived while the first call still waited or was being spoken:
        # merged into it, or spoken after it; never the civil A001
        assert {c.ticket for c in calls} == {"C001"}
        assert all(c.window == 3 and c.language == "en" for c in calls)
        assert calls[0].kind is CallKind.CALL
        assert all(r.error is None and r.audio_seconds > 1 for r in voice.records)
        assert len(list(tmp_path.glob("*.wav"))) == len(voice.records)
        assert all(b.started >= a.ended for a, b in zip(voice.records, voice.records[1:],
                                                        strict=False))

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
                async with connected(port, "kiosk-1-secret") as kiosk, \
                        connected(port, "clerk-1-secret") as clerk:
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
                assert {r.prefix: r.wait_zh for r in root.ids.queues.children}["A"] == "无人等候"
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
