"""Measure the accessibility targets on the live widget tree, screen by screen.

Targets (issue 4): touch targets at least 120 px high at 1920×1080, text at least 36 px,
text contrast at least 7:1 against what it is drawn on, every service reachable from home
in at most 3 taps. The figures come from the widgets on screen, not from the theme, so a
``.kv`` change that shrinks a button shows up here.

Nothing here starts a server: the caller passes a running app. Run by hand against the
demo hall (``scripts/demo_hall.py`` starts one on a temporary database)::

    .venv/bin/python scripts/layoutcheck.py kiosk
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.image import Image
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk import theme

TARGET_PX = 120  # a touch target's height at 1080 px (the shorter side of the screen)
TARGET_WIDTH = 0.75  # of TARGET_PX: keys of a letter pad may be a little narrower
TEXT_PX = 36  # at 1080 px
QR_PX = 300  # the ticket's QR code, so a phone at arm's length reads it
CONTRAST = 7.0
MAX_TAPS = 3
SIZES: tuple[tuple[int, int], ...] = (
    (1280, 720),
    (1366, 768),
    (1920, 1080),
    (1080, 1920),
    (1280, 1024),
    (960, 540),  # the demo's half-screen window (queue_server/demo/runner.py)
)


def ui_scale(size: tuple[float, float]) -> float:
    """Pixels per design pixel: the screen is at least 1080 design pixels on its shorter
    side and 1600 on its longer one (1.0 at 1920×1080 and 1080×1920, 0.67 at 1280×720,
    0.8 at 1280×1024, 2.0 at 3840×2160).

    One rule for the kiosk (``KioskApp.ui``) and the check, so the limits scale with the
    layout they measure."""
    short, long = sorted(float(x) for x in size)
    return max(0.5, min(short / 1080, long / 1600))


@dataclass(frozen=True)
class Limits:
    """The limits at one window size (pixels of that window)."""

    window: tuple[int, int]
    target_px: float
    target_w_px: float
    text_px: float
    qr_px: float

    @classmethod
    def at(cls, window: tuple[float, float]) -> Limits:
        s = ui_scale(window)
        w, h = int(window[0]), int(window[1])
        return cls(
            (w, h),
            TARGET_PX * s - 0.5,
            TARGET_PX * TARGET_WIDTH * s - 0.5,
            TEXT_PX * s - 0.5,
            QR_PX * s,
        )


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(rgba: Any) -> float:  # noqa: ANN401 - Kivy colour lists
    r, g, b = (_linear(float(x)) for x in list(rgba)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: Any, bg: Any) -> float:  # noqa: ANN401
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def background(widget: Widget) -> Any:  # noqa: ANN401
    w: Any = widget
    while w is not None:
        bg = getattr(w, "bg_color", None)
        if bg is not None:
            return bg
        w = w.parent if w.parent is not w else None
    return theme.BG


def visible(widget: Widget) -> Iterator[Widget]:
    """Widgets drawn now: skips hidden subtrees (opacity 0) and zero-size ones."""
    if widget.opacity == 0 or widget.width <= 0 or widget.height <= 0:
        return
    yield widget
    for child in widget.children:
        yield from visible(child)


Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in window pixels


def window_rect(w: Widget) -> Rect:
    x0, y0 = w.to_window(w.x, w.y)
    x1, y1 = w.to_window(w.right, w.top)
    return (x0, y0, x1, y1)


def text_rect(label: Label) -> Rect:
    """Where the label's texture is drawn: centred on the widget (Kivy's Label rule)."""
    tw, th = label.texture_size
    cx, cy = label.to_window(*label.center)
    return (cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2)


def _intersect(a: Rect, b: Rect) -> Rect | None:
    r = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
    return r if r[2] - r[0] > 1 and r[3] - r[1] > 1 else None


def _inside(a: Rect, b: Rect, slack: float = 1.0) -> bool:
    return (
        a[0] >= b[0] - slack
        and a[1] >= b[1] - slack
        and a[2] <= b[2] + slack
        and a[3] <= b[3] + slack
    )


def _name(w: Widget) -> str:
    text = getattr(w, "text", "")
    return f"{type(w).__name__} {text[:24]!r}" if text else type(w).__name__


def text_cut(label: Label) -> str:
    """Why the label's text is not fully shown, or "" when it is.

    The text is laid out again with room to grow downwards (no ``shorten``, no
    ``max_lines``): if it then needs more lines than the label shows, words were cut."""
    from kivy.core.text import Label as CoreLabel

    tw, th = label.texture_size
    if tw > label.width + 1 or th > label.height + 1:
        return (
            f"texture {tw:.0f}x{th:.0f} larger than the widget {label.width:.0f}x{label.height:.0f}"
        )
    broken = broken_term(label)
    if broken:
        return f"the word {broken!r} is broken across lines"
    size = label.text_size
    opts = dict(label._label.options)
    opts.update(text=label._label.text or label.text, shorten=False, max_lines=0)
    if size[0] is None:
        return ""
    opts["text_size"] = (size[0], None)
    core = CoreLabel(**opts)
    core.refresh()
    need = core.texture.size[1] if core.texture else 0
    if need > th + 2:
        return f"needs {need:.0f} px of height, shows {th:.0f}"
    width = size[0] - 2 * float(opts.get("padding_x", 0) or 0)
    for word in label.text.split():
        if word.isascii() and core.get_extents(word)[0] > width + 1:
            return f"the word {word!r} is broken across lines"
    return ""


def broken_term(label: Label) -> str:
    """A word of :data:`kiosk.i18n.UNBREAKABLE` that the drawn lines split, or ""."""
    from kiosk.i18n import UNBREAKABLE

    lines = ["".join(w.text for w in line.words) for line in label._label._cached_lines]
    if len(lines) < 2:
        return ""
    joined, ends, at = "".join(lines), [], 0
    for line in lines[:-1]:
        at += len(line)
        ends.append(at)
    for term in UNBREAKABLE:
        start = joined.find(term)
        while start >= 0:
            if any(start < end < start + len(term) for end in ends):
                return term
            start = joined.find(term, start + 1)
    return ""


def layout_problems(name: str, root: Widget, limits: Limits) -> list[str]:
    """Everything wrong with what is on screen now (see the module docstring).

    A full-window overlay (the offline notice) hides what is under it: only the overlay
    is checked then. Content of a scroll view may be scrolled out of view (it is clipped
    to the view, not cut): only what is inside the view counts, and the view itself must
    be in the window."""
    from kivy.uix.stencilview import StencilView

    win: Rect = (0, 0, limits.window[0], limits.window[1])
    top = root
    for child in root.children:  # children[0] is drawn last, on top
        if child.opacity and _inside(win, window_rect(child), 2):
            top = child if child is not root.children[-1] else root
            break
    problems: list[str] = []
    texts: list[tuple[Widget, Rect]] = []
    targets: list[tuple[Widget, Rect]] = []

    def walk(w: Widget, clip: Rect | None) -> None:
        if w.opacity == 0 or w.width <= 0 or w.height <= 0:
            return
        r = window_rect(w)
        if clip is None:
            if not _inside(r, win):
                problems.append(
                    f"{name}: {_name(w)} outside the window at "
                    f"({r[0]:.0f},{r[1]:.0f})-({r[2]:.0f},{r[3]:.0f})"
                )
        elif _intersect(r, clip) is None:
            return  # scrolled out of view
        is_text = isinstance(w, Label) and w.text.strip()
        if is_text:
            tr_: Rect | None = text_rect(w)
            if clip is not None and tr_ is not None:
                tr_ = _intersect(tr_, clip)  # None: scrolled out of view
            if tr_ is not None:
                texts.append((w, tr_))
            if float(w.font_size) < limits.text_px:
                problems.append(
                    f"{name}: text {_name(w)} is {w.font_size:.0f} px (< {limits.text_px:.0f})"
                )
            ratio = contrast(w.color, background(w))
            if ratio < CONTRAST:
                problems.append(f"{name}: text {_name(w)} contrast {ratio:.2f}:1")
            if clip is None or _inside(r, clip):
                why = text_cut(w)
                if why:
                    problems.append(f"{name}: text {_name(w)} cut: {why}")
        if isinstance(w, Image) and w.texture is not None and clip is None:
            side = min(w.norm_image_size)
            if side < limits.qr_px:
                problems.append(
                    f"{name}: image {side:.0f} px wide, too small to scan (< {limits.qr_px:.0f})"
                )
        if isinstance(w, ButtonBehavior) and not w.disabled:
            vis = r if clip is None else (_intersect(r, clip) or r)
            targets.append((w, vis))
            if clip is None and (w.height < limits.target_px or w.width < limits.target_w_px):
                problems.append(
                    f"{name}: target {_name(w)} is {w.width:.0f}x{w.height:.0f}"
                    f" px (< {limits.target_w_px:.0f}x{limits.target_px:.0f})"
                )
        inner = clip
        if isinstance(w, StencilView):
            inner = r if clip is None else (_intersect(r, clip) or r)
        for child in reversed(w.children):
            walk(child, inner)

    walk(top, None)
    for i, (a, ra) in enumerate(texts):
        for b, rb in texts[i + 1 :]:
            if _intersect(ra, rb):
                problems.append(f"{name}: texts overlap: {_name(a)} and {_name(b)}")
        for b, rb in targets:
            if b is not a and _intersect(ra, rb) and not _is_ancestor(b, a):
                problems.append(f"{name}: text {_name(a)} under the button {_name(b)}")
    return problems


def _is_ancestor(a: Widget, b: Widget) -> bool:
    w: Any = b.parent
    while w is not None and w is not w.parent:
        if w is a:
            return True
        w = w.parent
    return False


@dataclass
class ScreenFigures:
    name: str
    targets: int = 0
    min_target_px: float = 1e9
    texts: int = 0
    min_text_px: float = 1e9
    min_contrast: float = 1e9
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{self.name:<22} targets {self.targets:>3}, "
            f"min height {self.min_target_px:5.0f} px | texts {self.texts:>3}, "
            f"min size {self.min_text_px:4.0f} px, "
            f"min contrast {self.min_contrast:5.2f}:1"
        )


def measure(name: str, root: Widget, limits: Limits | None = None) -> ScreenFigures:
    """Figures for the report, plus every layout problem on the screen."""
    from kivy.core.window import Window

    limits = limits or Limits.at(Window.size)
    fig = ScreenFigures(name)
    for w in visible(root):
        if isinstance(w, ButtonBehavior) and not w.disabled:
            fig.targets += 1
            fig.min_target_px = min(fig.min_target_px, w.height)
        if isinstance(w, Label) and w.text.strip():
            fig.texts += 1
            fig.min_text_px = min(fig.min_text_px, float(w.font_size))
            fig.min_contrast = min(fig.min_contrast, contrast(w.color, background(w)))
    fig.problems = layout_problems(name, root, limits)
    return fig


@dataclass
class Report:
    screens: list[ScreenFigures]
    max_taps: int
    services: int
    windows: list[tuple[int, int]]
    problems: list[str]

    def text(self) -> str:
        sizes = ", ".join(f"{w}x{h}" for w, h in self.windows)
        lines = [f"windows {sizes}: {len(self.screens)} screens and states checked"]
        lines.append(
            f"min target {min(s.min_target_px for s in self.screens if s.targets):.0f} px, "
            f"min text {min(s.min_text_px for s in self.screens):.0f} px, "
            f"min contrast {min(s.min_contrast for s in self.screens):.2f}:1 "
            f"(>= {CONTRAST:.0f}), taps home -> any of {self.services} services "
            f"<= {self.max_taps} (<= {MAX_TAPS}, the last tap takes the number)"
        )
        lines += [f"PROBLEM {p}" for p in self.problems] or ["no problems"]
        return "\n".join(lines)


def states(
    app: Any,
    languages: tuple[str, ...] = ("zh", "en"),  # noqa: ANN401
) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Put the kiosk in every screen and state a citizen can meet, one after the other;
    yields the state's name and the languages to check it in once the model is in it
    (the caller switches language and text size in place, draws and measures); a
    nameless state asks the caller to let the kiosk's requests in flight finish.

    A state shown with "the longest name" is set up once per language, since the
    longest name differs between them (and the case screen's service name is picked
    in the language shown)."""
    m = app.model
    fake = {
        "id": -1,
        "label": "AB123",
        "service": m.most_used(1)[0],
        "people_ahead": 1,
        "est_wait_minutes": 125,
        "est_wait_low": 98,
        "est_wait_high": 160,
        "url": "http://127.0.0.1:8765/t/audit-0123456789",
        "priority": "disabled",
        "check": "4821",
    }
    m.reset()
    longest = max(m.services_in(""), key=lambda sv: len(m.name(sv.get("name"))))["id"]
    longest_area = max(m.areas(), key=lambda a: len(m.name(a["name"])))["id"]
    every = languages
    yield "home", every
    m.open_area(longest_area)
    yield "services", every
    m.open_search()
    for letter in "zzz":
        m.type_letter(letter)
    yield "services/no-match", every
    m.open_service(longest)
    yield "", ()  # let the queue lengths fetched on opening arrive, then show long ones
    queue = m.service_info(longest).get("queue")
    m.queues_now = {
        queue: {
            "queue": queue,
            "waiting": 137,
            "est_wait_minutes": 245,
            "est_wait_low": 196,
            "est_wait_high": 310,
        }
    }
    yield "detail", every
    m.refused("closed")
    yield "detail/refused", every
    m.open_priority()
    yield "priority", every
    app.choose_priority("disabled")
    for d in "12":
        m.pin_digit(d)
    yield "priority/pin", every
    m.pin_confirm()
    yield "priority/pin-wrong", every
    m.refused("locked")
    yield "priority/locked", every
    m.open_appointment()
    for d in "2026":
        m.code_digit(d)
    yield "appointment", every
    m.refused("appointment_too_early")
    yield "appointment/too-early", every
    m.open_rating()
    for k in "AB12":
        m.label_key(k)
    yield "rating/number", every
    m.refused("unknown_ticket")
    yield "rating/number-refused", every
    m.label_entry = "AB12"
    m.label_entered()
    yield "rating/level", every
    m.refused("already_rated")
    yield "rating/level-refused", every
    m.rated()
    yield "rating/thanks", every
    m.open_case()
    for k in [*m.case_keys(), *"2026000123456"]:
        m.case_key(k)
    yield "case/number", every
    m.refused("unknown_case")
    yield "case/number-refused", every
    m.case_entered()
    for d in "48":
        m.case_key(d)
    yield "case/check", every
    m.refused("wrong_check")
    yield "case/check-wrong", every
    m.refused("locked")
    yield "case/check-locked", every
    for lang in languages:
        m.set_language(lang)
        longest_case = max(m.services_in(""), key=lambda sv: len(m.name(sv.get("name"))))["id"]
        m.case_shown(
            {
                "number": "2026000123456",
                "service": longest_case,
                "state": "suspended",
                "due_on": "2026-12-02",
                "days_left": 12,
                "ready": False,
                "progress": ["accepted", "in_review"],
            }
        )
        yield "case/suspended", (lang,)
    for lang in languages:
        m.set_language(lang)
        longest_case = max(m.services_in(""), key=lambda sv: len(m.name(sv.get("name"))))["id"]
        m.case_shown(
            {
                "number": "2026000123456",
                "service": longest_case,
                "state": "ready",
                "due_on": "2026-12-02",
                "days_left": None,
                "ready": True,
                "progress": ["accepted", "in_review", "decided", "ready"],
            }
        )
        yield "case/ready", (lang,)
    m.ticket_issued(fake, printing=True)
    yield "ticket/printing", every
    m.printed(True, "online")
    yield "ticket/printed", every
    m.ticket_issued(fake, printing=True)
    m.printed(False, "paper_out")
    yield "ticket/failed", every
    m.connection_changed("offline")
    yield "offline", every
    m.connection_changed("online")
    m.reset()


