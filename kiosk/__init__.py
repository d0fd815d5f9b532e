"""The citizen kiosk: take a number, check in an appointment, rate a finished case.

Layers, each testable on its own:

- :mod:`kiosk.model` holds what the kiosk shows (screen, service, ticket, connection and
  printer state, idle countdown, language, large text) with no window and no I/O;
- :mod:`kiosk.controller` talks to the queue server and the printer and updates the model;
- :mod:`kiosk.app` and :mod:`kiosk.screens` draw the model with Kivy, one ``.kv`` per screen.

Only :mod:`kiosk.app` and the screens import Kivy's window; the CLI sets Kivy's
configuration (lock-down, size) before importing them.
"""
