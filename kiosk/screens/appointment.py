"""Appointment check-in: the booking code on a number pad; a wrong code says why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk.model import CODE_LENGTH
from kiosk.screens.common import Page

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class AppointmentScreen(Page):
    _keys_for: str = ""

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        ids.title.text = model.t("appointment_title")
        shown = model.code_entry + "_" * (CODE_LENGTH - len(model.code_entry))
        ids.code.text = " ".join(shown)
        ids.error.text = (
            model.error_text() if model.error else (model.t("busy") if model.busy else "")
        )
        ids.back.text = model.t("back")
        if self._keys_for != model.language:
            self._keys_for = model.language
            keys = [(d, d) for d in "123456789"]
            keys += [("del", model.t("delete")), ("0", "0"), ("ok", model.t("check_in"))]
            ids.pad.set_keys(keys, lambda k: App.get_running_app().code_key(k))