@contextlib.contextmanager
def laid_out_not_painted() -> Iterator[None]:
    """Frames are laid out but not painted while the check runs, back to back.

    The check reads geometry, texture sizes and colours from the widget tree; Kivy
    computes all of them on the Clock (layouts and label textures are Clock triggers run
    before the frame's draw), never from pixels. Painting a frame with software GL (Mesa
    llvmpipe under Xvfb in CI) took ~70 ms at 1920×1080: 60% of the check's time. So
    ``on_draw`` and ``on_flip`` are vetoed (a handler returning True stops the default
    one; handlers bound later, such as a test's frame counter, still run), and the Clock
    does not wait for the next 60 fps slot. The window, its size and every widget stay
    real."""
    from kivy.clock import Clock
    from kivy.core.window import Window

    def veto(*_: Any) -> bool:
        return True

    Window.fbind("on_draw", veto)
    Window.fbind("on_flip", veto)
    fps = Clock._max_fps  # no public setter once the Clock runs
    Clock._max_fps = 0
    try:
        yield
    finally:
        Clock._max_fps = fps
        Window.funbind("on_draw", veto)
        Window.funbind("on_flip", veto)
        Window.canvas.ask_update()


async def ticks(n: int = 1) -> None:
    """Let the Kivy loop (a task on this asyncio loop) run ``n`` whole frames."""
    from kivy.clock import Clock

    end = Clock.frames + n
    while Clock.frames < end:
        await asyncio.sleep(0)


