"""Errors the kiosk raises before it can show a screen (it shows everything else).

::

    KioskError
     ├── SettingsError   a setting is missing or of the wrong type
     ├── FontError       no font that can draw Chinese was found or the one given is unusable
     └── PrinterSetupError
                         the printer URL or profile cannot be used at all
"""

from __future__ import annotations


class KioskError(Exception):
    """Base class: the CLI prints the message and exits with status 2."""


class SettingsError(KioskError):
    pass


class FontError(KioskError):
    pass


class PrinterSetupError(KioskError):
    pass
