"""The demo hall's staff photos (issue 12): drawn placeholders for the clerks who sit at
windows, so the demo's window display shows a photo beside the name, served to a display
over the real HTTP port like any hall's."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from queue_server.config import load_config
from queue_server.demo import __file__ as demo_init
from queue_server.photos import photo_file

DEMO = Path(demo_init).parent / "hall.toml"


def window_clerks(config):
    """The demo clerks without a back-office role: those who sign in at a window."""
    return [c.id for c in config.clerks if not c.roles]


def test_every_window_clerk_of_the_demo_has_a_small_drawn_photo():
    config = load_config(DEMO)
    assert config.staff_photos
    clerks = window_clerks(config)
    assert clerks == ["c001", "c002", "c003"]
    for clerk in clerks:
        path = photo_file(config, clerk)
        assert path is not None, clerk
        assert path.stat().st_size < 20_000  # committed: a few kB, not a real photo's MB
        with Image.open(path) as img:
            assert img.format == "PNG" and img.size == (240, 300)


def test_the_demo_display_fetches_the_photo(tmp_path):
    from display.photos import fetch
    from queue_server.server import HallServer
    from queue_server.store import db

    config = load_config(DEMO)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = db.open_engine(url)
    db.upgrade(engine)
    engine.dispose()
    display_token = next(d.token for d in config.devices if d.role == "display")

    async def main():
        hall = HallServer(config, url, ignore_hours=True)
        await hall.start("127.0.0.1", 0)
        try:
            return await fetch(f"ws://127.0.0.1:{hall.port}/", display_token, "c001")
        finally:
            await hall.stop()

    got = asyncio.run(asyncio.wait_for(main(), 60))
    assert got is not None
    data, ext = got
    assert ext == "png"
    with Image.open(io.BytesIO(data)) as img:
        assert img.size == (240, 300)
