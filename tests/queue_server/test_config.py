"""The hall file: every problem reported at once, with its place."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from queue_server.config import (
    DEMO_CONFIG,
    ConfigError,
    check_pin,
    hash_pin,
    load_config,
    parse_config,
)

TEST_HALL = Path(__file__).parent.parent / "hall_test.toml"


def raw_test_hall() -> dict:
    return tomllib.loads(TEST_HALL.read_text())


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, "x.toml")
    return exc.value.problems


def test_demo_hall_is_valid_and_shaped_like_the_seeds():
    c = load_config(DEMO_CONFIG)
    assert len(c.areas) == 6 and any("党" in a.name["zh"] for a in c.areas)
    assert 35 <= len(c.windows) <= 45 and 55 <= len(c.services) <= 70
    assert all(set(sv.name) >= {"zh", "en"} for sv in c.services)
    assert any(sv.kind == "promised" for sv in c.services)


def test_many_problems_are_reported_together_with_locations():
    raw = raw_test_hall()
    raw["services"][1]["queue"] = "Z"
    raw["services"][2]["kind"] = "someday"
    raw["windows"][0]["queues"] = ["A", "Q"]
    raw["devices"][0]["role"] = "janitor"
    raw["queues"][0]["hours"] = ["9-5"]
    raw["rules"]["rating_scale"] = 7
    raw["hall"]["colour"] = "blue"
    got = problems_of(raw)
    expected = [
        "services[1].queue: unknown queue 'Z'",
        "services[2].kind: 'someday' must be one of instant, promised",
        "windows[0].queues[1]: unknown queue 'Q'",
        "devices[0].role: 'janitor' must be one of",
        "queues[0].hours[0]: '9-5' must look like",
        "rules.rating_scale: must be 4 or 5",
        "hall.colour: unknown key",
    ]
    for e in expected:
        assert any(p.startswith(e) for p in got), (e, got)


def test_duplicates_and_cross_references():
    raw = raw_test_hall()
    raw["services"].append(dict(raw["services"][0]))
    raw["windows"][1]["number"] = 1
    raw["devices"][5]["window"] = 99
    raw["services"][0]["area"] = "party"  # its queue A is in civil
    got = problems_of(raw)
    assert any("duplicate service 'general'" in p for p in got)
    assert any("duplicate window 1" in p for p in got)
    assert any(p.startswith("devices[5].window: unknown window 99") for p in got)
    assert any(p.startswith("services[0].area") for p in got)


def test_type_mistakes_do_not_crash_the_loader():
    raw = raw_test_hall()
    raw["windows"][0]["queues"] = [{"x": 1}]
    raw["queues"][0]["hours"] = "08:30-12:00"
    raw["queues"][1]["weekdays"] = [True]
    raw["rules"]["recall_limit"] = "three"
    got = problems_of(raw)
    assert any(p.startswith("windows[0].queues") for p in got)
    assert any(p.startswith("queues[0].hours") for p in got)
    assert any(p.startswith("queues[1].weekdays") for p in got)
    assert any(p.startswith("rules.recall_limit: must be a whole number") for p in got)


def test_tokens_from_environment(monkeypatch):
    raw = raw_test_hall()
    raw["devices"][0] = {"name": "kiosk-1", "role": "kiosk", "token_env": "HALLQ_T_K1"}
    assert any("HALLQ_T_K1" in p for p in problems_of(raw))
    monkeypatch.setenv("HALLQ_T_K1", "from-the-environment")
    c = parse_config(raw)
    assert c.token("from-the-environment").name == "kiosk-1"


def test_lookups_belong_to_their_own_config():
    a = parse_config(raw_test_hall())
    raw = raw_test_hall()
    raw["services"][0]["name"]["zh"] = "改了"
    b = parse_config(raw)
    assert a.service("general").name["zh"] != b.service("general").name["zh"]


def test_pin_hashes():
    h = hash_pin("2468")
    assert check_pin("2468", h) and not check_pin("2469", h)
    assert not check_pin("2468", "plain-text") and h != hash_pin("2468")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queue_server.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_check_config_and_server_report_the_same_problems(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(TEST_HALL.read_text().replace('queue = "B"', 'queue = "Z"'))
    check = run_cli("check-config", str(bad))
    assert check.returncode == 1
    assert "services[1].queue: unknown queue 'Z'" in check.stderr
    server = run_cli("server", "--config", str(bad), "--port", "0")
    assert server.returncode == 2
    assert "services[1].queue: unknown queue 'Z'" in server.stderr
    good = run_cli("check-config", str(TEST_HALL))
    assert good.returncode == 0 and "3 windows" in good.stdout


def test_server_refuses_an_old_schema_and_db_upgrade_fixes_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    refused = run_cli("server", "--config", str(TEST_HALL), "--db", url, "--port", "0")
    assert refused.returncode == 1 and "hallq db upgrade" in refused.stderr
    up = run_cli("db", "upgrade", "--config", str(TEST_HALL), "--db", url)
    from queue_server.store import db

    assert up.returncode == 0 and f"at revision {db.head_revision()}" in up.stdout


def test_appointments_load_from_csv(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    run_cli("db", "upgrade", "--config", str(TEST_HALL), "--db", url)
    csv = tmp_path / "appts.csv"
    csv.write_text(
        "code,service,start,end,language\n"
        "11112222,general,2026-11-24T10:00:00+08:00,2026-11-24T10:30:00+08:00,en\n"
        "33334444,nope,2026-11-24T10:00:00+08:00,2026-11-24T10:30:00+08:00,zh\n"
        "55556666,general,2026-11-24T10:30:00+08:00,2026-11-24T10:00:00+08:00,zh\n"
    )
    out = run_cli("appointments", "load", "--config", str(TEST_HALL), "--db", url, str(csv))
    assert out.returncode == 1
    assert "1 appointment(s) loaded, 2 refused" in out.stdout
    assert "appts.csv:3: unknown service 'nope'" in out.stderr
    assert "appts.csv:4:" in out.stderr


def test_migration_from_0001_keeps_data_and_puts_old_dissatisfied_ratings_on_the_ledger(tmp_path):
    import datetime as dt

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import insert, select, text

    from queue_server.store import db
    from queue_server.store import schema as s

    engine = db.open_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
    old_cases = s.cases.c
    with engine.begin() as conn:  # rows written by version 0001, without the new columns
        conn.execute(
            insert(s.tickets).values(
                day=now.date(),
                prefix="A",
                number=1,
                queue="A",
                service_id="general",
                status="done",
                language="zh",
                issued_at=now,
                sort_at=now,
                recalls=0,
                transfers=0,
                token="t1",
            )
        )
        conn.execute(
            text(
                'INSERT INTO cases (ticket_id, "window", service_id, called_at, outcome,'
                " rating_state, rating, rated_at) VALUES (1, 1, 'general', :t, 'done',"
                " 'rated', 1, :t)"
            ),
            {"t": "2026-11-24 02:00:00.000000"},
        )
    db.upgrade(engine)
    assert db.current_revision(engine) == db.head_revision()
    with engine.begin() as conn:
        assert conn.execute(select(old_cases.rating)).scalar_one() == 1
        # 0002 put it on the follow-up list; 0008 moved that list into the ledger.
        r = s.rectifications.c
        row = conn.execute(select(r.case_id, r.level, r.state, r.department)).one()
    assert tuple(row) == (1, 1, "open", None)  # the department is the sweep's to set
    engine.dispose()


def test_a_section_that_cannot_be_checked_is_a_problem(monkeypatch):
    """A [display] full of nonsense, or a section whose checker cannot be imported,
    is reported, never passed quietly."""
    from queue_server import config as cfg

    raw = raw_test_hall()
    raw["display"] = {"colour": "purple", "fontsize": -3}
    assert any(p.startswith("display") for p in problems_of(raw))
    monkeypatch.setitem(cfg.SECTION_VALIDATORS, "kiosk", "kiosk.no_such_module:validate")
    raw = raw_test_hall()
    raw["kiosk"] = {"idle_seconds": 30}
    assert any(p.startswith("kiosk") and "cannot be checked" in p for p in problems_of(raw))


def test_hash_pin_asks_for_six_digits_unless_told_otherwise():
    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "queue_server.cli", "hash-pin", *args],
            capture_output=True,
            text=True,
        )

    short = run("--pin", "1234")
    assert short.returncode == 1 and "at least 6 digits" in short.stderr
    ok = run("--pin", "123456")
    assert ok.returncode == 0 and check_pin("123456", ok.stdout.strip())
    kept = run("--pin", "1234", "--digits", "4")
    assert kept.returncode == 0 and check_pin("1234", kept.stdout.strip())


def test_departments_and_office_staff_are_loaded():
    c = parse_config(raw_test_hall())
    civil = c.department("civil")
    assert civil is not None and civil.head.staff == "h-civil"
    assert civil.head.phone == "+86 10 5555 0101" and civil.leader is not None
    assert {sv.department for sv in c.services} == {"civil", "party"}
    officer = c.clerk("o-civil")
    assert officer is not None and officer.roles == ("officer",) and officer.department == "civil"
    assert c.clerk("c001") is not None and c.clerk("c001").roles == ()  # a window clerk
    assert c.casefiles.number_format == "T{year}-{seq:05d}"
    demo = load_config(DEMO_CONFIG)
    assert demo.departments and all(sv.department for sv in demo.services)
    assert any(cl.roles for cl in demo.clerks), "the demo has an office login"


def test_department_problems_are_located():
    raw = raw_test_hall()
    raw["departments"][0]["head"]["phone"] = "call me"
    raw["departments"][0]["head"]["email"] = "nobody"
    raw["departments"][1]["id"] = "civil"
    del raw["services"][0]["department"]
    raw["services"][2]["department"] = "tax"
    raw["clerks"][2]["roles"] = ["officer", "janitor"]
    raw["clerks"][3]["department"] = "tax"
    del raw["clerks"][4]["department"]
    raw["casefiles"]["number_format"] = "{year}-{who}"
    raw["casefiles"]["yellow_share"] = 1.5
    got = problems_of(raw)
    expected = [
        "departments[0].head.phone: 'call me' is not a phone number",
        "departments[0].head.email: 'nobody' is not an e-mail address",
        "departments[1].id: duplicate department 'civil'",
        "services[0].department: missing: every service belongs",
        "services[2].department: unknown department 'tax'",
        "clerks[2].roles[1]: 'janitor' must be one of officer, approver, head",
        "clerks[3].department: unknown department 'tax'",
        "clerks[4].department: back-office roles need",
        "casefiles.number_format: '{year}-{who}' cannot be used",
        "casefiles.yellow_share: must be between 0 and 1",
        "casefiles: give yellow_days or yellow_share, not both",
    ]
    for e in expected:
        assert any(p.startswith(e) for p in got), (e, got)


def test_a_promised_service_needs_a_department_and_a_head_must_be_a_head():
    raw = raw_test_hall()
    del raw["departments"]
    for sv in raw["services"]:
        sv.pop("department", None)
    for cl in raw["clerks"]:
        cl.pop("department", None)
        cl.pop("roles", None)
    got = problems_of(raw)
    # Without departments only the promised services are missing one.
    assert [p for p in got if "department" in p] == [
        f"services[{i}].department: missing: a promised service needs the department whose "
        "back office processes its cases"
        for i in (1, 4)
    ]
    raw = raw_test_hall()
    raw["departments"][1]["head"]["staff"] = "c001"
    raw["departments"][0]["head"]["staff"] = "nobody"
    got = problems_of(raw)
    assert (
        "departments[1].head.staff: clerk 'c001' needs roles = [\"head\"] and department = 'party'"
    ) in got
    assert "departments[0].head.staff: unknown clerk 'nobody'" in got


def test_only_a_kiosk_declares_an_id_card_reader():
    raw = raw_test_hall()
    raw["devices"][1]["id_reader"] = True  # the display
    raw["devices"][0]["id_reader"] = "yes"  # the kiosk, not a boolean
    problems = problems_of(raw)
    assert any(p.startswith("devices[1].id_reader") for p in problems)
    assert any(p.startswith("devices[0].id_reader") for p in problems)
