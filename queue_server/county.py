"""The county: several halls served by one process, and the county leader's page.

``hallq server --county county.toml`` runs every hall of the county file (each on its own
port, with its own database schema, writer, readers and event stream: a
:class:`~queue_server.server.HallServer` each) in one asyncio loop, and the county page
on the county's own port. The page shows each hall's live figures side by side and links
into each hall's ``/supervisor``, where a county token signs in to the supervisor's
read-only operations (``core/permissions.py``, ``COUNTY_READS``).

The county's figures are read on read-only connections of their own (one
:class:`~queue_server.store.db.Reader` per hall): a county leader refreshing the page
never takes a hall's writer nor waits behind a group commit.

The county's period report (``/county/report``: every hall's headline figures side by
side and the county total, as JSON, CSV or XLSX; ``store/countybook.py``) is read the
same way, each hall's row from its own report. Who may have it is the permission table's
answer for ``report.get``, the operation that gives a hall's report: a county token has
it in every hall (``COUNTY_READS``), and so here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import http
import json
import logging
import signal
import urllib.parse
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response as HttpResponse

from . import __version__
from .config import CountyConfig
from .core import permissions, rules
from .core.errors import HallError
from .core.hall import HallConfig
from .server import WEB_DIR, HallServer, _response, _static
from .store import countybook, reportbook
from .store import db as dbm
from .store import schema as s
from .store.casefiles import _ON_THE_CLOCK
from .store.ops import HallOps

log = logging.getLogger("hallq.county")
PAGE_FILES = ("county.html", "static/county.js", "static/hallq.css")


def hall_figures(conn: Connection, ops: HallOps, now: dt.datetime) -> dict[str, Any]:
    """One hall's live figures for the county page, from one consistent read.

    Waiting and the longest wait are today's line; open windows are those not closed;
    red cases are promised cases on the clock whose light is red, and red ledger records
    the rectifications past a deadline; satisfaction is today's ratings judged by the
    one rule (``rules.SATISFIED_MIN``).
    """
    t = s.tickets.c
    day = ops.day(now)
    waiting, oldest = conn.execute(
        select(func.count(), func.min(t.issued_at)).where(t.day == day, t.status == "waiting")
    ).one()
    w = s.windows.c
    open_windows = conn.execute(
        select(func.count()).select_from(s.windows).where(w.status != "closed")
    ).scalar_one()
    cf = s.casefiles.c
    red_cases = conn.execute(
        select(func.count())
        .select_from(s.casefiles)
        .where(cf.state.in_(_ON_THE_CLOCK), cf.light == "red")
    ).scalar_one()
    r = s.rectifications.c
    red_ledger = conn.execute(
        select(func.count())
        .select_from(s.rectifications)
        .where(r.light == "red", r.state.not_in(["closed"]))
    ).scalar_one()
    c = s.cases.c
    midnight = dt.datetime.combine(day, dt.time(0), ops.tz)
    rated, satisfied = conn.execute(
        select(func.count(), func.sum(case((c.rating >= rules.SATISFIED_MIN, 1), else_=0))).where(
            c.rating_state == "rated", c.rated_at >= midnight
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return {
        "waiting": int(waiting),
        "longest_wait_s": int((now - oldest).total_seconds()) if oldest is not None else 0,
        "open_windows": int(open_windows),
        "windows": len(ops.config.windows),
        "red_cases": int(red_cases),
        "red_ledger": int(red_ledger),
        "rated_today": int(rated),
        "satisfied_today": int(satisfied or 0),
        "satisfaction_pct": round(100 * int(satisfied or 0) / rated) if rated else None,
    }


class CountyView:
    """The county page and its figures, on the county's port (plain HTTP: the page asks
    ``/county/figures`` with ``Authorization: Bearer <county token>``)."""

    def __init__(
        self,
        county: CountyConfig,
        clock: Callable[[], dt.datetime] | None = None,
        ports: dict[str, int] | None = None,
    ) -> None:
        self.county = county
        self.ports = ports or {}
        """The ports the halls listen on in this process (their files may say 0)."""
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.readers: dict[str, dbm.Reader] = {}
        self.ops = {h.hall_id: HallOps(h) for h in county.halls}
        # Fixed at start, plain files only, as the halls' pages (server._static_files).
        self._static = {
            ("static/" + name if "/" not in name else name): WEB_DIR / name
            for name in PAGE_FILES
            if (WEB_DIR / name).is_file()
        }
        self.server: Server | None = None

    async def start(self, host: str, port: int) -> Server:
        for h in self.county.halls:
            self.readers[h.hall_id] = dbm.Reader(
                self.county.dbs[h.hall_id], self.clock, 1, hall=h.hall_id
            )
        self.server = await serve(
            self._ws,
            host,
            port,
            process_request=self._http,
            server_header=f"hallq/{__version__}",
        )
        log.info("county page on %s:%d", host, self.port)
        return self.server

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for reader in self.readers.values():
            await asyncio.to_thread(reader.close)
        self.readers.clear()

    async def _ws(self, ws: ServerConnection) -> None:
        await ws.close()  # no WebSocket here: the halls' own ports carry those

    async def figures(self) -> list[dict[str, Any]]:
        """Every hall's figures, read at once on the halls' read connections; a hall
        whose database cannot be read is shown as such, never hides the others."""

        async def one(h: HallConfig) -> dict[str, Any]:
            ops = self.ops[h.hall_id]
            row: dict[str, Any] = {
                "hall": h.hall_id,
                "name": h.name,
                "port": self.ports.get(h.hall_id, h.server.port),
                "link": self.county.links.get(h.hall_id),
            }
            try:
                row.update(await self.readers[h.hall_id].read(lambda c, n: hall_figures(c, ops, n)))
            except Exception as exc:  # shown on the page; the other halls still are
                log.warning("county: hall %s cannot be read (%s)", h.hall_id, exc)
                row["error"] = "unreadable"
            return row

        return list(await asyncio.gather(*(one(h) for h in self.county.halls)))

    async def report(self, args: dict[str, Any]) -> dict[str, Any]:
        """The county's period report (``period`` or ``from``/``to``, as ``report.get``):
        each hall's row read on its own read connection, at once."""
        now = self.clock()
        period = reportbook.period_from(args, rules.service_day(now, self.county.halls[0].tz))

        async def one(h: HallConfig) -> tuple[str, dict[str, str], dict[str, Any] | None]:
            ops = self.ops[h.hall_id]
            try:
                row = await self.readers[h.hall_id].read(
                    lambda c, n: countybook.hall_row(c, ops, period, n)
                )
            except Exception as exc:  # listed as unreadable; the other halls still are
                log.warning("county report: hall %s cannot be read (%s)", h.hall_id, exc)
                row = None
            return h.hall_id, h.name, row

        halls = list(await asyncio.gather(*(one(h) for h in self.county.halls)))
        return countybook.build(self.county.name, period, now, halls)

    async def _http(self, connection: ServerConnection, request: HttpRequest) -> HttpResponse:
        path, _, query = request.path.partition("?")
        if path in ("/", "/county"):
            path = "/static/county.html"
        if path.startswith("/static/"):
            return _static(path, self._static)
        if path not in ("/county/figures", "/county/report"):
            return _response(http.HTTPStatus.NOT_FOUND, "not found\n", "text/plain")
        auth = request.headers.get("Authorization", "")
        token = self.county.token(auth[7:]) if auth.startswith("Bearer ") else None
        if token is None:
            return _response(http.HTTPStatus.UNAUTHORIZED, "county token needed\n", "text/plain")
        if path == "/county/report":
            return await self._report(token.name, token.role, query)
        body = {"county": self.county.name, "halls": await self.figures()}
        return _response(
            http.HTTPStatus.OK, json.dumps(body, ensure_ascii=False), "application/json"
        )

    async def _report(self, name: str, role: str, query: str) -> HttpResponse:
        """``/county/report?period=2026-11&format=csv``: JSON, or a file to download."""
        args = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
        fmt = args.pop("format", "json")
        try:
            permissions.check_role(permissions.Actor(name, role), "report.get", {})
            if fmt != "json" and fmt not in countybook.FORMATS:
                raise HallError("format is json, csv or xlsx", code="bad_request")
            unknown = set(args) - {"period", "from", "to"}
            if unknown:
                raise HallError(f"unknown argument {sorted(unknown)[0]!r}", code="bad_request")
            report = await self.report(args)
        except HallError as exc:
            status = http.HTTPStatus.BAD_REQUEST
            if exc.code == "forbidden":
                status = http.HTTPStatus.FORBIDDEN
            body = {"code": exc.code, "message": str(exc)}
            return _response(status, json.dumps(body, ensure_ascii=False), "application/json")
        if fmt == "json":
            return _response(
                http.HTTPStatus.OK, json.dumps(report, ensure_ascii=False), "application/json"
            )
        data = countybook.to_csv(report) if fmt == "csv" else countybook.to_xlsx(report)
        response = _response(http.HTTPStatus.OK, data, countybook.FORMATS[fmt])
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{countybook.filename(report, fmt)}"'
        )
        return response


async def run_county(
    county: CountyConfig,
    *,
    only: list[str] | None = None,
    page: bool = True,
    host: str | None = None,
    ignore_hours: bool = False,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the county's halls (``only`` these ids) and its page until SIGTERM/SIGINT.

    Every hall is its own :class:`HallServer`; they share this loop and nothing else.
    A hall that cannot start (its schema not migrated, its port taken) stops them all:
    a county half served would look whole on the county page.
    """
    halls = [county.hall(i) for i in only] if only else list(county.halls)
    started: list[HallServer] = []
    view: CountyView | None = None
    try:
        for h in halls:
            srv = HallServer(h, county.dbs[h.hall_id], ignore_hours=ignore_hours)
            started.append(srv)  # stopped below even if its start fails half way
            await srv.start(host or h.server.host, h.server.port)
            if ready is not None:
                ready(f"hall {h.hall_id} ready on {host or h.server.host}:{srv.port}")
        if page:
            view = CountyView(county, ports={srv.config.hall_id: srv.port for srv in started})
            await view.start(host or county.host, county.port)
            if ready is not None:
                ready(f"county page ready on {host or county.host}:{view.port}")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        if view is not None:
            await view.stop()
        for srv in started:
            await srv.stop()
