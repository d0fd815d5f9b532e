"""Priority service: the citizen picks a reason, a hall guide confirms with a staff number
and PIN that the server checks (anyone could press the button, so a person vouches for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk import theme
from kiosk.model import PRIORITY_KINDS
from kiosk.screens.common import KButton, Page, SecondaryButton, discard_children

Builder.load_file(str(Path(__file__).with_suffix(".kv")))

DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9"]


class PriorityScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        ids.title.text = model.t("priority_title")
        letters = model.staff_letters if model.pin_step == "staff" else ""
        sig = (model.language, model.priority, letters)
        rebuild = sig != self._sig
        self._sig = sig
        for kind in PRIORITY_KINDS if rebuild else ():
            if kind == PRIORITY_KINDS[0]:
                discard_children(ids.kinds)
            cls = KButton if kind == model.priority else SecondaryButton
            button = cls(text=model.t(f"priority_{kind}"), key=kind, size_hint_y=None)
            button.bind(on_release=lambda b: App.get_running_app().choose_priority(b.key))
            ids.kinds.add_widget(button)
        show_pin = bool(model.priority) and model.pin_needed
        ids.pin_box.opacity = 1 if show_pin else 0
        ids.pin_box.disabled = not show_pin
        # The prompt line is where the guide looks: refusals from the server and a too
        # short PIN are shown there, in red.
        if model.error:
            prompt, bad = model.error_text(), True
        elif model.busy:
            prompt, bad = model.t("busy"), False
        elif model.pin_error:
            prompt, bad = model.t("pin_wrong"), True
        elif model.pin_step == "pin":
            prompt, bad = model.t("pin_prompt", staff=model.staff_entry), False
        else:
            prompt, bad = model.t("staff_prompt"), False
        ids.pin_prompt.text = prompt
        ids.pin_prompt.color = theme.ERROR_TEXT if bad else theme.TEXT
        ids.pin_prompt.bold = bad
        if model.pin_step == "pin":
            ids.pin_dots.text = "●" * len(model.pin_entry) or "_"
        else:
            ids.pin_dots.text = model.staff_entry or "_"
        if rebuild:
            rows = [DIGITS[0:3], DIGITS[3:6], DIGITS[6:9], ["del", "0", "ok"]]
            # The staff number's letters (c001): a column of them beside the digits, so
            # the pad keeps its four rows (and its key height) whatever the hall uses.
            extra = max(0, -(-len(letters) // len(rows)))
            keys: list[tuple[str, str]] = []
            for r, row in enumerate(rows):
                keys += [(k, {"del": model.t("clear"), "ok": model.t("ok")}.get(k, k)) for k in row]
                for c in range(extra):
                    i = c * len(rows) + r
                    keys.append((letters[i], letters[i]) if i < len(letters) else ("", ""))
            ids.pad.cols = 3 + extra
            ids.pad.set_keys(keys, lambda k: App.get_running_app().pin_key(k))
        ids.back.text = model.t("back")
