"""Home: the hall's areas, its most used services, and the ways to check in, rate or
follow a promised case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk.screens.common import KButton, Page, SecondaryButton, discard_children

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class HomeScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401 - KioskModel, untyped for kv
        ids = self.ids
        ids.used_title.text = model.t("most_used")
        ids.search.text = model.t("all_services")
        ids.appointment.text = model.t("appointment")
        ids.rating.text = model.t("rating")
        ids.case.text = model.t("case")
        sig = (model.language, model.version, tuple(model.most_used(6)))
        if sig == self._sig:
            return
        self._sig = sig
        discard_children(ids.areas)
        for area in model.areas():
            button = KButton(text=model.name(area["name"]), key=area["id"], size_hint_y=None)
            button.bind(on_release=lambda b: model.open_area(b.key))
            ids.areas.add_widget(button)
        discard_children(ids.used)
        for sid in model.most_used(6):
            button = SecondaryButton(text=model.service_name(sid), key=sid, size_hint_y=None)
            button.bind(on_release=lambda b: model.open_service(b.key))
            ids.used.add_widget(button)
