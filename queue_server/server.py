"""The queue server: WebSocket protocol in, hall operations on the database, events out.

A thin adapter, as STYLE.md asks: decode a request (``protocol``), check the role, run
the operation on the database thread (``store``), answer after the commit, and publish
the committed events to subscribers in sequence order. ``/healthz`` answers plain HTTP
on the same port.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import functools
import http
import json
import logging
import os
import re
import secrets
import signal
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websockets
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from . import __version__, callevent, fanout, photos
from . import protocol as p
from .callevent import Form
from .core import permissions, rules
from .core import ratings as ratings_table
from .core.casefile import CaseOp, number_keys
from .core.errors import Forbidden, HallError
from .core.hall import ALWAYS_OPEN, Clerk, HallConfig
from .core.pins import check_pin, hash_pin
from .core.rectify import ROp
from .core.states import WindowOp
from .notify import outbox
from .notify.sender import Notifier
from .store import (
    accountability,
    auditlog,
    casefile_summaries,
    estimate_records,
    lockout,
    national,
    reportbook,
    reports,
    summaries,
    workdays,
)
from .store import db as dbm
from .store import schema as s
from .store import statements as st
from .store.ops import Actor, HallOps, Outcome

log = logging.getLogger("hallq.server")
REPLAY_MAX = 20_000
"""The most events a resume replays; further behind, a snapshot is cheaper."""
WEB_DIR = Path(__file__).parent / "web"
Ev = tuple[int, str, dict[str, Any], str]
"""A published event: (seq, type, data, encoded message)."""
HELLO_TIMEOUT_S = 10.0
READ_OPS = frozenset(
    {
        "snapshot",
        "ticket.status",
        "window.waiting",
        "clerk.today",
        "ledger.list",
        "ledger.get",
        "ledger.export",
        "casefile.list",
        "casefile.get",
        "casefile.figures",
        "casefile.receipt",
        "casefile.lights",
        "alert.list",
        "estimate.accuracy",
        "reminder.list",
        "report.today",
        "report.get",
        "audit.list",
        "ranking.get",
    }
)
"""Operations that change nothing: served by the readers, beside the writer."""
MAX_IN_FLIGHT = 64
SWEEP_INTERVAL_S = 1.0
OWN_PUBLISH_GRACE_S = 0.5
"""How long this process's own commit may take to publish its events before its
notification reads them back from the database (``_own_commit_heard``)."""
STOP_GRACE_S = 5.0
CITIZEN_POLLED = ("ticket.status", "hall.info")
"""What a phone page might ask in a loop; its events keep it current without asking."""
ADDRESS_GUESSES = 20
ADDRESS_LOCK_S = 900
PRUNE_INTERVAL_S = 3600.0
LIGHTS_INTERVAL = dt.timedelta(minutes=1)
"""How often, on the server's clock, the server asks whether case-file lights may have
moved: they move only with the hall-local day or a calendar loaded meanwhile (a case's
own steps write its light), so the full look runs only when one of those changed
(``CaseFiles.lights_epoch``), and once after every start."""


class TokenBucket:
    """``burst`` requests at once, then ``rate`` a second: a phone page's allowance."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst, self.rate = burst, rate
        self.tokens: float = float(burst)
        self.at: float | None = None

    def take(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclasses.dataclass(eq=False)
class Client:
    """One connection: who it is, and its place in the event stream."""

    ws: ServerConnection
    actor: Actor | None = None
    live: bool = False
    pending: list[tuple[Ev, Form]] | None = None  # events held while a subscribe answers
    ticket_token: str | None = None  # a citizen's phone page: its own ticket only
    queue: str | None = None  # the citizen's ticket's current queue
    # The sequence number the subscribe answer covered: events up to it were in the
    # snapshot or the replay, so a late catch-up of this process never sends them again.
    floor: int = 0
    combined: bool = False  # subscribed with calls "combined": one `call` per call
    address: str = "?"
    reads: TokenBucket = dataclasses.field(default_factory=lambda: TokenBucket(5, 1.0))
    in_flight: asyncio.Semaphore = dataclasses.field(
        default_factory=lambda: asyncio.Semaphore(MAX_IN_FLIGHT)
    )


class HallServer:
    def __init__(
        self,
        config: HallConfig,
        db_url: str,
        *,
        ignore_hours: bool = False,
        clock: Callable[[], dt.datetime] | None = None,
        sweep_interval: float = SWEEP_INTERVAL_S,
    ) -> None:
        if ignore_hours:
            config = dataclasses.replace(
                config,
                queues=tuple(dataclasses.replace(q, hours=ALWAYS_OPEN) for q in config.queues),
            )
        self.config = config
        self.ops = HallOps(config)
        self.engine = dbm.open_engine(db_url, hall=config.hall_id)
        self._serving: Connection | None = None  # holds the hall's serving lock (PostgreSQL)
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.sweep_interval = sweep_interval
        self._lights_epoch: tuple[Any, ...] | None = None  # None: look at the first sweep
        self.lights_checks = 0
        """Full looks at the case-file lights since the start (tests count them)."""
        self.notes_heard = 0
        """Notifications of the hall's commits handled (PostgreSQL; tests count them)."""
        self.catch_up_reads = 0
        """Reads of "events after N" from the database (tests count them)."""
        self.db_url = db_url
        self.committer: dbm.Committer | None = None
        self.reader: dbm.Reader | None = None
        self.notifier: Notifier | None = None
        self.clients: set[Client] = set()
        # PostgreSQL may be shared by several server processes: follow their events too.
        self._shared_db = self.engine.dialect.name == "postgresql"
        self._catching_up = asyncio.Lock()
        self.last_seq = 0
        self.server: Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: set[asyncio.Task[Any]] = set()  # timers and listeners
        self._per_address: collections.Counter[str] = collections.Counter()
        self._static = _static_files()
        self._hall_info = json.loads(p.dumps(hall_info(config)))
        self.fanout = fanout.FanOut(
            lambda: self.clients,
            _visible,
            config.server.max_send_buffer_bytes,
            self._too_slow,
            sees_all=_sees_all,
        )

    # -- life cycle --------------------------------------------------------------------

    def prepare_database(self) -> None:
        """Check the schema is current and the windows exist; refuse to run otherwise.

        On PostgreSQL the hall's serving lock is taken first (shared with the hall's
        other server processes) and held while this process runs, so `hallq db upgrade`
        cannot migrate the hall under it, and the schema checked is the one served.
        """
        if self._serving is None:
            self._serving = dbm.hold_serving_lock(self.engine)
        try:
            dbm.check_schema(self.engine)
        except dbm.HallDatabaseError:
            if self._serving is not None:
                self._serving.close()
                self._serving = None
            raise
        dbm.ensure_windows(self.engine, self.config)
        with self.engine.connect() as conn:
            self.last_seq = conn.execute(select(func.max(s.events.c.seq))).scalar() or 0
        for warning in workdays.calendar_warnings(self.engine, self.config, self.clock()):
            log.warning("%s", warning)

    async def start(self, host: str, port: int) -> Server:
        self.loop = asyncio.get_running_loop()
        self.prepare_database()
        self.committer = dbm.Committer(self.engine, self.clock)
        self.reader = dbm.Reader(self.db_url, self.clock, hall=self.config.hall_id)
        if self.config.notify.alerts or self.config.ratings.upload_url:
            self.committer.on_events = self._queue_alerts
            env = self.config.ratings.upload_secret_env
            self.notifier = Notifier(
                self.committer, self.config.notify, upload_secret=os.environ.get(env or "") or None
            )
            self._background.add(self._spawn(self.notifier.run()))
        # Periods that ended while the server was down are assessed before it serves, so
        # the first requests never race with that write; later ones on the clock.
        await self._assess()
        settings = self.config.server
        self.server = await serve(
            self._handle,
            host,
            port,
            process_request=self._http,
            # Before sign-in only a hello is read: a small frame limit, so half-sent big
            # frames from strangers cost little memory. Raised after hello (_handle).
            max_size=settings.max_hello_bytes,
            ssl=_tls_context(settings.tls_cert, settings.tls_key),
            ping_interval=20,
            ping_timeout=20,
            server_header=f"hallq/{__version__}",
            # Off by default: per-connection zlib state costs ~40 KB of memory per idle
            # display and a compression per event per connection (issue 14).
            compression="deflate" if settings.compression == "deflate" else None,
        )
        self._background.add(self._spawn(self.fanout.run()))
        self._background.add(self._spawn(self._sweeper()))
        self._background.add(self._spawn(self._watch_queues()))
        if self._shared_db:
            self._background.add(self._spawn(self._listen()))
        log.info("serving hall on %s:%d (seq %d)", host, self.port, self.last_seq)
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop taking requests, let those in progress be answered, close connections.

        Timers and listeners stop at once; requests already handed to the database get
        a few seconds to commit and be answered, so a client is not left guessing about
        work that was done (it could still retry safely with its idempotency key).
        """
        for t in list(self._background):
            t.cancel()
        requests = [t for t in self._tasks if t not in self._background]
        if requests:
            _done, late = await asyncio.wait(requests, timeout=STOP_GRACE_S)
            for t in late:
                t.cancel()
        if self.server is not None:
            self.server.close(close_connections=True)
            await self.server.wait_closed()
        if self.committer is not None:
            await asyncio.to_thread(self.committer.close)
            log.info("%s", self.committer.summary())
            self.committer = None
        if self.reader is not None:
            await asyncio.to_thread(self.reader.close)
            self.reader = None
        if self._serving is not None:
            self._serving.close()
            self._serving = None
        self.engine.dispose()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _queue_alerts(self, conn: Connection, now: dt.datetime, published: dbm.Published) -> None:
        """On the database thread, in the events' transaction: the alerts they cause."""
        queued = outbox.enqueue(conn, now, self.config, published)
        # Ratings and closed ledger records for the upward report: the same outbox.
        queued += national.enqueue(conn, now, self.config, published)
        if queued and self.loop is not None:
            notifier = self.notifier
            if notifier is not None:
                self.loop.call_soon_threadsafe(notifier.wake.set)  # send them now

    # -- HTTP --------------------------------------------------------------------------

    def _http(self, connection: ServerConnection, request: HttpRequest) -> HttpResponse | None:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return self._healthz(request)
        if path.startswith(photos.PREFIX):
            status, body, ctype = photos.serve(
                self.config, path, request.headers.get("Authorization", "")
            )
            return _response(http.HTTPStatus(status), body, ctype)
        if request.headers.get("Upgrade", "").lower() == "websocket" and path in ("/", "/ws"):
            if not self._origin_allowed(request.headers):
                log.info("WebSocket refused: origin not allowed")
                return _response(http.HTTPStatus.FORBIDDEN, "origin not allowed\n", "text/plain")
            return None
        return _static(path, self._static)

    def _healthz(self, request: HttpRequest) -> HttpResponse:
        """Up or not for anyone (load balancers); the counters only with a staff token.

        The counts and the event sequence tell an outsider how busy the hall is and
        when it changes; a supervisor's or admin's token (``Authorization: Bearer``)
        shows them."""
        body: dict[str, Any] = {"status": "ok", "db": "ok" if self.committer else "down"}
        auth = request.headers.get("Authorization", "")
        dev = self.config.token(auth[7:]) if auth.startswith("Bearer ") else None
        if dev is not None and dev.role in ("supervisor", "admin"):
            body.update(
                version=__version__,
                seq=self.last_seq,
                clients=len(self.clients),
                connections=sum(self._per_address.values()),
                # operations committed and the commits they took (group commit at work)
                ops=self.committer.ops if self.committer else 0,
                commits=self.committer.groups if self.committer else 0,
            )
        return _response(http.HTTPStatus.OK, json.dumps(body) + "\n", "application/json")

    def _origin_allowed(self, headers: Headers) -> bool:
        """A page on another site must not drive a hall PC's browser into our WebSocket.

        Clients that send no Origin (kiosk, display, gateway) are not browsers. A browser
        page is allowed from this server itself (the Host it asked) or a listed origin.
        """
        origin = headers.get("Origin")
        if origin is None:
            return True
        if origin in self.config.server.allowed_origins:
            return True
        host = headers.get("Host", "")
        return origin in (f"http://{host}", f"https://{host}")

    # -- connections -------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        limits = self.config.server
        address = str(ws.remote_address[0]) if ws.remote_address else "?"
        if (
            sum(self._per_address.values()) >= limits.max_connections
            or self._per_address[address] >= limits.max_connections_per_address
        ):
            log.warning("connection refused: too many connections")
            await ws.close(CLOSE_TRY_LATER, "too many connections; try again later")
            return
        self._per_address[address] += 1
        client = Client(ws, address=address)
        try:
            if not await self._hello(client):
                return
            # Signed in: requests up to 16x the request limit are read, so an oversized
            # one gets a clear error reply; beyond that websockets closes with 1009.
            ws.protocol.max_message_size = max(self.config.rules.max_message_bytes * 16, 1 << 20)
            self.clients.add(client)
            async for message in ws:
                await client.in_flight.acquire()
                self._spawn(self._serve_one(client, message))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            self._per_address[address] -= 1
            if self._per_address[address] <= 0:
                del self._per_address[address]

    async def _hello(self, client: Client) -> bool:
        try:
            text = await asyncio.wait_for(client.ws.recv(), HELLO_TIMEOUT_S)
        except TimeoutError:
            await client.ws.close(p.CLOSE_AUTH_TIMEOUT, "no hello")
            return False
        except websockets.ConnectionClosed:
            return False  # gone before a word, or a first frame over the hello limit
        rid: Any = None
        try:
            req = p.parse_request(text, self.config.rules.max_message_bytes)
            rid = req.id
            if req.op != "hello":
                raise p.ProtocolError(p.BAD_REQUEST, "the first message must be hello", req.id)
            version = req.args.get("protocol", p.VERSION)
            if version != p.VERSION:
                raise p.ProtocolError(
                    p.BAD_REQUEST,
                    f"protocol {version} is not spoken here; this server speaks {p.VERSION}",
                    req.id,
                )
            actor = await self._authenticate(client, req.args)
        except (p.ProtocolError, HallError) as exc:
            rid = getattr(exc, "request_id", None) or rid
            code = getattr(exc, "code", p.BAD_REQUEST)
            details = exc.details if isinstance(exc, HallError) else None
            await client.ws.send(p.error(rid, code, getattr(exc, "message", str(exc)), details))
            await client.ws.close(p.CLOSE_AUTH_FAILED, "authentication failed")
            log.info("authentication refused (%s)", code)
            return False
        except Exception:
            log.exception("sign-in failed")
            await client.ws.send(p.error(rid, p.INTERNAL, "sign-in failed; try again"))
            await client.ws.close(1011, "internal error")
            return False
        client.actor = actor
        await client.ws.send(
            p.ok(
                req.id,
                {
                    "device": actor.name,
                    "role": actor.role,
                    "window": actor.window,
                    # A kiosk learns whether the hall trusts its ID card reader, so an
                    # unregistered reader is reported instead of refusing citizens.
                    "id_reader": actor.id_reader,
                    # What this credential may do (the one permission table): a page
                    # draws only those buttons and panels.
                    "may": list(permissions.operations_of(actor.role)),
                    "server": __version__,
                    "protocol": p.VERSION,
                    "seq": self.last_seq,
                    "hall": self.config.name,
                },
            )
        )
        log.info("%s signed in as %s", actor.name, actor.role)
        return True

    async def _authenticate(self, client: Client, args: dict[str, Any]) -> Actor:
        token, ticket = args.get("token"), args.get("ticket")
        if isinstance(args.get("clerk"), str):
            actor = await self._clerk_sign_in(args, client.address)
            if actor.role == "clerk":
                await self._claim_window(actor, bool(args.get("take_over")))
            return actor
        if isinstance(token, str):
            dev = self.config.token(token)
            if dev is None:
                raise HallError("unknown token", code="unauthorized")
            actor = Actor(dev.name, dev.role, dev.window, id_reader=dev.id_reader)
            if actor.role == "clerk":
                await self._claim_window(actor, bool(args.get("take_over")))
            return actor
        if isinstance(ticket, str):
            assert self.committer is not None
            (tid, queue), _ = await self.committer.submit(
                lambda conn, now: (self.ops.ticket_for_token(conn, ticket, now), [])
            )
            # A phone page needs a connection or two; a flood on one token is refused.
            same = sum(1 for c in self.clients if c.ticket_token == ticket)
            if same >= self.config.server.max_connections_per_ticket:
                raise HallError("this ticket is open in too many places already", code="too_many")
            client.ticket_token, client.queue = ticket, queue
            return Actor(f"ticket-{tid}", "citizen", ticket_id=tid)
        raise HallError("hello needs a token", code="unauthorized")

    async def _clerk_sign_in(self, args: dict[str, Any], address: str) -> Actor:
        """A clerk's id and PIN at a window; repeated wrong PINs lock the id for a while."""
        clerk = await self._check_staff(args["clerk"], args.get("pin"), address)
        window, role = args.get("window"), args.get("role")
        if window is None and (role is not None or clerk.roles):
            # Back-office staff: no window, one of their roles, their department.
            if role is None and len(clerk.roles) == 1:
                role = clerk.roles[0]
            if role not in clerk.roles:
                raise HallError(
                    f"{clerk.id} signs in as one of: {', '.join(clerk.roles) or 'a window clerk'}",
                    code="forbidden",
                )
            return Actor(clerk.id, role, department=clerk.department)
        if not isinstance(window, int) or self.config.window(window) is None:
            raise HallError("choose a window to sign in at", code="unknown_window")
        if not clerk.may_use(window):
            raise HallError(f"clerk {clerk.id} may not work at window {window}", code="forbidden")
        return Actor(clerk.id, "clerk", window)

    def _senior_by_card(self, actor: Actor, args: dict[str, Any]) -> bool:
        """An elderly citizen's card read at a kiosk with a reader: no guide needed.

        The birth date is used for this decision only and is never stored or logged;
        the audit row records that the ID card confirmed the priority.
        """
        birth = args.get("birth_date")
        age = None
        if isinstance(birth, str):
            try:
                today = rules.service_day(self.clock(), self.config.tz)
                age = rules.age_on(dt.date.fromisoformat(birth), today)
            except ValueError:
                raise HallError("birth_date must be YYYY-MM-DD", code="bad_request") from None
        return permissions.senior_by_card(actor, args, age, self.config.rules.senior_age)

    async def _claim_window(self, actor: Actor, take_over: bool) -> None:
        """One console per window: a second sign-in is refused unless it takes over.

        Taking over signs the first console out, with a close code that says why, so
        nobody keeps working a window that is no longer theirs. The same identity may
        hold several connections (a console back after a dropped link before the server
        saw the old one go, a second tab): it is still the same person at the window.
        """
        strangers = [
            c
            for c in self.clients
            if c.actor is not None
            and c.actor.role == "clerk"
            and c.actor.window == actor.window
            and c.actor.name != actor.name
        ]
        if strangers and not take_over:
            who = strangers[0].actor.name if strangers[0].actor else "?"
            raise HallError(
                f"window {actor.window} is in use by {who}; sign in again to take it over",
                code="window_in_use",
                clerk=who,
            )
        for c in strangers:
            self.clients.discard(c)
            with contextlib.suppress(websockets.ConnectionClosed):
                await c.ws.close(p.CLOSE_TAKEN_OVER, f"taken over by {actor.name}"[:100])
        if strangers:
            log.info("window %s taken over", actor.window)

    async def _check_staff(self, clerk_id: str, pin: Any, address: str) -> Clerk:
        """A staff member's id and PIN, checked with the hall's one lock-out.

        Used for a clerk's sign-in and for a kiosk's priority ticket, so both count the
        same wrong guesses. Each guess is counted in the database before its PIN is
        checked: guesses sent at once cannot share one stale count, and every server
        process honours the same lock. Guesses are counted per clerk id (5, then five
        minutes' lock) and per source address (20, then fifteen minutes), so trying
        one PIN on many ids is stopped too. An unknown id costs the same hashing as a
        known one, so ids cannot be told apart by time; it counts only against the
        address, so nobody can lock a real clerk out by mistyping an id. Locks are
        published (``signin.locked``) for supervisors.
        """
        clerk = self.config.clerk(clerk_id)
        subjects = [f"addr:{address}"] + ([f"clerk:{clerk.id}"] if clerk is not None else [])
        assert self.committer is not None

        def reserve(conn: Connection, now: dt.datetime) -> tuple[None, list[Any]]:
            events = []
            for subject in subjects:
                kind, _, who = subject.partition(":")
                until = lockout.reserve(
                    conn,
                    subject,
                    now,
                    limit=ADDRESS_GUESSES if kind == "addr" else lockout.GUESSES_BEFORE_LOCK,
                    lock_for=dt.timedelta(
                        seconds=ADDRESS_LOCK_S if kind == "addr" else lockout.LOCK_S
                    ),
                )
                if until is not None:
                    data = {"kind": kind, "who": who, "until": until.isoformat()}
                    events.append(("signin.locked", data))
            return None, events

        _, published = await self.committer.submit(reserve)
        if published:
            await self._publish(published)
        if clerk is None:
            await asyncio.to_thread(check_pin, str(pin), _dummy_hash())
            raise HallError("wrong clerk id or PIN", code="unauthorized")
        ok = isinstance(pin, str) and await asyncio.to_thread(check_pin, pin, clerk.pin_hash)
        if not ok:
            raise HallError("wrong clerk id or PIN", code="unauthorized")

        def clear(conn: Connection, _now: dt.datetime) -> tuple[None, list[Any]]:
            for subject in subjects:
                lockout.succeeded(conn, subject)
            return None, []

        await self.committer.submit(clear)
        return clerk

    async def _serve_one(self, client: Client, message: str | bytes) -> None:
        try:
            reply = await self._dispatch(client, message)
            # Its own events (published, not yet fanned out to the others), then the
            # reply (written before send's first wait): the sender never waits for the
            # hall's screens.
            self.fanout.deliver(client)
            await client.ws.send(reply)
        except websockets.ConnectionClosed:
            pass
        finally:
            client.in_flight.release()

    def _too_slow(self, client: Client) -> None:
        """A connection not reading what is sent to it: dropped (it resubscribes)."""
        if client not in self.clients:
            return
        self.clients.discard(client)
        client.live = False
        log.warning("dropped a connection that does not keep up (%s)", client.address)
        self._spawn(fanout.close_too_slow(client.ws))

    async def _dispatch(self, client: Client, message: str | bytes) -> str:
        rid: Any = None
        try:
            req = p.parse_request(message, self.config.rules.max_message_bytes)
            rid = req.id
            actor = client.actor
            assert actor is not None
            try:
                permissions.check_role(actor, req.op, req.args)
                if permissions.needs_staff_confirmation(
                    actor, req.op, req.args
                ) and not self._senior_by_card(actor, req.args):
                    staff, pin = req.args.get("staff"), req.args.get("staff_pin")
                    if not isinstance(staff, str) or not isinstance(pin, str):
                        raise Forbidden(
                            "a priority ticket needs a hall guide's staff number and PIN",
                            code="staff_needed",
                        )
                    await self._check_staff(staff, pin, client.address)
                if (
                    actor.role == "citizen"
                    and req.op in CITIZEN_POLLED
                    and not client.reads.take(time.monotonic())
                ):
                    # A phone page has events; polling it in a loop only loads the hall.
                    raise HallError(
                        "too many requests from this page; wait a moment", code="rate_limited"
                    )
            except HallError as exc:
                await self._audit_refusal(actor, req, exc)
                raise
            if req.op == "subscribe":
                return await self._subscribe(client, req)
            result = await self._run(actor, req)
            return p.ok(rid, result)
        except p.ProtocolError as exc:
            return p.error(
                exc.request_id if exc.request_id is not None else rid, exc.code, exc.message
            )
        except HallError as exc:
            return p.error(rid, exc.code, exc.message, exc.details or None)
        except Exception:
            log.exception("request failed")
            return p.error(rid, p.INTERNAL, "internal error; the operation was not done")

    async def _audit_refusal(self, actor: Actor, req: p.Request, exc: HallError) -> None:
        """A request refused before it reached the database still leaves its audit row."""
        assert self.committer is not None
        await self.committer.submit(
            lambda c, n: (self.ops.audit_refusal(c, n, actor, req.op, req.args, exc), [])
        )

    # -- operations --------------------------------------------------------------------

    async def _run(self, actor: Actor, req: p.Request) -> Any:
        if req.op == "hall.info":
            return self._hall_info
        if req.op == "hello":
            raise p.ProtocolError(p.BAD_REQUEST, "already signed in", req.id)
        assert self.committer is not None and self.reader is not None
        work = self._work(actor, req)
        if req.op in READ_OPS:
            try:
                result, _ = await self.reader.read(work)
            except HallError as exc:
                if exc.kept:  # a refused read still leaves its record: written by the writer
                    await self._keep(exc)
                raise
            return result
        result, published = await self.committer.submit(work)
        # The sender's own events go out before its reply (protocol.md §1), on every
        # process: the reply is sent only when this returns.
        await self._publish(published)
        return result

    async def _keep(self, exc: HallError) -> None:
        """Write what a refusal on a read connection keeps (its audit row, a counted
        wrong guess) on the database thread; the refusal stands even if this fails."""
        assert self.committer is not None

        def keep(conn: Connection, _now: dt.datetime) -> tuple[None, list[Any]]:
            for write in exc.kept:
                write(conn)
            return None, []

        try:
            await self.committer.submit(keep)
        except Exception:
            log.exception("recording a refusal failed")

    def _work(self, actor: Actor, req: p.Request) -> dbm.Work:
        """The database-thread half of a request: idempotency, the operation, audit."""
        ops, args, op = self.ops, req.args, req.op
        handler = _HANDLERS[op]
        key = req.key if p.OPS[op].idempotent else None

        def work(conn: Connection, now: dt.datetime) -> tuple[Any, list[tuple[str, Any]]]:
            if key is not None:
                if conn.dialect.name == "postgresql":
                    # Claim the key before the operation: a copy of this request on
                    # another server process waits here until this one commits, then
                    # finds its reply below instead of doing the operation twice.
                    claim = json.dumps([self.config.hall_id, actor.name, key])
                    conn.execute(st.IDEMPOTENCY_CLAIM, {"k": claim})
                seen = conn.execute(st.IDEMPOTENCY_GET, {"actor": actor.name, "key": key}).first()
                if seen is not None:
                    if seen.op != op:
                        raise HallError(f"key {key!r} was used for {seen.op}", code="key_reused")
                    return json.loads(seen.reply), []
            try:
                out = handler(self, actor, args, conn, now)
            except HallError as exc:
                # Everything the operation did is rolled back; who tried what is kept.
                exc.kept.append(lambda c, e=exc: ops.audit_refusal(c, now, actor, op, args, e))
                raise
            if isinstance(out, Outcome):
                reply, events = out.reply, out.events
            else:
                reply, events = out, []
            if key is not None:
                conn.execute(
                    st.IDEMPOTENCY_PUT,
                    {"actor": actor.name, "key": key, "op": op, "reply": p.dumps(reply), "at": now},
                )
            return reply, events

        return work

    def _casefile_op(
        self, actor: Actor, args: dict[str, Any], op: CaseOp, conn: Connection, now: dt.datetime
    ) -> Outcome:
        return Outcome(*self.ops.casefiles.transition(conn, actor, args, now, op))

    def _ledger_op(
        self, actor: Actor, args: dict[str, Any], op: ROp, conn: Connection, now: dt.datetime
    ) -> Outcome:
        return Outcome(*self.ops.ledger.step(conn, actor, args, now, op))

    def _own_token(
        self, actor: Actor, args: dict[str, Any], conn: Connection, now: dt.datetime
    ) -> str:
        token = args.get("token")
        if token is None and actor.role == "citizen" and actor.ticket_id is not None:
            return self.ops.token_of(conn, actor.ticket_id)
        if not isinstance(token, str):
            raise HallError("ticket.status needs the ticket's token", code="bad_request")
        tid = self.ops.ticket_id_for_token(conn, token, now)
        try:
            permissions.authorize(actor, "ticket.status", permissions.Target(ticket_id=tid))
        except Forbidden:  # a phone page learns nothing of other tickets, not even that they exist
            raise HallError("no such ticket today", code="unknown_ticket") from None
        return token

    def _snapshot(
        self, conn: Connection, now: dt.datetime, client: Client | None = None
    ) -> dict[str, Any]:
        """The hall's live state; a citizen's phone page gets its own ticket's instead."""
        seq = conn.execute(select(func.max(s.events.c.seq))).scalar() or 0
        if client is not None and client.ticket_token is not None:
            return {"ticket": self.ops.ticket_status(conn, client.ticket_token, now), "seq": seq}
        return dict(self.ops.snapshot(conn, now), seq=seq)

    # -- events ------------------------------------------------------------------------

    async def _publish(self, published: dbm.Published) -> None:
        """Send committed events to live subscribers, in sequence order, once encoded.

        With other server processes on the same PostgreSQL, events they committed may
        come before these: a gap in the sequence means "read the database first", and
        this returns only once these events have gone out, so a reply sent after it
        always follows its own events.
        """
        if not published:
            return
        if self._shared_db and published[0][0] > self.last_seq + 1:
            try:
                await self._catch_up(upto=published[-1][0])
            except Exception:
                # The operation is committed: its reply must not say otherwise. The
                # events follow as soon as the database can be read again.
                log.exception("reading other servers' events failed; will retry")
                self._spawn(self._catch_up(upto=published[-1][0]))
            return
        self._publish_now(published)

    def _publish_now(self, published: dbm.Published) -> None:
        fresh = _encoded(
            [
                (seq, at.isoformat(), kind, data)
                for seq, at, kind, data in published
                if seq > self.last_seq
            ]
        )
        if not fresh:
            return
        self.last_seq = fresh[-1][0][0]
        for c in self.clients:
            if c.pending is not None:
                c.pending.extend(fresh)
        self.fanout.publish(fresh)

    async def _subscribe(self, client: Client, req: p.Request) -> str:
        if client.live or client.pending is not None:
            raise p.ProtocolError(p.BAD_REQUEST, "already subscribed", req.id)
        since = req.args.get("since")
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or since < 0
        ):
            raise p.ProtocolError(p.BAD_REQUEST, "since must be a sequence number", req.id)
        calls = req.args.get("calls", callevent.FORMS[0])
        if calls not in callevent.FORMS:
            raise p.ProtocolError(
                p.BAD_REQUEST, f"calls must be one of {', '.join(callevent.FORMS)}", req.id
            )
        if calls == "combined" and client.ticket_token is not None:
            # A phone page gets its own ticket's events, not the hall's calls.
            raise p.ProtocolError(
                p.BAD_REQUEST,
                "a ticket's page gets its own events; calls cannot be combined",
                req.id,
            )
        client.combined = calls == "combined"
        assert self.reader is not None
        client.pending = []
        try:
            backlog = None if since is None else await self._events_since(since)
            if backlog is not None:
                assert since is not None
                upto = backlog[-1][0][0] if backlog else since
                backlog = [
                    ev
                    for ev, form in backlog
                    if callevent.wanted(form, client.combined) and _visible(client, ev)
                ]
                reply = p.ok(req.id, {"mode": "resume", "seq": upto, "replayed": len(backlog)})
                await client.ws.send(reply)
                for ev in backlog:
                    await client.ws.send(ev[3])
            else:
                snap = await self.reader.read(lambda c, n: self._snapshot(c, n, client))
                upto = snap["seq"]
                await client.ws.send(
                    p.ok(req.id, {"mode": "snapshot", "seq": upto, "snapshot": snap})
                )
            client.floor = upto
            for ev, form in client.pending:
                if callevent.wanted(form, client.combined) and ev[0] > client.floor:
                    client.floor = ev[0]  # the fan-out will not send it again
                    if _visible(client, ev):
                        await client.ws.send(ev[3])
        except websockets.ConnectionClosed:
            # The subscriber went away mid-answer: nothing failed, nobody to tell.
            return ""
        finally:
            # Whatever happened, stop holding events for it (a failed subscribe may be
            # sent again; a held list would only grow).
            client.pending = None
        client.live = True
        return p.dumps({"v": p.VERSION, "event": "subscribed", "seq": upto})

    async def _events_since(self, since: int) -> list[tuple[Ev, Form]] | None:
        """Events after ``since`` from the database, or None: resnapshot instead.

        Each with whom it is for (a call's three events, or its one ``call``), by the
        same rule as live events (:func:`callevent.fold`).

        Always read from the database, not from what this process has published: on a
        process that lags behind another one's commits, the database still has them, so
        a display failing over resumes with nothing missed.
        """
        assert self.reader is not None

        def read(conn: Connection, _now: dt.datetime) -> list[Any] | None:
            e = s.events.c
            oldest, newest = conn.execute(select(func.min(e.seq), func.max(e.seq))).one()
            newest = newest or 0
            if since > newest:
                return None  # a sequence from another database (or a reset one)
            if since == newest:
                return []
            if since < oldest - 1 or newest - since > REPLAY_MAX:
                return None  # pruned, or so far behind that a snapshot is cheaper
            return list(
                conn.execute(select(s.events).where(e.seq > since).order_by(e.seq)).mappings()
            )

        rows = await self.reader.read(read)
        if rows is None:
            return None
        return _encoded(
            [(r["seq"], r["at"].isoformat(), r["type"], json.loads(r["payload"])) for r in rows]
        )

    async def _catch_up(self, upto: int | None = None) -> None:
        """Publish every committed event after the last one published, in order.

        ``upto``: a sequence number known committed; if another catch-up already
        published it, there is nothing to do.
        """
        async with self._catching_up:
            if upto is not None and self.last_seq >= upto:
                return
            since = self.last_seq

            def read(conn: Connection, _now: dt.datetime) -> list[Any]:
                e = s.events.c
                return list(
                    conn.execute(select(s.events).where(e.seq > since).order_by(e.seq)).mappings()
                )

            assert self.reader is not None
            self.catch_up_reads += 1
            rows = await self.reader.read(read)
            self._publish_now(
                [(r["seq"], r["at"], r["type"], json.loads(r["payload"])) for r in rows]
            )

    def _own_commit_heard(self, upto: int) -> None:
        """Our own commit's notification: the operation that made its events publishes
        them, usually before this or within milliseconds of it. Only if they are still
        not out a moment later (the asker went away between commit and publish) are
        they read back from the database."""
        if self.last_seq >= upto:
            return
        assert self.loop is not None

        def check() -> None:
            if self.last_seq < upto:
                self._spawn(self._catch_up(upto=upto))

        self.loop.call_later(OWN_PUBLISH_GRACE_S, check)

    async def _listen(self) -> None:
        """LISTEN for other server processes' commits (PostgreSQL only), reconnecting."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {dbm.notify_channel(self.config.hall_id)}")
                    delay = 0.5
                    await self._catch_up()  # whatever was committed while not listening
                    async for note in conn.notifies():
                        own = self.committer
                        if own is not None and note.payload == own.token:
                            self._own_commit_heard(own.committed_seq)
                        else:
                            await self._catch_up()
                        self.notes_heard += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("listening for other servers' events failed (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)

    async def _watch_queues(self) -> None:
        """People waiting with no open window for their queue: announced once per
        stretch (per queue and first-waiting ticket), so the duty supervisor is told.

        Read on a read connection; only a new finding takes the writer. The memory of
        what was announced is per process: after a restart a stretch still going on is
        announced again, once.
        """
        announced: set[tuple[str, int]] = set()
        while True:
            await asyncio.sleep(self.sweep_interval * 5)
            try:
                assert self.reader is not None and self.committer is not None
                found = await self.reader.read(self.ops.unattended)
                new = [q for q in found if (q["queue"], q["oldest"]) not in announced]
                if not new:
                    continue
                _, published = await self.committer.submit(
                    lambda c, n, new=new: (None, [("queue.unattended", q) for q in new])
                )
                announced.update((q["queue"], q["oldest"]) for q in new)
                await self._publish(published)
            except Exception:
                log.exception("watching the queues failed; will retry")

    async def _sweeper(self) -> None:
        """Timers of the hall: ratings that ran out, cases that turned red, old rows."""
        assert self.committer is not None
        next_prune = 0.0
        next_lights: dt.datetime | None = None  # at once after a start: nothing is missed
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_INTERVAL_S
                    await self.committer.submit(lambda c, n: (self.ops.prune(c, n), []))
                # Look first on a read connection: an idle second takes no write lock.
                assert self.reader is not None
                now = self.clock()
                if next_lights is None or now >= next_lights:
                    next_lights = now + LIGHTS_INTERVAL
                    await self._sweep_lights()
                    await self._assess()
                    await self._summarize()
                if not await self.reader.read(self.ops.sweep_due):
                    continue
                _, published = await self.committer.submit(
                    lambda c, n: (None, self.ops.expire_ratings(c, n) + self.ops.flag_overdue(c, n))
                )
                await self._publish(published)
            except Exception:
                log.exception("sweep failed; will retry")

    async def _assess(self) -> None:
        """Assessment periods that have ended (日检查、周公示、月考核 as configured):
        assessed once each, on the server's clock; a server that was down at a period's
        end assesses it at its first sweep (store/accountability.py)."""
        assert self.committer is not None and self.reader is not None
        config = self.config
        if not await self.reader.read(lambda c, n: accountability.due(c, config, n)):
            return
        _, published = await self.committer.submit(
            lambda c, n: (None, accountability.run_due(c, config, n))
        )
        await self._publish(published)

    async def _summarize(self) -> None:
        """Ended days with no true report summary (a new day, or one whose rows changed
        since): summarized a few at a time, so a year's backlog after an upgrade never
        holds the write lock for long (store/summaries.py)."""
        assert self.committer is not None and self.reader is not None
        config = self.config
        if await self.reader.read(lambda c, n: summaries.due(c, config, n, 1)):
            await self.committer.submit(
                lambda c, n: (summaries.refresh(c, config, n, summaries.PER_SWEEP), [])
            )
        # The closed months' case-file figures (store/casefile_summaries.py): one a sweep.
        if await self.reader.read(lambda c, n: casefile_summaries.due(c, config, n, 1)):
            await self.committer.submit(
                lambda c, n: (casefile_summaries.refresh(c, config, n, 1), [])
            )

    async def _sweep_lights(self) -> None:
        """Case files and ledger records whose light the clock has moved: turned, and
        each red announced once.

        The case files' full look runs at the first sweep after a start (a server that
        was down misses nothing) and then only when the day or the calendar changed; the
        epoch is kept only once the look succeeded, so a failed one is tried again. The
        ledger's open records are few: looked at every minute."""
        assert self.committer is not None and self.reader is not None
        epoch = await self.reader.read(self.ops.casefiles.lights_epoch)
        if epoch != self._lights_epoch:
            self.lights_checks += 1
            if await self.reader.read(self.ops.casefiles.lights_due):
                _, published = await self.committer.submit(
                    lambda c, n: (None, self.ops.casefiles.sweep_lights(c, n))
                )
                await self._publish(published)
            self._lights_epoch = epoch
        if await self.reader.read(self.ops.ledger.lights_due):
            _, published = await self.committer.submit(
                lambda c, n: (None, self.ops.ledger.sweep(c, n))
            )
            await self._publish(published)


