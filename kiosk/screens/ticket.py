"""The ticket: the number very large, people ahead, wait, the live page's QR code and what
the printer did. If it did not print, the screen says to photograph the QR code."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import qrcode
from kivy.app import App
from kivy.clock import Clock
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.lang import Builder
from kivy.properties import NumericProperty

from kiosk import i18n, theme
from kiosk.screens.common import Page

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def qr_texture(payload: str) -> Texture:
    """The QR code as a texture, drawn with sharp module edges and a quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12, border=4)
    code.add_data(payload)
    code.make(fit=True)
    image = code.make_image().get_image().convert("RGB")
    data = io.BytesIO()
    image.save(data, format="png")
    data.seek(0)
    texture = CoreImage(data, ext="png").texture
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    return texture


class TicketScreen(Page):
    _qr_for: str = ""
    number_size = NumericProperty(theme.NUMBER)

    def on_kv_post(self, base_widget: Any) -> None:  # noqa: ANN401
        info = self.ids.info
        trigger = Clock.create_trigger(self.fit, 0)
        info.bind(size=trigger)
        for child in info.children:
            if child is not self.ids.number:
                child.bind(height=trigger)
        self.ids.number.bind(text=trigger, width=trigger)

    def fit(self, *args: Any) -> None:
        """The number as large as the column allows: on one line across its width, and in
        the height the other lines leave (a 720-px screen in large text still shows it
        whole)."""
        app = App.get_running_app()
        if app is None:
            return
        ui = getattr(app, "ui", 1.0)
        info, number = self.ids.info, self.ids.number
        others = sum(c.height for c in info.children if c is not number and c.size_hint_y is None)
        free = info.height - others - info.spacing * len(info.children) - 16 * ui
        if not app.wide:
            free = 280 * ui
        by_width = number.width * 1.6 / max(3, len(number.text))
        size = max(theme.BODY * ui, min(theme.NUMBER * ui, by_width, free * 0.8))
        if abs(size - self.number_size) > 1:
            self.number_size = size

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        t = model.ticket
        ids.your.text = model.t("your_number")
        ids.number.text = str(t.get("label", ""))
        name = model.service_name(t.get("service"))
        if t.get("priority"):
            name += "  ·  " + i18n.mark(str(t["priority"]), model.language)
        ids.service.text = name
        ids.where.text = model.where_to_go(t.get("service"))
        ids.ahead.text = (
            model.people_ahead(t.get("people_ahead", 0)) + "  ·  " + (model.wait_text(t))
        )
        ids.check.text = model.t("check_mark", check=t["check"]) if t.get("check") else ""
        ids.printing.text = model.print_text()
        bad = model.print_state in ("failed", "none")
        ids.printing.color = (
            theme.ERROR_TEXT
            if bad
            else (theme.OK_TEXT if model.print_state == "printed" else theme.TEXT)
        )
        ids.printing.bold = bad
        ids.scan.text = model.t("scan_qr")
        ids.done.text = model.t("done")
        url = str(t.get("url", ""))
        if url and url != self._qr_for:
            self._qr_for = url
            ids.qr.texture = qr_texture(url)
