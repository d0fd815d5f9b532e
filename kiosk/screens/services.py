"""Services of one area, or all of them, narrowed by letters typed on an on-screen pad
(pinyin initials or English words): a kiosk has no keyboard and a hall 800+ items."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk.screens.common import KButton, Page

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class ServiceRow(KButton):
    pass


class ServicesScreen(Page):
    _keys_for: str = ""

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        area = next((a for a in model.areas() if a["id"] == model.area), None)
        ids.title.text = model.name(area["name"]) if area else model.t("search_all")
        ids.query.text = model.query.upper() if model.query else model.t("search_hint")
        ids.query.size_role = "title" if model.query else "body"
        ids.query.color = ids.title.color
        ids.empty.text = "" if model.results else model.t("no_match")
        ids.rv.data = [{"text": model.service_name(sid), "key": sid} for sid in model.results]
        if self._keys_for != model.language:
            self._keys_for = model.language
            keys = [(c, c) for c in string.ascii_uppercase]
            ids.letters.set_keys(keys, lambda k: self._key(model, k), primary=())
        ids.delete_key.text = model.t("delete")
        ids.clear_key.text = model.t("clear")

    def _key(self, model: Any, key: str) -> None:  # noqa: ANN401
        if key == "del":
            model.delete_letter()
        elif key == "clear":
            model.clear_query()
        else:
            model.type_letter(key)
