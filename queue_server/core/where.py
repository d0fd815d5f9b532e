"""Where a citizen goes for a service: the ONE rule, for every place that says it.

The kiosk's service page and ticket screen, the paper ticket (both through
``kiosk.i18n.where_to_go``) and the phone page (``where`` of each service in
``hall.info``, computed by the server with this function) all say the same thing:
the area, its floor and place (``location`` of the area in the hall file, or the
service's own when it stands elsewhere), and the windows serving the service's queue.

Works on ``hall.info``-shaped data (plain dicts), so the kiosk applies it to what the
server sent and the server to what it is about to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "go_to": "请到 {where}",
        "windows_range": "{first}–{last} 号窗口",
        "window_one": "{n} 号窗口",
    },
    "en": {
        "go_to": "Go to: {where}",
        "windows_range": "windows {first}–{last}",
        "window_one": "window {n}",
    },
}
FALLBACK = ("zh", "en")


def _pick(names: Any, language: str) -> str:  # noqa: ANN401 - names or a bare string
    if not names:
        return ""
    if isinstance(names, str):
        return names
    for lang in (language, *FALLBACK):
        if names.get(lang):
            return str(names[lang])
    return str(next(iter(names.values())))


def _say(language: str, key: str, **kw: Any) -> str:
    table = PHRASES.get(language) or PHRASES["en"]
    return table[key].format(**kw)


def location_of(hall: Mapping[str, Any], service: Mapping[str, Any]) -> Any:  # noqa: ANN401
    """The service's own location, else its area's; ``{}`` when neither says."""
    if service.get("location"):
        return service["location"]
    area = next((a for a in hall.get("areas", []) if a.get("id") == service.get("area")), None)
    return (area or {}).get("location") or {}


def where_to_go(hall: Mapping[str, Any], service: Mapping[str, Any], language: str) -> str:
    """ "请到 社保服务区 · 二楼东侧 · 12–18 号窗口": area, location, windows; "" when the hall
    file says none of them."""
    parts: list[str] = []
    area = next((a for a in hall.get("areas", []) if a.get("id") == service.get("area")), None)
    if area is not None:
        parts.append(_pick(area.get("name"), language))
    place = _pick(location_of(hall, service), language)
    if place:
        parts.append(place)
    numbers = sorted(
        int(w["number"])
        for w in hall.get("windows", [])
        if service.get("queue") in (w.get("queues") or [])
    )
    if len(numbers) == 1:
        parts.append(_say(language, "window_one", n=numbers[0]))
    elif numbers:
        parts.append(_say(language, "windows_range", first=numbers[0], last=numbers[-1]))
    parts = [p for p in parts if p]
    return _say(language, "go_to", where=" · ".join(parts)) if parts else ""


def where_per_language(
    hall: Mapping[str, Any], service: Mapping[str, Any], languages: tuple[str, ...] | list[str]
) -> dict[str, str]:
    """:func:`where_to_go` in each of the hall's languages (for ``hall.info``)."""
    out = {lang: where_to_go(hall, service, lang) for lang in languages}
    return {k: v for k, v in out.items() if v}
