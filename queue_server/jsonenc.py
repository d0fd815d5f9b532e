"""The one JSON encoder of the server: compact, UTF-8 as is, anything else as ``str``.

Every request's reply, every event (once for its database row, once for the wire)
and every idempotency record is encoded here, most of them on the single
database thread. The standard library takes about 50 µs for an event on this machine,
orjson (installed with the ``fast`` extra) about 5 µs, and both give the same text:
``OPT_PASSTHROUGH_DATETIME`` hands datetimes to ``default=str`` as the standard library
does, ``OPT_NON_STR_KEYS`` writes numeric keys as strings as it does
(``tests/queue_server/test_jsonenc.py`` checks the two agree).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - the standard library does the same, slower
    orjson = None  # type: ignore[assignment]

_OPTS = 0 if orjson is None else orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def std_dumps(obj: Any) -> str:
    """The standard library's encoding (the reference the fast one must match)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def dumps(obj: Any) -> str:
    if orjson is None:
        return std_dumps(obj)
    try:
        return orjson.dumps(obj, default=str, option=_OPTS).decode()
    except (TypeError, orjson.JSONEncodeError):
        # what orjson refuses and the standard library takes (integers past 64 bits,
        # non-finite floats...): the standard library, so the result never depends on it
        return std_dumps(obj)
