"""The weekly ranking board (周公示) on the hall display, set in the hall file's
``[display]``: shown in turn with the calls on the page clock, and calls always win (a
call arriving while it shows takes the screen back at once). Real server on loopback,
real Kivy window under Xvfb, the page clock injected (no waiting for minutes)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest

from display.config import ranking_board, validate
from display.devtools import running_display, until, until_drawn
from display.layout import board_shown
from display.options import DisplayOptions
from queue_server.core.hall import AccountabilitySettings
from tests.queue_server.harness import GATEWAY, Clock, Store, connected, running_hall


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    from display.fonts import find_cjk_font, register_default_font

    register_default_font(find_cjk_font())


def test_the_board_takes_its_turn_and_gives_way_to_calls():
    every, show, hold = 300.0, 30.0, 8.0
    assert board_shown(0.0, None, every, show, hold)
    assert board_shown(29.9, None, every, show, hold)
    assert not board_shown(30.0, None, every, show, hold)  # the calls' turn
    assert board_shown(600.0, None, every, show, hold)  # and again
    assert not board_shown(610.0, 605.0, every, show, hold)  # a call in its turn: gone
    assert not board_shown(625.0, 605.0, every, show, hold)  # for the rest of the turn
    assert board_shown(905.0, 605.0, every, show, hold)  # the next turn is the board's
    assert not board_shown(902.0, 897.0, every, show, hold)  # a call just before: held
    assert board_shown(906.0, 897.0, every, show, hold)  # then the board
    assert not board_shown(0.0, None, 0.0, show, hold)  # no board set


def test_the_hall_file_sets_the_board():
    assert ranking_board({"ranking_board": {"every_minutes": 5, "seconds": 20}}) == {
        "every_s": 300.0,
        "show_s": 20.0,
    }
    assert ranking_board({}) is None and ranking_board(None) is None
    assert list(validate({"ranking_board": {"every_minutes": 5, "seconds": 20}}, {})) == []
    bad = [
        {"ranking_board": {"every_minutes": 0}},
        {"ranking_board": {"every_minutes": 1, "seconds": 45}},  # over half the time
        {"ranking_board": "often"},
        {"ranking_board": {"every_minutes": 5, "colour": "red"}},
        {"rank_board": {}},
    ]
    for section in bad:
        assert list(validate(section, {})), section


def test_the_board_shows_last_week_and_a_call_takes_the_screen_back(config, sqlite_url):
    cfg = dataclasses.replace(
        config,
        accountability=AccountabilitySettings(min_ratings=1),
        sections={**config.sections, "display": {"ranking_board": {"every_minutes": 5}}},
    )
    st = Store(cfg, sqlite_url, Clock(dt.datetime(2026, 11, 17, 2, 0, tzinfo=dt.UTC)))
    try:  # last week (W47): windows 1 and 3 rated
        st.open(1, "c-1")
        st.open(3, "c-3")
        for window, service, level in ((1, "general", 5), (1, "general", 2), (3, "party-fee", 5)):
            st.issue(service)
            st.call_next(window)
            st.finish(window)
            st.run(st.ops.rate, GATEWAY, {"window": window, "level": level})
    finally:
        st.close()

    async def main():
        from display.app import DisplayApp

        async with running_hall(cfg, sqlite_url, Clock()) as hall:
            page = [1.0]  # the board's turn: the first 30 s of every 5 minutes
            app = DisplayApp(
                DisplayOptions(
                    server=f"ws://127.0.0.1:{hall.port}/",
                    token="display-1-secret",
                    backoff_max=0.3,
                )
            )
            app.page_clock = lambda: page[0]
            async with running_display(app):
                await until(lambda: app.root.board, 10, "the ranking board shown")
                await until_drawn(app, 5)
                root = app.root
                assert root.board_title == "窗口服务评价公示"
                assert root.board_period == "2026-11-16 – 2026-11-22"
                rows = list(reversed(root.ids.board_rows.children))
                assert [(r.rank, r.window_text, r.satisfaction) for r in rows] == [
                    ("1", "3号窗口", "100.0%"),
                    ("2", "1号窗口", "50.0%"),
                ]
                # a call arrives while the board shows: the calls are back at once
                async with (
                    connected(hall.port, "gateway-secret") as g,
                    connected(hall.port, "kiosk-1-secret") as kiosk,
                ):
                    await kiosk.request("ticket.issue", {"service": "general"})
                    await g.request("window.open", {"window": 2, "clerk": "c-2"})
                    await g.request("call.next", {"window": 2})
                    await until(lambda: not app.root.board, 5, "the calls back")
                    await until_drawn(app, 5)
                    assert root.newest_window == "2号窗口"
                    # the rest of the board's turn stays with the calls
                    page[0] = 20.0
                    app._tick(0)
                    await until_drawn(app, 5)
                    assert not root.board
                    # the calls' turn, then the board's next turn
                    page[0] = 200.0
                    app._tick(0)
                    await until_drawn(app, 5)
                    assert not root.board
                    page[0] = 301.0
                    app._tick(0)
                    await until(lambda: app.root.board, 5, "the board's next turn")

    asyncio.run(main())
