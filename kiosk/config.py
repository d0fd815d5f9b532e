"""The ``[kiosk]`` section of a hall file, checked by ``hallq check-config`` and the server.

Imports nothing heavy (no Kivy), since the server runs it while loading the hall file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kiosk.settings import check_table


def validate(section: dict[str, Any], raw: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Problems as (key, message); ``featured`` services must exist in the hall."""
    values, problems = check_table(section)
    yield from problems
    known = {sv.get("id") for sv in raw.get("services", []) if isinstance(sv, dict)}
    for sid in values.get("featured", ()):
        if sid not in known:
            yield ("featured", f"unknown service {sid!r}")
