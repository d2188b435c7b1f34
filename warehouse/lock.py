"""One nightly run per warehouse at a time: an exclusive lock on a file beside the warehouse.

The operating system releases the lock when the process ends, also when it is killed, so a crashed
run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType


class RunInProgress(Exception):
    """Another run holds the warehouse; this one must not start."""


class RunLock:
    def __init__(self, warehouse: Path) -> None:
        self.path = warehouse.with_name(warehouse.name + ".lock")
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunInProgress(
                f"{self.path.with_suffix('')}: a run is already in progress (pid {holder}); "
                "this one exits without touching the warehouse"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
