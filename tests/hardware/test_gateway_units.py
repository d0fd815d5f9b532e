"""The gateway's pure parts: its config section, its key plans, its view of windows and
devices. No bus, no server."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pytest

from hardware.bus import keypad as kp
from hardware.gateway import config as gc
from hardware.gateway.keys import Request, keypad_variant, labels_for, plan_key
from hardware.gateway.state import DeviceKey, HallView, Presence, WindowView
from queue_server.config import ConfigError, parse_config

HALL = tomllib.loads((Path(__file__).parents[1] / "hall_test.toml").read_text("utf-8"))
EXAMPLE = tomllib.loads((Path(__file__).parent / "gateway_hall.toml").read_text("utf-8"))
A = kp.KeyAction


def hall_with(section: dict) -> dict:
    raw = copy.deepcopy(HALL)
    raw["gateway"] = section
    return raw


def section() -> dict:
    return copy.deepcopy(EXAMPLE["gateway"])


# -- config ---------------------------------------------------------------------------


def test_example_section_parses_into_typed_settings():
    settings, problems = gc.parse(section(), hall_with(section()))
    assert problems == []
    assert settings is not None
    assert settings.token_env == "HALLQ_GATEWAY_TOKEN" and settings.clerk_format == "c{digits}"
    bus = settings.buses[0]
    assert (bus.port, bus.baud, bus.rs485, bus.keys) == ("/dev/ttyUSB0", 9600, False, "slzc")
    kinds = {(d.kind, d.window, d.address) for d in bus.devices}
    assert ("evaluator", 1, 0x81) in kinds and ("led", 1, 1) in kinds
    assert settings.window_queues[2] == ("B", "A")
    assert settings.hall_rating_seconds == 60 and settings.hall_rating_scale == 5
    evaluator = next(d for d in bus.devices if d.kind == "evaluator")
    assert evaluator.name == "window-1" and evaluator.scale == 5


def test_server_defaults_to_the_hall_files_own_server():
    s = section()
    del s["server"]
    raw = hall_with(s)
    raw["server"] = {"host": "0.0.0.0", "port": 9001}
    settings, problems = gc.parse(s, raw)
    assert problems == [] and settings is not None
    assert settings.server == "ws://127.0.0.1:9001/"


@pytest.mark.parametrize(
    ("change", "where", "needle"),
    [
        (lambda s: s.update(server="http://x/"), "server", "ws://"),
        (lambda s: s.update(colour="red"), "colour", "unknown key"),
        (lambda s: s.update(buses=[]), "buses", "at least one bus"),
        (lambda s: s.update(request_timeout="soon"), "request_timeout", "number"),
        (lambda s: s.update(clerk_format="{clerk}"), "clerk_format", "{digits}"),
        (lambda s: s["buses"][0].pop("port"), "buses[0].port", "required"),
        (lambda s: s["buses"][0].update(baud=9601), "buses[0].baud", "9600"),
        (lambda s: s["buses"][0].update(keys="acme"), "buses[0].keys", "slzc"),
        (lambda s: s["buses"][0].update(rs485="yes"), "buses[0].rs485", "true or false"),
        (
            lambda s: s["buses"][0]["devices"][0].update(address=300),
            "buses[0].devices[0].address",
            "0-255",
        ),
        (
            lambda s: s["buses"][0]["devices"][0].update(kind="printer"),
            "buses[0].devices[0].kind",
            "keypad",
        ),
        (
            lambda s: s["buses"][0]["devices"][0].update(window=9),
            "buses[0].devices[0].window",
            "no window 9",
        ),
        (
            lambda s: s["buses"][0]["devices"][1].update(scale=3),
            "buses[0].devices[1].scale",
            "4 or 5",
        ),
        (
            lambda s: s["buses"][0]["devices"][2].update(language="fr"),
            "buses[0].devices[2].language",
            "zh",
        ),
        (
            lambda s: s["buses"][0]["devices"][2].update(silence_timeout=5),
            "buses[0].devices[2].silence_timeout",
            "never answer",
        ),
    ],
)
def test_each_mistake_is_named_with_its_place(change, where, needle):
    s = section()
    change(s)
    settings, problems = gc.parse(s, hall_with(s))
    assert settings is None
    assert any(w == where and needle in m for w, m in problems), problems


def test_duplicates_are_refused():
    s = section()
    devices = s["buses"][0]["devices"]
    devices.append({"address": 0x81, "kind": "keypad", "window": 3})  # address of the evaluator
    devices.append({"address": 7, "kind": "keypad", "window": 1})  # window 1 has a keypad
    s["buses"].append(
        copy.deepcopy(s["buses"][0])
        | {"name": "bus-2", "devices": [{"address": 9, "kind": "led", "window": 3}]}
    )
    _, problems = gc.parse(s, hall_with(s))
    messages = dict(problems)
    assert "already used on this bus" in messages["buses[0].devices[5].address"]
    assert "already has a keypad" in messages["buses[0].devices[6]"]
    assert "already used by another bus" in messages["buses[1].port"]


def test_five_key_evaluator_in_a_four_level_hall_is_refused():
    s = section()
    raw = hall_with(s)
    raw["rules"]["rating_scale"] = 4
    _, problems = gc.parse(s, raw)
    assert any("five-key" in m for _, m in problems)
    s["buses"][0]["devices"][1]["scale"] = 4
    settings, problems = gc.parse(s, hall_with(s) | {"rules": raw["rules"]})
    assert problems == [] and settings is not None
    assert next(d for _, d in settings.devices() if d.kind == "evaluator").scale == 4


def test_evaluator_scale_is_required_never_inherited_from_the_hall():
    """Measured on main: a four-key device with no ``scale`` in a five-level hall took the
    hall's 5, so its best key (raw 3, "very good") was recorded as level 4."""
    s = section()
    del s["buses"][0]["devices"][1]["scale"]
    settings, problems = gc.parse(s, hall_with(s))
    assert settings is None
    where, message = next(p for p in problems if p[0].endswith("scale"))
    assert where == "buses[0].devices[1].scale"
    assert "required for an evaluator" in message and "rating_scale" in message


