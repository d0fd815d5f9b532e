"""The README's first command: the demo hall runs with emulated devices and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

LIVE = "AND rated_at >= datetime('now', '-1 hour')"
"""Cases rated by the live demo, not on the past day ``--simulate`` writes first."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_runs_a_living_hall_and_stops_on_ctrl_c(tmp_path):
    folder = tmp_path / "demo-data"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "queue_server.cli",
            "demo",
            "--no-gui",
            "--simulate",
            "--dir",
            str(folder),
            "--port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db = folder / "hallq-demo.db"
    try:
        deadline = time.monotonic() + 60
        rated = 0
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1)
            if db.exists():
                try:
                    with sqlite3.connect(db) as conn:
                        rated = conn.execute(
                            "SELECT count(*) FROM cases WHERE rating_source = 'device' "
                            + LIVE  # not the simulated past day's
                        ).fetchone()[0]
                except sqlite3.OperationalError:  # the demo is still creating its tables
                    continue
                if rated >= 1:
                    break
        assert proc.poll() is None, proc.communicate()[0]
        assert rated >= 1, "no case was rated through the emulated evaluator"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "clerk console" in out and "PIN 1234" in out
    code = re.search(r"appointment +code (\w+)", out)
    assert code is not None, out  # a code to try at the kiosk, booked for now
    with sqlite3.connect(db) as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM appointments WHERE code = ?", (code.group(1),)
            ).fetchone()[0]
            == 1
        )
    with sqlite3.connect(db) as conn:
        # today's live hall (the simulated past day's rows are its own actor's)
        ops = dict(
            conn.execute(
                "SELECT op, count(*) FROM audit WHERE actor != 'demo-yesterday' GROUP BY op"
            ).fetchall()
        )
    assert ops["ticket.issue"] >= 1 and ops["call.next"] >= 1 and ops["window.open"] == 4
    assert ops["case.finish"] >= 1 and ops["rating.submit"] >= 1
    assert (folder / "hall.toml").read_text().count("[gateway]") == 1
    # --simulate's past day: a warning and the XLSX a director hands in, at the path said
    report = re.search(r"day's report +(\S+\.xlsx)", out)
    assert report is not None and os.path.exists(report.group(1)), out
    assert re.search(r"yesterday .* [1-9]\d* talk reminders", out), out


def _demo(folder, port, *extra):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "queue_server.cli",
            "demo",
            "--no-gui",
            "--dir",
            str(folder),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_busy_port_stops_the_demo_with_the_reason(tmp_path):
    """Measured on main: the banner printed and the exit status was 0."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _demo(tmp_path / "demo-data", port)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0, out
    assert f"port {port} is in use" in out
    assert "clerk console" not in out  # no banner for a hall that is not there


def _time_wait_port() -> int:
    """A port that only a closed connection still holds (TIME_WAIT), as the previous
    demo's server leaves it for a minute after Ctrl-C; nothing listens on it."""
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as cli:
            conn, _ = srv.accept()
            conn.close()  # the server's side closes first: it keeps the TIME_WAIT
            assert cli.recv(1) == b""
    return port


def test_a_port_left_in_time_wait_by_the_last_demo_is_free_for_the_next(tmp_path):
    """Measured on main: `hallq demo`, Ctrl-C, then `hallq demo --simulate` (the README's
    two commands) refused to start for a minute, "port 8765 is in use", although the
    server (which binds with SO_REUSEADDR, as asyncio does) could have listened there."""
    from queue_server.demo.runner import Demo

    port = _time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # the connection's TIME_WAIT is really there
    Demo(tmp_path, port, gui=False, simulate=False).check_port()  # no "in use"

    async def listen() -> None:  # and the server does bind it
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
        server.close()
        await server.wait_closed()

    asyncio.run(listen())
    with socket.socket() as taken:  # while something listens, the port is still refused
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(RuntimeError, match=f"port {port} is in use"):
            Demo(tmp_path, port, gui=False, simulate=False).check_port()


def test_the_server_killed_under_the_demo_comes_back_and_the_hall_goes_on(tmp_path):
    """Measured on main: a stopped server took every other part of the demo down."""
    folder = tmp_path / "demo-data"
    proc = _demo(folder, free_port(), "--simulate")
    db = folder / "hallq-demo.db"

    def rated() -> int:
        try:
            with sqlite3.connect(db) as conn:
                return conn.execute(
                    "SELECT count(*) FROM cases WHERE rating_state = 'rated' " + LIVE
                ).fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    def wait_for(pred, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if pred():
                return True
            time.sleep(0.5)
        return False

    try:
        assert wait_for(lambda: rated() >= 1), "the simulated hall rated nothing"
        gateway = int((folder / "gateway.pid").read_text())
        os.kill(int((folder / "server.pid").read_text()), signal.SIGKILL)
        before = rated()
        assert wait_for(lambda: rated() > before), "nothing rated after the restart"
        assert proc.poll() is None
        os.kill(gateway, 0)  # still the same gateway process: it reconnected by itself
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "the server is back" in out, out
    assert proc.returncode == 0, out
    # Quiet start: the banner is the first thing printed (no migration INFO lines).
    assert out.startswith("HallQ demo hall"), out[:300]