def signature(root: Widget) -> tuple[Any, ...]:
    """What the check reads, for every widget drawn: place, size, text and its texture."""
    return tuple(
        (
            id(w),
            window_rect(w),
            getattr(w, "text", None),
            getattr(w, "texture_size", None),
            getattr(w, "font_size", None),
            getattr(w, "opacity", None),
        )
        for w in visible(root)
    )


async def synced(app: Any, limit: int = 30) -> None:  # noqa: ANN401 - the KioskApp
    """Redraw the kiosk from its model now, then run frames until two in a row change
    nothing the check reads (a fitted ticket number takes two more frames: its size is
    computed from the laid-out column, then the column is laid out again).

    Settling on "nothing moved" rather than on a fixed wait is what lets frames run back
    to back: a loaded machine runs the same frames, only later."""
    start = app.synced
    app._sync_trigger()
    while app.synced <= start:
        await ticks(1)
    before, still = signature(app.root), 0
    for _ in range(limit):
        await ticks(1)
        now = signature(app.root)
        still = still + 1 if now == before else 0
        if still == 2:  # two frames in a row changed nothing
            return
        before = now


async def requests_done(app: Any, timeout: float = 10.0) -> None:  # noqa: ANN401
    """Wait for the kiosk's one-shot requests (the queue lengths fetched when a service
    is opened), not for its watchers that run as long as the app."""
    pending = [
        t for t in app.controller.tasks if getattr(t.get_coro(), "__name__", "") == "_fetch_queues"
    ]
    if pending:
        await asyncio.wait(pending, timeout=timeout)