def test_evaluator_scale_from_a_named_model():
    s = section()
    device = s["buses"][0]["devices"][1]
    del device["scale"]
    device["model"] = "slzc-4key"
    settings, problems = gc.parse(s, hall_with(s))
    assert problems == []
    evaluator = next(d for _, d in settings.devices() if d.kind == "evaluator")
    assert evaluator.scale == 4
    device["model"] = "acme-9000"
    _, problems = gc.parse(s, hall_with(s))
    assert dict(problems)["buses[0].devices[1].model"].startswith("unknown evaluator model")
    device["model"], device["scale"] = "slzc-4key", 5
    _, problems = gc.parse(s, hall_with(s))
    assert "has 4 keys, not 5" in dict(problems)["buses[0].devices[1].scale"]
    s["buses"][0]["devices"][0]["model"] = "slzc-4key"
    _, problems = gc.parse(s, hall_with(s))
    assert "only evaluators" in dict(problems)["buses[0].devices[0].model"]


def test_the_hall_loader_runs_the_gateway_validator():
    """`hallq check-config` and the server see gateway mistakes with a full location."""
    s = section()
    s["buses"][0]["devices"][0]["window"] = 42
    with pytest.raises(ConfigError) as info:
        parse_config(hall_with(s))
    assert any(p.startswith("gateway.buses[0].devices[0].window") for p in info.value.problems)
    assert parse_config(hall_with(section())).sections["gateway"]["name"] == "gateway-test"


# -- keys -----------------------------------------------------------------------------


def plan(action, argument=None, status="open", queues=("A", "B")):
    return plan_key(
        action, argument, window=1, status=status, queues=queues, clerk_format="c{digits}"
    )


@pytest.mark.parametrize(
    ("action", "argument", "status", "op", "extra"),
    [
        (A.CALL_NEXT, None, "open", "call.next", {}),
        (A.RECALL, None, "open", "call.recall", {}),
        (A.START, None, "open", "case.start", {}),
        (A.RATE, None, "open", "case.finish", {}),
        (A.TRANSFER, "12", "open", "ticket.transfer", {"to_window": 12}),
        (A.PAUSE, None, "open", "window.pause", {}),
        (A.PAUSE, None, "paused", "window.resume", {}),
        (A.RESUME, None, "paused", "window.resume", {}),
        (A.NO_SHOW, None, "open", "case.no_show", {}),
        (A.SIGN_OUT, None, "open", "window.close", {}),
        (A.SIGN_IN, "001", "closed", "window.open", {"clerk": "c001"}),
    ],
)
def test_each_key_becomes_one_operation_for_its_window(action, argument, status, op, extra):
    assert plan(action, argument, status).requests == (Request(op, {"window": 1, **extra}),)


def test_call_by_number_tries_the_windows_queues_in_order():
    assert plan(A.CALL_NUMBER, "15").requests == (
        Request("call.number", {"window": 1, "label": "A015"}),
        Request("call.number", {"window": 1, "label": "B015"}),
    )
    assert labels_for("1234", ["C"]) == ["C1234"]
    assert plan(A.CALL_NUMBER, "5", queues=()).refuse


