"""The lock a run holds on one recording's outputs while it writes them: `clip.lock` beside
`clip.csv` (output_files.lock_path), locked with flock(2) and holding the writer's `pid host`.

The kernel drops an flock when its process dies, however it dies, so a lock file left by a
killed run is simply taken over; a finished run removes its lock file. The lock is taken by the
process that writes (analyze's worker: this process, a --jobs worker or a Ray task), so it works
the same on every path; on NFS it holds across machines where the client maps flock to NFS locks
(Linux does). Locks are advisory: only affect-live runs honour them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from pathlib import Path

from affect_live.errors import EXIT_REFUSED, UserError


class OutputsBusy(UserError):
    """Another live run writes these outputs; the message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_REFUSED)


def _holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        pid, _, host = os.pread(fd, 200, 0).decode().strip().partition(" ")
        if pid.isdigit():
            return f" (pid {pid}{' on ' + host if host else ''})"
    return ""


def busy_message(csv_path: Path, lock: Path, holder: str) -> str:
    return f"{csv_path} is being written by another affect-live run{holder}: wait for it to end or choose another --out (lock {lock})"


class OutputLock:
    """An exclusive, non-blocking lock on `path` (a lock file); `acquire` raises OutputsBusy."""

    def __init__(self, path: Path, what: Path | None = None) -> None:
        self.path = Path(path)
        self.what = what or self.path  # what the message says is busy
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    holder = _holder(fd)
                    os.close(fd)
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise OutputsBusy(busy_message(Path(self.what), self.path, holder)) from None
                    raise
                # The holder may have removed the file between our open and our lock: then we
                # locked a file nobody else will see; open the path again.
                if _same_file(fd, self.path):
                    break
                os.close(fd)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        except OSError as exc:
            raise UserError(f"cannot lock {self.path}: {exc.strerror or exc}", EXIT_REFUSED) from None
        self._fd = fd

    def release(self) -> None:
        """Remove the lock file (while still holding it, so no other run has it) and unlock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(fd)

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        now, locked = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)


def check_free(lock: Path, what: Path) -> None:
    """Raise OutputsBusy when a live run holds `lock`, without creating or taking it (the
    driver's early check, so a busy batch is refused before anything is written)."""
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return  # no lock file: free (or unreadable: the writer's own lock will say)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise OutputsBusy(busy_message(what, lock, _holder(fd))) from None
    finally:
        os.close(fd)