@functools.cache
def _dummy_hash() -> str:
    """A PIN hash no one knows, to check unknown ids against (same cost as a real one)."""
    return hash_pin(secrets.token_hex(8))


Handler = Callable[["HallServer", Actor, dict[str, Any], Connection, dt.datetime], Any]


def _partial_op(method: Callable[..., Any], kind: Any) -> Handler:
    """A handler for one of several operations one method serves (``ledger.*``)."""
    return lambda s, a, g, c, n: method(s, a, g, kind, c, n)


_HANDLERS: dict[str, Handler] = {
    "snapshot": lambda s, a, g, c, n: s._snapshot(c, n),
    "ticket.issue": lambda s, a, g, c, n: s.ops.issue(c, a, g, n),
    "ticket.status": lambda s, a, g, c, n: s.ops.ticket_status(c, s._own_token(a, g, c, n), n),
    "ticket.rejoin": lambda s, a, g, c, n: s.ops.rejoin(c, a, g, n),
    "ticket.cancel": lambda s, a, g, c, n: s.ops.cancel(c, a, g, n),
    "ticket.transfer": lambda s, a, g, c, n: s.ops.transfer(c, a, g, n),
    "appointment.create": lambda s, a, g, c, n: s.ops.appointment_create(c, a, g, n),
    "appointment.checkin": lambda s, a, g, c, n: s.ops.appointment_checkin(c, a, g, n),
    "window.open": lambda s, a, g, c, n: s.ops.window_op(c, a, g, n, WindowOp.OPEN),
    "window.pause": lambda s, a, g, c, n: s.ops.window_op(c, a, g, n, WindowOp.PAUSE),
    "window.resume": lambda s, a, g, c, n: s.ops.window_op(c, a, g, n, WindowOp.RESUME),
    "window.close": lambda s, a, g, c, n: s.ops.window_op(c, a, g, n, WindowOp.CLOSE),
    "call.next": lambda s, a, g, c, n: s.ops.call_next(c, a, g, n),
    "call.number": lambda s, a, g, c, n: s.ops.call_number(c, a, g, n),
    "call.recall": lambda s, a, g, c, n: s.ops.recall(c, a, g, n),
    "case.start": lambda s, a, g, c, n: s.ops.start(c, a, g, n),
    "case.finish": lambda s, a, g, c, n: s.ops.finish(c, a, g, n),
    "case.no_show": lambda s, a, g, c, n: s.ops.no_show(c, a, g, n),
    "rating.submit": lambda s, a, g, c, n: s.ops.rate(c, a, g, n),
    "device.report": lambda s, a, g, c, n: s.ops.device_report(c, a, g, n),
    "window.waiting": lambda s, a, g, c, n: reports.window_waiting(c, s.ops, a, g, n),
    "clerk.today": lambda s, a, g, c, n: reports.clerk_today(c, s.ops, a, g, n),
    "ledger.list": lambda s, a, g, c, n: s.ops.ledger.list(c, a, g, n),
    "ledger.get": lambda s, a, g, c, n: s.ops.ledger.get(c, a, g, n),
    "ledger.phone": lambda s, a, g, c, n: s.ops.ledger.phone(c, a, g, n),
    "ledger.export": lambda s, a, g, c, n: national.export(c, s.ops, a, g, n),
    **{f"ledger.{o.value}": _partial_op(HallServer._ledger_op, o) for o in ROp},
    "casefile.accept": lambda s, a, g, c, n: Outcome(*s.ops.casefiles.accept(c, a, g, n)),
    "casefile.list": lambda s, a, g, c, n: s.ops.casefiles.list(c, a, g, n),
    "casefile.get": lambda s, a, g, c, n: s.ops.casefiles.get(c, a, g, n),
    "casefile.figures": lambda s, a, g, c, n: s.ops.casefiles.figures(c, a, g, n),
    "casefile.lookup": lambda s, a, g, c, n: s.ops.casefiles.lookup(c, a, g, n),
    "casefile.receipt": lambda s, a, g, c, n: s.ops.casefiles.receipt(c, a, g, n),
    "casefile.lights": lambda s, a, g, c, n: s.ops.casefiles.lights(c, a, g, n),
    "casefile.pickups": lambda s, a, g, c, n: s.ops.casefiles.pickups(c, a, g, n),
    **{f"casefile.{o.value}": _partial_op(HallServer._casefile_op, o) for o in CaseOp},
    "alert.list": lambda s, a, g, c, n: {"alerts": outbox.recent(c, _limit(g))},
    "estimate.accuracy": lambda s, a, g, c, n: estimate_records.accuracy(c, s.ops, a, g, n),
    "reminder.list": lambda s, a, g, c, n: accountability.reminder_list(c, s.ops, a, g, n),
    "reminder.done": lambda s, a, g, c, n: Outcome(
        *accountability.reminder_done(c, s.ops, a, g, n)
    ),
    "report.today": lambda s, a, g, c, n: reportbook.today(c, s.ops, n),
    "report.get": lambda s, a, g, c, n: reportbook.get(c, s.ops, g, n),
    "audit.list": lambda s, a, g, c, n: auditlog.entries(c, s.ops, g, n),
    "ranking.get": lambda s, a, g, c, n: reportbook.ranking(c, s.ops, g, n),
}
"""Each operation's database-thread half, given (server, actor, args, connection, now):
built once at import, not per request (a dict of fifty closures per request was built,
used once and dropped)."""


