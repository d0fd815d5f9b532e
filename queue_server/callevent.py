"""One ``call`` event for the screens where a call commits three (issue 14).

A call (``call.next``, ``call.number``) commits three events: ``ticket.called``,
``window.changed`` and ``queue.stats``. A display needs all three, so a hall with a
thousand screens was written three thousand frames per call. A subscriber that asks for
it (``subscribe {"calls": "combined"}``) gets them as **one** ``call`` event instead::

    {"event": "call", "seq": 18, "at": ..., "data": {
        "ticket": <ticket.called data>, "window": <window.changed data>,
        "queue": <queue.stats data>, "seqs": [16, 17, 18]}}

Why it is derived here and not stored: the events table keeps the three events as
before, so every other subscriber (clerk consoles, supervisors, kiosks, phone pages,
older displays) sees exactly what it saw, and a resume replays from the same rows. The
``call`` event carries the ``seq`` of the last of the three, so "the last ``seq``
processed" means the same thing in both forms and a resume never splits a call or
repeats one. The rule that finds the three is one function, :func:`fold`, used for live
events and for replays alike:

* a ``ticket.called`` followed at once by the ``window.changed`` of its window and the
  ``queue.stats`` of its queue, all with the same ``at`` (one operation's events are
  contiguous in ``seq`` order, and only a call emits ``ticket.called``);
* a run cut short (a replay starting after its ``ticket.called``) is left as separate
  events: nothing is lost or repeated, the client just gets the rest one by one.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

CALL = "call"
PARTS = ("ticket.called", "window.changed", "queue.stats")
"""The events one ``call`` stands for, in their commit order."""
FORMS = ("separate", "combined")
"""Values of the ``calls`` argument of ``subscribe``; the first is the default."""

Row = tuple[int, str, str, dict[str, Any]]
"""A committed event: (seq, at as ISO text, type, data)."""


class Form(enum.IntEnum):
    """Which subscribers an event goes to."""

    ALL = 0
    SEPARATE = 1
    """One of a call's three events: only to subscribers that did not ask to combine."""
    COMBINED = 2
    """A ``call`` event: only to subscribers that asked to combine."""


def wanted(form: Form, combined: bool) -> bool:
    """Whether a subscriber (``combined``: it asked for ``call`` events) gets an event."""
    return form is Form.ALL or (form is Form.COMBINED) == combined


def _is_call(rows: Sequence[Row], i: int) -> bool:
    if i + 2 >= len(rows) or tuple(r[2] for r in rows[i : i + 3]) != PARTS:
        return False
    (_, at, _, ticket), (_, at1, _, window), (_, at2, _, queue) = rows[i : i + 3]
    return (
        at == at1 == at2
        and window.get("number") == ticket.get("window")
        and queue.get("queue") == ticket.get("queue")
    )


def fold(rows: Sequence[Row]) -> list[tuple[Row, Form]]:
    """Every row with the subscribers it goes to, and after each call's three a ``call``.

    ``rows`` are committed events in ``seq`` order.
    """
    out: list[tuple[Row, Form]] = []
    i = 0
    while i < len(rows):
        if rows[i][2] == PARTS[0] and _is_call(rows, i):
            parts = rows[i : i + 3]
            out += [(r, Form.SEPARATE) for r in parts]
            seq, at = parts[-1][0], parts[-1][1]
            data = {
                "ticket": parts[0][3],
                "window": parts[1][3],
                "queue": parts[2][3],
                "seqs": [r[0] for r in parts],
            }
            out.append(((seq, at, CALL, data), Form.COMBINED))
            i += 3
        else:
            out.append((rows[i], Form.ALL))
            i += 1
    return out


def parts(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The three events a ``call`` stands for, as (type, data), for a client to apply."""
    return [(PARTS[0], data["ticket"]), (PARTS[1], data["window"]), (PARTS[2], data["queue"])]
