"""A case's progress at the kiosk: its number (办件编号), the check code of the ticket it
was opened for (the number alone is anyone's guess; the server counts wrong codes), then
where the case is on its road, its due day, and "ready for pick-up" when it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk.screens.common import KLabel, Page, discard_children

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class CaseScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401 - KioskModel, untyped for kv
        ids = self.ids
        step = model.case_step
        ids.back.text = model.t("done") if step == "shown" else model.t("back")
        ids.error.text = (
            model.error_text() if model.error else (model.t("busy") if model.busy else "")
        )
        sig = (
            model.language,
            step,
            tuple(model.case_keys()),
            tuple(model.case_view.get("progress") or ()),
        )
        rebuild = sig != self._sig
        self._sig = sig
        if rebuild:
            discard_children(ids.pad)
            discard_children(ids.stages)
        app = App.get_running_app()
        typing = step in ("number", "check")
        for w in (ids.pad_actions,):
            w.opacity = 1 if typing else 0
            w.disabled = not typing
        pickup = model.can_take_pickup
        ids.take_pickup.opacity = 1 if pickup else 0
        ids.take_pickup.disabled = not pickup
        ids.take_pickup.size_hint_x = 1 if pickup else None  # hidden: no room taken
        if not pickup:
            ids.take_pickup.width = 0
        ids.take_pickup.text = model.t("case_take_pickup")
        ids.del_key.text = model.t("delete")
        ids.ok_key.text = model.t("ok")
        ids.due.text = ""
        ids.state.text = ""
        # A case number is long (T2026-000042): title size, not the check code's.
        ids.entry.size_role = "code" if step == "check" else "title"
        if step == "number":
            ids.title.text = model.t("case_title")
            ids.hint.text = model.t("case_hint")
            ids.entry.text = model.case_entry or "_"
            keys = [(k, k) for k in model.case_keys()] + [(d, d) for d in "1234567890"]
            ids.pad.cols = 5 if len(keys) <= 10 else 6
            if rebuild:
                ids.pad.set_keys(keys, lambda k: app.case_key(k))
        elif step == "check":
            ids.title.text = model.t("case_check_title")
            ids.hint.text = model.t("case_check_hint", number=model.case_entry)
            ids.entry.text = " ".join(model.check_entry + "_" * (4 - len(model.check_entry)))
            ids.pad.cols = 5
            if rebuild:
                ids.pad.set_keys([(d, d) for d in "1234567890"], lambda k: app.case_key(k))
        else:
            view = model.case_view
            ids.title.text = model.service_name(view.get("service"))
            ids.hint.text = model.t("case_number", number=view.get("number", ""))
            ready = bool(view.get("ready"))
            ids.entry.text = model.t("case_ready") if ready else ""
            ids.state.text = model.case_state_text()
            ids.due.text = model.t("case_ready_hint") if ready else model.case_due_text()
            if rebuild:
                for text, reached in model.case_stages():
                    mark = "√" if reached else "○"
                    ids.stages.add_widget(KLabel(text=f"{mark}  {text}"))
