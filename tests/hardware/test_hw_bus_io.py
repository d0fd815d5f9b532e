"""Bus drivers against the device emulators over real pseudo-terminals."""

from __future__ import annotations

import time

import pytest

from hardware.bus import evaluator as ev
from hardware.bus import keypad as kp
from hardware.bus.driver import BusDriver, EvaluatorDriver, KeypadDriver, LedDriver
from hardware.bus.frame import Frame, encode
from hardware.bus.serial_link import SerialSettings, open_serial
from hardware.emulators.bus import EmulatedBus, wait_for
from hardware.exceptions import TransportError


@pytest.fixture
def hall(tmp_path):
    emu = EmulatedBus(tmp_path / "ttyBUS").start()
    bus = BusDriver(SerialSettings(emu.path), backoff_initial=0.05, backoff_max=0.2)
    yield emu, bus
    bus.stop()
    emu.stop()


def test_keypad_keys_become_events_and_are_acknowledged(hall):
    emu, bus = hall
    pad = emu.keypad(3)
    events = []
    KeypadDriver(bus, 3, events.append)
    bus.start()
    assert bus.wait_up(2)
    pad.call_next()
    pad.call_number("15")
    pad.transfer("7")
    pad.function("5")
    assert wait_for(lambda: len(events) == 4)
    assert [(e.action, e.argument) for e in events] == [
        (kp.KeyAction.CALL_NEXT, None),
        (kp.KeyAction.CALL_NUMBER, "15"),
        (kp.KeyAction.TRANSFER, "7"),
        (kp.KeyAction.NO_SHOW, None),
    ]
    assert wait_for(lambda: pad.acks == 4)


def test_host_drives_keypad_display_and_led(hall):
    emu, bus = hall
    pad = emu.keypad(3)
    strip = emu.led_strip(3)
    keypad = KeypadDriver(bus, 3, lambda e: None)
    strip_driver = LedDriver(bus, 3, window="5")
    bus.start()
    assert bus.wait_up(2)
    strip_driver.init()
    keypad.show_number("A012", waiting=8)
    keypad.show_result(True)
    keypad.beep()
    strip_driver.show_serving("A012")
    assert wait_for(lambda: pad.beeps == 1 and strip.text)
    assert pad.display == "  8012" and pad.results == [True]
    assert strip.inits == 1 and strip.text == "请A012号到5号窗口"
    strip_driver.show_paused()
    assert wait_for(lambda: strip.text == "5号窗口暂停服务")


def test_evaluator_prompt_press_ack_and_not_rated(hall):
    emu, bus = hall
    device = emu.evaluator(0x83, keys=4)
    outcomes = []
    driver = EvaluatorDriver(bus, 0x83, outcomes.append, scale=ev.FOUR_KEY, timeout=0.4)
    bus.start()
    assert bus.wait_up(2)
    driver.prompt("A012")
    assert wait_for(lambda: device.prompts == ["012"])
    device.press(0)
    assert wait_for(lambda: outcomes)
    assert outcomes[0] == ev.RatingOutcome(
        0x83, ev.OutcomeKind.RATED, "A012", ev.NationalGrade.DISSATISFIED, 0
    )
    assert wait_for(lambda: device.acks == 1 and device.stars == [2])
    driver.prompt("A013")
    assert wait_for(lambda: len(outcomes) == 2, timeout=2)
    assert outcomes[1] == ev.RatingOutcome(0x83, ev.OutcomeKind.NOT_RATED, "A013")


def test_garbage_and_unknown_addresses_do_not_stop_the_bus(hall):
    emu, bus = hall
    pad = emu.keypad(1)
    events, drops, strangers = [], [], []
    KeypadDriver(bus, 1, events.append)
    bus.on_drop = drops.append
    bus.on_unknown_address = strangers.append
    bus.start()
    assert bus.wait_up(2)
    emu.send_raw(b"\x00\x13\x68\x02\x03\x68garbage")
    emu.send(Frame(0x40, 0x01, b"\x0c"))
    bad = bytearray(encode(kp.key_frame(1, kp.KEY_CALL)))
    bad[-2] ^= 1
    emu.send_raw(bytes(bad))
    emu.send_raw(encode(kp.key_frame(1, kp.KEY_CALL))[:5])  # truncated: line goes quiet
    assert wait_for(lambda: drops and strangers)
    assert wait_for(lambda: any(d.reason.value == "truncated" for d in drops), timeout=2)
    pad.recall()
    assert wait_for(lambda: events)
    assert [e.action for e in events] == [kp.KeyAction.RECALL]
    assert strangers[0].address == 0x40


def test_port_unplugged_and_plugged_back(hall):
    emu, bus = hall
    pad = emu.keypad(2)
    events, links = [], []
    KeypadDriver(bus, 2, events.append)
    bus.on_link = links.append
    bus.start()
    assert bus.wait_up(2)
    emu.unplug()
    assert wait_for(lambda: not bus.is_up, timeout=2)
    assert not bus.send(kp.beep_frame(2))  # caller learns the device is offline
    emu.replug()
    assert bus.wait_up(3)
    pad.call_next()
    assert wait_for(lambda: events)
    assert links == [True, False, True]
    assert bus.reopen_count == 2


def test_own_echo_is_not_a_second_key_press(hall):
    """A half-duplex adapter that hears its own transmission must not double-call."""
    emu, bus = hall
    events = []
    KeypadDriver(bus, 4, events.append)
    bus.start()
    assert bus.wait_up(2)
    frame = kp.key_frame(4, kp.KEY_CALL)
    emu.send(frame)  # keypad presses CALL; the driver echoes it as the ack
    assert wait_for(lambda: any(f == frame for f in emu.host_frames))
    emu.send(frame)  # ... and the adapter hands our echo back to us
    assert wait_for(lambda: len(events) >= 1)
    time.sleep(0.2)
    assert len(events) == 1


def test_rs485_on_a_pty_fails_with_a_clear_message(tmp_path):
    with EmulatedBus(tmp_path / "tty485") as emu:
        with pytest.raises(TransportError, match="RS-485"):
            open_serial(SerialSettings(emu.path, rs485=True))
        open_serial(SerialSettings(emu.path)).close()
