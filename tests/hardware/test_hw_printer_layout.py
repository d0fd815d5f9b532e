"""Ticket bytes, character sets and status parsing, with no I/O."""

from __future__ import annotations

from datetime import datetime

import pytest
from PIL import ImageOps

from hardware.emulators.escpos import EscPosParser
from hardware.exceptions import UnprintableText
from hardware.printer.profile import PROFILES, Charset
from hardware.printer.status import (
    Condition,
    PaperLevel,
    parse_status,
    status_bytes,
)
from hardware.printer.text import display_width, encode_text, wrap
from hardware.printer.ticket import TicketPrint, raster_qr, render_ticket

TICKET = TicketPrint(
    hall_name="市民服务中心",
    service_name="营业执照办理",
    service_name_zh="营业执照办理",
    label="A012",
    people_ahead=3,
    wait_minutes=15,
    issued_at=datetime(2024, 5, 1, 9, 30),
    qr_url="https://hall.example/t/Qx7vK2",
    materials=("身份证原件", "申请费¥5，〇份复印件"),
    footer="谢谢！",
)


def parse(data: bytes):
    tickets = []
    parser = EscPosParser(tickets.append)
    parser.feed(data)
    assert len(tickets) == 1
    return tickets[0]


def test_chinese_ticket_bytes_start_with_init_and_chinese_mode():
    rendered = render_ticket(TICKET, PROFILES["58mm-gb18030"])
    data = rendered.data
    assert data.startswith(b"\x1b@\x1c&")
    assert "市民服务中心".encode("gb18030") in data
    # Full-width punctuation and 〇 go out as their GB18030 double-byte codes.
    assert "，〇份".encode("gb18030") in data
    assert "￥5".encode("gb18030") in data and "¥".encode("gb18030") not in data
    # Ticket label very large: GS ! 0x33 (4 x 4) right before it.
    assert b"\x1d!\x33A012\n" in data
    assert b"\x1d(k" in data and TICKET.qr_url.encode() in data
    assert data.endswith(b"\x1bd\x06\x1dV\x01")  # feed, partial cut


def test_emulator_reads_back_every_field():
    ticket = parse(render_ticket(TICKET, PROFILES["80mm-gb18030"]).data)
    lines = ticket.text_lines
    for expected in (
        "市民服务中心",
        "营业执照办理",
        "A012",
        "前面还有 3 人",
        "预计等待约 15 分钟",
        "取号时间 2024-05-01 09:30",
        "1. 身份证原件",
        "谢谢！",
    ):
        assert expected in lines
    assert ticket.qr_payloads == [TICKET.qr_url]
    assert ticket.chinese_mode and ticket.cut == "partial"
    big = next(line for line in ticket.lines if line.text == "A012")
    assert (big.width, big.height, big.bold, big.align) == (4, 4, True, 1)


def test_rendered_lines_equal_what_the_printer_shows():
    rendered = render_ticket(TICKET, PROFILES["58mm-gb18030"])
    assert parse(rendered.data).text_lines == rendered.lines


def test_rare_ideograph_gbk_vs_gb18030():
    rare = TicketPrint(**{**TICKET.__dict__, "service_name": "𠀀字业务", "language": "zh"})
    full = render_ticket(rare, PROFILES["58mm-gb18030"])
    assert "𠀀".encode("gb18030") in full.data and not full.unprintable
    gbk = render_ticket(rare, PROFILES["58mm-gbk"])
    assert gbk.unprintable == ["𠀀"]
    assert "𠀀".encode("gb18030") not in gbk.data
    assert "□字业务".encode("gbk") in gbk.data
    assert any("replaced" in line for line in gbk.report)


def test_latin_printer_falls_back_cleanly():
    english = TicketPrint(
        **{
            **TICKET.__dict__,
            "language": "en",
            "service_name": "Business licence",
            "hall_name_en": "Civic Centre",
        }
    )
    rendered = render_ticket(english, PROFILES["80mm-latin"])
    assert rendered.data.startswith(b"\x1b@\x1bt\x00")
    assert b"\x1c&" not in rendered.data
    assert max(rendered.data) < 0x80 or b"\x1dv0" in rendered.data
    lines = parse(rendered.data).text_lines
    assert "Civic Centre" in lines and "Business licence" in lines and "A012" in lines
    assert not any("?" in line for line in lines)
    assert any("left out" in r for r in rendered.report)


def test_chinese_ticket_on_latin_printer_uses_english_labels():
    rendered = render_ticket(TICKET, PROFILES["58mm-latin"])
    assert "3 people ahead of you" in rendered.lines
    assert any("English labels" in r for r in rendered.report)


def test_english_ticket_also_prints_chinese_service_name():
    english = TicketPrint(
        **{**TICKET.__dict__, "language": "en", "service_name": "Business licence"}
    )
    lines = parse(render_ticket(english, PROFILES["80mm-gbk"]).data).text_lines
    assert lines.index("Business licence") + 1 == lines.index("营业执照办理")
    assert "Scan to follow your turn" in lines


def test_reprint_is_marked():
    assert "** 补打 **" in render_ticket(TICKET, PROFILES["58mm-gbk"], reprint=True).lines


def test_control_characters_cannot_inject_commands():
    evil = TicketPrint(**{**TICKET.__dict__, "service_name": "办事\x1dV\x00大厅"})
    rendered = render_ticket(evil, PROFILES["58mm-gbk"])
    assert b"\x1dV\x00" not in rendered.data
    assert parse(rendered.data).cut == "partial"


