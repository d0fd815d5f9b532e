"""What a keypad key does at a window: pure, so every key is tested without a bus or server.

The vendor tables in :mod:`hardware.bus.keypad` say what was *pressed*; this module says
what the hall should *do*, given what the gateway knows about the window. Two rows are
added to every vendor table, on keys those tables leave unused:

- START alone (``0A``, no digits) starts the case: the citizen has arrived;
- 1 + FUNCTION resumes a paused window (the pause key also toggles, for keypads whose
  clerks only learn one key).

Choices, documented in docs/hardware.md ("Gateway"):

- digits + START transfers the current ticket to *window* n: a digit keypad cannot type a
  queue letter, and transferring to a queue is done from the clerk console;
- digits + CALL calls a ticket of this window's queues: ``15`` tries ``A015`` then
  ``B015`` for a window serving A then B, the first that exists wins;
- RATE/WAIT (``0B``) finishes the case, which makes the server ask for a rating;
- CANCEL clears a mistyped entry on the keypad and sends nothing (cancelling a ticket is a
  supervisor's act, not one keystroke at the window).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hardware.bus import keypad as kp

A = kp.KeyAction

GATEWAY_RULES: tuple[kp.KeyRule, ...] = (
    kp.KeyRule(kp.KEY_START, A.START),
    kp.KeyRule(kp.KEY_FUNCTION, A.RESUME, digits="1"),
)


def keypad_variant(name: str) -> kp.KeypadVariant:
    """The vendor table ``name`` with the gateway's rows tried first."""
    base = kp.VARIANTS[name]
    return dataclasses.replace(base, rules=GATEWAY_RULES + base.rules)


@dataclass(frozen=True)
class Request:
    op: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    """What to do for one key.

    ``requests`` are alternatives tried in order until one is not refused with
    ``unknown_ticket`` (only call-by-number has several); ``local`` is an action on the
    keypad alone (``clear``, ``show_address``); ``refuse`` says why a key does nothing,
    which the keypad shows as failure.
    """

    requests: tuple[Request, ...] = ()
    local: str | None = None
    refuse: str | None = None
    label: str = field(default="")


def labels_for(digits: str, queues: Sequence[str]) -> list[str]:
    """Ticket labels that typed digits may mean at a window serving ``queues`` (in order).

    Labels have at least three digits (``A012``), so ``12`` and ``012`` are the same ticket.
    """
    number = int(digits)
    return [f"{q}{number:03d}" for q in queues]


def plan_key(
    action: kp.KeyAction,
    argument: str | None,
    *,
    window: int,
    status: str | None,
    queues: Sequence[str],
    clerk_format: str = "{digits}",
) -> Plan:
    """The plan for ``action`` at ``window``, whose last known status is ``status``."""
    w = {"window": window}
    if action is A.CALL_NEXT:
        return Plan((Request("call.next", w),))
    if action is A.CALL_NUMBER:
        if not argument or not queues:
            return Plan(refuse="no ticket number typed, or the window serves no queue")
        return Plan(
            tuple(
                Request("call.number", {**w, "label": label})
                for label in labels_for(argument, queues)
            )
        )
    if action is A.RECALL:
        return Plan((Request("call.recall", w),))
    if action is A.START:
        return Plan((Request("case.start", w),))
    if action is A.TRANSFER:
        if not argument:
            return Plan(refuse="no target window typed")
        return Plan((Request("ticket.transfer", {**w, "to_window": int(argument)}),))
    if action is A.RATE:
        return Plan((Request("case.finish", w),))
    if action is A.PAUSE:
        op = "window.resume" if status == "paused" else "window.pause"
        return Plan((Request(op, w),))
    if action is A.RESUME:
        return Plan((Request("window.resume", w),))
    if action is A.NO_SHOW:
        return Plan((Request("case.no_show", w),))
    if action is A.SIGN_OUT:
        return Plan((Request("window.close", w),))
    if action is A.SIGN_IN:
        if not argument:
            return Plan(refuse="no clerk number typed")
        clerk = clerk_format.format(digits=argument)
        return Plan((Request("window.open", {**w, "clerk": clerk}),))
    if action is A.CANCEL:
        return Plan(local="clear")
    if action is A.SHOW_ADDRESS:
        return Plan(local="show_address")
    return Plan(refuse=f"{action.value} is not supported by this hall")
