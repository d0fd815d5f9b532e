"""County files and ``hallq server --county``: several halls in one process, and the
county leader's figures, on real databases and real servers."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from queue_server.config import ConfigError, load_county
from queue_server.store import countybook, db, reportbook

ROOT = Path(__file__).resolve().parents[2]
TEST_HALL = ROOT / "tests" / "hall_test.toml"
COUNTY_TOKEN = "county-leader-secret"


def hall_file(folder: Path, hall: str | None, port: int = 0, db_url: str | None = None) -> Path:
    """The test hall under another id, port and database (same windows and queues)."""
    body = TEST_HALL.read_text(encoding="utf-8")
    if hall is not None:
        body = body.replace("[hall]\n", f'[hall]\nid = "{hall}"\n', 1)
    body += f"\n[server]\nport = {port}\n"
    if db_url is not None:
        body += f'db = "{db_url}"\n'
    path = folder / f"{hall or 'main'}-{port}.toml"
    path.write_text(body, encoding="utf-8")
    return path


def county_file(folder: Path, halls: list[Path], db_url: str | None = None, port: int = 0) -> Path:
    lines = ["[county]", 'name = "Test County"', f"port = {port}"]
    if db_url is not None:
        lines.append(f'db = "{db_url}"')
    lines.append("halls = [" + ", ".join(f'"{h.name}"' for h in halls) + "]")
    lines += ["", "[[tokens]]", 'name = "leader"', f'token = "{COUNTY_TOKEN}"']
    path = folder / "county.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_county(path)
    return exc.value.problems


def test_a_county_lists_its_halls_each_with_the_county_token(tmp_path):
    north = hall_file(tmp_path, "north", db_url=f"sqlite:///{tmp_path}/n.db")
    south = hall_file(tmp_path, "south", db_url=f"sqlite:///{tmp_path}/s.db")
    county = load_county(county_file(tmp_path, [north, south]))
    assert [h.hall_id for h in county.halls] == ["north", "south"]
    assert county.dbs == {
        "north": f"sqlite:///{tmp_path}/n.db",
        "south": f"sqlite:///{tmp_path}/s.db",
    }
    for h in county.halls:
        assert h.token(COUNTY_TOKEN).role == "county"  # drill-down into each hall


def test_the_same_hall_twice_is_refused_by_file_and_by_id(tmp_path):
    north = hall_file(tmp_path, "north", db_url=f"sqlite:///{tmp_path}/n.db")
    again = county_file(tmp_path, [north, north])
    assert any(p.startswith("halls[1]: ") and "listed twice" in p for p in problems(again))
    other = hall_file(tmp_path, "north", port=1, db_url=f"sqlite:///{tmp_path}/o.db")
    same_id = county_file(tmp_path, [north, other])
    assert any(p.startswith("halls[1]: ") and "hall id 'north'" in p for p in problems(same_id))
    unnamed = [hall_file(tmp_path, None, port=p, db_url=f"sqlite:///{tmp_path}/{p}.db")
               for p in (2, 3)]  # fmt: skip
    # Two files without [hall] id are both "main": one database could not tell them apart.
    assert any("hall id 'main'" in p for p in problems(county_file(tmp_path, unnamed)))


def test_two_halls_on_one_port_and_one_sqlite_file_are_refused(tmp_path):
    a = hall_file(tmp_path, "a", port=18765, db_url=f"sqlite:///{tmp_path}/a.db")
    b = hall_file(tmp_path, "b", port=18765, db_url=f"sqlite:///{tmp_path}/b.db")
    assert any(p.startswith("halls[1]: ") and "port 18765" in p
               for p in problems(county_file(tmp_path, [a, b])))  # fmt: skip
    page = county_file(tmp_path, [a], port=18765)
    assert any("port 18765, already the county page's" in p for p in problems(page))
    c = hall_file(tmp_path, "c", db_url=f"sqlite:///{tmp_path}/one.db")
    d = hall_file(tmp_path, "d", db_url=f"sqlite:///{tmp_path}/one.db")
    assert any("SQLite holds one hall per file" in p
               for p in problems(county_file(tmp_path, [c, d])))  # fmt: skip


def test_a_bad_hall_file_is_located_in_the_county(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TEST_HALL.read_text().replace("[hall]\n", '[hall]\nid = "Bad"\n', 1))
    found = problems(county_file(tmp_path, [bad]))
    assert any(p.startswith("halls[0]: bad.toml: hall.id: ") for p in found), found


def test_an_unknown_hall_id_is_refused_before_anything_starts(tmp_path):
    north = hall_file(tmp_path, "north", db_url=f"sqlite:///{tmp_path}/n.db")
    path = county_file(tmp_path, [north])
    with pytest.raises(ConfigError, match="'west': no such hall in this county; its halls: north"):
        load_county(path).hall("west")
    run = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "server", "--county", str(path),
         "--hall", "west"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 2 and "no such hall" in run.stderr


class CountyProcess:
    """``hallq server --county`` as a real process; its ports read from its log."""

    def __init__(self, county: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "server", "--county", str(county),
             "--ignore-hours", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.ports: dict[str, int] = {}
        self.lines: list[str] = []
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"hallq (hall (\w+)|county page) ready on [\d.]+:(\d+)", line)
            if m:
                self.ports[m.group(2) or "county"] = int(m.group(3))
                if m.group(2) is None:
                    break
        else:
            raise AssertionError("county did not start:\n" + "".join(self.lines))
        threading.Thread(target=lambda: [*self.proc.stdout], daemon=True).start()  # type: ignore[misc]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def figures(port: int, token: str | None) -> tuple[int, dict]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/county/figures")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


@pytest.fixture
def county_pg(pg_url: str, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    halls = [hall_file(tmp_path, h) for h in ("north", "south")]
    path = county_file(tmp_path, halls, db_url=pg_url)
    up = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "db", "upgrade", "--county", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    assert up.stdout.count(f"at revision {db.head_revision()}") == 2
    yield path, pg_url


@pytest.mark.postgres
def test_one_process_serves_two_halls_and_the_county_sees_both(county_pg):
    import asyncio

    from queue_server.client import HallClient, RequestError

    path, _url = county_pg
    county = CountyProcess(path)
    try:

        async def main() -> None:
            clients = []
            for hall, n in (("north", 3), ("south", 1)):
                url = f"ws://127.0.0.1:{county.ports[hall]}/"
                kiosk = HallClient(url, "kiosk-1-secret")
                gw = HallClient(url, "gateway-secret")
                leader = HallClient(url, COUNTY_TOKEN)
                clients += [kiosk, gw, leader]
                for c in (kiosk, gw, leader):
                    await c.start()
                    await c.wait_online(10)
                labels = [(await kiosk.request("ticket.issue", {"service": "general"}))["label"]
                          for _ in range(n)]  # fmt: skip
                assert labels[0] == "A001"
                await gw.request("window.open", {"window": 1})
                if hall == "north":
                    await gw.request("call.next", {"window": 1})  # called: no longer waiting
                # The county token reads the hall as a supervisor does, and acts in nothing.
                snap = await leader.request("snapshot")
                assert len(snap["queues"]) >= 1
                for op, args in (("call.next", {"window": 1}),
                                 ("ticket.issue", {"service": "general"})):  # fmt: skip
                    with pytest.raises(RequestError) as exc:
                        await leader.request(op, args)
                    assert exc.value.code == "forbidden"
            for c in clients:
                await c.close()

        asyncio.run(asyncio.wait_for(main(), 60))
        assert figures(county.ports["county"], None)[0] == 401
        assert figures(county.ports["county"], "kiosk-1-secret")[0] == 401  # a hall's token
        status, body = figures(county.ports["county"], COUNTY_TOKEN)
        assert status == 200
        by_hall = {h["hall"]: h for h in body["halls"]}
        assert (by_hall["north"]["waiting"], by_hall["south"]["waiting"]) == (2, 1)
        assert by_hall["north"]["open_windows"] == by_hall["south"]["open_windows"] == 1
    finally:
        county.stop()


@pytest.mark.postgres
def test_a_second_process_for_one_hall_of_the_county(county_pg):
    """One process serves the county, a second serves north again (as a hall may have
    several): both north processes share north's numbering."""
    import asyncio

    from queue_server.client import HallClient

    path, _url = county_pg
    first = CountyProcess(path)
    body = path.read_text()
    # The second process cannot take the same ports: its north on another port.
    north2 = path.parent / "north-0.toml"
    again = path.parent / "county2.toml"
    again.write_text(body.replace('halls = ["north-0.toml", "south-0.toml"]',
                                  f'halls = ["{north2.name}"]'))  # fmt: skip
    second = CountyProcess(again, "--hall", "north", "--county-page")
    try:

        async def main() -> list[str]:
            out = []
            for port in (first.ports["north"], second.ports["north"], first.ports["north"]):
                k = HallClient(f"ws://127.0.0.1:{port}/", "kiosk-1-secret")
                await k.start()
                await k.wait_online(10)
                out.append((await k.request("ticket.issue", {"service": "general"}))["label"])
                await k.close()
            return out

        assert asyncio.run(asyncio.wait_for(main(), 60)) == ["A001", "A002", "A003"]
    finally:
        second.stop()
        first.stop()


