"""An exclusive claim on an output path that ends with the process holding it.

The claim is a lock file beside the path (``.NAME.cxsim-lock``) locked with ``flock``. The
kernel drops such a lock when its process ends, however it ends, so a lock file left by a
killed run never blocks the next one; the file says who held it, for messages. Where
``flock`` does not exist (Windows) the file is created exclusively instead, and one left by
a killed run must be removed by hand (the message names it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class Busy(Exception):
    """The lock is held by a live process, described by ``owner``."""

    def __init__(self, owner: str):
        super().__init__(owner)
        self.owner = owner


@dataclass
class Lock:
    """A held lock file; ``stale`` describes the stopped run that left the file, if one did."""

    path: Path
    fd: int
    stale: str = ""

    @classmethod
    def take(cls, path: Path) -> Lock:
        """Take the lock at ``path`` now or raise :class:`Busy` (never waits)."""
        if fcntl is None:  # pragma: no cover - Windows
            return cls._take_exclusive(path)
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read(fd)
                os.close(fd)
                raise Busy(owner or "another process") from None
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            # The holder released (removed) the file between our open and our lock: the
            # lock we hold is on a file no one else can find; take the path afresh.
            os.close(fd)
        lock = cls(path, fd, stale=_read(fd))
        os.ftruncate(fd, 0)
        os.pwrite(fd, _owner().encode(), 0)
        return lock

    @classmethod
    def _take_exclusive(cls, path: Path) -> Lock:  # pragma: no cover - Windows
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = path.read_text(errors="replace").strip() or "another process"
            raise Busy(f"{owner}; if no run is writing it, remove {path}") from None
        os.write(fd, _owner().encode())
        return cls(path, fd)

    def release(self) -> None:
        """Remove the file, then let go (in this order, see :meth:`take`)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _owner() -> str:
    since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    return f"pid {os.getpid()} on {socket.gethostname()}, since {since}"


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 300, 0).decode(errors="replace").strip()
    except OSError:
        return ""
