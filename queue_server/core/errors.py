"""Refusals of the hall's rules.

Each refusal carries a stable ``code`` that travels unchanged to clients (the protocol's
error codes are these), and a message a person can read. Tree::

    HallError
    ├── NotFound            unknown ticket, service, window, appointment
    ├── InvalidTransition   the state tables do not allow it
    ├── Refused             the rules say no: closed, daily cap, recall limit, busy window
    └── Forbidden           the actor may not do this (role or window)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HallError(Exception):
    code = "refused"

    def __init__(self, message: str, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details = details
        self.kept: list[Callable[[Any], None]] = []
        """Writes that outlive the refusal: run on the connection after the operation's
        own changes are rolled back (its audit row, a counted wrong guess). Everything
        else a refused operation did is undone."""


class NotFound(HallError):
    code = "not_found"


class InvalidTransition(HallError):
    code = "invalid_state"


class Refused(HallError):
    code = "refused"


class Forbidden(HallError):
    code = "forbidden"
