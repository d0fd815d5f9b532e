"""Ticket and window life, as tables.

Every allowed state change of a ticket or a window is one row below and nowhere else:
the store asks :func:`ticket_next` / :func:`window_next` before it writes, the protocol
documentation is drawn from these tables, and the tests walk every row. A change that is
not in a table is refused with :class:`~queue_server.core.errors.InvalidTransition`.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class TicketOp(StrEnum):
    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    REJOIN = "rejoin"
    TRANSFER = "transfer"
    CANCEL = "cancel"


W, C, S, D, N, X = (
    TicketStatus.WAITING,
    TicketStatus.CALLED,
    TicketStatus.SERVING,
    TicketStatus.DONE,
    TicketStatus.NO_SHOW,
    TicketStatus.CANCELLED,
)

TICKET_TRANSITIONS: dict[tuple[TicketStatus, TicketOp], TicketStatus] = {
    # A window calls a waiting ticket (next, or a given number).
    (W, TicketOp.CALL): C,
    # The citizen has not come yet: call again (up to the hall's recall limit).
    (C, TicketOp.RECALL): C,
    # The citizen is at the window.
    (C, TicketOp.START): S,
    # Finishing straight from "called" is allowed: clerks often skip "start".
    (C, TicketOp.FINISH): D,
    (S, TicketOp.FINISH): D,
    # Nobody came after the recalls.
    (C, TicketOp.NO_SHOW): N,
    # A no-show who turns up within the configured time rejoins by original time.
    (N, TicketOp.REJOIN): W,
    # Transfer to another queue or window: back to waiting, keeping the original time.
    (W, TicketOp.TRANSFER): W,
    (C, TicketOp.TRANSFER): W,
    (S, TicketOp.TRANSFER): W,
    # The citizen leaves, or staff withdraw the ticket.
    (W, TicketOp.CANCEL): X,
    (C, TicketOp.CANCEL): X,
}

FINAL_TICKET_STATES = frozenset({D, X})
"""States a ticket never leaves (a no-show can still rejoin, so it is not final)."""


class WindowStatus(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    PAUSED = "paused"


class WindowOp(StrEnum):
    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"


WINDOW_TRANSITIONS: dict[tuple[WindowStatus, WindowOp], WindowStatus] = {
    # A clerk signs in: the window opens.
    (WindowStatus.CLOSED, WindowOp.OPEN): WindowStatus.OPEN,
    # Signing in again (another clerk takes over) keeps it open.
    (WindowStatus.OPEN, WindowOp.OPEN): WindowStatus.OPEN,
    (WindowStatus.OPEN, WindowOp.PAUSE): WindowStatus.PAUSED,
    (WindowStatus.PAUSED, WindowOp.RESUME): WindowStatus.OPEN,
    (WindowStatus.OPEN, WindowOp.CLOSE): WindowStatus.CLOSED,
    (WindowStatus.PAUSED, WindowOp.CLOSE): WindowStatus.CLOSED,
}


def ticket_next(status: TicketStatus, op: TicketOp) -> TicketStatus:
    try:
        return TICKET_TRANSITIONS[(status, op)]
    except KeyError:
        raise InvalidTransition(f"a {status.value} ticket cannot be given {op.value!r}") from None


def window_next(status: WindowStatus, op: WindowOp) -> WindowStatus:
    try:
        return WINDOW_TRANSITIONS[(status, op)]
    except KeyError:
        raise InvalidTransition(f"a {status.value} window cannot be given {op.value!r}") from None
