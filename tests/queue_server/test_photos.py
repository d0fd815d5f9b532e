"""Clerks' photos (issue 12): served to display devices only, from the hall file's
``staff_photos`` directory, over the server's real HTTP port."""

from __future__ import annotations

import asyncio
import io
import urllib.error
import urllib.request

from PIL import Image

from queue_server.config import parse_config
from queue_server.server import hall_info
from tests.queue_server.harness import running_hall
from tests.queue_server.test_config import TEST_HALL, problems_of, raw_test_hall


def png(color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, "PNG")
    return out.getvalue()


def hall_with_photos(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "c001.png").write_bytes(png())
    (photos / "visitor.png").write_bytes(png())  # in the folder, but no clerk of the hall
    (tmp_path / "secret.png").write_bytes(png())  # beside the folder: never served
    raw = raw_test_hall()
    raw["hall"]["staff_photos"] = str(photos)
    return parse_config(raw, str(TEST_HALL))


def get(port: int, path: str, token: str | None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_photos_go_to_display_devices_only(tmp_path, sqlite_url):
    config = hall_with_photos(tmp_path)

    async def main():
        async with running_hall(config, sqlite_url) as hall:
            port = hall.port
            results = {}
            for name, path, token in (
                ("display", "/staff-photo/c001", "display-1-secret"),
                ("kiosk", "/staff-photo/c001", "kiosk-1-secret"),
                ("clerk", "/staff-photo/c001", "clerk-1-secret"),
                ("none", "/staff-photo/c001", None),
                ("bad-token", "/staff-photo/c001", "nope"),
                ("no-photo", "/staff-photo/c003", "display-1-secret"),
                ("not-a-clerk", "/staff-photo/visitor", "display-1-secret"),
                ("encoded", "/staff-photo/..%2Fsecret", "display-1-secret"),
                ("traversal", "/staff-photo/../secret", "display-1-secret"),
            ):
                results[name] = await asyncio.to_thread(get, port, path, token)
            return results

    r = asyncio.run(main())
    assert r["display"] == (200, png())
    assert r["kiosk"][0] == 403 and r["clerk"][0] == 403
    assert r["none"][0] == 401 and r["bad-token"][0] == 401
    assert r["no-photo"][0] == 404 and r["not-a-clerk"][0] == 404
    assert r["encoded"][0] == 404
    assert r["traversal"][0] in (404, 400)  # never the file beside the folder
    info = hall_info(config)
    assert {c["id"]: c["photo"] for c in info["clerks"]} == {"c001": True, "c003": False}


def test_a_missing_photo_folder_is_reported_with_its_place(tmp_path):
    raw = raw_test_hall()
    raw["hall"]["staff_photos"] = str(tmp_path / "nowhere")
    assert any(p.startswith("hall.staff_photos: no such directory") for p in problems_of(raw))
