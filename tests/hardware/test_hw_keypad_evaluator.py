"""Keypad and evaluator semantics on top of the frame codec (pure, no I/O)."""

from __future__ import annotations

import pytest

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus.frame import Frame, encode
from hardware.exceptions import EncodeError


@pytest.mark.parametrize(
    ("key", "digits", "action", "argument"),
    [
        (kp.KEY_CALL, "", kp.KeyAction.CALL_NEXT, None),
        (kp.KEY_CALL, "12", kp.KeyAction.CALL_NUMBER, "12"),
        (kp.KEY_RECALL, "", kp.KeyAction.RECALL, None),
        (kp.KEY_START, "7", kp.KeyAction.TRANSFER, "7"),
        (kp.KEY_RATE, "", kp.KeyAction.RATE, None),
        (kp.KEY_CANCEL, "", kp.KeyAction.CANCEL, None),
        (kp.KEY_FUNCTION, "0", kp.KeyAction.PAUSE, None),
        (kp.KEY_FUNCTION, "5", kp.KeyAction.NO_SHOW, None),
        (kp.KEY_FUNCTION, "4", kp.KeyAction.SIGN_OUT, None),
        (kp.KEY_FUNCTION, "1023", kp.KeyAction.SIGN_IN, "1023"),
    ],
)
def test_default_key_table(key, digits, action, argument):
    frame = kp.key_frame(3, key, digits)
    assert kp.parse_key_frame(frame) == kp.KeyEvent(3, action, argument)


def test_vendor_table_changes_meaning_not_code():
    frame = kp.key_frame(3, kp.KEY_FUNCTION, "6")
    assert isinstance(kp.parse_key_frame(frame, kp.SLZC), kp.UnknownKey)
    assert kp.parse_key_frame(frame, kp.JQ).action is kp.KeyAction.NO_SHOW


@pytest.mark.parametrize(
    "data",
    [b"", b"\x0d\x0c", bytes([1, 0x3F]), bytes([kp.KEY_START]), bytes([1, 2, kp.KEY_RECALL])],
)
def test_unknown_keys_are_reported_not_raised(data):
    assert isinstance(kp.parse_key_frame(Frame(1, 1, data)), kp.UnknownKey)


def test_key_command_filter():
    variant = kp.KeypadVariant(key_command=0x01)
    assert isinstance(kp.parse_key_frame(Frame(1, 0x05, b"\x0c"), variant), kp.UnknownKey)
    assert kp.parse_key_frame(Frame(1, 0x01, b"\x0c"), variant).action is kp.KeyAction.CALL_NEXT


def test_show_number_layout_matches_reference_host():
    frame = kp.show_number_frame(1, "A012")
    assert encode(frame) == bytes.fromhex("ff 68 08 08 68 01 02 0a 0a 0a 00 01 02 24 16")
    with_waiting = kp.show_number_frame(1, "B7", waiting=1234)
    assert with_waiting.data == bytes([9, 9, 9, 10, 10, 7])
    assert kp.parse_host_frame(with_waiting).text == "999  7"


def test_result_and_beep_frames():
    assert kp.parse_host_frame(kp.show_result_frame(1, True)).kind == "success"
    assert kp.parse_host_frame(kp.show_result_frame(1, False)).kind == "failure"
    assert encode(kp.beep_frame(1)) == bytes.fromhex("ff 68 02 02 68 01 03 04 16")
    with pytest.raises(EncodeError):
        kp.key_frame(1, kp.KEY_CALL, "1a")


def test_scales_map_onto_national_five_levels():
    assert [ev.FIVE_KEY.grade(k) for k in range(5)] == list(ev.NationalGrade)
    assert ev.FOUR_KEY.grade(0) is ev.NationalGrade.DISSATISFIED
    assert ev.FOUR_KEY.grade(3) is ev.NationalGrade.VERY_SATISFIED
    assert ev.FOUR_KEY.grade(4) is None
    assert ev.NationalGrade.DISSATISFIED.needs_follow_up
    assert not ev.NationalGrade.BASICALLY_SATISFIED.needs_follow_up


def test_prompt_ack_and_rating_frames():
    prompt = ev.prompt_frame(0x81, "A012")
    assert prompt == Frame(0x81, 0x01, bytes([0x0B, 0, 1, 2]))
    assert ev.parse_host_frame(prompt) == ev.HostCommand("prompt", ticket_digits="012")
    quiet = ev.EvaluatorVariant(prompt_digits=False)
    assert ev.prompt_frame(0x81, "A012", quiet).data == b"\x0b"
    assert ev.parse_host_frame(ev.ack_frame(0x81)).kind == "ack"
    assert ev.parse_host_frame(ev.stars_frame(0x81, 4)).stars == 4
    press = ev.parse_rating_frame(ev.rating_frame(0x81, 3), ev.FOUR_KEY)
    assert press == ev.Press(0x81, 3, ev.NationalGrade.VERY_SATISFIED)
    assert ev.parse_rating_frame(Frame(0x81, 0x02, b"\x01"), ev.FOUR_KEY) is None
    assert ev.SLZC_EVALUATOR.address_for_keypad(3) == 0x83


def test_tracker_rated_not_rated_unsolicited_invalid():
    tracker = ev.EvaluationTracker(timeout=30)
    assert tracker.prompt(0x81, "A012", now=0) == []
    invalid = tracker.press(ev.Press(0x81, 9, None), now=1)
    assert invalid.kind is ev.OutcomeKind.INVALID_KEY and tracker.waiting(0x81) == "A012"
    rated = tracker.press(ev.Press(0x81, 0, ev.NationalGrade.VERY_DISSATISFIED), now=2)
    assert (rated.kind, rated.ticket, rated.grade) == (
        ev.OutcomeKind.RATED,
        "A012",
        ev.NationalGrade.VERY_DISSATISFIED,
    )
    late = tracker.press(ev.Press(0x81, 4, ev.NationalGrade.VERY_SATISFIED), now=3)
    assert late.kind is ev.OutcomeKind.UNSOLICITED and late.ticket is None

    tracker.prompt(0x81, "A013", now=10)
    assert tracker.expire(now=39) == []
    assert tracker.expire(now=41) == [ev.RatingOutcome(0x81, ev.OutcomeKind.NOT_RATED, "A013")]

    tracker.prompt(0x82, "B001", now=50)
    replaced = tracker.prompt(0x82, "B002", now=51)
    assert replaced == [ev.RatingOutcome(0x82, ev.OutcomeKind.NOT_RATED, "B001")]
