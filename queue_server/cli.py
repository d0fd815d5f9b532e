"""``hallq``: one command, a subcommand per process.

Each subcommand imports its package only when it runs, so ``hallq server`` never loads
Kivy and ``hallq kiosk`` never loads the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import DEMO_CONFIG, ConfigError, HallConfig, load_config
from .core.errors import HallError

if TYPE_CHECKING:
    from sqlalchemy import Engine


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hallq", description="HallQ queue management")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("server", help="run the queue server")
    _config_args(sp)
    sp.add_argument("--host", help="address to listen on (default from config)")
    sp.add_argument("--port", type=int, help="port to listen on (default from config)")
    sp.add_argument(
        "--ignore-hours", action="store_true", help="issue tickets at any hour (demos and testing)"
    )
    sp.add_argument(
        "--county",
        type=Path,
        help="a county file: serve every hall it lists (each on its own port) and the "
        "county page, in this one process (docs/deployment.md)",
    )
    sp.add_argument(
        "--hall",
        action="append",
        metavar="ID",
        help="with --county: serve only this hall (repeat for several); the county page "
        "is then served only with --county-page",
    )
    sp.add_argument(
        "--county-page",
        action="store_true",
        help="with --county --hall: serve the county page in this process too",
    )
    sp.set_defaults(func=cmd_server)

    dp = sub.add_parser("db", help="database maintenance")
    dsub = dp.add_subparsers(dest="db_command", required=True)
    up = dsub.add_parser("upgrade", help="create or migrate the tables to this version")
    _config_args(up)
    up.add_argument("--county", type=Path, help="every hall of this county file, one by one")
    up.add_argument(
        "--move-public",
        action="store_true",
        help="the tables a database made before halls keeps in schema public are this "
        "named hall's: move them into its schema (docs/deployment.md)",
    )
    up.set_defaults(func=cmd_db_upgrade)

    cp = sub.add_parser("check-config", help="validate a hall file and list every problem")
    cp.add_argument("file", type=Path)
    cp.add_argument(
        "--db",
        help="also check the hall's database (the calendar of this year); default $HALLQ_DB, "
        "else the file's server.db when that database exists",
    )
    cp.set_defaults(func=cmd_check_config)

    hp = sub.add_parser("hash-pin", help="hash a clerk PIN for [[clerks]] pin_hash")
    hp.add_argument("--pin", help="the PIN (default: asked for, not echoed)")
    hp.add_argument(
        "--digits",
        type=int,
        default=6,
        help="the fewest digits accepted (default 6; 4 only where a hall has kept 4-digit PINs)",
    )
    hp.set_defaults(func=cmd_hash_pin)

    ap = sub.add_parser("appointments", help="booked appointments")
    asub = ap.add_subparsers(dest="appt_command", required=True)
    load = asub.add_parser(
        "load", help="load appointments from a CSV file (columns: code,service,start,end,language)"
    )
    _config_args(load)
    load.add_argument("csv", type=Path)
    load.set_defaults(func=cmd_appointments_load)

    calp = sub.add_parser("calendar", help="the working-day calendar (holidays, make-up days)")
    calsub = calp.add_subparsers(dest="cal_command", required=True)
    cload = calsub.add_parser(
        "load", help="load one year's official calendar from a TOML file (docs/supervision.md)"
    )
    _config_args(cload)
    cload.add_argument("file", type=Path)
    cload.set_defaults(func=cmd_calendar_load)

    rp = sub.add_parser("report", help="reports printed from the hall's database")
    rsub = rp.add_subparsers(dest="report_command", required=True)
    rcases = rsub.add_parser(
        "cases", help="on-time and early completion of promised cases (docs/supervision.md)"
    )
    _config_args(rcases)
    rcases.add_argument("--from", dest="start", help="first acceptance day, YYYY-MM-DD")
    rcases.add_argument("--to", dest="end", help="last acceptance day, YYYY-MM-DD")
    rcases.add_argument(
        "--by", default="department", choices=("department", "window", "clerk", "service")
    )
    rcases.add_argument("--department", help="only this department")
    rcases.set_defaults(func=cmd_report_cases)
    rsum = rsub.add_parser(
        "summary",
        help="the hall's figures for a period: headline and tables per department, window, "
        "clerk and service, as text, CSV or XLSX (docs/reports.md)",
    )
    _config_args(rsum)
    rsum.add_argument("--period", help="2026-11, 2026-W48, 2026-11-24 or FROM..TO")
    rsum.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
    rsum.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
    rsum.add_argument("--format", default="text", choices=("text", "csv", "xlsx"))
    rsum.add_argument("--out", type=Path, help="file to write (csv, xlsx); default: a name")
    rsum.add_argument(
        "--county", type=Path,
        help="a county file: every hall's headline figures side by side, and the county's",
    )  # fmt: skip
    rsum.set_defaults(func=cmd_report_summary)

    asp = sub.add_parser(
        "assess",
        help="assess satisfaction for a period: talk reminders, accountability (docs/reports.md)",
    )
    _config_args(asp)
    asp.add_argument(
        "--period",
        help="2026-11 (a month), 2026-W48 (an ISO week) or 2026-11-24 (a day); "
        "default: the last month that has ended",
    )
    asp.set_defaults(func=cmd_assess)

    ratp = sub.add_parser("ratings", help="ratings and the rectification ledger (docs/ratings.md)")
    ratsub = ratp.add_subparsers(dest="ratings_command", required=True)
    rexp = ratsub.add_parser(
        "export", help="ratings or rectifications of a period in the national field names"
    )
    _config_args(rexp)
    rexp.add_argument("kind", choices=("ratings", "rectifications"))
    rexp.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (default today)")
    rexp.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default today)")
    rexp.add_argument("--format", default="csv", choices=("csv", "json"))
    rexp.add_argument("--out", type=Path, help="write to this file instead of the screen")
    rexp.set_defaults(func=cmd_ratings_export)

    demo = sub.add_parser(
        "demo",
        help="run the demo hall: server, emulated devices, gateway, "
        "and kiosk and display when there is a screen",
    )
    demo.add_argument("--port", type=int, default=8765)
    demo.add_argument(
        "--dir",
        type=Path,
        default=Path("demo-data"),
        help="folder for the database, logs and printed tickets",
    )
    gui = demo.add_mutually_exclusive_group()
    gui.add_argument(
        "--gui",
        dest="gui",
        action="store_true",
        default=None,
        help="start kiosk and display windows (default: when a screen exists)",
    )
    gui.add_argument("--no-gui", dest="gui", action="store_false")
    demo.add_argument(
        "--simulate",
        action="store_true",
        help="citizens take tickets and clerks press keypads by themselves",
    )
    demo.add_argument("--fresh", action="store_true", help="start from an empty database")
    demo.add_argument(
        "--halls",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: a second hall (ports +1) and the county page (port +2) as well",
    )
    demo.set_defaults(func=cmd_demo)

    for name, _target, text in _DEVICE_COMMANDS:
        sub.add_parser(name, help=text, add_help=False)

    argv = sys.argv[1:] if argv is None else argv
    for name, target, _text in _DEVICE_COMMANDS:
        if argv[:1] == [name]:  # the device's own parser takes every option
            return _run_device(name, target, argv[1:])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        _print_problems(exc)
        return 2
    except HallError as exc:  # a refused period, an unknown department ...: said, not raised
        command = args.func.__name__.removeprefix("cmd_").replace("_", " ")
        print(f"hallq {command}: {exc.message}", file=sys.stderr)
        return 1


_DEVICE_COMMANDS = (
    ("kiosk", "kiosk.cli", "run the citizen kiosk (Kivy)"),
    ("display", "display.cli", "run a hall or window display (Kivy) and its voice"),
    ("gateway", "hardware.gateway.cli", "run the hardware gateway for the serial buses"),
)


def _run_device(name: str, module: str, rest: list[str]) -> int:
    """Import the device's package only now: the server never loads Kivy, and so on."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        print(f"hallq: {name} is not available in this install ({exc})", file=sys.stderr)
        return 1
    return int(mod.main(rest) or 0)


