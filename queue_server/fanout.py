"""Events to every subscriber: encoded once, one frame for all, nobody waits for the slowest.

A call in a hall with a thousand displays and ten thousand phone pages is one event
written ten thousand times. What that costs, and who waits for it, is decided here
(issue 14):

- **One frame for all.** An event is JSON-encoded once by the publisher; here it is
  framed once (a WebSocket text frame, unmasked as a server's are) and the same bytes
  are written to every connection's transport. Only a connection that negotiated
  compression (``[server] compression = "deflate"``; off by default) goes through its
  own protocol object, which compresses for it alone.
- **One write per connection per batch.** The events committed together (a finish is
  four) go to a staff connection as their frames joined, in one ``transport.write``:
  one system call per connection instead of one per event. The system call is most of
  what a connection costs the server (about half its CPU during a fan-out, measured;
  docs/benchmarks.md, "Fan-out, session 6"). A phone page (which sees only some
  events), a connection that negotiated compression, or one whose ``floor`` is already
  inside the batch (the sender, served first) takes the events one by one instead.
- **The sender first.** The connection whose request caused the events gets them at
  once (:meth:`FanOut.deliver`), and its reply is written right after, before this
  task writes to anyone else: a clerk's call is answered before the hall's screens are
  told, not after. (Replies keep the connection's own flow control: a client that
  does not read its replies stops being read from.) Everyone else is served by one background
  task (:meth:`FanOut.run`) in chunks, yielding to the event loop between chunks, so
  other requests are answered while ten thousand connections are written to.
- **Order per connection.** Each connection keeps the highest sequence number written
  to it (``floor``); an event at or below it is never written again. That is what lets
  the sender be served out of turn, and a subscribe answered from a snapshot skip what
  the snapshot held, without any event crossing another on one connection.
- **Two forms of a call.** Each queued event says who it is for (:class:`callevent.Form`):
  a call's three events go to connections that did not ask to combine them, its
  ``call`` event to those that did; a skipped event does not move a connection's
  ``floor``, as the ``call`` shares the ``seq`` of the last of the three.
- **A slow subscriber is dropped, not waited for.** Writes never wait for a peer to
  read. A connection whose unsent bytes pass ``[server] max_send_buffer_bytes`` is
  closed with code 4004 ("too slow"); its client reconnects and resubscribes with the
  last ``seq`` it processed (a replay from the database, or a snapshot), as after any
  lost connection. Its memory stays bounded and every other subscriber goes on.

**Timing, for the benchmark only.** With ``HALLQ_FANOUT_TIMING=1`` in its environment
the server logs, for every batch it fans out, when the batch was published (committed),
when writing began and when the last connection had been written to, on the monotonic
clock that a benchmark on the same machine shares: so a call's delay to a display can be
split into the server's part and the receiving client's part (issue 14). Off by
default, and even on it costs two clock reads per batch, none per connection.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN

from .callevent import Form, wanted
from .protocol import CLOSE_TOO_SLOW

log = logging.getLogger("hallq.fanout")

CHUNK = 256
"""Connections written to between two yields to the event loop."""
TOO_SLOW_CLOSE_TIMEOUT_S = 2.0
TIMING_ENV = "HALLQ_FANOUT_TIMING"
"""Set to ``1`` to log each batch's publish/first-write/last-write times (debug only)."""
TIMING_LOG = "fan-out timing"
"""The start of each timing line, which ``benchmarks/server_bench.py`` looks for."""

Ev = tuple[int, str, dict[str, Any], str]
"""A published event: (seq, type, data, encoded message)."""


class Subscriber(Protocol):
    """What the fan-out needs of a connection (``server.Client``)."""

    ws: Any
    floor: int
    live: bool
    combined: bool


def frame(text: str) -> tuple[bytes, bytes]:
    """(payload, whole frame) of a text message, encoded once for every connection."""
    payload = text.encode()
    return payload, Frame(Opcode.TEXT, payload).serialize(mask=False)


def writable(ws: Any) -> bool:
    """Whether a connection takes a frame now: open, and not amid a fragmented message."""
    return ws.protocol.state is OPEN and ws.send_in_progress is None


def write(ws: Any, payload: bytes, framed: bytes) -> None:
    """One message to one connection, never waiting (like ``websockets.broadcast``)."""
    if not writable(ws):
        return
    if ws.protocol.extensions:  # compression negotiated: this connection's own frame
        ws.protocol.send_text(payload)
        ws.send_data()
    else:
        ws.transport.write(framed)


