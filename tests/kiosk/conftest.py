"""Kiosk tests: a real window (Xvfb or offscreen), a real queue server, the printer emulator.

``tests.kivy_env`` must be imported before anything imports Kivy.
"""

from tests import kivy_env  # noqa: F401  (sets up the display before Kivy is imported)
