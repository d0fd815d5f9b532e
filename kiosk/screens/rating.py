"""Rating at the kiosk: the ticket number, then one of the hall's levels, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk.screens.common import KButton, Page

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class RatingScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        step = model.rating_step
        ids.back.text = model.t("back") if step != "thanks" else model.t("done")
        ids.error.text = model.error_text() if model.error else (
            model.t("busy") if model.busy else ""
        )
        sig = (model.language, step, model.label_entry if step == "level" else "")
        rebuild = sig != self._sig
        self._sig = sig
        if rebuild:
            ids.levels.clear_widgets()
            ids.pad.clear_widgets()
        if step == "label":
            ids.title.text = model.t("rating_title")
            ids.label.text = model.label_entry or "_"
            prefixes = [q["prefix"] for q in (model.hall or {}).get("queues", [])]
            keys = [(p, p) for p in prefixes[:6]]
            keys += [(d, d) for d in "123456789"]
            keys += [("del", model.t("delete")), ("0", "0"), ("ok", model.t("ok"))]
            if rebuild:
                ids.pad.set_keys(keys, lambda k: App.get_running_app().label_key(k))
        elif step == "level":
            ids.title.text = model.t("rating_choose", label=model.label_entry)
            ids.label.text = ""
            for level in model.rating_levels() if rebuild else ():
                button = KButton(text=model.t(f"level_{level}"), key=str(level))
                button.bind(on_release=lambda b: App.get_running_app().rate(int(b.key)))
                ids.levels.add_widget(button)
        else:
            ids.title.text = model.t("rating_thanks")
            ids.label.text = ""
