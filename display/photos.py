"""The signed-in clerk's photo on the window display, or the clerk's initials.

Photos are staff data: the server hands them to display devices only
(``queue_server/photos.py``, ``GET /staff-photo/<id>`` with the display's token); the
display keeps the one it shows in memory and never writes it to disk or logs. A clerk
without a photo (or a server that cannot give it) gets initials in a circle instead.
"""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.parse
import urllib.request

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def initials(name: str) -> str:
    """ "Zhang Wei" -> "ZW"; "王芳" -> "王" (the family name, as a Chinese badge shows it)."""
    words = name.split()
    if len(words) > 1:
        return "".join(w[0] for w in words[:2]).upper()
    return name[:1].upper()


def photo_url(server: str, clerk_id: str) -> str:
    """The photo's address on the server whose WebSocket URL is ``server``."""
    parts = urllib.parse.urlsplit(server)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}/staff-photo/{urllib.parse.quote(clerk_id, safe='')}"


async def fetch(
    server: str, token: str, clerk_id: str, timeout: float = 5.0
) -> tuple[bytes, str] | None:
    """(image bytes, file extension), or None when there is none to show."""
    request = urllib.request.Request(
        photo_url(server, clerk_id), headers={"Authorization": f"Bearer {token}"}
    )

    def get() -> tuple[bytes, str] | None:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            ctype = reply.headers.get("Content-Type", "").split(";")[0].strip()
            ext = EXTENSIONS.get(ctype)
            return (reply.read(), ext) if ext else None

    try:
        return await asyncio.to_thread(get)
    except (OSError, urllib.error.URLError, ValueError):
        return None
