"""The emulator parses commands, so status bytes inside image data are not queries."""

from __future__ import annotations

from hardware.emulators.escpos import EscPosParser


def test_dle_eot_inside_raster_data_is_not_a_query():
    replies = []
    tickets = []
    parser = EscPosParser(tickets.append, on_query=lambda n: 0x12, reply=replies.append)
    # 2 bytes wide, 2 rows: the data holds 10 04 01 and 10 04.
    raster = b"\x1dv0\x00\x02\x00\x02\x00" + b"\x10\x04\x01\x10"
    stream = b"\x1b@" + raster + b"\x10\x04\x04" + b"\x1dV\x00"
    for i in range(len(stream)):  # one byte at a time, like a slow serial line
        parser.feed(stream[i : i + 1])
    assert parser.queries == [4]
    assert replies == [b"\x12"]
    assert tickets[0].rasters[0].data == b"\x10\x04\x01\x10"
    assert tickets[0].cut == "full"


def test_gb18030_trail_bytes_are_not_commands():
    # 乐 in GB18030 is C0 D6; 丐 is D8 A4; pick a character whose trail byte is 0x1B? None
    # exist in GB18030 (trail >= 0x30), so check a 4-byte code containing 0x30-0x39 bytes.
    tickets = []
    parser = EscPosParser(tickets.append)
    parser.feed(b"\x1c&" + "𠀀〇".encode("gb18030") + b"\n\x1dV\x01")
    assert tickets[0].text_lines == ["𠀀〇"]


def test_unknown_commands_are_listed_not_fatal():
    tickets = []
    parser = EscPosParser(tickets.append)
    parser.feed(b"\x1b\x7fabc\n\x1dV\x00")
    assert tickets[0].unknown == ["1b 7f"]
    assert tickets[0].text_lines == ["abc"]