def test_local_and_unsupported_keys_send_nothing():
    assert plan(A.CANCEL).local == "clear" and not plan(A.CANCEL).requests
    assert plan(A.SHOW_ADDRESS).local == "show_address"
    refused = plan(A.CALL_BACK)
    assert refused.refuse and not refused.requests


def test_gateway_rows_come_before_the_vendor_table():
    for name in ("slzc", "jq"):
        variant = keypad_variant(name)
        start = kp.parse_key_frame(kp.key_frame(1, kp.KEY_START), variant)
        assert start == kp.KeyEvent(1, A.START)
        resume = kp.parse_key_frame(kp.key_frame(1, kp.KEY_FUNCTION, "1"), variant)
        assert resume == kp.KeyEvent(1, A.RESUME)
        transfer = kp.parse_key_frame(kp.key_frame(1, kp.KEY_START, "3"), variant)
        assert transfer == kp.KeyEvent(1, A.TRANSFER, "3")
    # The vendor tables themselves are unchanged.
    assert isinstance(kp.parse_key_frame(kp.key_frame(1, kp.KEY_START)), kp.UnknownKey)


# -- hall view --------------------------------------------------------------------------


def test_window_view_decides_what_keypad_and_strip_show():
    view = HallView({1: ("A", "B"), 2: ("B",)})
    view.apply_window({"number": 1, "status": "open", "ticket": None, "ticket_status": None})
    assert view.window(1).led() == ("idle", None) and view.window(1).current is None
    view.apply_called({"window": 1, "label": "A007", "status": "called"})
    assert view.window(1).led() == ("serving", "A007")
    view.apply_window({"number": 1, "status": "open", "ticket": "A007", "ticket_status": "done"})
    assert view.window(1).current is None and view.window(1).led() == ("idle", None)
    view.apply_window({"number": 1, "status": "paused", "ticket": None, "ticket_status": None})
    assert view.window(1).led() == ("paused", None)
    assert view.waiting_at(1) is None
    assert view.apply_stats({"queue": "B", "waiting": 4}) == [1, 2]
    assert view.apply_stats({"queue": "B", "waiting": 4}) == []  # unchanged: no redraw
    view.apply_stats({"queue": "A", "waiting": 3})
    assert (view.waiting_at(1), view.waiting_at(2)) == (7, 4)
    assert view.apply_window({"number": "x"}) is None and view.apply_called({}) is None


def test_snapshot_replaces_the_view():
    view = HallView({1: ("A",)})
    view.apply_snapshot(
        {
            "windows": [
                {"number": 1, "status": "open", "ticket": "A001", "ticket_status": "serving"},
                "junk",
            ],
            "queues": [{"queue": "A", "waiting": 2}],
        }
    )
    assert view.window(1) == WindowView(1, "open", "A001", "serving")
    assert view.waiting_at(1) == 2


# -- presence ---------------------------------------------------------------------------


def test_presence_reports_changes_only():
    pad = DeviceKey("window-1", "keypad", "bus-1", 1)
    led = DeviceKey("window-1", "led", "bus-1", 1)
    p = Presence([pad, led], started=0.0, startup_grace=2.0)
    assert p.evaluate(1.0) == []  # port not open yet, still within the grace
    late = p.evaluate(2.5)
    assert [(c.device, c.state) for c in late] == [(pad, "offline"), (led, "offline")]
    assert p.evaluate(3.0) == []
    up = p.link("bus-1", True, 3.5)
    assert [c.state for c in up] == ["online", "online"]
    down = p.link("bus-1", False, 4.0, "read failed: EIO")
    assert [c.state for c in down] == ["offline", "offline"]
    assert "EIO" in (down[0].detail or "")
    assert [c.state for c in p.link("bus-1", True, 5.0)] == ["online", "online"]


def test_silence_timeout_marks_a_quiet_device_offline_until_it_speaks():
    pad = DeviceKey("window-1", "keypad", "bus-1", 1, silence_timeout=10)
    p = Presence([pad], started=0.0, startup_grace=2.0)
    assert [c.state for c in p.link("bus-1", True, 0.0)] == ["online"]
    assert p.evaluate(9.0) == []
    gone = p.evaluate(11.0)
    assert [c.state for c in gone] == ["offline"] and "silent" in (gone[0].detail or "")
    p.heard("bus-1", 1, 12.0)
    assert [c.state for c in p.evaluate(12.5)] == ["online"]