def _config_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--config",
        type=Path,
        default=None,
        help="hall file (default: $HALLQ_CONFIG, else the demo hall)",
    )
    sp.add_argument(
        "--db",
        help="database URL, e.g. sqlite:///hall.db or "
        "postgresql://user@host/db (default from config; $HALLQ_DB wins over it)",
    )


def _load(args: argparse.Namespace) -> tuple[HallConfig, str]:
    path = args.config or os.environ.get("HALLQ_CONFIG") or DEMO_CONFIG
    config = load_config(path)
    db = args.db or os.environ.get("HALLQ_DB") or config.server.db
    return config, db


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[HallConfig, Engine]]:
    """The hall file and an engine on its database, disposed however the command ends
    (a refusal raised inside reaches :func:`main`, which prints it)."""
    from .store import db

    config, url = _load(args)
    engine = db.open_engine(url, hall=config.hall_id)
    try:
        yield config, engine
    finally:
        engine.dispose()


def _print_problems(exc: ConfigError) -> None:
    print(f"{exc.path}: {len(exc.problems)} problem(s)", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        c = load_config(args.file)
    except ConfigError as exc:
        _print_problems(exc)
        return 1
    print(
        f"{args.file}: ok — {len(c.areas)} areas, {len(c.queues)} queues, "
        f"{len(c.services)} services, {len(c.windows)} windows, {len(c.devices)} devices"
    )
    for warning in _database_warnings(c, args.db or os.environ.get("HALLQ_DB") or c.server.db):
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _database_warnings(config: HallConfig, url: str) -> list[str]:
    """What the hall file cannot show: a year with no working-day calendar loaded."""
    import datetime as dt

    from .store import db, workdays

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return [f"database {url}: not created yet (hallq db upgrade); no calendar checked"]
    try:
        engine = db.open_engine(url, hall=config.hall_id)
        try:
            return workdays.calendar_warnings(engine, config, dt.datetime.now(dt.UTC))
        finally:
            engine.dispose()
    except Exception as exc:  # an unreachable database is reported, not a crash
        return [f"database {url}: cannot be read ({exc.__class__.__name__})"]


def cmd_hash_pin(args: argparse.Namespace) -> int:
    import getpass

    from .config import hash_pin

    pin = args.pin or getpass.getpass("PIN: ")
    # Six digits by default: with the lock-out after five wrong PINs, a guesser's odds
    # are 1 in 200,000 per lock instead of 1 in 2,000.
    least = max(4, args.digits)
    if len(pin) < least or not pin.isdigit():
        print(f"a PIN is at least {least} digits", file=sys.stderr)
        return 1
    print(hash_pin(pin))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .store import db

    if args.county is not None:
        from .config import load_county

        if args.move_public:
            print("hallq db upgrade: --move-public names one hall: give its --config, "
                  "not --county", file=sys.stderr)  # fmt: skip
            return 2

        county = load_county(args.county, db=args.db or os.environ.get("HALLQ_DB"))
        halls = [(h.hall_id, county.dbs[h.hall_id]) for h in county.halls]
    else:
        config, url = _load(args)
        halls = [(config.hall_id, url)]
    for hall_id, url in halls:
        engine = db.open_engine(url, hall=hall_id)
        try:
            db.upgrade(engine, move_public=args.move_public)
            print(f"hall {hall_id}: database at revision {db.current_revision(engine)}")
        except db.HallDatabaseError as exc:
            print(f"hallq db upgrade: {exc}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    if args.county is not None:
        return _serve_county(args)
    if args.hall or args.county_page:
        print("hallq server: --hall and --county-page need --county", file=sys.stderr)
        return 2
    from .server import run_server

    config, url = _load(args)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    try:
        asyncio.run(
            run_server(
                config,
                url,
                host,
                port,
                ignore_hours=args.ignore_hours,
                ready=lambda p: print(f"hallq server ready on {host}:{p}", flush=True),
            )
        )
    except RuntimeError as exc:
        print(f"hallq server: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hallq server: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def _serve_county(args: argparse.Namespace) -> int:
    """``hallq server --county``: the county's halls in one asyncio loop, and its page."""
    from .config import load_county
    from .county import run_county

    if args.config is not None or args.port is not None:
        print("hallq server: with --county, ports and hall files come from the county file",
              file=sys.stderr)  # fmt: skip
        return 2
    county = load_county(args.county, db=args.db or os.environ.get("HALLQ_DB"))
    if args.hall:
        for hall_id in args.hall:
            county.hall(hall_id)  # an unknown id: a located error, before anything starts
        if len(set(args.hall)) != len(args.hall):
            print("hallq server: a hall is named twice with --hall", file=sys.stderr)
            return 2
    try:
        asyncio.run(
            run_county(
                county,
                only=args.hall,
                page=not args.hall or args.county_page,
                host=args.host,
                ignore_hours=args.ignore_hours,
                ready=lambda what: print(f"hallq {what}", flush=True),
            )
        )
    except RuntimeError as exc:
        print(f"hallq server: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"hallq server: cannot listen: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


def cmd_appointments_load(args: argparse.Namespace) -> int:
    import datetime as dt

    from .core.errors import HallError
    from .store import db
    from .store.ops import Actor, HallOps

    config, url = _load(args)
    engine = db.open_engine(url, hall=config.hall_id)
    ops = HallOps(config)
    actor = Actor("cli", "admin")
    loaded, problems = 0, []
    with args.csv.open(encoding="utf-8-sig", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            fields: dict[str, Any] = {k: (v or "").strip() for k, v in row.items() if k}
            try:
                with engine.begin() as conn:
                    ops.appointment_create(
                        conn, actor, {k: v for k, v in fields.items() if v}, dt.datetime.now(dt.UTC)
                    )
                loaded += 1
            except HallError as exc:
                problems.append(f"{args.csv}:{line}: {exc.message}")
    engine.dispose()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{loaded} appointment(s) loaded, {len(problems)} refused")
    return 1 if problems else 0


def cmd_calendar_load(args: argparse.Namespace) -> int:
    import datetime as dt
    import tomllib

    from .core.calendar import CalendarError, parse_year
    from .store import db, workdays

    try:
        raw = tomllib.loads(args.file.read_text(encoding="utf-8"))
        year = parse_year(raw, str(args.file))
    except FileNotFoundError:
        print(f"{args.file}: file not found", file=sys.stderr)
        return 1
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        print(f"{args.file}: not a TOML calendar: {exc}", file=sys.stderr)
        return 1
    except CalendarError as exc:
        print(f"{args.file}: {len(exc.problems)} problem(s)", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    config, url = _load(args)
    engine = db.open_engine(url, hall=config.hall_id)
    try:
        with engine.begin() as conn:
            workdays.load_year(conn, year, str(args.file), dt.datetime.now(dt.UTC))
    finally:
        engine.dispose()
    print(
        f"calendar {year.year} loaded: {len(year.holidays)} holiday(s), "
        f"{len(year.workdays)} make-up working day(s)"
    )
    return 0


def cmd_report_cases(args: argparse.Namespace) -> int:
    """The figures of ``casefile.figures`` as a table, for a period."""
    import datetime as dt

    from .core.permissions import Actor
    from .store.ops import HallOps

    query = {
        k: v
        for k, v in (
            ("from", args.start),
            ("to", args.end),
            ("by", args.by),
            ("department", args.department),
        )
        if v is not None
    }
    with _database(args) as (config, engine), engine.connect() as conn:
        fig = HallOps(config).casefiles.figures(
            conn, Actor("hallq-report", "admin"), query, dt.datetime.now(dt.UTC)
        )
    cols = ("accepted", "finished", "on_time", "early", "late", "open", "overdue_open")
    cols += ("yellow_open",)
    cols += ("suspended", "extended", "refused")
    print(f"promised cases accepted {fig['from']} to {fig['to']}, by {fig['by']}")
    head = [fig["by"], *cols, "on-time %", "early %"]
    lines = [
        [str(r["key"]), *(str(r[c]) for c in cols), _pct(r["on_time_rate"]), _pct(r["early_rate"])]
        for r in [*fig["rows"], dict(fig["total"], key="total")]
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
    for line in [head, *lines]:
        print(
            "  ".join(
                x.rjust(w) if i else x.ljust(w)
                for i, (x, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    return 0


def cmd_assess(args: argparse.Namespace) -> int:
    """Assess a period now, as the server's clock does at its end (once per period: a
    period assessed already shows its result and changes nothing). The alerts it raises
    go through the outbox like the server's own."""
    import datetime as dt

    from .core import accountability as acc
    from .core import rules
    from .notify import outbox
    from .store import accountability, db

    now = dt.datetime.now(dt.UTC)
    with _database(args) as (config, engine):
        if args.period is None:
            period = acc.last_complete("month", rules.service_day(now, config.tz))
        else:
            period = acc.parse_period(args.period)
        committer = db.Committer(engine)
        committer.on_events = lambda conn, at, published: outbox.enqueue(
            conn, at, config, published
        )
        try:
            summary, _ = committer.call(
                lambda conn, at: accountability.assess(conn, config, period, at, by="hallq assess")
            )
        finally:
            committer.close()
    again = " (assessed before; nothing changed)" if summary.get("already") else ""
    print(
        f"{summary['period']}: {summary['assessed']} assessed, {summary['counted']} with at "
        f"least {summary['min_ratings']} ratings, {len(summary['reminders'])} talk "
        f"reminder(s), {summary['accountability']} accountability record(s){again}"
    )
    for r in summary["reminders"]:
        print(
            f"  reminder {r['id']}: {r['subject_kind']} {r['subject']} "
            f"{_pct(r['rate'])} % of {r['rated']} rated (department {r['department'] or '-'})"
        )
    return 0


def _county_summary(args: argparse.Namespace, query: dict[str, str], now: Any) -> int:
    """``hallq report summary --county FILE``: store/countybook.py, each hall read in turn."""
    from .config import load_county
    from .core import rules
    from .store import countybook, db, reportbook
    from .store.ops import HallOps

    county = load_county(args.county, db=args.db or os.environ.get("HALLQ_DB"))
    period = reportbook.period_from(query, rules.service_day(now, county.halls[0].tz))
    halls = []
    for h in county.halls:
        engine = db.open_engine(county.dbs[h.hall_id], hall=h.hall_id)
        try:
            with engine.connect() as conn:
                row = countybook.hall_row(conn, HallOps(h), period, now)
            halls.append((h.hall_id, h.name, row))
        finally:
            engine.dispose()
    report = countybook.build(county.name, period, now, halls)
    if args.format != "text":
        data = countybook.to_csv(report) if args.format == "csv" else countybook.to_xlsx(report)
        out = args.out or Path(countybook.filename(report, args.format))
        out.write_bytes(data)
        print(f"{out}: {report['period']} ({report['from']} to {report['to']})")
        return 0
    print(f"{county.name} {report['period']}: {report['from']} to {report['to']}")
    rows = [*((r["hall"], r) for r in report["halls"]), ("county", report["total"])]
    print("  " + " " * 12 + " " + "  ".join(name.rjust(10) for name, _ in rows))
    for key, title in countybook.COLUMNS:
        cells = []
        for _, r in rows:
            v = r.get(key)
            cells.append("-" if v is None else _pct(v) if key in countybook.RATES else str(v))
        print(f"  {title:<12} " + "  ".join(c.rjust(10) for c in cells))
    return 0


def cmd_report_summary(args: argparse.Namespace) -> int:
    """The period report (store/reportbook.py) printed, or written as CSV or XLSX."""
    import datetime as dt

    from .core import rules
    from .store import reportbook
    from .store.ops import HallOps

    now = dt.datetime.now(dt.UTC)
    query = {"period": args.period, "from": args.start, "to": args.end}
    if args.county is not None:
        return _county_summary(args, {k: v for k, v in query.items() if v is not None}, now)
    with _database(args) as (config, engine):
        period = reportbook.period_from(
            {k: v for k, v in query.items() if v is not None}, rules.service_day(now, config.tz)
        )
        with engine.connect() as conn:
            report = reportbook.build(conn, HallOps(config), period, now)
    if args.format != "text":
        data = reportbook.to_csv(report) if args.format == "csv" else reportbook.to_xlsx(report)
        out = args.out or Path(reportbook.filename(report, args.format))
        out.write_bytes(data)
        print(f"{out}: {report['period']} ({report['from']} to {report['to']})")
        return 0
    h = report["headline"]
    print(f"{report['period']}: {report['from']} to {report['to']}")
    for key, title in reportbook.HEADLINE:
        value = h.get(key)
        shown = _pct(value) + " %" if key in reportbook.RATES and value is not None else value
        print(f"  {title}: {'-' if shown is None else shown}")
    cols = ("cases", "served", "wait_median_s", "wait_p90_s", "rated", "satisfaction")
    for group, title in reportbook.GROUP_TITLES.items():
        print(f"\n{title}")
        for r in report["tables"][group]:
            cells = [
                _pct(r.get(c))
                if c in reportbook.RATES
                else str(r.get(c) if r.get(c) is not None else "-")
                for c in cols
            ]
            print(
                f"  {str(r['key']):<12} {r['name'][:16]:<16} "
                + "  ".join(x.rjust(8) for x in cells)
            )
    return 0


def cmd_ratings_export(args: argparse.Namespace) -> int:
    """``ledger.export`` from the command line: what a hall hands upward (never a phone
    number). CSV is UTF-8 with a BOM, so Excel and WPS open the Chinese headers right."""
    import datetime as dt
    import json

    from .core.permissions import Actor
    from .store import national
    from .store.ops import HallOps

    query = {"kind": args.kind, "format": args.format}
    query.update({k: v for k, v in (("from", args.start), ("to", args.end)) if v is not None})
    with _database(args) as (config, engine), engine.connect() as conn:
        got = national.export(
            conn, HallOps(config), Actor("hallq-export", "admin"), query, dt.datetime.now(dt.UTC)
        )
    text = got["csv"] if args.format == "csv" else json.dumps(got, ensure_ascii=False, indent=1)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8", newline="")
        print(f"{got['count']} {args.kind} written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text if args.format == "csv" else text + "\n")
    return 0


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}"


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import runner

    if args.fresh:
        runner.clean(args.dir)
    return runner.run(args.dir, args.port, args.gui, args.simulate, args.halls)


if __name__ == "__main__":
    sys.exit(main())
