"""The display app: one Kivy window and one queue-server client on one asyncio loop.

Data flow, one way only::

    HallClient ──events/snapshots/state──▶ DisplayState ──changed──▶ redraw next frame
                                  └──────▶ VoicePlayer (calls, if this display speaks)

The client's callbacks run on the loop between Kivy frames; they update the plain
:class:`DisplayState` and pull a Kivy trigger, so a burst of events (a replay after a
reconnect) costs one redraw. Latency is measured from the moment a callback starts to
the ``on_flip`` of the frame that shows it: that is what a citizen sees.

A display must never look live when it is not: the client's state drives a
"reconnecting" mark and dims the figures, and the clock keeps ticking so the screen never
seems frozen. When the server comes back the client resumes the event stream (or takes a
fresh snapshot) and the mark goes away on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from typing import Any
from zoneinfo import ZoneInfo

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window

from queue_server.callevent import CALL
from queue_server.callevent import parts as call_parts
from queue_server.client import ConnectionState, HallClient

from .layout import board_shown, turn_at
from .options import DisplayOptions
from .state import CALL_EVENTS, DisplayFilter, DisplayState

log = logging.getLogger("hallq.display")

TICK_SECONDS = 0.5
NOTICE_FPS = 30.0


class DisplayApp(App):
    """A hall display, or with ``options.window`` the display over one window."""

    def __init__(self, options: DisplayOptions, voice: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options = options
        self.title = "HallQ display"
        self.state = DisplayState(
            filter=DisplayFilter(options.areas, options.window),
            recent_size=options.recent,
            highlight_seconds=options.highlight_seconds,
        )
        self.voice = voice
        self.client: HallClient | None = None
        self.latencies: deque[tuple[str, float]] = deque(maxlen=100_000)
        """(event kind, seconds) from a change arriving to the flip of the frame showing it."""
        self.rendered_version = -1
        """The state version on screen, once its frame has been flipped."""
        self.error: str | None = None
        self._pending: list[tuple[str, float]] = []
        self._drawn: tuple[int, list[tuple[str, float]]] | None = None
        self._refresh = Clock.create_trigger(self._redraw, 0)
        self._events: list[Any] = []
        self._info_task: asyncio.Task[None] | None = None
        self._held: list[tuple[str, int | None, dict[str, Any] | None]] | None = None
        self._blink = False
        self._tz: dt.tzinfo | None = None
        self._turn = -1
        self._photo_for = ""
        self._photo_task: asyncio.Task[None] | None = None
        self.page_clock = time.monotonic
        """The clock that turns the hall display's pages and languages (tests fix it)."""
        self.clock = time.monotonic
        """When calls were received and whether a highlight is still on (tests move it,
        so how long a highlight lasts is never measured on a loaded machine's wall)."""
        self.board_settings: dict[str, float] | None = None
        """The hall file's weekly ranking board (``hall.info`` ``ranking_board``)."""
        self.ranking: dict[str, Any] | None = None
        """The last ``ranking.get`` reply the board shows."""
        self._last_call_page: float | None = None
        """When (by ``page_clock``) the last call came: calls always win over the board."""
        self._board_task: asyncio.Task[None] | None = None
        self.board_on = False
        self.state.listeners.append(self._state_changed)

    # -- Kivy side --------------------------------------------------------------------

    def build(self) -> Any:
        if self.options.window is not None:
            from .window_screen import WindowScreen

            screen: Any = WindowScreen()
        else:
            from .hall_screen import HallScreen

            screen = HallScreen(portrait=self.options.portrait, recent_slots=self.options.recent)
        screen.notice = self.options.notice
        return screen

    def on_start(self) -> None:
        Window.bind(on_flip=self._flipped)
        self._events = [
            Clock.schedule_interval(self._tick, TICK_SECONDS),
        ]
        if (self.options.notice or self.options.ranking_minutes) and self.options.window is None:
            self._events.append(Clock.schedule_interval(self._scroll, 1 / NOTICE_FPS))
        self._tick(0)
        self._refresh()

    def on_stop(self) -> None:
        Window.unbind(on_flip=self._flipped)
        for ev in self._events:
            ev.cancel()
        self._events = []
        self._refresh.cancel()

    def open_settings(self, *largs: Any) -> bool:
        """No Kivy settings panel on a wall screen (F1 would open it)."""
        return False

    # -- running ----------------------------------------------------------------------

    async def run_async(self) -> None:
        """Run the window, the client and the voice until the app stops."""
        self.client = HallClient(
            self.options.server,
            self.options.token,
            name=self.options.name,
            subscribe=True,
            calls="combined",
            on_event=self._on_event,
            on_snapshot=self._on_snapshot,
            on_state=self._on_state,
            backoff_max=self.options.backoff_max,
        )
        await self.client.start()
        if self.voice is not None:
            self.voice.start()
        ranking = None
        if self.options.ranking_minutes and self.options.window is None:
            ranking = asyncio.get_running_loop().create_task(self._publish_ranking())
        try:
            await self.async_run(async_lib="asyncio")
        finally:
            if ranking is not None:
                ranking.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await ranking
            if self._info_task is not None:
                self._info_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._info_task
            if self._board_task is not None:
                self._board_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._board_task
            await self.client.close()
            if self.voice is not None:
                await self.voice.close(drain=False)

    async def _publish_ranking(self) -> None:
        """周公示: last week's window ranking in the notice line, after the hall's own
        notice, asked again every ``ranking_minutes`` (the week changes on Mondays)."""
        from .texts import ranking_text

        assert self.client is not None
        while True:
            delay = self.options.ranking_minutes * 60
            if self.client.state is ConnectionState.ONLINE:
                try:
                    text = ranking_text(await self.client.request("ranking.get"))
                    notice = "    ".join(x for x in (self.options.notice, text) if x)
                    if self.root is not None and notice != self.root.notice:
                        self.root.notice = notice
                except Exception as exc:  # RequestError, RequestTimeout: next time
                    log.warning("weekly ranking unavailable: %s", exc)
                    delay = min(delay, 30.0)
            else:
                delay = min(delay, 2.0)
            await asyncio.sleep(delay)

    # -- client callbacks -------------------------------------------------------------

    def _on_event(self, kind: str, seq: int | None, data: dict[str, Any] | None) -> None:
        if self._held is not None:
            self._held.append((kind, seq, data))
        if kind == CALL:  # one event for a call: its three parts, each drawn and announced
            if self.state.take_seq(seq):
                for part, part_data in call_parts(data or {}):
                    self._apply(part, None, part_data)
            return
        self._apply(kind, seq, data)

    def _apply(self, kind: str, seq: int | None, data: dict[str, Any] | None) -> None:
        received = self.clock()
        self.state.note_server_time(kind, data or {}, dt.datetime.now(dt.UTC))
        self._pending.append((kind, time.perf_counter()))
        changed = self.state.apply_event(kind, seq, data, now=received)
        if changed and kind in CALL_EVENTS:
            self._last_call_page = self.page_clock()  # the board gives way at once
        if not changed:
            self._pending.pop()
        if changed and kind in CALL_EVENTS and self.voice is not None:
            self._announce(kind, data or {})

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        self._pending.append(("snapshot", time.perf_counter()))
        self.state.apply_snapshot(snap, now=self.clock())

    def _on_state(self, state: ConnectionState) -> None:
        log.info("connection: %s", state)
        self.state.set_connection(state.value)
        if state is ConnectionState.ONLINE:
            if self._info_task is not None:
                self._info_task.cancel()
            self._info_task = asyncio.get_running_loop().create_task(self._resync())
        if state is ConnectionState.REFUSED:
            self.error = "the server refused this display's token"

    async def _resync(self) -> None:
        """After every (re)connect: hall.info once, then a snapshot of our own.

        The client marks itself online before the server has answered its subscribe, so
        "online" alone does not mean current. The display asks for a snapshot, applies
        it, then re-applies any event that arrived meanwhile and is newer than it; only
        then is it live. Events older than the snapshot are ignored by the state.
        """
        assert self.client is not None
        self._held = []
        try:
            while self.client.state is ConnectionState.ONLINE:
                try:
                    if not self.state.hall_name:
                        self._apply_info(await self.client.request("hall.info"))
                    snap = await self.client.request("snapshot")
                    break
                except Exception as exc:  # RequestError, RequestTimeout: try again
                    log.warning("resync failed, retrying: %s", exc)
                    await asyncio.sleep(1.0)
            else:
                return
            held, self._held = self._held, None
            self.state.apply_snapshot(snap, now=self.clock())
            for kind, seq, data in held:
                if seq is not None and seq > snap.get("seq", -1):
                    self.state.apply_event(kind, seq, data, now=self.clock())
        finally:
            self._held = None

    def _apply_info(self, info: dict[str, Any]) -> None:
        problem = check_filter(info, self.options)
        if problem:
            self.error = problem
            log.error("%s", problem)
        tz = info.get("timezone")
        with contextlib.suppress(Exception):
            self._tz = ZoneInfo(tz) if tz else None
        self.state.apply_hall_info(info)
        board = info.get("ranking_board")
        self.board_settings = board if isinstance(board, dict) else None
        if self.board_settings and self.options.window is None and self._board_task is None:
            self._board_task = asyncio.get_running_loop().create_task(self._fetch_board())
        self._tick(0)  # the clock in the hall's timezone at once, not half a second later

    async def _fetch_board(self) -> None:
        """The weekly ranking for the board (周公示): asked when the display comes up and
        every ten minutes after (the week changes on Mondays)."""
        assert self.client is not None
        while True:
            delay = 600.0
            if self.client.state is ConnectionState.ONLINE:
                try:
                    self.ranking = await self.client.request("ranking.get")
                    self._refresh()
                except Exception as exc:  # RequestError, RequestTimeout: soon again
                    log.warning("weekly ranking unavailable: %s", exc)
                    delay = 30.0
            else:
                delay = 2.0
            await asyncio.sleep(delay)

    def board_due(self) -> bool:
        """The ranking board has the screen now (the hall file's turn, no recent call)."""
        b = self.board_settings
        if not b or self.ranking is None or self.options.window is not None:
            return False
        return board_shown(
            self.page_clock(),
            self._last_call_page,
            float(b.get("every_s", 0)),
            float(b.get("show_s", 0)),
            self.options.highlight_seconds,
        )

    def _announce(self, kind: str, data: dict[str, Any]) -> None:
        """Hand a call to the voice; a bad call is logged, never allowed to stop the screen."""
        from .voice.text import CallKind, CallRequest

        try:
            call = CallRequest(
                ticket=str(data.get("label", "")),
                window=int(data["window"]),
                language=str(data.get("language") or "zh"),
                kind=CallKind.RECALL if kind == "ticket.recalled" else CallKind.CALL,
            )
            self.voice.announce(call)
        except Exception:
            log.exception("voice: could not announce %s", data.get("label"))

    # -- drawing ----------------------------------------------------------------------

    def _state_changed(self, why: str) -> None:
        self._refresh()

    def _redraw(self, *_: Any) -> None:
        if self.root is None:
            return
        now = self.clock()
        if self.options.window is not None:
            self.root.show(self.state, now, self.options.window)
            self._want_photo(self.root.clerk_id)
        else:
            self.board_on = self.board_due()
            self.root.show(
                self.state,
                now,
                self.options.show_satisfaction,
                page_time=self.page_clock(),
                board=self.ranking if self.board_on else None,
            )
        if self.error:
            self.root.connection_text = "● " + self.error
        pending, self._pending = self._pending, []
        if self._drawn is not None:
            pending = self._drawn[1] + pending
        self._drawn = (self.state.version, pending)
        self.root.canvas.ask_update()

    def _want_photo(self, clerk_id: str) -> None:
        """Fetch the photo of the clerk now signed in here, once per sign-in."""
        if clerk_id == self._photo_for:
            return
        self._photo_for = clerk_id
        if self._photo_task is not None:
            self._photo_task.cancel()
            self._photo_task = None
        if clerk_id and self.state.clerks.get(clerk_id, {}).get("photo"):
            self._photo_task = asyncio.get_running_loop().create_task(self._load_photo(clerk_id))

    async def _load_photo(self, clerk_id: str) -> None:
        import io

        from kivy.core.image import Image as CoreImage

        from .photos import fetch

        got = await fetch(self.options.server, self.options.token, clerk_id)
        if got is None or self.root is None or self.root.clerk_id != clerk_id:
            return  # no photo (initials stay), or the clerk left meanwhile
        data, ext = got
        try:
            self.root.photo = CoreImage(io.BytesIO(data), ext=ext).texture
        except Exception:  # a broken file: initials, not a crash
            log.warning("the photo of a clerk could not be read")
            return
        self._refresh()

    def _flipped(self, *_: Any) -> None:
        drawn = self._drawn
        if drawn is None:
            return
        self._drawn = None
        t = time.perf_counter()
        self.latencies.extend((kind, t - t0) for kind, t0 in drawn[1])
        self.rendered_version = drawn[0]

    def _tick(self, _dt: float) -> None:
        """Clock, blink and highlight expiry: keeps the screen visibly alive."""
        root = self.root
        if root is None:
            return
        now = dt.datetime.now(self._tz) if self._tz else dt.datetime.now().astimezone()
        root.date_text, root.date_en, root.time_text = _clock_texts(now)
        # Midnight comes by the hall's (the server's) clock, learnt from its events.
        day = self.state.hall_day(dt.datetime.now(dt.UTC), self._tz)
        if day is not None and self.state.day is not None and day > self.state.day:
            self.state.new_day(day)
        self._blink = not self._blink
        root.blink = self._blink
        turn = turn_at(self.page_clock())
        if turn != self._turn:  # the page and language turn: draw the next one
            self._turn = turn
            self._refresh()
        if self.board_due() != self.board_on:  # the board's turn begins or ends
            self._refresh()
        # while a highlight may be running, redraw each tick so it ends on time
        last = max((c.received for c in self.state.calls), default=0.0)
        if self.clock() - last < self.options.highlight_seconds + 2 * TICK_SECONDS:
            self._refresh()

    def _scroll(self, dt_s: float) -> None:
        if self.root is not None:
            self.root.tick(dt_s, self.options.notice_speed)


def _clock_texts(now: dt.datetime) -> tuple[str, str, str]:
    from .texts import clock_text, date_en

    date, time_text = clock_text(now)
    return date, date_en(now), time_text


def check_filter(info: dict[str, Any], options: DisplayOptions) -> str | None:
    """A zone or window the hall does not have: said on screen rather than showing nothing."""
    if options.window is not None:
        numbers = {w["number"] for w in info.get("windows", [])}
        if options.window not in numbers:
            return f"窗口 {options.window} 不存在 / no window {options.window} in this hall"
    if options.areas:
        known = {a["id"] for a in info.get("areas", [])}
        unknown = sorted(set(options.areas) - known)
        if unknown:
            return f"未知区域 unknown area: {', '.join(unknown)}"
    return None
