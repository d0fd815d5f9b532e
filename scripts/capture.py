"""Save what the Kivy window shows to a PNG file, for the screenshot scripts.

Read from a ``Window.on_flip`` handler: from a plain clock callback the pictures came out
black (see shared/KIVY.md). The pixels are read here (RGBA, whose rows are always whole
words) and written by Pillow, not by ``Window.screenshot``: Kivy's SDL writer flips the
picture into a surface whose rows are padded to 4 bytes while copying unpadded rows, so
at a width whose RGB row is not a multiple of 4 bytes (1366 × 3 = 4098) each row slid two
bytes further than the last and the 1366×768 pictures came out sheared and wrapped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path


async def capture(path: Path) -> Path:
    """Save the next flipped frame to ``path`` as an RGB PNG; return ``path``."""
    from kivy.core.window import Window
    from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
    from PIL import Image

    done: asyncio.Future[tuple[tuple[int, int], bytes]] = asyncio.get_running_loop().create_future()

    def on_flip(*_: object) -> None:
        Window.unbind(on_flip=on_flip)
        w, h = (int(v) for v in Window.size)
        data = glReadPixels(0, 0, w, h, GL_RGBA, GL_UNSIGNED_BYTE)
        if not done.done():
            done.set_result(((w, h), bytes(data)))

    Window.bind(on_flip=on_flip)
    Window.canvas.ask_update()
    size, data = await asyncio.wait_for(done, 10)
    # OpenGL's first row is the bottom one
    img = Image.frombytes("RGBA", size, data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    tmp = path.with_name(path.name + ".part")
    img.convert("RGB").save(tmp, format="PNG", optimize=True)
    tmp.replace(path)
    return path
