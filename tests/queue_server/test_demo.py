"""The README's first command: the demo hall runs with emulated devices and stops cleanly."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time


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
                            "SELECT count(*) FROM cases WHERE rating_source = 'device'"
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
    with sqlite3.connect(db) as conn:
        ops = dict(conn.execute("SELECT op, count(*) FROM audit GROUP BY op").fetchall())
    assert ops["ticket.issue"] >= 1 and ops["call.next"] >= 1 and ops["window.open"] == 4
    assert ops["case.finish"] >= 1 and ops["rating.submit"] >= 1
    assert (folder / "hall.toml").read_text().count("[gateway]") == 1
