"""The ticket: the number very large, people ahead, wait, the live page's QR code and what
the printer did. If it did not print, the screen says to photograph the QR code."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import qrcode
from kivy.core.image import Image as CoreImage
from kivy.graphics.texture import Texture
from kivy.lang import Builder

from kiosk import theme
from kiosk.screens.common import Page

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def qr_texture(payload: str) -> Texture:
    """The QR code as a texture, drawn with sharp module edges and a quiet zone."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=12,
                         border=4)
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

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        t = model.ticket
        ids.your.text = model.t("your_number")
        ids.number.text = str(t.get("label", ""))
        name = model.service_name(t.get("service"))
        if t.get("priority"):
            name += f"  ·  {model.t('priority_mark')}"
        ids.service.text = name
        ids.ahead.text = model.t("people_ahead", n=t.get("people_ahead", 0))
        wait = t.get("est_wait_minutes")
        ids.wait.text = (
            model.t("est_wait", n=wait) if wait is not None else model.t("est_wait_unknown")
        )
        ids.printing.text = model.print_text()
        bad = model.print_state in ("failed", "none")
        ids.printing.color = theme.ERROR_TEXT if bad else (
            theme.OK_TEXT if model.print_state == "printed" else theme.TEXT
        )
        ids.printing.bold = bad
        ids.scan.text = model.t("scan_qr")
        ids.done.text = model.t("done")
        url = str(t.get("url", ""))
        if url and url != self._qr_for:
            self._qr_for = url
            ids.qr.texture = qr_texture(url)
