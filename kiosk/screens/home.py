"""Home: the hall's areas, its most used services, and the ways to check in or rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk.screens.common import KButton, Page, SecondaryButton

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class HomeScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401 - KioskModel, untyped for kv
        ids = self.ids
        ids.used_title.text = model.t("most_used")
        ids.search.text = model.t("all_services")
        ids.appointment.text = model.t("appointment")
        ids.rating.text = model.t("rating")
        sig = (model.language, model.version, tuple(model.most_used(6)))
        if sig == self._sig:
            return
        self._sig = sig
        ids.areas.clear_widgets()
        for area in model.areas():
            button = KButton(text=model.name(area["name"]), key=area["id"])
            button.bind(on_release=lambda b: model.open_area(b.key))
            ids.areas.add_widget(button)
        ids.used.clear_widgets()
        for sid in model.most_used(6):
            button = SecondaryButton(text=model.service_name(sid), key=sid)
            button.bind(on_release=lambda b: model.open_service(b.key))
            ids.used.add_widget(button)
