"""Helpers to run the store directly and a real server on loopback, with a settable clock."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

from queue_server.client import HallClient
from queue_server.config import HallConfig
from queue_server.core.errors import HallError
from queue_server.core.states import WindowOp
from queue_server.server import HallServer
from queue_server.store import db
from queue_server.store.ops import Actor, HallOps, Outcome

# A Tuesday, 10:00 in Shanghai: inside any weekday opening hours.
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> dt.datetime:
        self.now += dt.timedelta(**kw)
        return self.now


class Store:
    """The hall operations on a real database, one transaction per call, no server."""

    def __init__(self, config: HallConfig, url: str, clock: Clock | None = None) -> None:
        self.config = config
        self.engine = db.open_engine(url)
        db.upgrade(self.engine)
        db.ensure_windows(self.engine, config)
        self.ops = HallOps(config)
        self.clock = clock or Clock()
        self.committer = db.Committer(self.engine, self.clock)
        self.events: list[tuple[str, dict[str, Any]]] = []

    def run(
        self, fn: Callable[..., Outcome], actor: Actor, args: dict[str, Any], *extra: Any
    ) -> dict[str, Any]:
        """One operation through the server's own commit path (its savepoint, the
        rollback of a refusal), so a store test sees exactly what a client would."""

        def work(conn: Any, now: Any) -> tuple[Any, list[Any]]:
            out = fn(conn, actor, args, now, *extra)
            return out, []

        out, _ = self.committer.call(work)
        self.events.extend(out.events)
        return out.reply

    def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self.engine.begin() as conn:
            return fn(conn, *args, self.clock())

    def refused(
        self, fn: Callable[..., Outcome], actor: Actor, args: dict[str, Any], *extra: Any
    ) -> HallError:
        try:
            self.run(fn, actor, args, *extra)
        except HallError as exc:
            return exc
        raise AssertionError("the operation was not refused")

    # shorthands
    def issue(self, service: str = "general", **kw: Any) -> dict[str, Any]:
        return self.run(self.ops.issue, KIOSK, dict(service=service, **kw))

    def open(self, window: int, clerk: str = "c1") -> dict[str, Any]:
        return self.run(
            self.ops.window_op, GATEWAY, {"window": window, "clerk": clerk}, WindowOp.OPEN
        )

    def call_next(self, window: int) -> dict[str, Any]:
        return self.run(self.ops.call_next, GATEWAY, {"window": window})

    def finish(self, window: int) -> dict[str, Any]:
        return self.run(self.ops.finish, GATEWAY, {"window": window})

    def close(self) -> None:
        self.committer.close()
        self.engine.dispose()


KIOSK = Actor("kiosk-1", "kiosk")
GATEWAY = Actor("gateway", "gateway")
ADMIN = Actor("admin", "admin")
SUPERVISOR = Actor("supervisor", "supervisor")


def clerk(window: int) -> Actor:
    return Actor(f"clerk-{window}", "clerk", window)


@contextlib.asynccontextmanager
async def running_hall(
    config: HallConfig, url: str, clock: Clock | None = None, **kw: Any
) -> AsyncIterator[HallServer]:
    engine = db.open_engine(url, hall=config.hall_id)
    db.upgrade(engine)
    engine.dispose()
    hall = HallServer(config, url, clock=clock, **kw)
    await hall.start("127.0.0.1", 0)
    try:
        yield hall
    finally:
        await hall.stop()


@contextlib.asynccontextmanager
async def connected(port: int, token: str, **kw: Any) -> AsyncIterator[HallClient]:
    client = HallClient(f"ws://127.0.0.1:{port}/", token, name=token.split("-secret")[0], **kw)
    await client.start()
    await client.wait_online(5)
    try:
        yield client
    finally:
        await client.close()
