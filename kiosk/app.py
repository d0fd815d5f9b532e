"""The Kivy app: draws the model, forwards touches to the model and controller, and runs
beside the queue-server client on one asyncio loop (``App.async_run``).

Redrawing is driven by the model: any change of what the citizen should see schedules one
``sync`` for the next frame, which switches screen and lets the screen refill its texts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk import fonts, theme
from kiosk.controller import KioskController
from kiosk.idreader import IdReaderService
from kiosk.model import KioskModel
from kiosk.printing import PrinterService
from kiosk.scanner import ScannerService
from kiosk.screens.appointment import AppointmentScreen
from kiosk.screens.case import CaseScreen
from kiosk.screens.common import OfflineNotice, SecondaryButton, discard_children, fit_width
from kiosk.screens.detail import DetailScreen
from kiosk.screens.home import HomeScreen
from kiosk.screens.priority import PriorityScreen
from kiosk.screens.rating import RatingScreen
from kiosk.screens.services import ServicesScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.settings import KioskSettings
from kiosk.speech import EspeakSpeaker, Speaker
from queue_server.client import HallClient

log = logging.getLogger("hallq.kiosk")

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

WATCHED = (
    "screen",
    "language",
    "large_text",
    "hall",
    "connection",
    "query",
    "results",
    "service",
    "priority",
    "pin_entry",
    "pin_error",
    "code_entry",
    "label_entry",
    "rating_step",
    "ticket",
    "print_state",
    "printer_condition",
    "error",
    "busy",
    "idle_left",
    "version",
    "queues_now",
    "case_entry",
    "case_step",
    "case_view",
    "check_entry",
    "picked_reasons",
    "phone_entry",
    "phone_consent",
)


class KioskRoot(FloatLayout):
    pass


class KioskApp(App):
    """``printer`` and ``speaker`` may be given (tests, benchmarks); otherwise they come
    from the settings. ``register_default_font`` makes the CJK font Kivy's default too,
    which a kiosk process wants and a shared test process does not."""

    font_scale = NumericProperty(1.0)
    #: pixels per design pixel (1.0 on a 1080-px screen): every size in the ``.kv`` files
    #: is multiplied by it, so the layout follows the screen, not a constant.
    ui = NumericProperty(1.0)
    #: the height of a touch target in this window.
    target = NumericProperty(theme.TARGET)
    #: side-by-side layouts (landscape, 5:4 included); stacked ones on portrait screens.
    wide = BooleanProperty(True)
    large = BooleanProperty(False)  # large-text mode, drawn
    title = "HallQ kiosk"

    def __init__(
        self,
        settings: KioskSettings,
        *,
        printer: PrinterService | None = None,
        speaker: Speaker | None = None,
        register_default_font: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.settings = settings
        self.font = fonts.find_cjk_font(settings.font)
        self.register_default_font = register_default_font
        self.model = KioskModel(
            idle_seconds=settings.idle_seconds,
            ticket_seconds=settings.ticket_seconds,
            ticket_fail_seconds=settings.ticket_fail_seconds,
            staff_id=settings.staff_id,
            pin_required=settings.priority_needs_pin,
            featured=settings.featured,
        )
        self.printer = printer or PrinterService(settings.printer, settings.printer_profile)
        self.scanner = ScannerService(settings.scanner, settings.scanner_terminator)
        self.id_reader = IdReaderService(settings.id_reader, settings.id_salt)
        self.speaker: Speaker | None = speaker
        if speaker is None and settings.read_aloud:
            espeak = EspeakSpeaker()
            self.speaker = espeak if espeak.available else None
        self.client = HallClient(
            settings.server,
            settings.token,
            name=settings.name,
            request_timeout=settings.request_timeout,
        )
        self.controller = KioskController(
            self.model, self.client, self.printer, settings.request_timeout
        )
        self.client.on_state = self.controller.on_state
        self.overlay: OfflineNotice | None = None
        self.synced = 0  # number of redraws, for tests and the benchmark
        self.clock: Callable[[], float] = time.monotonic
        """The idle timer's clock: touches and ticks read it (tests move it by hand)."""
        self._sync_trigger = Clock.create_trigger(self.sync, 0)
        self._tick_event: Any = None
        self._bar_sig: tuple[Any, ...] = ()

    # -- life cycle ----------------------------------------------------------------------

    async def run_with_client(self) -> None:
        """Run the window and the server connection together until the app stops."""
        await self.client.start()
        if self.printer.enabled and self.settings.printer_poll_seconds > 0:
            self.controller.spawn(self.controller.watch_printer(self.settings.printer_poll_seconds))
        c = self.controller
        self.scanner.start(c.scanned, lambda up, detail: c.report_part("scanner", up, detail))
        self.id_reader.start(c.id_card, lambda up, detail: c.report_part("id_reader", up, detail))
        try:
            await self.async_run(async_lib="asyncio")
        finally:
            self.scanner.close()
            self.id_reader.close()
            await self.controller.close()
            await self.client.close()
            self.printer.close()

    def build(self) -> KioskRoot:
        fonts.register(self.font, as_default=self.register_default_font)
        root = KioskRoot()
        sm: ScreenManager = root.ids.sm
        sm.transition = NoTransition()
        for cls in (
            HomeScreen,
            ServicesScreen,
            DetailScreen,
            PriorityScreen,
            AppointmentScreen,
            TicketScreen,
            RatingScreen,
            CaseScreen,
        ):
            sm.add_widget(cls())
        self.overlay = OfflineNotice()
        # The buttons' width is known only once they are laid out (after a new language,
        # text size, screen or window size): where they go is decided again then.
        root.ids.bar_buttons.bind(minimum_width=self._place_bar_buttons)
        self.model.bind(**{name: self._changed for name in WATCHED})
        self.model.bind(screen=self._screen_changed)
        self._changed()
        return root

    def on_start(self) -> None:
        Window.clearcolor = theme.BG
        Window.bind(
            on_touch_down=self._touched,
            on_request_close=self._close_requested,
            on_keyboard=self._key,
            size=self._resized,
        )
        self._resized(Window, Window.size)
        if not self.settings.windowed:
            Window.show_cursor = False
        self._tick_event = Clock.schedule_interval(self._tick, 0.25)
        self.sync()

    def on_stop(self) -> None:
        # The Window outlives the app (tests run several apps in one process).
        Window.unbind(
            on_touch_down=self._touched,
            on_request_close=self._close_requested,
            on_keyboard=self._key,
            size=self._resized,
        )
        Window.show_cursor = True
        if self._tick_event is not None:
            self._tick_event.cancel()
        self._sync_trigger.cancel()
        self.model.unbind(**{name: self._changed for name in WATCHED})
        self.model.unbind(screen=self._screen_changed)

    def open_settings(self, *args: Any) -> bool:
        """Kivy opens its settings panel on F1; a citizen must never see it."""
        return False

    def _close_requested(self, *args: Any, **kw: Any) -> bool:
        return not self.settings.windowed  # True vetoes the close

    def _key(self, window: Any, key: int, *args: Any) -> bool:  # noqa: ANN401
        # Esc (27) and F1 (282) are swallowed when locked; Kivy's own handlers never see them.
        return not self.settings.windowed and key in (27, 282)

    def _resized(self, window: Any, size: Any) -> None:  # noqa: ANN401
        """Sizes from the screen: one design pixel is 1/1080 of the shorter side."""
        from kiosk.accessibility import ui_scale

        self.ui = ui_scale(size)
        self.wide = size[0] >= size[1] * 1.2
        self._apply_scale()
        if self.root is not None:
            self._place_bar_buttons()
            self._fit_hall_name()

    def _apply_scale(self) -> None:
        self.large = self.model.large_text
        self.font_scale = self.ui * (theme.LARGE_SCALE if self.large else 1.0)
        self.target = theme.TARGET * self.ui

    def _screen_changed(self, model: Any, screen: str) -> None:  # noqa: ANN401
        if screen == "detail" and model.online:
            self.controller.spawn(self._fetch_queues())

    async def _fetch_queues(self) -> None:
        """The queues' length and estimate, asked when a service is opened (a kiosk
        does not follow the live events; one small request per look is enough)."""
        try:
            snap = await self.client.request("snapshot", timeout=self.settings.request_timeout)
        except Exception as exc:  # shown as unknown: taking a number must still work
            log.info("queue lengths not fetched: %s", exc)
            return
        self.model.queues_now = {q["queue"]: q for q in snap.get("queues", [])}

    def _touched(self, *args: Any) -> None:
        self.model.touch(self.clock())

    def _tick(self, dt: float) -> None:
        self.model.tick(self.clock())

    # -- drawing -------------------------------------------------------------------------

    def _changed(self, *args: Any) -> None:
        self._sync_trigger()

    def sync(self, *args: Any) -> None:
        root = self.root
        if root is None:
            return
        m = self.model
        self._apply_scale()
        sm: ScreenManager = root.ids.sm
        if m.hall is not None:
            if sm.current != m.screen:
                sm.current = m.screen
            sm.current_screen.update(m)
        self._update_topbar()
        self._update_overlay()
        self.synced += 1

    def _update_topbar(self) -> None:
        m, ids = self.model, self.root.ids
        ids.hall_name.text = m.name((m.hall or {}).get("name")) if m.hall else ""
        ids.countdown.text = m.t("idle_countdown", n=m.idle_left) if m.idle_left else ""
        bar = ids.bar_buttons
        sig = (m.screen == "home", m.language, m.large_text, tuple(m.languages), self.ui)
        if sig == self._bar_sig:
            return
        self._bar_sig = sig
        discard_children(bar)
        buttons: list[tuple[str, Any, bool]] = []
        if m.screen != "home":
            buttons.append((m.t("home"), lambda *_: m.reset(), True))
        if self.speaker is not None:
            buttons.append((m.t("read_aloud"), lambda *_: self.read_aloud(), False))
        buttons.append(
            (
                m.t("normal_text") if m.large_text else m.t("large_text"),
                lambda *_: m.toggle_large_text(),
                False,
            )
        )
        for lang in m.languages:
            if lang != m.language:
                buttons.append(
                    (self._language_name(lang), lambda *_, lang=lang: m.set_language(lang), False)
                )
        for text, action, _primary in buttons:
            b = SecondaryButton(text=text, size_hint=(None, 1), width=fit_width(text))
            b.bind(on_release=action)
            bar.add_widget(b)
        self._place_bar_buttons()

    def _fit_hall_name(self) -> None:
        """The hall's name at its size, or smaller when its longest word would not fit
        on one line (English in large text on a 1280-px kiosk: "Government" broke)."""
        if self.root is None:
            return
        from kivy.core.text import Label as CoreLabel

        label = self.root.ids.hall_name
        base = theme.TITLE * self.ui * 0.8
        words = label.text.split()
        room = label.width - float(label.padding[0]) - float(label.padding[2]) - 2
        size = base
        if words and room > 0:
            core = CoreLabel(font_name=fonts.FONT_NAME, font_size=base)
            widest = max(core.get_extents(w)[0] for w in words)
            if widest > room:
                size = max(theme.BODY * self.ui, base * room / widest)
        if abs(label.font_px - size) > 0.01:
            label.font_px = size

    def bar_fits_beside(self) -> bool:
        """The bar's buttons go beside the hall's name when they leave it a quarter of the
        bar and 400 design px, else on a row of their own: a portrait kiosk or a long
        language must not squeeze the name into a column one letter wide."""
        bar = self.root.ids.bar_buttons
        return bool(bar.minimum_width + 400 * self.ui < Window.width * 0.75)

    def _place_bar_buttons(self, *args: Any) -> None:
        """Put the bar's buttons where :meth:`bar_fits_beside` says."""
        if self.root is None:
            return
        ids = self.root.ids
        bar, row, top = ids.bar_buttons, ids.bar_row, ids.topbar
        # ids are weak proxies: compare the widgets themselves, or the bar is taken off
        # and put back on every call
        parent = (row if self.bar_fits_beside() else top).__self__
        if bar.parent is not parent:
            bar.parent.remove_widget(bar)
            parent.add_widget(bar)

    @staticmethod
    def _language_name(lang: str) -> str:
        from kiosk.i18n import tr

        return tr(lang, "language_name")

    def _update_overlay(self) -> None:
        m, root, overlay = self.model, self.root, self.overlay
        assert overlay is not None
        if m.online:
            if overlay.parent is not None:
                root.remove_widget(overlay)
            return
        # In every language the hall offers (Chinese and English when the hall is not
        # known yet): whoever stands there must understand why nothing works.
        from kiosk.i18n import tr

        langs = m.languages if m.hall is not None else ["zh", "en"]
        if m.connection == "connecting" and m.hall is None:
            overlay.title = "\n".join(tr(lang, "connecting") for lang in langs)
            overlay.body = ""
        else:
            overlay.title = "\n".join(tr(lang, "offline_title") for lang in langs)
            overlay.body = "\n\n".join(tr(lang, "offline_body") for lang in langs)
        if overlay.parent is None:
            root.add_widget(overlay)

    # -- actions from the screens ---------------------------------------------------------

    def take_ticket(self, priority: str | None = None) -> None:
        self.controller.spawn(self.controller.take_ticket(priority))

    def choose_priority(self, kind: str) -> None:
        ready = self.model.choose_priority(kind)
        # An elderly citizen whose ID card was read needs no guide: the server checks the
        # age; if it says no (too young), the guide's PIN prompt is already on screen.
        if ready or (kind == "elderly" and self.controller.card is not None):
            self.take_ticket(kind)

    def pin_key(self, key: str) -> None:
        m = self.model
        if key == "del":
            m.pin_clear()
        elif key == "ok":
            pin = m.pin_confirm() if m.priority else None
            if pin:
                self.controller.spawn(self.controller.take_ticket(m.priority, staff_pin=pin))
        else:
            m.pin_digit(key)

    def code_key(self, key: str) -> None:
        m = self.model
        if key == "del":
            m.code_delete()
        elif key == "ok":
            self.controller.spawn(self.controller.check_in())
        else:
            m.code_digit(key)

    def label_key(self, key: str) -> None:
        m = self.model
        if m.rating_step == "phone":  # the same pad types the call-back number
            self.phone_key(key)
        elif m.rating_step == "check":
            if key == "del":
                m.check_delete()
            elif key == "ok":
                m.check_entered()
            else:
                m.check_key(key)
        elif key == "del":
            m.label_delete()
        elif key == "ok":
            m.label_entered()
        else:
            m.label_key(key)

    def case_key(self, key: str) -> None:
        m = self.model
        if key == "del":
            m.case_delete()
        elif key == "ok":
            if m.case_entered():
                self.controller.spawn(self.controller.lookup_case())
        else:
            m.case_key(key)

    def rate(self, level: int) -> None:
        if self.model.level_picked(level):  # a bad level asks why first
            self.controller.spawn(self.controller.rate(level))

    def send_rating(self) -> None:
        """The reasons and (with consent) the number are given: the bad rating goes out."""
        m = self.model
        self.controller.spawn(self.controller.rate(int(m.pending_level), m.rating_extras()))

    def phone_key(self, key: str) -> None:
        m = self.model
        if key == "del":
            m.phone_delete()
        elif key == "ok":
            self.send_rating()
        else:
            m.phone_key(key)

    def read_aloud(self) -> None:
        if self.speaker is not None:
            self.speaker.say(self.model.instruction(), self.model.language)