def _limit(args: dict[str, Any]) -> int:
    limit = args.get("limit", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 500:
        raise HallError("limit must be a whole number from 1 to 500", code="bad_request")
    return limit


def _encoded(rows: list[callevent.Row]) -> list[tuple[Ev, Form]]:
    """Committed events, each encoded once, with a ``call`` after each call's three."""
    return [
        ((seq, kind, data, p.event(seq, kind, at, data)), form)
        for (seq, at, kind, data), form in callevent.fold(rows)
    ]


def _sees_all(client: Client) -> bool:
    """Staff devices see every event; a citizen's phone page only some (:func:`_visible`)."""
    return client.ticket_token is None


def _visible(client: Client, ev: Ev) -> bool:
    """Everything for staff devices; for a phone page, its own ticket and its queue."""
    if _sees_all(client):
        return True
    actor = client.actor
    assert actor is not None
    _seq, kind, data, _msg = ev
    if kind.startswith("ticket.") and data.get("id") == actor.ticket_id:
        client.queue = data.get("queue", client.queue)  # follows transfers
        return True
    if kind.startswith("rating.") and data.get("ticket_id") == actor.ticket_id:
        return True
    return kind == "queue.stats" and data.get("queue") == client.queue


_STATIC_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_CONTENT_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".wav": "audio/wav",
}
_PAGES = {
    "/": "index.html",
    "/clerk": "clerk.html",
    "/supervisor": "supervisor.html",
    "/office": "office.html",
    "/report": "report.html",
}
CLOSE_TRY_LATER = 1013


