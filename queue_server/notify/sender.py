"""The sender: takes due alerts from the outbox, delivers them, records what happened.

Runs beside the server's other timers. Each round claims the due alerts (a lease, so
another server process does not take them too), sends each over its channel in a
thread (the transports block), and records sent, failed (tried again later, with
backoff) or dead (after ``max_tries``, or an error no retry can fix). Delivery is at
least once: a server killed between sending and recording sends again after its restart,
with the same key, which receivers use to drop the copy.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ..core.hall import NotifySettings
from ..store.db import Committer
from . import outbox, transports

log = logging.getLogger("hallq.notify")
INTERVAL_S = 1.0


class Notifier:
    def __init__(
        self, committer: Committer, settings: NotifySettings, upload_secret: str | None = None
    ) -> None:
        self.committer = committer
        self.settings = settings
        self.upload_secret = upload_secret
        """The key that signs uploads ([ratings] upload_secret_env), read at start."""
        self.wake = asyncio.Event()
        self.delivered = 0

    async def run(self, interval: float = INTERVAL_S) -> None:
        while True:
            try:
                while await self.round():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sending alerts failed; will retry")
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), interval)
            except TimeoutError:
                pass

    async def round(self) -> int:
        """Send what is due now; the number of alerts tried."""
        due, _ = await self.committer.submit(lambda c, n: (outbox.claim(c, n), []))
        for row in due:
            await self._send(row)
        return len(due)

    async def _send(self, row: dict[str, Any]) -> None:
        payload = json.loads(row["payload"])
        try:
            await asyncio.to_thread(self._deliver, row["channel"], row["target"], payload)
        except transports.SendError as exc:
            error, retry = str(exc), exc.retry
            state, _ = await self.committer.submit(
                lambda c, n: (
                    outbox.failed(c, n, row["id"], error, retry, self.settings.max_tries),
                    [],
                )
            )
            # Staff addresses only; never a citizen's data in an alert.
            log.warning("alert %s over %s %s: %s", row["key"], row["channel"], state, error)
            return
        await self.committer.submit(lambda c, n: (outbox.sent(c, n, row["id"]), []))
        self.delivered += 1

    def _deliver(self, channel: str, target: str, payload: dict[str, Any]) -> None:
        s = self.settings
        if channel == "webhook":
            transports.webhook(s, payload)
        elif channel == "email":
            transports.email(s, target, payload["subject"], payload["text"], payload["key"])
        elif channel == "sms":
            transports.sms(s, target, payload["text"])
        elif channel == "upload":  # a national record reported upward (store/national.py)
            transports.upload(target, payload, self.upload_secret)
        else:
            raise transports.SendError(f"unknown channel {channel!r}", retry=False)
