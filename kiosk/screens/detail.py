"""What a service needs, shown before the ticket is taken (one-time notice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.lang import Builder

from kiosk import i18n
from kiosk.screens.common import KLabel, Page, discard_children

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class DetailScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        info = model.service_info()
        ids.title.text = model.service_name()
        ids.where.text = model.where_to_go()
        ids.queue.text = model.queue_now()
        if info.get("kind") == "promised":
            kind = model.t("promised", days=info.get("promised_days") or "?")
        else:
            kind = model.t("instant")
        limit = info.get("time_limit_minutes")
        ids.kind.text = kind + ("    " + model.t("time_limit", minutes=limit) if limit else "")
        ids.materials_title.text = model.t("materials")
        ids.steps_title.text = model.t("steps")
        materials = i18n.pick(info.get("materials"), model.language) or []
        steps = i18n.pick(info.get("steps"), model.language) or []
        if (model.service, model.language) != self._sig:
            self._sig = (model.service, model.language)
            self._fill(ids.materials, materials or [model.t("no_materials")])
            self._fill(ids.steps, steps or ["—"])
        ids.take.text = model.t("take_number")
        ids.priority.text = model.t("ask_priority")
        ids.back.text = model.t("back")
        ids.error.text = (
            model.error_text() if model.error else (model.t("busy") if model.busy else "")
        )
        ids.take.disabled = model.busy
        ids.priority.disabled = model.busy or not model.priority_available
        ids.priority.opacity = 1 if model.priority_available else 0

    @staticmethod
    def _fill(box: Any, items: list[str]) -> None:  # noqa: ANN401
        discard_children(box)
        for n, item in enumerate(items, 1):
            box.add_widget(KLabel(text=f"{n}. {item}" if len(items) > 1 else item))
