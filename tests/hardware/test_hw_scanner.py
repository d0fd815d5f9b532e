"""QR / barcode scanners: the code assemblers, and both kinds of scanner driven through
their emulators (serial on a real pty, keyboard wedge as input_event records), unplugged
and plugged back while the reader thread keeps running."""

from __future__ import annotations

import queue
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.emulators.scanner import HidScannerEmulator, SerialScannerEmulator
from hardware.scanner import (
    EVENT,
    KEYCODES,
    CodeAssembler,
    KeyAssembler,
    ScannerReader,
    key_events,
)

URL = "https://hall.example/t/rKCo4hHlDBl1d0Ed24Qc7w?x=1&y=a_b"


def test_serial_codes_split_anywhere_and_any_line_end():
    a = CodeAssembler("CR")
    assert a.feed(b"1234") == [] and a.feed(b"5678\r\n87") == ["12345678"]
    assert a.feed(b"654321\r") == ["87654321"]
    assert CodeAssembler("CRLF").feed(b"A\r\nB\r\n") == ["A", "B"]
    assert CodeAssembler("LF").feed(b"A\nB\n") == ["A", "B"]
    with pytest.raises(ValueError, match="terminator"):
        CodeAssembler("ETX")


def test_overlong_input_without_terminator_is_dropped_not_kept():
    a = CodeAssembler("CR")
    assert a.feed(b"x" * 5000) == []
    assert a.overflows == 1
    assert a.feed(b"xx\rOK\r") == ["OK"]  # the rest of the overlong input is not a code


printable = st.text(alphabet="".join(KEYCODES), min_size=1, max_size=80)


@given(printable, st.data())
def test_keyboard_wedge_round_trip(code, data):
    records = key_events(code)
    cut = data.draw(st.integers(0, len(records)))
    k = KeyAssembler()
    assert k.feed(records[:cut]) + k.feed(records[cut:]) == [code]


def test_key_release_and_repeat_and_other_events_are_ignored():
    k = KeyAssembler()
    noise = EVENT.pack(0, 0, 4, 4, 458792) + EVENT.pack(0, 0, 0, 0, 0)  # MSC_SCAN, SYN
    assert k.feed(noise + key_events("A1")) == ["A1"]


def collect() -> tuple[queue.Queue[str], queue.Queue[bool]]:
    return queue.Queue(), queue.Queue()


def test_serial_scanner_on_a_pty_survives_unplugging(tmp_path):
    emu = SerialScannerEmulator("CRLF")
    path = emu.serve_pty(tmp_path / "ttyACM0")
    codes, links = collect()
    reader = ScannerReader(
        path, codes.put, terminator="CR", on_link=lambda up, detail: links.put(up)
    ).start()
    try:
        assert links.get(timeout=5) is True
        emu.scan(URL)
        assert codes.get(timeout=5) == URL
        emu.unplug()
        assert links.get(timeout=5) is False
        emu.replug()
        assert links.get(timeout=10) is True
        time.sleep(0.05)
        emu.scan("12345678")
        assert codes.get(timeout=5) == "12345678"
    finally:
        reader.stop()
        emu.stop()


def test_keyboard_wedge_scanner_survives_unplugging(tmp_path):
    emu = HidScannerEmulator(tmp_path / "event-kbd")
    path = emu.plug()
    codes, links = collect()
    reader = ScannerReader(
        f"hid:{path}", codes.put, on_link=lambda up, detail: links.put(up)
    ).start()
    try:
        emu.scan(URL)
        assert codes.get(timeout=5) == URL
        assert links.get(timeout=5) is True
        emu.unplug()
        assert links.get(timeout=5) is False
        emu.replug()
        assert links.get(timeout=10) is True
        emu.scan("87654321")
        assert codes.get(timeout=5) == "87654321"
        assert reader.source.grabbed is False  # a FIFO cannot be grabbed; a real node is
    finally:
        reader.stop()
        emu.stop()


def test_missing_scanner_says_where_to_look(tmp_path):
    codes, details = queue.Queue(), queue.Queue()
    reader = ScannerReader(
        f"hid:{tmp_path}/nope", codes.put, on_link=lambda up, detail: details.put(detail)
    ).start()
    try:
        assert "no scanner at" in details.get(timeout=5)
    finally:
        reader.stop()
