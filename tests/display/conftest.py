"""Display tests: Kivy's environment first, before anything imports Kivy.

``tests.kivy_env`` starts a private Xvfb (or picks SDL's offscreen driver) and points
Kivy at a temporary home; the kiosk tests share it, since the Kivy window is one per
process. The voice tests in this folder need no window and are not affected.
"""

from __future__ import annotations

import tests.kivy_env  # noqa: F401  (must come before any Kivy import)
