"""The kiosk's state, search, settings, printer URLs and lock-down, with no window."""

from __future__ import annotations

import pytest

from kiosk import i18n, lockdown
from kiosk.config import validate
from kiosk.exceptions import FontError, PrinterSetupError, SettingsError
from kiosk.fonts import find_cjk_font
from kiosk.model import KioskModel
from kiosk.printing import PrinterService, PrintReport, normalise_url, ticket_print
from kiosk.search import ServiceIndex, pinyin_initials
from kiosk.settings import KioskSettings, from_env, from_file

HALL = {
    "name": {"zh": "测试大厅", "en": "Test Hall"},
    "languages": ["zh", "en"],
    "timezone": "Asia/Shanghai",
    "rating_scale": 5,
    "areas": [
        {"id": "civil", "name": {"zh": "民政", "en": "Civil"}},
        {"id": "party", "name": {"zh": "党务", "en": "Party"}},
    ],
    "queues": [{"prefix": "A"}, {"prefix": "C"}],
    "services": [
        {
            "id": "hukou",
            "name": {"zh": "户籍迁移", "en": "Household registration move"},
            "area": "civil",
            "materials": {"zh": ["身份证"], "en": ["ID card"]},
        },
        {"id": "fee", "name": {"zh": "党费缴纳", "en": "Party fee"}, "area": "party"},
        {
            "id": "transfer",
            "name": {"zh": "组织关系转接", "en": "Party membership transfer"},
            "area": "party",
        },
    ],
}


def model(**kw):
    m = KioskModel(staff_id="c001", **kw)
    m.set_hall(HALL)
    m.connection_changed("online")
    return m


def test_search_by_pinyin_initials_full_pinyin_and_english():
    assert pinyin_initials("户籍迁移") == "hjqy"
    idx = ServiceIndex(HALL["services"])
    assert idx.search("hj") == ["hukou"]
    assert idx.search("hujiqian") == ["hukou"]
    assert idx.search("party") == ["fee", "transfer"]
    assert idx.search("zz") == ["transfer"]
    assert idx.search("xyz") == []
    assert idx.search("") == ["hukou", "fee", "transfer"]


def test_area_then_letters_narrow_the_list():
    m = model()
    m.open_area("party")
    assert m.screen == "services" and m.results == ["fee", "transfer"]
    m.type_letter("D")
    m.type_letter("F")
    assert m.results == ["fee"]
    m.delete_letter()
    m.delete_letter()
    m.type_letter("h")  # 户籍 is in another area
    assert m.results == []
    m.clear_query()
    assert m.results == ["fee", "transfer"]


def test_most_used_prefers_featured_then_counts():
    m = model(featured=("transfer",))
    assert m.most_used(3) == ["transfer", "hukou", "fee"]
    m.open_service("fee")
    m.ticket_issued({"id": 1, "label": "C001", "service": "fee"}, printing=False)
    assert m.most_used(2) == ["transfer", "fee"]


def test_priority_staff_number_then_pin_and_the_refusals():
    m = model()
    m.open_service("hukou")
    m.open_priority()
    assert m.choose_priority("elderly") is False  # a guide confirms first
    assert m.pin_step == "staff" and m.staff_entry == "c001"  # the kiosk's guide, prefilled
    m.pin_clear()
    for d in "1024":
        m.pin_digit(d)
    assert m.staff_entry == "1024" and m.staff_id == "1024"
    assert m.pin_confirm() is None and m.pin_step == "pin"  # staff number taken, PIN next
    assert m.pin_confirm() is None and m.pin_error  # nothing typed
    for d in "123":
        m.pin_digit(d)
    assert m.pin_confirm() is None and m.pin_error  # too short to send
    for d in "1234":
        m.pin_digit(d)
    # The PIN goes to the server to be checked, and is not kept here.
    assert m.pin_confirm() == "1234" and not m.pin_error and m.pin_entry == ""
    m.refused("unauthorized")  # the server said no: the guide sees it, and starts again
    assert m.pin_error and m.pin_step == "staff"
    assert m.error_text() == "工号或密码不正确，请导办人员重新输入"
    m.refused("locked")
    assert m.error_text().startswith("密码错误次数过多")
    assert m.choose_priority("nobody") is False
    open_hall = KioskModel(staff_id=None, pin_required=False)
    assert open_hall.choose_priority("veteran") is True