def county_report(port: int, token: str | None, query: str = "") -> tuple[int, bytes, str]:
    """GET /county/report: (status, body, content type)."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}/county/report{query}")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


@pytest.mark.postgres
def test_the_county_report_puts_each_halls_own_report_side_by_side(county_pg):
    """Two halls on one PostgreSQL, served and rated differently: the county report's
    row for each hall is that hall's own report (report.get on the hall), and the county
    total sums the counts and recomputes the rates from them."""
    import asyncio

    from openpyxl import load_workbook

    from queue_server.client import HallClient

    path, _url = county_pg
    county = CountyProcess(path)
    try:

        async def main() -> dict[str, dict]:
            own = {}
            # north: 4 tickets, 3 served and rated 5, 5, 2; south: 2 tickets, 1 rated 4
            for hall, levels, extra in (("north", [5, 5, 2], 1), ("south", [4], 1)):
                url = f"ws://127.0.0.1:{county.ports[hall]}/"
                kiosk, gw, leader = (
                    HallClient(url, t) for t in ("kiosk-1-secret", "gateway-secret", COUNTY_TOKEN)
                )
                for c in (kiosk, gw, leader):
                    await c.start()
                    await c.wait_online(10)
                for _ in range(len(levels) + extra):
                    await kiosk.request("ticket.issue", {"service": "general"})
                await gw.request("window.open", {"window": 1, "clerk": "c1"})
                for level in levels:
                    await gw.request("call.next", {"window": 1})
                    await gw.request("case.start", {"window": 1})
                    await gw.request("case.finish", {"window": 1})
                    await gw.request("rating.submit", {"window": 1, "level": level})
                own[hall] = (await leader.request("report.get", {}))["headline"]
                for c in (kiosk, gw, leader):
                    await c.close()
            return own

        own = asyncio.run(asyncio.wait_for(main(), 90))
        port = county.ports["county"]
        assert county_report(port, None)[0] == 401
        assert county_report(port, "kiosk-1-secret")[0] == 401  # a hall's token
        status, body, _ = county_report(port, COUNTY_TOKEN, "?period=2026-13")
        assert status == 400 and json.loads(body)["code"] == "bad_period"
        assert county_report(port, COUNTY_TOKEN, "?format=pdf")[0] == 400

        status, body, kind = county_report(port, COUNTY_TOKEN)
        assert status == 200 and kind.startswith("application/json")
        report = json.loads(body)
        rows = {r["hall"]: r for r in report["halls"]}
        assert list(rows) == ["north", "south"]
        for hall in ("north", "south"):
            for key, _title in reportbook.HEADLINE:
                assert rows[hall][key] == own[hall].get(key), (hall, key)
        assert (rows["north"]["served"], rows["south"]["served"]) == (3, 1)
        assert rows["north"]["satisfaction"] == pytest.approx(2 / 3, abs=1e-4)
        total = report["total"]
        assert total["halls"] == 2
        for key in ("served", "cases", "rated", "satisfied", "not_rated", "no_shows"):
            assert total[key] == rows["north"][key] + rows["south"][key], key
        # recomputed from the counts (3 of 4), not the mean of 67 % and 100 %
        assert total["satisfaction"] == 0.75
        assert total["wait_median_s"] is None  # a median of medians is not the county's

        status, body, kind = county_report(port, COUNTY_TOKEN, "?format=csv")
        assert status == 200 and kind.startswith("text/csv")
        table = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert [r[0] for r in table[2:5]] == ["north", "south", "全县合计"]
        col = table[1].index("办结件数")
        assert [r[col] for r in table[2:5]] == ["3", "1", "4"]
        assert table[4][table[1].index("满意率(%)")] == "75.0"

        status, body, _ = county_report(port, COUNTY_TOKEN, "?format=xlsx")
        assert status == 200
        ws = load_workbook(io.BytesIO(body)).active
        values = [[c.value for c in row] for row in ws.iter_rows(min_row=4, max_row=6)]
        assert [v[0] for v in values] == ["north", "south", "全县合计"]
        assert values[2][2 + [k for k, _ in countybook.COLUMNS].index("served")] == 4
    finally:
        county.stop()

    # The same report from the command line, read from the databases directly.
    run = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "report", "summary", "--county", str(path),
         "--format", "csv", "--out", str(path.parent / "county.csv")],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    table = list(csv.reader(io.StringIO((path.parent / "county.csv").read_text("utf-8-sig"))))
    assert [r[col] for r in table[2:5]] == ["3", "1", "4"]
    text = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "report", "summary", "--county", str(path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    served = next(line for line in text.stdout.splitlines() if "办结件数" in line)
    assert served.split()[1:] == ["3", "1", "4"]


def test_county_totals_sum_counts_and_recompute_rates():
    """On-time and early rates of the county are its finishes' shares, not a mean of the
    halls' rates; a hall without a figure leaves the county's sum unknown, not low."""
    rows = [
        dict(served=10, cases=12, no_shows=1, rated=4, not_rated=1, satisfied=4, accepted=3,
             finished=2, complaints_upheld=0, on_time=2, early=1, on_time_rate=1.0),
        dict(served=90, cases=95, no_shows=3, rated=50, not_rated=5, satisfied=35, accepted=20,
             finished=18, complaints_upheld=2, on_time=9, early=0, on_time_rate=0.5),
    ]  # fmt: skip
    t = countybook.total(rows)
    assert (t["served"], t["finished"], t["on_time"]) == (100, 20, 11)
    assert t["on_time_rate"] == 0.55 and t["early_rate"] == 0.05  # not (1.0 + 0.5) / 2
    assert t["satisfaction"] == round(39 / 54, 4)
    assert (
        countybook.total([dict(rows[0], complaints_upheld=None), rows[1]])["complaints_upheld"]
        is None
    )


def test_links_name_known_halls_only(tmp_path):
    north = hall_file(tmp_path, "north", db_url=f"sqlite:///{tmp_path}/n.db")
    path = county_file(tmp_path, [north])
    path.write_text(path.read_text().replace(
        "[[tokens]]", '[county.links]\nnorth = "https://north.example"\nwest = "x"\n\n[[tokens]]'
    ))  # fmt: skip
    found = problems(path)
    assert "county.links.west: must be like https://hall.example" in found
    assert "county.links.west: unknown hall id 'west'" in found


def test_demo_with_two_halls_prints_the_county_page_and_serves_both(tmp_path):
    import signal
    import socket
    import time

    # Three free ports in a row: the hall, the second hall, the county page.
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 2 < 65536:
            try:
                for p in (base + 1, base + 2):
                    with socket.socket() as s:
                        s.bind(("127.0.0.1", p))
                break
            except OSError:
                continue
    proc = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "demo", "--no-gui", "--halls", "2",
         "--dir", str(tmp_path / "demo-data"), "--port", str(base)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        token = None
        deadline = time.monotonic() + 90
        for line in proc.stdout:
            m = re.search(
                rf"county page\s+http://127\.0\.0\.1:{base + 2}/county \(token (\S+)\)", line
            )
            if m:
                token = m.group(1)
            if line.startswith("Stop with Ctrl-C") or time.monotonic() > deadline:
                break
        assert token is not None, "the banner gives no county page"
        status, body = figures(base + 2, token)
        assert status == 200
        assert [h["hall"] for h in body["halls"]] == ["main", "town"]
        assert body["halls"][1]["name"]["en"] == "Linjiang Jiangbei Service Station"
        assert all("error" not in h for h in body["halls"])
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_hall_that_cannot_listen_stops_the_county_with_its_reason(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        north = hall_file(tmp_path, "north", db_url=f"sqlite:///{tmp_path}/n.db")
        south = hall_file(tmp_path, "south", port=port, db_url=f"sqlite:///{tmp_path}/s.db")
        path = county_file(tmp_path, [north, south])
        up = subprocess.run(
            [sys.executable, "-m", "queue_server.cli", "db", "upgrade", "--county", str(path)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert up.returncode == 0, up.stderr
        run = subprocess.run(
            [sys.executable, "-m", "queue_server.cli", "server", "--county", str(path)],
            capture_output=True, text=True, timeout=60, cwd=ROOT,
        )  # fmt: skip
    assert run.returncode == 1
    assert "cannot listen" in run.stderr


def test_the_county_on_time_rate_counts_every_halls_finished_promised_cases(config, tmp_path):
    """Two halls with promised cases over summarized and open months: each hall's row
    keeps its own report's rates, and the county's on-time and early rates are the two
    halls' on-time and early finishes over their finished cases, counted raw."""
    import datetime as dt
    import random

    from queue_server.core import accountability as acc
    from queue_server.store import casefile_summaries as cs
    from queue_server.store import schema as s

    from .harness import Clock, Store
    from .test_report_summaries import CF_NOW, _file_row

    period = acc.parse_period("2026-01-01..2026-04-10")
    halls = []
    for n, seed in (("north", 1), ("south", 2)):
        rnd = random.Random(seed)
        st = Store(config, f"sqlite:///{tmp_path}/{n}.db", Clock(CF_NOW))
        try:
            days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(100)]
            rows = [_file_row(rnd, i + 1, rnd.choice(days)) for i in range(40 * seed)]
            with st.engine.begin() as conn:
                conn.execute(s.tickets.insert(), [t for t, _ in rows])
                conn.execute(s.casefiles.insert(), [f for _, f in rows])
            st.committer.call(lambda c, now: (cs.refresh(c, config, now, 3), []))
            with st.engine.connect() as conn:
                row = countybook.hall_row(conn, st.ops, period, CF_NOW)
                own = reportbook.build(conn, st.ops, period, CF_NOW)["headline"]
                raw = cs.grouped(conn, period.start, period.end, summaries=False)[1]
        finally:
            st.close()
        assert row["on_time_rate"] == own["on_time_rate"] and row["finished"] == own["finished"]
        assert (row["on_time"], row["early"]) == (raw["on_time"], raw["early"])
        halls.append((n, {"zh": n}, row))
    report = countybook.build("Test County", period, CF_NOW, halls)
    t, (a, b) = report["total"], [r for _, _, r in halls]
    assert t["finished"] == a["finished"] + b["finished"] > 0
    assert t["on_time_rate"] == round((a["on_time"] + b["on_time"]) / t["finished"], 4)
    assert t["early_rate"] == round((a["early"] + b["early"]) / t["finished"], 4)
