"""The asyncio client every HallQ device uses: kiosk, display, gateway, tests.

It keeps one connection up: connects, says hello with its token, re-subscribes after a
reconnect (resuming from the last sequence seen, or taking the fresh snapshot the server
sends when it cannot resume), and reports its connection state so a kiosk can show
"ticket issue is paused" and a display a "reconnecting" mark.

Requests are never silently lost: a request waiting for its reply when the connection
drops is sent again, with the same idempotency key, once the connection is back, so a
ticket asked for just before a disconnect is issued exactly once. A request that cannot
be answered within its timeout raises :class:`RequestTimeout`.

Only ``protocol`` is imported from the server package: no database, no Kivy.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from . import protocol as p

log = logging.getLogger("hallq.client")


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"  # tried and failed; still retrying
    CLOSED = "closed"  # close() was called
    REFUSED = "refused"  # the server refused our token; retrying will not help


class ClientError(Exception):
    """Base of the client's errors."""


class RequestError(ClientError):
    """The server answered with an error: ``code`` is the protocol's stable code."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


class RequestTimeout(ClientError):
    """No reply in time: the server is away; an idempotent retry is still safe."""


class AuthenticationFailed(ClientError):
    """The server refused the token."""


Handler = Callable[..., Any]


@dataclass
class _Pending:
    message: str
    future: asyncio.Future[Any]


class HallClient:
    """One device's connection to the queue server.

    ``on_event(kind, seq, data)`` receives pushed events in order; ``on_snapshot(snap)``
    a full state after (re)subscribing when events could not be replayed;
    ``on_state(state)`` each change of :class:`ConnectionState`. Handlers may be plain
    functions or coroutines. ``calls="combined"`` subscribes for one ``call`` event per
    call instead of its three (what a display wants; see ``queue_server/callevent.py``).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        ticket: str | None = None,
        staff: dict[str, Any] | None = None,
        name: str = "hallq-client",
        subscribe: bool = False,
        calls: str = "separate",
        on_event: Handler | None = None,
        on_snapshot: Handler | None = None,
        on_state: Handler | None = None,
        request_timeout: float = 10.0,
        backoff_min: float = 0.2,
        backoff_max: float = 5.0,
    ) -> None:
        self.url = url
        self.token = token
        self.ticket = ticket
        self.staff = staff
        self.name = name
        self.subscribe = subscribe
        self.calls = calls
        self.on_event = on_event
        self.on_snapshot = on_snapshot
        self.on_state = on_state
        self.request_timeout = request_timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.state = ConnectionState.CONNECTING
        self.last_seq: int | None = None
        self.session: dict[str, Any] = {}
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._ws: ClientConnection | None = None
        self._online = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.reconnects = 0

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Start connecting in the background; returns at once."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def wait_online(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._online.wait(), timeout)

    async def __aenter__(self) -> HallClient:
        await self.start()
        await self.wait_online(self.request_timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pend in self._pending.values():
            if not pend.future.done():
                pend.future.set_exception(ClientError("client closed"))
        self._pending.clear()
        await self._set_state(ConnectionState.CLOSED)

    # -- requests ----------------------------------------------------------------------

    async def request(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """Send one request and return its result, or raise :class:`RequestError`.

        Operations that take an idempotency key get a fresh one unless ``key`` is given;
        the same key is reused for every resend of this request.
        """
        spec = p.OPS.get(op)
        if spec is not None and spec.idempotent and key is None:
            key = f"{self.name}:{uuid.uuid4().hex}"
        rid = str(next(self._ids))
        message = p.request(rid, op, args, key)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = _Pending(message, fut)
        try:
            if self._ws is not None and self._online.is_set():
                with contextlib.suppress(websockets.ConnectionClosed):
                    await self._ws.send(message)
            # Otherwise it is sent when the connection is (re)established.
            return await asyncio.wait_for(fut, timeout or self.request_timeout)
        except TimeoutError:
            raise RequestTimeout(
                f"{op}: no reply within {timeout or self.request_timeout:.1f} s"
            ) from None
        finally:
            self._pending.pop(rid, None)

    # -- connection loop ---------------------------------------------------------------

    async def _run(self) -> None:
        delay = self.backoff_min
        while not self._closing:
            try:
                async with connect(
                    self.url, open_timeout=5, ping_interval=10, ping_timeout=10, max_size=16 << 20
                ) as ws:
                    self._ws = ws
                    await self._handshake(ws)
                    delay = self.backoff_min
                    await self._receive(ws)
            except AuthenticationFailed as exc:
                log.error("%s: %s", self.name, exc)
                await self._set_state(ConnectionState.REFUSED)
                return
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                if (
                    isinstance(exc, websockets.ConnectionClosed)
                    and exc.rcvd is not None
                    and exc.rcvd.code == p.CLOSE_TAKEN_OVER
                ):
                    # Another clerk took this window over: coming back would take it back.
                    log.warning("%s: signed out (%s)", self.name, exc.rcvd.reason)
                    await self._set_state(ConnectionState.REFUSED)
                    return
                log.debug("%s: connection failed: %s", self.name, exc)
            finally:
                self._ws = None
                self._online.clear()
            if self._closing:
                return
            await self._set_state(ConnectionState.OFFLINE)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.backoff_max)
            self.reconnects += 1

    async def _handshake(self, ws: ClientConnection) -> None:
        hello_args: dict[str, Any] = {"client": self.name, "protocol": p.VERSION}
        if self.token is not None:
            hello_args["token"] = self.token
        if self.ticket is not None:
            hello_args["ticket"] = self.ticket
        if self.staff is not None:  # a person's sign-in: clerk, pin, and window or role
            hello_args.update(self.staff)
        await ws.send(p.request("hello", "hello", hello_args))
        try:
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == p.CLOSE_AUTH_FAILED:
                raise AuthenticationFailed("token refused by the server") from None
            raise
        if not reply.get("ok"):
            raise AuthenticationFailed(reply.get("error", {}).get("message", "refused"))
        self.session = reply["result"]
        if self.subscribe:
            args: dict[str, Any] = {} if self.last_seq is None else {"since": self.last_seq}
            if self.calls != "separate":
                args["calls"] = self.calls
            await ws.send(p.request("subscribe", "subscribe", args))
        self._online.set()
        await self._set_state(ConnectionState.ONLINE)
        # Requests made while offline, or whose reply the old connection lost.
        for pend in list(self._pending.values()):
            if not pend.future.done():
                await ws.send(pend.message)

    async def _receive(self, ws: ClientConnection) -> None:
        async for raw in ws:
            try:
                msg = json.loads(raw)
            except ValueError:
                log.warning("%s: server sent invalid JSON", self.name)
                continue
            if "event" in msg:
                await self._event(msg)
            elif msg.get("id") == "subscribe":
                await self._subscribed(msg)
            else:
                pend = self._pending.get(str(msg.get("id")))
                if pend is None or pend.future.done():
                    continue
                if msg.get("ok"):
                    pend.future.set_result(msg.get("result"))
                else:
                    err = msg.get("error") or {}
                    pend.future.set_exception(
                        RequestError(
                            err.get("code", "unknown"), err.get("message", ""), err.get("details")
                        )
                    )

    async def _subscribed(self, msg: dict[str, Any]) -> None:
        if not msg.get("ok"):
            log.error("%s: subscribe refused: %s", self.name, msg.get("error"))
            return
        result = msg["result"]
        if result["mode"] == "snapshot":
            self.last_seq = result["seq"]
            await _call(self.on_snapshot, result["snapshot"])

    async def _event(self, msg: dict[str, Any]) -> None:
        kind, seq = msg["event"], msg.get("seq")
        if kind == "subscribed":
            return
        if seq is not None and self.last_seq is not None and seq <= self.last_seq:
            return  # already seen before the reconnect
        if seq is not None:
            self.last_seq = seq
        await _call(self.on_event, kind, seq, msg.get("data"))

    async def _set_state(self, state: ConnectionState) -> None:
        if state != self.state:
            self.state = state
            await _call(self.on_state, state)


async def _call(handler: Handler | None, *args: Any) -> None:
    if handler is None:
        return
    try:
        result = handler(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("event handler failed")
