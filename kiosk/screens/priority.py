"""Priority service: the citizen picks a reason, a hall guide confirms with the staff PIN
(anyone could press the button, so by default a person vouches for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk import theme
from kiosk.model import PRIORITY_KINDS
from kiosk.screens.common import KButton, Page, SecondaryButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]


class PriorityScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        ids.title.text = model.t("priority_title")
        sig = (model.language, model.priority)
        rebuild = sig != self._sig
        self._sig = sig
        for kind in PRIORITY_KINDS if rebuild else ():
            if kind == PRIORITY_KINDS[0]:
                ids.kinds.clear_widgets()
            cls = KButton if kind == model.priority else SecondaryButton
            button = cls(text=model.t(f"priority_{kind}"), key=kind)
            button.bind(on_release=lambda b: App.get_running_app().choose_priority(b.key))
            ids.kinds.add_widget(button)
        show_pin = bool(model.priority) and model.pin_needed
        ids.pin_box.opacity = 1 if show_pin else 0
        ids.pin_box.disabled = not show_pin
        ids.pin_prompt.text = model.t("pin_wrong") if model.pin_error else model.t("pin_prompt")
        ids.pin_prompt.color = theme.ERROR_TEXT if model.pin_error else theme.TEXT
        ids.pin_dots.text = "●" * len(model.pin_entry) or " "
        if rebuild:
            keys = [(d, d) for d in DIGITS]
            keys += [("del", model.t("clear")), ("0", "0"), ("ok", model.t("ok"))]
            ids.pad.set_keys(keys, lambda k: App.get_running_app().pin_key(k))
        ids.back.text = model.t("back")
        ids.error.text = model.error_text() if model.error else (
            model.t("busy") if model.busy else ""
        )