def _static_files() -> dict[str, Path]:
    """The files the server may send, fixed when it starts: plain files only.

    Nothing is looked up on disk per request, so no path, however long or odd, can
    reach outside the folder, and a symlink placed in it later is never followed.
    """
    files: dict[str, Path] = {}
    for name in {*_PAGES.values(), "ticket.html"}:
        f = WEB_DIR / name
        if f.is_file() and not f.is_symlink():
            files[name] = f
    static = WEB_DIR / "static"
    if static.is_dir():
        for f in static.iterdir():
            if f.is_file() and not f.is_symlink() and _STATIC_NAME.match(f.name):
                files["static/" + f.name] = f
    return files


def _static(path: str, files: dict[str, Path]) -> HttpResponse:
    """The browser pages (clerk console, phone page, supervisor) from ``queue_server/web``."""
    name: str | None = _PAGES.get(path)
    if name is None and path.startswith("/t/") and _STATIC_NAME.match(path[3:]):
        name = "ticket.html"
    if name is None and path.startswith("/static/"):
        name = "static/" + path[8:]
    file = files.get(name) if name else None
    if file is None:
        return _response(http.HTTPStatus.NOT_FOUND, "not found\n", "text/plain")
    try:
        data = file.read_bytes()
    except OSError:
        return _response(http.HTTPStatus.NOT_FOUND, "not found\n", "text/plain")
    ctype = _CONTENT_TYPES.get(file.suffix, "application/octet-stream")
    resp = _response(http.HTTPStatus.OK, data, ctype)
    # The phone page's URL holds the ticket's token: never send it on as a referrer.
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    # No other site may frame the clerk console or the phone page (clickjacking).
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    return resp


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """https and wss from the hall file's certificate and key (None: plain http/ws)."""
    if cert is None or key is None:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


