"""Hand-offs between pipeline threads.

`LatestSlot` keeps only the newest item (live camera: never process stale frames) and counts
what it overwrote; `LosslessQueue` blocks the producer instead (file analysis: every frame).
Both end with `close()`, after which `get` returns `CLOSED` once drained.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

CLOSED = object()


class LosslessQueue:
    def __init__(self, maxsize: int = 8) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize)
        self._closed = threading.Event()
        self.dropped = 0  # never drops; present so both queues read the same

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        """Block until there is room; False if `stop` was set meanwhile (item not queued)."""
        while not (stop is not None and stop.is_set()):
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, timeout: float | None = None) -> Any:
        """The next item, CLOSED when closed and drained; raises queue.Empty on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._queue.get(timeout=0.05)
            except queue.Empty:
                # Closed is set only after the producer's last put, so empty-after-closed is final.
                if self._closed.is_set() and self._queue.empty():
                    return CLOSED
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    def close(self) -> None:
        self._closed.set()


class LatestSlot:
    """``merge(old, new)``, when given, makes the item that replaces an unread one (so what the
    overwritten item alone carried, such as ended face tracks, is not lost)."""

    def __init__(self, merge: Callable[[Any, Any], Any] | None = None) -> None:
        self._merge = merge
        self._item: Any = None
        self._has_item = False
        self._closed = False
        self._condition = threading.Condition()
        self.dropped = 0

    def put(self, item: Any, stop: threading.Event | None = None) -> bool:
        with self._condition:
            if self._has_item:
                self.dropped += 1
                if self._merge is not None:
                    item = self._merge(self._item, item)
            self._item, self._has_item = item, True
            self._condition.notify()
        return True

    def get(self, timeout: float | None = None) -> Any:
        with self._condition:
            if not self._condition.wait_for(lambda: self._has_item or self._closed, timeout):
                raise queue.Empty
            if not self._has_item:
                return CLOSED
            item, self._item, self._has_item = self._item, None, False
            return item

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
