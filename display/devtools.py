"""Helpers for the display's tests, benchmark and screenshot script (not used in a hall).

They run the real app on the running asyncio loop and wait on what the screen shows rather
than sleeping blindly. The queue server they run beside, and the clients that make it
busy, come from ``scripts/demo_hall.py`` or the tests' own harness: nothing here starts a
server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from .app import DisplayApp


@contextlib.asynccontextmanager
async def running_display(
    app: DisplayApp, timeout: float = 20.0, wait_live: bool = True
) -> AsyncIterator[DisplayApp]:
    """Run ``app`` (window, client, voice) as a task; stop it and wait for it on exit.

    The Kivy window is a process-wide singleton: stopping through ``App.stop`` leaves it
    open and reusable for the next app in the same process.
    """
    task = asyncio.get_running_loop().create_task(app.run_async())
    try:
        await until(lambda: app.root is not None, timeout, "the app to build", task)
        if wait_live:
            await until(
                lambda: app.state.live and bool(app.state.hall_name),
                timeout,
                "the display to be live",
                task,
            )
            await until_drawn(app, timeout)
        yield app
    finally:
        if not task.done():
            app.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout)


async def until(
    check: Callable[[], Any],
    timeout: float = 10.0,
    what: str = "a condition",
    task: asyncio.Task[Any] | None = None,
) -> float:
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
    return await until(
        lambda: app.rendered_version >= app.state.version,
        timeout,
        f"version {app.state.version} on screen",
    )
