"""A thread that owns some state and changes it only by running the commands posted to it, in
order. Other threads never touch that state: they post a command (never waiting) or call one
and get a Future. The session controller and the output fan-out are both built on it."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class CommandThreadClosed(RuntimeError):
    """A command called after `close()`."""


class CommandThread:
    def __init__(self, name: str, on_error: Callable[[str], None] = lambda message: None, on_close: Callable[[], None] = lambda: None) -> None:
        """`on_error(message)`: a posted command raised (logged with its traceback too);
        `on_close()` runs on the thread after the last command."""
        self._on_error = on_error
        self._on_close = on_close
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders posts against close(); never held across I/O
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._closed

    def post(self, function: Callable[..., Any], *args: Any) -> bool:
        """Run `function(*args)` on the thread; False (and nothing runs) once closed."""
        with self._lock:
            if self._closed:
                log.debug("%s closed: %s dropped", self._thread.name, getattr(function, "__name__", function))
                return False
            self._commands.put((function, args, None))
            return True

    def call(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Like `post`, with the value (or the exception) in the Future."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                future.set_exception(CommandThreadClosed(f"{self._thread.name} is closed"))
            else:
                self._commands.put((function, args, future))
        return future

    def close(self) -> None:
        """Run what is queued, then `on_close`, then end (without waiting: see `join`)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._commands.put(_STOP)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while (command := self._commands.get()) is not _STOP:
            function, args, future = command
            try:
                value = function(*args)
            except Exception as exc:  # one command failing must not stop the others
                if future is not None:
                    future.set_exception(exc)
                    continue
                log.error("%s: %s failed", self._thread.name, getattr(function, "__name__", function), exc_info=True)
                self._on_error(str(exc))
            else:
                if future is not None:
                    future.set_result(value)
        try:
            self._on_close()
        except Exception:
            log.error("%s: closing failed", self._thread.name, exc_info=True)