def test_raster_qr_has_four_module_quiet_zone_and_is_centred():
    data = raster_qr("https://hall.example/t/abc", 5, 384)
    tickets = []
    parser = EscPosParser(tickets.append)
    parser.feed(data + b"\x1dV\x00")
    image = tickets[0].rasters[0].to_image()
    assert image.width == 384
    bbox = ImageOps.invert(image.convert("L")).getbbox()  # black pixels
    assert bbox[1] >= 4 * 5 and image.height - bbox[3] >= 4 * 5
    left, right = bbox[0], image.width - bbox[2]
    assert abs(left - right) <= 8 and left >= 4 * 5


def test_text_encoding_rules():
    assert encode_text("¥1", Charset.GBK).data == "￥1".encode("gbk")
    assert encode_text("€", Charset.GBK).data == b"EUR"
    assert encode_text("Café", Charset.LATIN).data == b"Cafe"
    assert encode_text("号", Charset.LATIN).unprintable == ["号"]
    with pytest.raises(UnprintableText):
        encode_text("𠀀", Charset.GBK, strict=True)
    assert display_width("A号") == 3
    assert all(display_width(line) <= 10 for line in wrap("身份证原件及复印件 two copies", 10))


@pytest.mark.parametrize(
    ("state", "condition"),
    [
        ({}, Condition.ONLINE),
        ({"paper": PaperLevel.NEAR_END}, Condition.PAPER_NEAR_END),
        ({"paper": PaperLevel.OUT}, Condition.PAPER_OUT),
        ({"cover_open": True}, Condition.COVER_OPEN),
        ({"cutter_error": True}, Condition.CUTTER_ERROR),
        ({"auto_recoverable_error": True}, Condition.OVERHEATED),
        ({"offline": True}, Condition.OFFLINE),
        ({"cover_open": True, "paper": PaperLevel.OUT}, Condition.PAPER_OUT),
    ],
)
def test_status_bits(state, condition):
    status = parse_status(status_bytes(**state))
    assert status.condition is condition
    assert status.can_print == (condition in (Condition.ONLINE, Condition.PAPER_NEAR_END))
    assert status.to_dict()["condition"] == condition.value


def test_typical_paper_sensor_answers():
    base = {1: 0x12, 2: 0x12, 3: 0x12}
    assert parse_status({**base, 4: 0x12}).paper is PaperLevel.OK
    assert parse_status({**base, 4: 0x1E}).paper is PaperLevel.NEAR_END
    assert parse_status({**base, 4: 0x72}).paper is PaperLevel.OUT


def test_silence_or_noise_is_never_fine():
    assert parse_status({}).condition is Condition.NOT_ANSWERING
    assert parse_status({1: 0x12, 2: 0x12, 3: 0x12, 4: None}).condition is Condition.NOT_ANSWERING
    noisy = parse_status({1: 0xFF, 2: 0x12, 3: 0x12, 4: 0x12})
    assert noisy.condition is Condition.NOT_ANSWERING and not noisy.can_print


# -- issue 16: layout by printed width, substitution before wrapping ----------------------


def printed_columns(line: str) -> int:
    """Columns a GBK head in Chinese mode uses: one per byte (ASCII 1 byte, the rest 2).
    Measured from the bytes, independently of the layout code."""
    return len(line.encode("gbk"))


@pytest.mark.parametrize("profile", ["58mm-gbk", "80mm-gbk"])
def test_punctuation_printed_full_width_is_counted_full_width(profile):
    """Measured on main: `— “ ” … é` counted as half width, so lines overflowed."""
    text = "Bring—“originals”…and café receipts—“copies”…" * 3
    ticket = TicketPrint(**{**TICKET.__dict__, "materials": (text,)})
    columns = PROFILES[profile].columns
    lines = parse(render_ticket(ticket, PROFILES[profile]).data).text_lines
    material = [line for line in lines if "Bring" in line or "copies" in line]
    assert material
    assert all(printed_columns(line) <= columns for line in lines)


def test_substitution_happens_before_wrapping():
    """`€` becomes `EUR` on a GBK head: wrapping first left a 34-column line on 32."""
    columns = PROFILES["58mm-gbk"].columns
    text = "x" * (columns - 1) + "€"
    ticket = TicketPrint(**{**TICKET.__dict__, "materials": (text,)})
    lines = parse(render_ticket(ticket, PROFILES["58mm-gbk"]).data).text_lines
    assert all(printed_columns(line) <= columns for line in lines)
    assert "".join(lines).count("EUR") == 1


def test_wrap_measures_in_the_printers_mode():
    assert display_width("—…é", Charset.GBK) == 6
    assert display_width("—…é", None) == 3  # Unicode's view: narrow/ambiguous
    assert display_width("abc", Charset.LATIN) == 3
    assert wrap("a—b—c", 4, Charset.GBK) == ["a—b", "—c"]


def test_latin_printer_prints_a_chinese_ticket_with_english_names():
    """Measured on main: no service name at all, and the material holding `€` dropped."""
    ticket = TicketPrint(
        **{
            **TICKET.__dict__,
            "service_name_en": "Business licence",
            "materials_en": ("ID card", "Fee €5, one copy"),
        }
    )
    rendered = render_ticket(ticket, PROFILES["58mm-latin"])
    lines = parse(rendered.data).text_lines
    assert "Business licence" in lines
    assert "1. ID card" in lines and "2. Fee EUR5, one copy" in lines
    assert all(len(line) <= PROFILES["58mm-latin"].columns for line in lines)