async def resize(size: tuple[int, int], settle: Callable[[], Awaitable[None]]) -> None:
    from kivy.core.window import Window

    if tuple(Window.size) != size:
        Window.size = size
        for _ in range(100):
            await asyncio.sleep(0.02)
            if tuple(Window.size) == size:
                break
    await settle()
    await settle()


async def audit(
    app: Any,
    settle: Callable[[], Awaitable[None]],  # noqa: ANN401
    tap: Callable[[Widget], Awaitable[None]],
    sizes: tuple[tuple[int, int], ...] = SIZES,
    languages: tuple[str, ...] = ("zh", "en"),
) -> Report:
    """Drive the running app through every screen and state at every window size, in
    each language, in normal and large text, and check each one.

    Each state is built once per size; language and text size are switched in place
    (the screens redraw from the model on every change, as when a citizen taps the
    language button), and frames are laid out without being painted
    (:func:`laid_out_not_painted`). ``tap`` sends a real touch; the tap count is
    measured by tapping area buttons on the home screen and checking each service is a
    row of the list it opens."""
    from kivy.core.window import Window

    m = app.model
    root = app.root
    screens: list[ScreenFigures] = []
    first = tuple(Window.size)
    with laid_out_not_painted():
        for size in sizes:
            await resize(size, lambda: synced(app))
            limits = Limits.at(size)
            for state, langs in states(app, languages):
                if not state:
                    await requests_done(app)
                for lang in langs:
                    for large in (False, True):
                        tag = f"{size[0]}x{size[1]}/{lang}{'/large' if large else ''}"
                        if m.language != lang:
                            m.set_language(lang)
                        m.large_text = large
                        await synced(app)
                        fig = measure(f"{tag}/{state}", root, limits)
                        if fig.problems:  # once more, so a problem is never a transient:
                            # a recycle view may re-lay its rows out a little later
                            await synced(app)
                            await asyncio.sleep(0.1)
                            await synced(app)
                            fig = measure(f"{tag}/{state}", root, limits)
                        screens.append(fig)
    await resize(first, settle)  # type: ignore[arg-type]
    m.reset()
    await settle()

    # Taps: home -> area (1) -> service row (2) opens its detail -> take a number (3).
    reached: dict[str, int] = {}
    home_buttons = {b.key: b for b in visible(root) if getattr(b, "key", "")}
    for area in m.areas():
        button = home_buttons.get(area["id"])
        if button is None:
            continue
        await tap(button)
        await settle()
        rows = {row["key"] for row in root.ids.sm.current_screen.ids.rv.data}
        for sid in rows:
            reached.setdefault(sid, 3)
        m.reset()
        await settle()
    for sid in m.most_used(6):
        reached[sid] = 2
    services = [sv["id"] for sv in m.services_in("")]
    missing = [s for s in services if s not in reached]
    problems = [p for s in screens for p in s.problems]
    problems += [f"service {s} cannot be reached from home" for s in missing]
    max_taps = max(reached.values(), default=99) if not missing else 99
    return Report(screens, max_taps, len(services), list(sizes), problems)
