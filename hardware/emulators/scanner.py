"""QR / barcode scanners for tests and demos.

:class:`SerialScannerEmulator` plays a USB-CDC scanner on a pty (the code, then the
terminator). :class:`HidScannerEmulator` plays a keyboard-wedge scanner: it writes the
kernel's ``input_event`` records for each key into a FIFO standing in for
``/dev/input/eventN`` (a real input node cannot be created without uinput). Both can be
unplugged and plugged back.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hardware.emulators.pty import PtyEndpoint
from hardware.scanner import TERMINATORS, key_events


class SerialScannerEmulator:
    def __init__(self, terminator: str = "CR") -> None:
        self.terminator = TERMINATORS[terminator]
        self._pty: PtyEndpoint | None = None

    def serve_pty(self, link: str | Path | None = None) -> str:
        self._pty = PtyEndpoint(lambda data: None, link).start()
        return self._pty.path

    def scan(self, code: str) -> bool:
        assert self._pty is not None
        return self._pty.write(code.encode("utf-8") + self.terminator)

    def unplug(self) -> None:
        assert self._pty is not None
        self._pty.unplug()

    def replug(self) -> None:
        assert self._pty is not None
        self._pty.replug()

    def stop(self) -> None:
        if self._pty is not None:
            self._pty.stop()


class HidScannerEmulator:
    def __init__(self, path: str | Path, terminator: str = "CR") -> None:
        self.path = Path(path)
        self.terminator = terminator
        self._fd: int | None = None

    def plug(self) -> str:
        """Create the node; the emulator holds both ends open so the reader never sees
        end-of-file while it is plugged in."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.mkfifo(self.path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
        return str(self.path)

    def scan(self, code: str) -> None:
        assert self._fd is not None
        os.write(self._fd, key_events(code, self.terminator))

    def unplug(self) -> None:
        fd, self._fd = self._fd, None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if fd is not None:
            os.close(fd)

    def replug(self) -> None:
        self.plug()

    def stop(self) -> None:
        self.unplug()
