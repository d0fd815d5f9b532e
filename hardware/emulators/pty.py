"""A pseudo-terminal that plays the device end of a serial line, with a stable path.

The host opens ``link`` (a symlink to the pty slave), exactly as it would open
``/dev/ttyUSB0``. :meth:`PtyEndpoint.unplug` closes the pty so the host sees the port
vanish; :meth:`PtyEndpoint.replug` makes a new pty and repoints the symlink, like a USB
adapter coming back (possibly under a new /dev/pts number, hidden by the link).
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import tty
from collections.abc import Callable
from pathlib import Path


class PtyEndpoint:
    def __init__(self, on_data: Callable[[bytes], None], link: str | Path | None = None) -> None:
        self.on_data = on_data
        self.link = Path(link) if link else None
        self._master: int | None = None
        self._slave: int | None = None
        self.slave_name = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._released = threading.Event()  # the reader no longer holds the old master
        self._thread: threading.Thread | None = None

    @property
    def path(self) -> str:
        """What the host should open."""
        return str(self.link) if self.link else self.slave_name

    def start(self) -> PtyEndpoint:
        self._plug()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pty-device", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self._unplug()
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def __enter__(self) -> PtyEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _plug(self) -> None:
        master, slave = os.openpty()
        # Raw on both sides: no echo, no CR/LF mangling, no signals on 0x03.
        tty.setraw(master)
        tty.setraw(slave)
        with self._lock:
            self._master, self._slave = master, slave
            self.slave_name = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_name)
            os.replace(tmp, self.link)

    def _unplug(self) -> None:
        with self._lock:
            fds = (self._master, self._slave)
            self._master = self._slave = None
        for fd in fds:
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def unplug(self) -> None:
        """The cable is pulled: the host's reads fail and the link path dangles.

        Returns once the reader thread has left its ``select`` on the old master: until
        then the kernel keeps the pty alive and the host would not see the hangup yet."""
        self._released.clear()
        self._unplug()
        if self._thread is not None and self._thread.is_alive():
            self._released.wait(1.0)
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def replug(self) -> None:
        if self._master is None:
            self._plug()

    def write(self, data: bytes) -> bool:
        with self._lock:
            fd = self._master
            if fd is None:
                return False
            view = memoryview(data)
            while view:
                try:
                    n = os.write(fd, view)
                except BlockingIOError:
                    select.select([], [fd], [], 0.05)
                    continue
                except OSError:
                    return False
                view = view[n:]
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self._master
            if fd is None:
                self._released.set()
                self._stop.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    continue
                data = os.read(fd, 4096)
            except OSError as exc:
                if exc.errno not in (errno.EIO, errno.EBADF):
                    raise
                self._stop.wait(0.02)
                continue
            except ValueError:  # fd closed under us by unplug()
                continue
            if data:
                self.on_data(data)
