"""Clerks' photos for the window displays: ``GET /staff-photo/<clerk id>``.

Staff photos are staff data. The hall keeps them in the directory ``[hall] staff_photos``
names (``<clerk id>.jpg``, ``.jpeg`` or ``.png``), with each clerk's consent, and removes
a clerk's file when the clerk leaves or withdraws consent. The server serves a photo only
to a display device (``Authorization: Bearer <display token>``: the monitors above the
windows, which show the photo beside the name and staff number), never to kiosks, clerks'
or citizens' pages, and never logs it; ``hall.info`` says only whether a clerk has one.
"""

from __future__ import annotations

import http
from pathlib import Path

from .core.hall import HallConfig

TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
PREFIX = "/staff-photo/"
MAX_BYTES = 2_000_000


def photo_file(config: HallConfig, clerk_id: str) -> Path | None:
    """The clerk's photo file, or None. Only ids of the hall's clerks are looked up, so
    a crafted id ("../x") never reaches the file system."""
    if not config.staff_photos or clerk_id not in {c.id for c in config.clerks}:
        return None
    folder = Path(config.staff_photos)
    for ext in TYPES:
        path = folder / f"{clerk_id}{ext}"
        if path.is_file() and path.resolve().parent == folder.resolve():
            return path
    return None


def serve(config: HallConfig, path: str, authorization: str) -> tuple[int, bytes, str]:
    """(HTTP status, body, content type) for ``GET /staff-photo/<id>``."""
    dev = config.token(authorization[7:]) if authorization.startswith("Bearer ") else None
    if dev is None:
        return http.HTTPStatus.UNAUTHORIZED, b"a display token is needed\n", "text/plain"
    if dev.role != "display":
        return http.HTTPStatus.FORBIDDEN, b"for display devices only\n", "text/plain"
    file = photo_file(config, path[len(PREFIX) :])
    if file is None or file.stat().st_size > MAX_BYTES:
        return http.HTTPStatus.NOT_FOUND, b"no photo\n", "text/plain"
    return http.HTTPStatus.OK, file.read_bytes(), TYPES[file.suffix.lower()]