def _ranking_board(config: HallConfig) -> dict[str, float] | None:
    from display.config import ranking_board

    return ranking_board(config.sections.get("display"))


def hall_info(config: HallConfig) -> dict[str, Any]:
    """The static description clients show: names, areas, queues, services, windows."""
    info: dict[str, Any] = {
        "name": config.name,
        "languages": list(config.languages),
        "timezone": config.timezone,
        "rating_scale": config.rules.rating_scale,
        # What a phone page or kiosk asks after a bad rating (core/ratings.py): which
        # levels (rules.is_dissatisfied, not copied), and the hall's list of reasons.
        "rating_followup_levels": [v for v in range(1, 6) if rules.is_dissatisfied(v)],
        "rating_reasons": [{"id": r.id, "name": r.name} for r in config.ratings.reasons],
        # The levels' names, from the one table (core/ratings.py LEVEL_TABLE)
        "rating_levels": ratings_table.levels_for_clients(),
        "areas": [{"id": a.id, "name": a.name, "location": a.location} for a in config.areas],
        "queues": [
            {"prefix": q.prefix, "name": q.name, "area": q.area, "daily_cap": q.daily_cap}
            for q in config.queues
        ],
        "services": [
            {
                "id": sv.id,
                "name": sv.name,
                "area": sv.area,
                "queue": sv.queue,
                "kind": sv.kind,
                "department": sv.department,
                "promised_days": sv.promised_days,
                "time_limit_minutes": sv.time_limit_minutes,
                "materials": {k: list(v) for k, v in sv.materials.items()},
                "steps": {k: list(v) for k, v in sv.steps.items()},
                "location": sv.location,
            }
            for sv in config.services
        ],
        "windows": [
            {"number": w.number, "area": w.area, "queues": list(w.queues), "name": w.name}
            for w in config.windows
        ],
        # Who works a window, as the window display shows it (name and 工号; no PIN, no
        # roles): what the hall puts on the wall above each window anyway.
        "clerks": [
            {
                "id": c.id,
                "name": c.name,
                "staff_number": c.staff_number,
                # whether a photo is there (display devices fetch it: queue_server/photos.py)
                "photo": photos.photo_file(config, c.id) is not None,
            }
            for c in config.clerks
            if not c.roles
        ],
        # Names only: the head's and leader's contacts are staff data, not for every page.
        "departments": [{"id": d.id, "name": d.name} for d in config.departments],
        # 周公示 on the hall displays, in turn with the calls ([display], display/config.py)
        "ranking_board": _ranking_board(config),
        # The pick-up service (统一出件): its ticket may bring a ready case to the clerk.
        "pickup_service": config.casefiles.pickup_service,
        # What a kiosk's case-number pad needs besides the digits (casefile.lookup).
        "case_number_keys": number_keys(
            config.casefiles.number_format, [d.id for d in config.departments]
        ),
    }
    # Where to go, in each of the hall's languages, by the one rule (core/where.py):
    # the phone page shows it as it is, the kiosk computes the same from the same data.
    from .core.where import where_per_language

    for sv in info["services"]:
        sv["where"] = where_per_language(info, sv, config.languages)
    return info


def _response(status: http.HTTPStatus, body: str | bytes, content_type: str) -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    headers = Headers(
        [
            ("Content-Type", f"{content_type}; charset=utf-8"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
        ]
    )
    return HttpResponse(status.value, status.phrase, headers, data)


async def run_server(
    config: HallConfig,
    db_url: str,
    host: str,
    port: int,
    ignore_hours: bool = False,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    hall = HallServer(config, db_url, ignore_hours=ignore_hours)
    await hall.start(host, port)
    if ready is not None:
        ready(hall.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await hall.stop()
