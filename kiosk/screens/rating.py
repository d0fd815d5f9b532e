"""Rating at the kiosk: the ticket number, the check code printed on that ticket (so only
its holder can rate the case), then one of the hall's levels, once. After one of the two
lowest levels the citizen is asked why (the hall's reasons) and may leave a number for a
call-back, only by pressing the consent button first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder

from kiosk.screens.common import KButton, Page, SecondaryButton, discard_children

Builder.load_file(str(Path(__file__).with_suffix(".kv")))


class RatingScreen(Page):
    _sig: tuple[Any, ...] = ()

    def update(self, model: Any) -> None:  # noqa: ANN401
        ids = self.ids
        step = model.rating_step
        ids.back.text = model.t("back") if step != "thanks" else model.t("done")
        ids.error.text = (
            model.error_text() if model.error else (model.t("busy") if model.busy else "")
        )
        sig = (
            model.language,
            step,
            model.label_entry if step == "level" else "",
            tuple(model.picked_reasons) if step == "reasons" else (),
            model.phone_consent if step == "phone" else None,
        )
        rebuild = sig != self._sig
        self._sig = sig
        if rebuild:
            discard_children(ids.levels)
            discard_children(ids.pad)
        app = App.get_running_app()
        ids.pad.cols = 6
        typing = step in ("label", "check", "phone")
        ids.pad_actions.opacity = 1 if typing else 0
        ids.pad_actions.disabled = not typing
        ids.del_key.text = model.t("delete")
        ids.ok_key.text = model.t("rating_send") if step == "phone" else model.t("ok")
        if step == "label":
            ids.title.text = model.t("rating_title")
            ids.hint.text = model.t("rating_hint")
            ids.label.text = model.label_entry or "_"
            keys = [(p, p) for p in model.prefixes()]
            keys += [(d, d) for d in "1234567890"]
            if rebuild:
                ids.pad.set_keys(keys, lambda k: app.label_key(k))
        elif step == "check":
            ids.title.text = model.t("check_title")
            ids.hint.text = model.t("check_hint", label=model.label_entry)
            ids.label.text = " ".join(model.check_entry + "_" * (4 - len(model.check_entry)))
            ids.pad.cols = 5
            keys = [(d, d) for d in "1234567890"]
            if rebuild:
                ids.pad.set_keys(keys, lambda k: app.label_key(k))
        elif step == "level":
            ids.title.text = model.t("rating_choose", label=model.label_entry)
            ids.hint.text = ""
            ids.label.text = ""
            for level in model.rating_levels() if rebuild else ():
                button = KButton(text=model.t(f"level_{level}"), key=str(level), size_hint_y=None)
                button.bind(on_release=lambda b: app.rate(int(b.key)))
                ids.levels.add_widget(button)
        elif step == "reasons":
            ids.title.text = model.t("rating_why")
            ids.hint.text = model.t("rating_why_hint")
            ids.label.text = ""
            if rebuild:
                for r in model.reasons():
                    on = r["id"] in model.picked_reasons
                    cls = KButton if on else SecondaryButton
                    text = ("✓ " if on else "") + model.name(r.get("name"))
                    button = cls(text=text, key=r["id"], size_hint_y=None)
                    button.bind(on_release=lambda b: model.toggle_reason(b.key))
                    ids.levels.add_widget(button)
                nxt = KButton(text=model.t("rating_next"), key="next", size_hint_y=None)
                nxt.bind(on_release=lambda b: model.reasons_done())
                ids.levels.add_widget(nxt)
        elif step == "phone":
            ids.title.text = model.t("rating_phone_title")
            ids.hint.text = model.t("rating_consent")
            ids.label.text = model.phone_entry or "_"
            ids.pad.cols = 5
            if rebuild:
                ids.pad.set_keys([(d, d) for d in "1234567890"], lambda k: app.phone_key(k))
                agree = (KButton if model.phone_consent else SecondaryButton)(
                    text=("✓ " if model.phone_consent else "") + model.t("rating_agree"),
                    key="consent",
                    size_hint_y=None,
                )
                agree.bind(on_release=lambda b: model.toggle_consent())
                ids.levels.add_widget(agree)
        else:
            ids.title.text = model.t("rating_thanks")
            ids.hint.text = ""
            ids.label.text = ""