def test_rating_asks_the_check_code_unless_the_qr_was_scanned():
    m = model()
    m.open_rating()
    assert m.prefixes() == [q["prefix"] for q in HALL["queues"]]
    for key in "A012":
        m.label_key(key)
    m.label_entered()
    assert m.rating_step == "check" and m.rating_proof() == {}
    for d in "48215":
        m.check_key(d)
    assert m.check_entry == "4821"
    m.check_entered()
    assert m.rating_step == "level" and m.rating_proof() == {"check": "4821"}
    m.refused("wrong_check")  # asked again for the code, told why
    assert m.rating_step == "check" and m.check_entry == ""
    assert m.error_text() == "校验码与号码不符，请核对号票"
    m.open_rating()
    m.rating_token = "tok"
    m.label_entry = "A012"
    m.label_entered()
    assert m.rating_step == "level" and m.rating_proof() == {"token": "tok"}


def test_grammar_and_where_to_go():
    m = model()
    m.set_language("en")
    assert [m.people_ahead(n) for n in (0, 1, 2)] == [
        "No one ahead of you: watch for your number",
        "1 person ahead of you",
        "2 people ahead of you",
    ]
    m.set_language("zh")
    assert m.people_ahead(1) == "前面还有 1 人"


def test_codes_and_labels_accept_only_what_fits():
    m = model()
    m.open_appointment()
    for d in "1234567890":
        m.code_digit(d)
    assert m.code_entry == "12345678" and m.code_complete
    m.code_digit("x")
    m.code_delete()
    assert m.code_entry == "1234567" and not m.code_complete
    m.open_rating()
    for key in ("1", "A", "0", "B", "1", "2"):
        m.label_key(key)
    assert m.label_entry == "A012" and m.label_complete
    m.label_entered()
    assert m.rating_step == "check"
    assert m.rating_levels() == [5, 4, 3, 2, 1]
    m.set_hall(dict(HALL, rating_scale=4))
    assert m.rating_levels() == [5, 4, 3, 2]


def test_idle_countdown_and_reset_forget_the_citizen():
    m = model(idle_seconds=10, ticket_seconds=20, ticket_fail_seconds=90)
    m.touch(100.0)
    m.set_language("en")
    m.toggle_large_text()
    m.open_area("civil")
    m.type_letter("h")
    assert m.tick(100.5) is False and m.idle_left == 10
    assert m.tick(105.6) is False and m.idle_left == 5
    m.touch(106.0)
    assert m.tick(115.0) is False and m.idle_left == 1
    assert m.tick(116.0) is True
    assert (m.screen, m.query, m.area, m.language, m.large_text) == ("home", "", "", "zh", False)
    # The ticket screen waits longer when the ticket did not print.
    m.open_service("hukou")
    m.ticket_issued({"id": 1, "label": "A001", "service": "hukou"}, printing=True)
    m.tick(200.0)
    m.printed(False, "paper_out")
    assert m.timeout() == 90 and m.tick(250.0) is False and m.screen == "ticket"
    assert "缺纸" in m.print_text() and "二维码" in m.print_text()
    assert m.tick(290.0) is True and m.ticket == {}


def test_busy_request_holds_the_screen():
    m = model(idle_seconds=5)
    m.open_service("hukou")
    m.tick(0.0)
    m.busy = True
    assert m.tick(60.0) is False and m.screen == "detail"


