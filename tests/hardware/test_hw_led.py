"""LED strip frames: exact bytes, GBK cells with colours, stream decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.bus import led
from hardware.bus.frame import Frame
from hardware.bus.frame import encode as encode_ff68
from hardware.exceptions import EncodeError


def test_init_frame_bytes():
    assert led.encode(led.init_frame(1)) == bytes.fromhex("a0 90 01 a1 00 00 a0")


def test_text_frame_bytes_and_xor():
    raw = led.encode(led.text_frame(2, "A号", led.LedColour.GREEN))
    assert raw[:6] == bytes.fromhex("a0 90 02 a5 00 05")
    assert raw[6:11] == b"A\x01" + "号".encode("gbk") + b"\x01"
    check = 0
    for byte in raw[2:-1]:
        check ^= byte
    assert raw[-1] == check


def test_serving_frame_colours_ticket_green():
    frame = led.serving_frame(3, "5", "A012")
    assert frame.text == "请A012号到5号窗口"
    colours = {c.char: c.colour for c in frame.cells() if c.char in "A请"}
    assert colours == {"A": led.LedColour.GREEN, "请": led.LedColour.RED}
    assert led.paused_frame(3, "5").text == "5号窗口暂停服务"
    assert led.paused_frame(3, "5", "en").text == "Window 5 paused"


def test_length_uses_base_255_like_the_reference_host():
    frame = led.text_frame(1, "x" * 150)  # 300 payload bytes
    raw = led.encode(frame)
    assert raw[4:6] == bytes((1, 45))
    decoded = led.LedDecoder().feed(raw)
    assert decoded == [frame]


def test_unshowable_text_is_an_error_not_garbage():
    with pytest.raises(EncodeError):
        led.text_frame(1, "¥")
    with pytest.raises(EncodeError):
        led.text_frame(1, "a\x1bb")


@given(
    st.text(alphabet="0123456789ABC号窗口请到暂停服务", max_size=40),
    st.binary(max_size=30),
    st.integers(0, 255),
)
def test_decoder_finds_frame_among_other_bus_traffic(text, noise, address):
    frame = led.text_frame(address, text)
    other = encode_ff68(Frame(1, 2, b"\x0c"))
    events = led.LedDecoder().feed(other + noise.replace(b"\xa0", b"") + led.encode(frame) + other)
    frames = [e for e in events if isinstance(e, led.LedFrame)]
    assert frames == [frame]
    assert frames[0].text == text
