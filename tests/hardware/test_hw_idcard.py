"""The ID card reader: SAM frames byte for byte, the driver against the emulator on a real
pty, and privacy (only a salted hash of the number, the birth date and the validity end
leave the driver; nothing personal in logs or reprs)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardware.emulators.idcard import SAMPLE_ADULT, SAMPLE_SENIOR, IdCardReaderEmulator
from hardware.exceptions import DecodeError, TransportError
from hardware.idcard.protocol import (
    Command,
    FrameDecoder,
    Garbage,
    Request,
    Response,
    Status,
    card_text,
    encode_request,
    encode_response,
    hash_id_number,
    id_number_valid,
    parse_card,
)
from hardware.idcard.reader import CardReadError, IdCardReader

SALT = b"hall-secret-salt-0123456789"


def test_request_frames_match_the_public_examples():
    # Find card, as in the IDM20 module SDK and every reader manual that shows it.
    assert encode_request(Command.FIND_CARD) == bytes.fromhex("aa aa aa 96 69 00 03 20 01 22")
    assert encode_request(Command.SAM_STATUS) == bytes.fromhex("aa aa aa 96 69 00 03 11 ff ed")
    assert encode_request(Command.READ_TEXT_PHOTO) == bytes.fromhex("aa aa aa 96 69 00 03 30 01 32")


def test_response_decoder_resyncs_after_noise_and_a_bad_check_byte():
    good = encode_response(Status.CARD_FOUND, bytes(4))
    bad = bytearray(encode_response(Status.OK))
    bad[-1] ^= 0x55
    events = FrameDecoder().feed(b"\x00\xaa\x13" + bytes(bad) + good)
    responses = [e for e in events if isinstance(e, Response)]
    assert responses == [Response(0, 0, Status.CARD_FOUND, bytes(4))]
    assert any(isinstance(e, Garbage) and e.reason == "bad check byte" for e in events)


@given(st.binary(max_size=64), st.integers(0, 255), st.binary(max_size=40), st.data())
def test_a_response_behind_any_noise_is_found_split_anywhere(noise, sw3, data, draw):
    raw = encode_response(sw3, data)
    stream = noise + raw
    cut = draw.draw(st.integers(0, len(stream)))
    decoder = FrameDecoder()
    events = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
    assert Response(0, 0, sw3, data) in events


def test_request_decoder_for_the_emulator():
    events = FrameDecoder(requests=True).feed(encode_request(Command.SELECT_CARD))
    assert events == [Request(0x20, 0x02)]


def test_id_number_check_digit():
    assert id_number_valid(SAMPLE_SENIOR.id_number)
    assert id_number_valid("11010119800101007X") and id_number_valid("11010119800101007x")
    assert not id_number_valid("110101198001010071")
    assert not id_number_valid("1101011980")


def card_data(card) -> bytearray:
    return bytearray(b"\x01\x00\x04\x00" + card.text() + bytes(1024))


def test_parse_keeps_only_the_hash_birth_date_and_validity():
    data = card_data(SAMPLE_ADULT)
    reading = parse_card(data, SALT)
    assert reading.birth_date == dt.date(1990, 3, 7)
    assert reading.valid_to == dt.date(2030, 1, 1)
    assert reading.id_hash == hash_id_number(SAMPLE_ADULT.id_number, SALT)
    assert {f.name for f in dataclasses.fields(reading)} == {"id_hash", "birth_date", "valid_to"}
    assert data == bytearray(len(data))  # name, address and photo wiped from the buffer
    everything = repr(reading) + str(vars(reading))
    for secret in (SAMPLE_ADULT.name, SAMPLE_ADULT.id_number, SAMPLE_ADULT.address):
        assert secret not in everything


def test_hash_is_salted_and_stable():
    number = SAMPLE_ADULT.id_number
    assert hash_id_number(number, SALT) == hash_id_number(number, SALT)
    assert hash_id_number(number, SALT) != hash_id_number(number, SALT[::-1])
    with pytest.raises(ValueError, match="16 bytes"):
        hash_id_number(number, b"short")


def test_age_and_seniority_at_the_moment_of_issue():
    reading = parse_card(card_data(SAMPLE_SENIOR), SALT)
    assert reading.valid_to is None  # 长期
    assert reading.age_on(dt.date(2015, 3, 6)) == 64
    assert not reading.is_senior(dt.date(2015, 3, 6))
    assert reading.is_senior(dt.date(2015, 3, 7))
    assert reading.is_senior(dt.date(2014, 3, 7), age=64)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id_number": "110101199003070012"}, "check digit"),
        ({"birth_date": "19900308"}, "does not match"),
        ({"birth_date": "1990030x"}, "YYYYMMDD"),
    ],
)
def test_bad_card_data_is_a_clear_error_without_card_content(change, message):
    card = dataclasses.replace(SAMPLE_ADULT, **change)
    with pytest.raises(DecodeError, match=message) as info:
        parse_card(card_data(card), SALT)
    assert card.id_number not in str(info.value) and card.name not in str(info.value)
    with pytest.raises(DecodeError, match="text length"):
        parse_card(bytearray(b"\x00\x10\x04\x00" + bytes(40)), SALT)


def test_card_text_layout_is_256_bytes_ucs2():
    text = card_text(name="张三", id_number=SAMPLE_SENIOR.id_number)
    assert len(text) == 256
    assert text[:4] == "张三".encode("utf-16-le")
    assert text[122:158].decode("utf-16-le") == SAMPLE_SENIOR.id_number


@pytest.fixture
def reader_on_pty(tmp_path):
    emu = IdCardReaderEmulator()
    path = emu.serve_pty(tmp_path / "ttyUSB-id")
    reader = IdCardReader(path, SALT, timeout=0.5)
    yield emu, reader
    reader.close()
    emu.stop()


def test_reader_reads_each_placed_card_once(reader_on_pty, caplog):
    emu, reader = reader_on_pty
    caplog.set_level(logging.DEBUG)
    assert reader.sam_ok()
    assert reader.poll() is None  # no card
    emu.place(SAMPLE_SENIOR)
    reading = reader.poll()
    assert reading is not None and reading.birth_date == dt.date(1950, 3, 7)
    assert reading.id_hash == hash_id_number(SAMPLE_SENIOR.id_number, SALT)
    assert reader.poll() is None  # still on the reader: not read twice
    emu.lift()
    emu.place(SAMPLE_SENIOR)
    assert reader.poll() == reading
    for secret in (SAMPLE_SENIOR.name, SAMPLE_SENIOR.id_number, SAMPLE_SENIOR.address):
        assert secret not in caplog.text


def test_reader_recovers_after_the_bridge_is_unplugged(reader_on_pty):
    emu, reader = reader_on_pty
    assert reader.sam_ok()
    emu.unplug()
    with pytest.raises(TransportError):
        reader.poll()
    emu.replug()
    reader.transport.backoff.succeeded()  # the backoff itself is tested with the printer
    emu.place(SAMPLE_ADULT)
    assert reader.poll() is not None


def test_card_moved_away_between_find_and_select_is_a_read_error(reader_on_pty):
    emu, reader = reader_on_pty
    emu.place(SAMPLE_ADULT)
    emu.before_answer = lambda key: key == Command.SELECT_CARD.value and emu.lift()
    with pytest.raises(CardReadError, match="select card answered 00 00 81"):
        reader.poll()
    emu.before_answer = None
    emu.place(SAMPLE_ADULT)
    assert reader.poll() is not None