class FanOut:
    """The one writer of events to subscribers, in ``seq`` order on every connection."""

    def __init__(
        self,
        subscribers: Callable[[], Iterable[Subscriber]],
        visible: Callable[[Any, Ev], bool],
        max_buffer: int,
        drop: Callable[[Any], None],
        chunk: int = CHUNK,
        timing: bool | None = None,
        sees_all: Callable[[Any], bool] = lambda _client: False,
    ) -> None:
        self.subscribers = subscribers
        self.visible = visible
        self.sees_all = sees_all
        """Whether ``visible`` is true of every event for a connection (staff devices)."""
        self.max_buffer = max_buffer
        self.drop = drop
        self.chunk = chunk
        self.outbox: collections.deque[tuple[Ev, Form, bytes, bytes]] = collections.deque()
        self._wake = asyncio.Event()
        self.timing = os.environ.get(TIMING_ENV) == "1" if timing is None else timing
        self._published_at: float | None = None  # first publish of the coming batch

    def publish(self, events: list[tuple[Ev, Form]]) -> None:
        """Queue committed events (in ``seq`` order) for every live subscriber."""
        for ev, form in events:
            self.outbox.append((ev, form, *frame(ev[3])))
        if self.timing and self._published_at is None:
            self._published_at = time.monotonic()
        self._wake.set()

    def deliver(self, client: Subscriber) -> None:
        """Everything queued that ``client`` has not had yet, now (before its reply)."""
        if client.live:
            for ev, form, payload, framed in self.outbox:
                self._send(client, ev, form, payload, framed)
            self.check(client)

    def _send(self, client: Subscriber, ev: Ev, form: Form, payload: bytes, framed: bytes) -> None:
        if not wanted(form, client.combined) or ev[0] <= client.floor:
            return
        client.floor = ev[0]
        if self.visible(client, ev):
            write(client.ws, payload, framed)

    async def run(self) -> None:
        """Write queued events to every live subscriber, a chunk at a time."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.outbox:
                batch = list(self.outbox)
                published, self._published_at = self._published_at, None
                begun = time.monotonic() if self.timing else 0.0
                targets = [c for c in self.subscribers() if c.live]
                first, whole = batch[0][0][0], (joined(batch, False), joined(batch, True))
                for i in range(0, len(targets), self.chunk):
                    for c in targets[i : i + self.chunk]:
                        if not c.live:  # dropped while this batch was going out
                            continue
                        try:
                            ws = c.ws
                            if c.floor < first and not ws.protocol.extensions and self.sees_all(c):
                                # The common case: the whole batch in one write.
                                data, last = whole[c.combined]
                                if data:
                                    c.floor = last
                                    if writable(ws):
                                        ws.transport.write(data)
                            else:
                                for ev, form, payload, framed in batch:
                                    self._send(c, ev, form, payload, framed)
                            self.check(c)
                        except Exception:  # one broken connection must not stop the rest
                            log.exception("writing events to a connection failed")
                            self.drop(c)
                    if i + self.chunk < len(targets):
                        await asyncio.sleep(0)  # let requests be answered meanwhile
                for _ in batch:
                    self.outbox.popleft()
                if self.timing:
                    self._log_timing(batch, len(targets), published, begun)

    @staticmethod
    def _log_timing(batch: list[Any], conns: int, published: float | None, begun: float) -> None:
        """One line a benchmark can match to its call by ``seq`` (monotonic seconds)."""
        log.info(
            "%s: seqs %d-%d, %d connections, published %.6f, begun %.6f, ended %.6f",
            TIMING_LOG,
            batch[0][0][0],
            batch[-1][0][0],
            conns,
            begun if published is None else published,
            begun,
            time.monotonic(),
        )

    def check(self, client: Subscriber) -> None:
        """Drop ``client`` if more than the limit is waiting to be sent to it."""
        transport = client.ws.transport
        if transport is not None and transport.get_write_buffer_size() > self.max_buffer:
            self.drop(client)


def joined(batch: list[tuple[Ev, Form, bytes, bytes]], combined: bool) -> tuple[bytes, int]:
    """The frames of ``batch`` a connection that sees everything gets, as one write, and
    the ``seq`` of the last: what :meth:`FanOut._send` would write one by one to a
    connection whose ``floor`` is below the batch. One write instead of one per event
    is one system call per connection (a finish is four events, measured: the
    system call, ~10-15 µs on loopback here, is most of a connection's cost)."""
    parts = [(ev[0], framed) for ev, form, _payload, framed in batch if wanted(form, combined)]
    return b"".join(f for _, f in parts), parts[-1][0] if parts else 0


async def close_too_slow(ws: Any) -> None:
    """Close a connection that does not read its events (code 4004: resubscribe)."""
    ws.close_timeout = TOO_SLOW_CLOSE_TIMEOUT_S
    try:
        await ws.close(CLOSE_TOO_SLOW, "too slow; reconnect and subscribe again")
    except Exception:  # already gone: nothing to tell
        log.debug("closing a slow subscriber failed", exc_info=True)
