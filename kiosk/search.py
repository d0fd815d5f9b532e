"""Find services by the letters a citizen can type on the kiosk's letter pad.

A Chinese name is matched by its pinyin initials (户籍迁移 → ``hjqy``) or its full pinyin
(``hujiqianyi``), an English name by any of its words' starts or a substring. The index is
built once per hall, so a search over 800+ services is a list scan of short strings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pypinyin import Style, lazy_pinyin


def pinyin_initials(text: str) -> str:
    """``户籍迁移`` → ``hjqy``; letters and digits in the text are kept as they are."""
    parts = lazy_pinyin(text, style=Style.FIRST_LETTER, errors=lambda s: list(s))
    return "".join(p for p in parts if p.strip()).lower()


def full_pinyin(text: str) -> str:
    return "".join(lazy_pinyin(text, errors=lambda s: list(s))).lower().replace(" ", "")


@dataclass(frozen=True, slots=True)
class Entry:
    service_id: str
    keys: tuple[str, ...]


class ServiceIndex:
    """Search keys for every service, built from ``hall.info`` names."""

    def __init__(self, services: Iterable[Mapping[str, Any]]) -> None:
        self.entries: list[Entry] = []
        for sv in services:
            names = sv.get("name") or {}
            keys: list[str] = []
            for lang, name in names.items():
                if not name:
                    continue
                lowered = str(name).lower()
                keys.append(lowered.replace(" ", ""))
                if lang == "zh" or any("\u4e00" <= ch <= "\u9fff" for ch in name):
                    keys.append(pinyin_initials(name))
                    keys.append(full_pinyin(name))
                else:
                    words = [w for w in lowered.replace("-", " ").split() if w]
                    keys.append("".join(w[0] for w in words))
            self.entries.append(Entry(str(sv["id"]), tuple(dict.fromkeys(keys))))

    def search(self, query: str) -> list[str]:
        """Ids of matching services, best first: a key that starts with the query before one
        that merely contains it (two letters or more: one letter inside a long pinyin
        matches almost everything), then the hall's own order."""
        q = query.strip().lower().replace(" ", "")
        if not q:
            return [e.service_id for e in self.entries]
        starts, contains = [], []
        for e in self.entries:
            if any(k.startswith(q) for k in e.keys):
                starts.append(e.service_id)
            elif len(q) >= 2 and any(q in k for k in e.keys):
                contains.append(e.service_id)
        return starts + contains
