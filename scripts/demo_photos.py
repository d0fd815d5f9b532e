"""Draw the demo hall's placeholder staff photos: queue_server/demo/staff-photos/.

    .venv/bin/python scripts/demo_photos.py

The demo's window displays show a photo beside the clerk's name and staff number, as
halls expect; a demo must not ship anyone's face. These are drawn shapes — a flat
silhouette on a coloured card, the staff number and "示例 DEMO" across it — so nobody
can take them for a real person, and small (a few kB) since they are committed.
Deterministic: the same clerk always gets the same picture.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "queue_server" / "demo" / "staff-photos"
# The demo clerks who sit at windows (hall.toml [[clerks]] with no back-office role).
CLERKS = {"c001": (38, 110, 160), "c002": (30, 120, 90), "c003": (140, 80, 40)}
SIZE = (240, 300)  # 4:5, the window display's photo box


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from kiosk.fonts import find_cjk_font

    try:
        return ImageFont.truetype(str(find_cjk_font().path), size)
    except Exception:  # no CJK font: the English half of the mark still says it
        return ImageFont.load_default()


def portrait(clerk: str, colour: tuple[int, int, int]) -> Image.Image:
    w, h = SIZE
    img = Image.new("RGB", SIZE, colour)
    d = ImageDraw.Draw(img)
    light = tuple(min(255, c + 90) for c in colour)
    # a head and shoulders in one flat tone: a sign, not a face
    d.ellipse((w * 0.3, h * 0.14, w * 0.7, h * 0.5), fill=light)
    d.pieslice((w * 0.1, h * 0.52, w * 0.9, h * 1.25), 180, 360, fill=light)
    d.rectangle((0, h - 64, w, h), fill=(255, 255, 255))
    mark = "示例 DEMO"
    f = font(30)
    tw = d.textlength(mark, font=f)
    d.text(((w - tw) / 2, h - 60), mark, fill=(0, 0, 0), font=f)
    f2 = font(22)
    tw = d.textlength(clerk, font=f2)
    d.text(((w - tw) / 2, 10), clerk, fill=(255, 255, 255), font=f2)
    return img


def main() -> int:
    sys.path.insert(0, str(ROOT))
    OUT.mkdir(parents=True, exist_ok=True)
    for clerk, colour in CLERKS.items():
        path = OUT / f"{clerk}.png"
        portrait(clerk, colour).quantize(colors=16).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
