"""Helpers for the display's tests, benchmark and screenshot script (not used in a hall).

They run the real app on the running asyncio loop beside a real queue server and real
clerk clients, and wait on what the screen shows rather than sleeping blindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from .app import DisplayApp


@contextlib.asynccontextmanager
async def running_display(app: DisplayApp, timeout: float = 20.0,
                          wait_live: bool = True) -> AsyncIterator[DisplayApp]:
    """Run ``app`` (window, client, voice) as a task; stop it and wait for it on exit.

    The Kivy window is a process-wide singleton: stopping through ``App.stop`` leaves it
    open and reusable for the next app in the same process.
    """
    task = asyncio.get_running_loop().create_task(app.run_async())
    try:
        await until(lambda: app.root is not None, timeout, "the app to build", task)
        if wait_live:
            await until(lambda: app.state.live and bool(app.state.hall_name), timeout,
                        "the display to be live", task)
            await until_drawn(app, timeout)
        yield app
    finally:
        if not task.done():
            app.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout)


async def until(check: Callable[[], Any], timeout: float = 10.0, what: str = "a condition",
                task: asyncio.Task[Any] | None = None) -> float:
    """Poll ``check`` every 5 ms; return the seconds it took, or raise TimeoutError."""
    t0 = time.perf_counter()
    while not check():
        if task is not None and task.done():
            task.result()  # raises the app's error, if any
            raise RuntimeError(f"the app stopped while waiting for {what}")
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.perf_counter() - t0


async def until_drawn(app: DisplayApp, timeout: float = 10.0) -> float:
    """Wait until the frame showing the state's current version has been flipped."""
    return await until(lambda: app.rendered_version >= app.state.version, timeout,
                       f"version {app.state.version} on screen")


DEMO_TOKENS = {"kiosk": "demo-kiosk-1-token", "gateway": "demo-gateway-1-token",
               "display": "demo-display-1-token"}


async def populate(url: str, services: list[str], windows: list[int], *,
                   tickets: int = 30, kiosk_token: str = DEMO_TOKENS["kiosk"],
                   gateway_token: str = DEMO_TOKENS["gateway"],
                   paused: tuple[int, ...] = (), serving: tuple[int, ...] = (),
                   ratings: tuple[int, ...] = ()) -> None:
    """Make a hall look busy: issue tickets, open windows, call, serve, pause, rate.

    ``serving`` windows take their call and start the case; ``ratings`` are levels
    given to cases finished along the way, so a satisfaction rate appears.
    """
    from queue_server.client import HallClient

    kiosk = HallClient(url, kiosk_token, name="devtools-kiosk")
    gate = HallClient(url, gateway_token, name="devtools-gateway")
    async with kiosk, gate:
        for i in range(tickets):
            await kiosk.request("ticket.issue", {"service": services[i % len(services)]})
        for n in windows:
            await gate.request("window.open", {"window": n, "clerk": f"clerk-{n}"})
        for level in ratings:
            n = windows[0]
            await gate.request("call.next", {"window": n})
            await gate.request("case.start", {"window": n})
            await gate.request("case.finish", {"window": n})
            await gate.request("rating.submit", {"window": n, "level": level})
        for n in windows:
            if n in paused:
                await gate.request("window.pause", {"window": n, "reason": "午休"})
                continue
            with contextlib.suppress(Exception):  # a window whose queues are empty
                await gate.request("call.next", {"window": n})
                if n in serving:
                    await gate.request("case.start", {"window": n})
