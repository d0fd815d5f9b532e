"""Device side of HallQ: pure codecs, thin drivers and emulators for the hall's hardware.

Layout, mirroring the websockets split of protocol state from I/O:

- ``hardware.bus``: the RS-485 bus shared by caller keypads, evaluation devices and LED
  window strips. ``frame`` and ``led`` are pure codecs; ``keypad`` and ``evaluator`` turn
  frames into typed events and back; ``driver`` owns a serial port and nothing else.
- ``hardware.printer``: the ESC/POS ticket printer. ``ticket`` builds bytes, ``status``
  reads real-time status bytes, ``transport`` moves bytes, ``printer`` ties them together.
- ``hardware.emulators``: the device side of each protocol over real pseudo-terminals and
  sockets, for tests and the demo.

Nothing here imports the queue server: the gateway adapts these drivers to it.
"""
