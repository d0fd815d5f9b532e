"""The kiosk's rating screen after a bad level: why, and a call-back number only with
consent (issue 11), in the real window, against a real server."""

from __future__ import annotations

from hardware.emulators.scanner import SerialScannerEmulator
from kiosk.model import KioskModel
from tests.queue_server.harness import Clock, connected

from .harness import Hall, kiosk, run, until

HALL_INFO = {
    "rating_scale": 5,
    "rating_followup_levels": [1, 2],
    "rating_reasons": [{"id": "wait", "name": {"zh": "等候时间长", "en": "Waited too long"}}],
}


def test_the_model_asks_why_only_for_the_two_lowest_levels_and_forgets_the_number():
    m = KioskModel()
    m.hall = dict(HALL_INFO)
    m.open_rating()
    assert m.level_picked(3) is True and m.rating_step == "label"  # sent at once
    assert m.level_picked(2) is False and m.rating_step == "reasons"
    m.toggle_reason("wait")
    m.reasons_done()
    for d in "13812341234":
        m.phone_key(d)
    assert m.rating_extras() == {"reasons": ["wait"], "phone": "13812341234", "consent": False}
    m.toggle_consent()
    assert m.rating_extras()["consent"] is True
    m.rated()
    assert m.phone_entry == "" and m.picked_reasons == [] and not m.phone_consent


def test_a_bad_rating_at_the_kiosk_gives_reasons_and_a_number_with_consent(
    config, sqlite_url, tmp_path
):
    async def main():
        hall = Hall(config, sqlite_url, Clock())
        await hall.start()
        async with (
            connected(hall.port, "kiosk-1-secret") as kc,
            connected(hall.port, "clerk-1-secret") as clerk,
        ):
            ticket = await kc.request("ticket.issue", {"service": "general"})
            await clerk.request("window.open")
            await clerk.request("call.next")
            await clerk.request("case.finish")
        scanner = SerialScannerEmulator("CRLF")
        tty = scanner.serve_pty(tmp_path / "ttyACM0")
        try:
            async with kiosk(
                config, sqlite_url, tmp_path, hall=hall, printer=False, scanner=tty
            ) as k:
                await until(lambda: k.hall.device_state("scanner") == "online", 5, "scanner")
                scanner.scan(ticket["url"])
                await k.wait_screen("rating")
                await until(lambda: k.model.rating_step == "level", 5, "level step")
                await k.settle()
                await k.tap_text("不满意")
                await until(lambda: k.model.rating_step == "reasons", 5, "asked why")
                await k.settle()
                await k.tap_text("等候时间长")
                await until(lambda: k.model.picked_reasons == ["wait"], 5, "reason picked")
                await k.settle()
                await k.tap_text("下一步")
                await until(lambda: k.model.rating_step == "phone", 5, "phone step")
                await k.settle()
                assert "整改办结后即删除" in k.ids().hint.text  # the consent line is shown
                for d in "13812341234":
                    await k.tap_key(k.ids().pad, d)
                await k.tap(k.ids().ok_key)  # without consent: refused, nothing kept
                await until(lambda: k.model.error == "consent_needed", 5, "consent refused")
                assert k.model.rating_step == "phone"
                await k.settle()
                await k.tap_text("同意回访")
                await until(lambda: k.model.phone_consent, 5, "consent given")
                await k.settle()
                await k.tap(k.ids().ok_key)
                await until(lambda: k.model.rating_step == "thanks", 5, "thanks")
                assert k.model.phone_entry == ""  # the kiosk keeps nothing of it
                async with connected(hall.port, "supervisor-secret") as sup:
                    (record,) = (await sup.request("ledger.list"))["records"]
                assert record["level"] == 2 and record["phone"] == "138****1234"
        finally:
            scanner.stop()

    run(main(), 90)
