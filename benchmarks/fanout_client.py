"""Lean display clients for the fan-out benchmark: a display's cost, not Python's.

``server_bench.py``'s fan-out phase times a call's arrival at a thousand (or ten
thousand) displays. Held as websockets-client connections in two Python processes on
the server's own two cores, every display parses every frame through an asyncio
protocol, a reader task and a queue: the clients, not the server, then decide "the last
display has it" (issue 14, session 6 measured it). A real display is a machine of its own
and takes nothing from the server's cores.

Here each display is a plain socket: the WebSocket handshake, ``hello`` and
``subscribe`` go through websockets' sans-I/O client (so they are the protocol's own),
and after that one epoll loop per process reads the raw bytes of every socket. It finds
frame boundaries from the two-to-ten-byte headers (a server's frames are not masked),
timestamps the read that completed the call's frame, answers pings, and nothing else.
Once every display has the call, and outside the timed part, each display's call frame
is parsed as JSON and checked to be the same ``call`` (or ``ticket.called``) event.

The worker speaks the same pipe protocol as ``server_bench._display_worker``:
``ready``; ``go`` → ``armed`` → the list of arrival times (``time.monotonic``);
``stop`` → the number of event frames received.
"""

from __future__ import annotations

import json
import selectors
import socket
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

EVENT = b'{"v":1,"event"'
"""How every event message starts (``protocol.dumps`` writes ``v`` then ``event``)."""
CALLS = (b'{"v":1,"event":"call"', b'{"v":1,"event":"ticket.called"')
"""A call as a combined display gets it, and as a server without ``call`` sends it."""
BATCH = 100
"""Connections set up at a time (the server's listen backlog is 100)."""
TIMEOUT_S = 60.0


