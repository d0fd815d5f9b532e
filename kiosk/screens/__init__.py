"""One module and one ``.kv`` per screen; :mod:`kiosk.screens.common` holds the shared
widgets (buttons, labels, keypads, the top bar and the offline notice)."""