def test_every_catalog_has_every_key_and_refusals_read_plainly():
    def base(catalog):  # count forms ("people_ahead_1") are a language's own
        return {
            k
            for k in catalog
            if not (
                k[-1].isdigit() and k.rsplit("_", 1)[0] in catalog and not k.startswith("level_")
            )
        }

    keys = base(i18n.CATALOGS["zh"])
    for lang, catalog in i18n.CATALOGS.items():
        assert base(catalog) == keys, lang
    assert i18n.error_text("en", "daily_cap").startswith("Today's tickets")
    assert i18n.error_text("en", "something_new") == i18n.tr("en", "err_other")
    assert i18n.pick({"zh": "甲"}, "en") == "甲"


def test_offline_instruction_and_read_aloud_text():
    m = model()
    assert "测试大厅" in m.instruction()
    m.connection_changed("offline")
    assert not m.online and m.instruction().startswith("取号暂停")


def test_settings_file_env_and_hall_section(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text(
        '[kiosk]\nidle_seconds = 45\nstaff_id = "g7"\nfeatured = ["a"]\n', encoding="utf-8"
    )
    s = from_file(f)
    assert (s.idle_seconds, s.staff_id, s.featured) == (45.0, "g7", ("a",))
    from_env(s, {"HALLQ_KIOSK_TOKEN": "t0k", "HALLQ_KIOSK_STAFF_ID": "g9"})
    assert s.token == "t0k" and s.staff_id == "g9"
    assert "t0k" not in repr(s)
    f.write_text("idle_seconds = 'soon'\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="idle_seconds"):
        from_file(f)
    raw = {"services": [{"id": "general"}]}
    assert list(validate({"featured": ["general"]}, raw)) == []
    problems = list(validate({"featured": ["nope"], "staff_pin": "12", "colour": 1}, raw))
    assert {p[0] for p in problems} == {"featured", "staff_pin", "colour"}


def test_printer_urls():
    assert normalise_url("none") is None
    assert normalise_url("tcp://10.0.0.5:9100") == "tcp://10.0.0.5:9100"
    assert normalise_url("/var/spool/tickets.bin") == "file:///var/spool/tickets.bin"
    assert normalise_url("/dev/ttyUSB0") == "/dev/ttyUSB0"
    assert normalise_url("usb:0416:5011") == "usb://0416:5011"  # pyusb by vendor:product
    with pytest.raises(PrinterSetupError, match="VID:PID"):
        PrinterService("usb://printer:1")


def test_paper_ticket_uses_the_ticket_language_and_local_time():
    reply = {
        "label": "A007",
        "language": "en",
        "people_ahead": 3,
        "est_wait_minutes": 12,
        "issued_at": "2026-11-24T02:00:00+00:00",
        "url": "http://h/t/abc",
    }
    paper = ticket_print(HALL, HALL["services"][0], reply)
    assert (paper.label, paper.service_name, paper.service_name_zh) == (
        "A007",
        "Household registration move",
        "户籍迁移",
    )
    assert paper.materials == ("ID card",) and paper.issued_at.hour == 10
    assert paper.qr_url == "http://h/t/abc" and paper.hall_name_en == "Test Hall"
    assert PrintReport(True, "online").printed


def test_fonts_found_or_clear_error(tmp_path):
    assert find_cjk_font().path.suffix in (".ttc", ".ttf", ".otf")
    with pytest.raises(FontError, match="does not exist"):
        find_cjk_font(str(tmp_path / "missing.ttf"))


def test_kiosk_and_display_share_one_font_search():
    """Issue 12: the search was written twice and the copies drifted (one knew
    fontconfig and Noto's Chinese face, the other did not)."""
    import display.fonts
    from kiosk import fonts

    assert display.fonts.find_cjk_font is fonts.find_cjk_font
    assert display.fonts.FontNotFound is FontError
    assert display.fonts.register_default_font is fonts.register_default_font


def test_lockdown_values():
    locked = lockdown.config_values(True, 1920, 1080)
    assert locked[("kivy", "exit_on_escape")] == "0"
    assert locked[("graphics", "fullscreen")] == "auto"
    assert locked[("graphics", "show_cursor")] == "0"
    dev = lockdown.config_values(False, 1280, 720)
    assert dev[("graphics", "fullscreen")] == "0" and dev[("graphics", "width")] == "1280"


def test_cli_settings(monkeypatch):
    from kiosk.cli import settings_from
    from kiosk.exceptions import KioskError

    s = settings_from(
        ["--server", "ws://h:1/", "--windowed", "--size", "1280x720"],
        {"HALLQ_KIOSK_TOKEN": "t", "HALLQ_KIOSK_STAFF_ID": "c001"},
    )
    assert (s.server, s.windowed, s.width, s.height, s.token) == ("ws://h:1/", True, 1280, 720, "t")
    with pytest.raises(KioskError, match="token"):
        settings_from([], {})
    assert isinstance(s, KioskSettings)


def test_chinese_lines_break_between_words_never_inside_one():
    """Measured on main: 优先办理（老人、残疾/人、孕妇、军人） on the detail screen."""
    assert "残疾人、" in i18n.segments("老人、残疾人、孕妇")
    assert i18n.segments("出国（境）政审") == ["出", "国", "（境）", "政审"]
    assert i18n.segments("A012 号") == ["A012 ", "号"]
    width = 5  # one "unit" per character: four fit on a line

    def measure(s):
        return len(s) * 1.2

    wrapped = i18n.wrap("优先办理老人残疾人孕妇", width, measure)
    assert any("残疾人" in line for line in wrapped.split("\n")), wrapped
    assert all(measure(line) <= width for line in wrapped.split("\n"))
    assert i18n.wrap("Short", width, measure) == "Short"  # Latin: Kivy breaks at spaces


def test_the_staff_pad_offers_the_letters_of_the_halls_staff_numbers():
    m = KioskModel(staff_id=None)
    m.set_hall({**HALL, "clerks": [{"id": "c001"}, {"id": "g-12"}]})
    assert m.staff_letters == "-cg"
    m.choose_priority("elderly")
    for key in "g-12x":  # x is no staff number's letter: ignored
        m.pin_digit(key)
    assert m.staff_entry == "g-12"
    m.pin_step = "pin"
    m.pin_digit("c")  # a PIN is digits
    assert m.pin_entry == ""


def test_the_wait_shows_its_range_on_screen_and_the_central_figure_on_paper():
    """Issue 15: "about 12 min (8-20)" as on the phone page, in both languages, on the
    ticket screen and the service page; the paper ticket prints the central figure."""
    from hardware.printer.profile import get_profile
    from hardware.printer.ticket import render_ticket

    ticket = {"est_wait_minutes": 12, "est_wait_low": 8, "est_wait_high": 20}
    m = model()
    m.set_hall(HALL | {"services": [HALL["services"][0] | {"queue": "A"}]})
    m.queues_now = {"A": {"queue": "A", "waiting": 5, **ticket}}
    m.set_language("en")
    assert m.wait_text(ticket) == "Wait: about 12 min (8–20)"
    assert m.queue_now("hukou") == "5 waiting now, about 12 min (8–20)"
    m.set_language("zh")
    assert m.wait_text(ticket) == "预计等待约 12 分钟（8–20 分钟）"
    assert m.queue_now("hukou") == "现在排队 5 人，预计等待约 12 分钟（8–20 分钟）"
    # A point range (or none from an older server) is one figure, as on the phone page.
    assert m.wait_text({"est_wait_minutes": 0, "est_wait_low": 0, "est_wait_high": 0}) == (
        "预计等待约 0 分钟"
    )
    assert m.wait_text({"est_wait_minutes": 7}) == "预计等待约 7 分钟"
    reply = {
        "label": "A007",
        "language": "en",
        "people_ahead": 3,
        **ticket,
        "issued_at": "2026-11-24T02:00:00+00:00",
        "url": "http://h/t/abc",
    }
    paper = ticket_print(HALL, HALL["services"][0], reply)
    assert paper.wait_minutes == 12
    lines = render_ticket(paper, get_profile("80mm-gb18030")).lines
    assert "Estimated wait: about 12 min" in lines and not any("8–20" in x for x in lines)
