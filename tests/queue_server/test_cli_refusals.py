"""Every command that reads the hall's database says a refusal in one line, names itself,
exits 1 and leaves no traceback (one handler in ``cli.main`` since session 4; each command
caught and printed it itself before, and two had no test of it)."""

from __future__ import annotations

import pytest

from queue_server.cli import main
from queue_server.store import db
from tests.conftest import TEST_HALL

REVERSED = ["--from", "2026-11-30", "--to", "2026-11-01"]


@pytest.mark.parametrize(
    ("command", "args"),
    [
        (["report", "cases"], REVERSED),
        (["report", "summary"], REVERSED),
        (["ratings", "export", "ratings"], REVERSED),
        (["assess"], ["--period", "2026-11-30..2026-11-01"]),
    ],
)
def test_a_refused_period_is_said_by_the_command_and_exits_1(command, args, sqlite_url, capsys):
    engine = db.open_engine(sqlite_url)
    db.upgrade(engine)
    engine.dispose()
    code = main([*command, "--config", str(TEST_HALL), "--db", sqlite_url, *args])
    err = capsys.readouterr().err
    assert code == 1
    name = " ".join(command[:2]) if command[0] != "assess" else "assess"
    assert err.startswith(f"hallq {name}: "), err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