class _Setup:
    """One display's connection while it is being set up, through websockets' own client."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.proto = ClientProtocol(parse_uri(f"ws://127.0.0.1:{port}/"))
        self.pending: list[Any] = []  # the handshake's response, then parsed messages
        self.proto.send_request(self.proto.connect())
        self._flush()

    def _flush(self) -> None:
        for data in self.proto.data_to_send():
            if data:
                self.sock.sendall(data)

    def send(self, text: str) -> None:
        self.proto.send_text(text.encode())
        self._flush()

    def next(self) -> Any:
        """The next handshake response or text message (parsed), reading as needed."""
        while True:
            for ev in self.proto.events_received():
                if isinstance(ev, Response):
                    if ev.status_code != 101:
                        raise RuntimeError(f"handshake refused: {ev.status_code}")
                    self.pending.append(ev)
                elif isinstance(ev, Frame) and ev.opcode is Opcode.TEXT:
                    self.pending.append(json.loads(ev.data))
            if self.pending:
                return self.pending.pop(0)
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("server closed a display's connection during setup")
            self.proto.receive_data(data)

    def reply(self, rid: str) -> dict[str, Any]:
        while True:
            msg = self.next()
            if isinstance(msg, dict) and msg.get("id") == rid:
                return msg


def _request(rid: str, op: str, args: dict[str, Any]) -> str:
    return json.dumps({"v": 1, "id": rid, "op": op, "args": args})


def open_displays(port: int, n: int, token: str = "display-1-secret") -> list[socket.socket]:
    """``n`` subscribed displays (calls combined where the server offers it), as sockets.

    Subscribed with ``since`` at the hello's ``seq``, as the websockets client does:
    ten thousand snapshots would measure the readers, not the fan-out.
    """
    out: list[socket.socket] = []
    combined: dict[str, Any] = {"calls": "combined"}
    for start in range(0, n, BATCH):
        batch = [_Setup(port) for _ in range(min(BATCH, n - start))]
        for s in batch:
            s.next()  # the handshake's 101
            s.send(_request("h", "hello", {"token": token}))
        seqs = []
        for s in batch:
            hello = s.reply("h")
            if not hello["ok"]:
                raise RuntimeError(f"hello refused: {hello}")
            seqs.append(hello["result"]["seq"])
        for s, seq in zip(batch, seqs, strict=True):
            s.send(_request("s", "subscribe", {"since": seq, **combined}))
        for s, seq in zip(batch, seqs, strict=True):
            answer = s.reply("s")
            if not answer["ok"] and combined:  # a server from before the call event
                combined = {}
                s.send(_request("s2", "subscribe", {"since": seq}))
                answer = s.reply("s2")
            if not answer["ok"]:
                raise RuntimeError(f"subscribe refused: {answer}")
            while s.next().get("event") != "subscribed":
                pass
            if s.pending or s.proto.events_received():
                raise RuntimeError("an event arrived during setup; nothing should be called yet")
            s.sock.setblocking(False)
            out.append(s.sock)
    return out


class Lean:
    """Every display's socket in one epoll loop: frame boundaries, pings, call arrivals."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.socks = socks
        self.rest = [b""] * len(socks)  # an incomplete frame's bytes, per socket
        self.sel = selectors.EpollSelector()
        for i, s in enumerate(socks):
            self.sel.register(s, selectors.EVENT_READ, i)
        self.frames = 0
        self.arrived: dict[int, float] = {}
        self.calls: dict[int, bytes] = {}  # each display's call payload, checked later
        self.closed = 0

    def pump(self, timeout: float | None) -> list[Any]:
        """Read whatever is ready; returns the keys of other registered files that are."""
        other = []
        for key, _ in self.sel.select(timeout):
            i = key.data
            if not isinstance(i, int):
                other.append(key.data)
                continue
            self._read(i)
        return other

    def _read(self, i: int) -> None:
        sock = self.socks[i]
        try:
            data = sock.recv(262144)
        except BlockingIOError:
            return
        now = time.monotonic()
        if not data:
            self.sel.unregister(sock)
            self.closed += 1
            return
        buf = self.rest[i] + data if self.rest[i] else data
        pos, end = 0, len(buf)
        while end - pos >= 2:
            length, head = buf[pos + 1] & 0x7F, 2
            if length == 126:
                if end - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if end - pos - head < length:
                break
            op, body = buf[pos] & 0x0F, pos + head
            if op == 1 and buf.startswith(EVENT, body):
                self.frames += 1
                if buf.startswith(CALLS, body) and i not in self.arrived:
                    self.arrived[i] = now
                    self.calls[i] = buf[body : body + length]
            elif op == 9:  # ping: a display that does not answer is closed after 20 s
                pong = Frame(Opcode.PONG, buf[body : body + length]).serialize(mask=True)
                sock.sendall(pong)
            pos = body + length
        self.rest[i] = buf[pos:]

    def check(self) -> None:
        """Every display got the same call event (parsed now, outside the timed part)."""
        seqs = set()
        for payload in self.calls.values():
            msg = json.loads(payload)
            ticket = msg["data"]["ticket"] if msg["event"] == "call" else msg["data"]
            if msg["event"] not in ("call", "ticket.called") or not ticket.get("label"):
                raise RuntimeError(f"not a call: {msg}")
            seqs.add(msg["seq"])
        if len(seqs) > 1:
            raise RuntimeError(f"displays got different calls: seqs {sorted(seqs)}")


def lean_worker(port: int, n: int, pipe: Any) -> None:
    """A client process holding ``n`` lean displays (see the module docstring)."""
    lean = Lean(open_displays(port, n))
    lean.sel.register(pipe, selectors.EVENT_READ, "pipe")
    pipe.send("ready")
    deadline: float | None = None
    while True:
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        woke = lean.pump(timeout)
        if deadline is not None and (len(lean.arrived) >= n or time.monotonic() >= deadline):
            deadline = None
            lean.check()
            pipe.send(list(lean.arrived.values()))
        if "pipe" in woke:
            cmd = pipe.recv()
            if cmd == "stop":
                pipe.send(lean.frames)
                break
            # "go": a call is about to be made; report its arrivals
            lean.arrived.clear()
            lean.calls.clear()
            deadline = time.monotonic() + TIMEOUT_S
            pipe.send("armed")
    for s in lean.socks:
        s.close()
