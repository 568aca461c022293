"""The app's LSL toggle: the streams open in the background (loading liblsl takes about a
second, which the GUI thread must not wait for), then every result and marker goes out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from affect_live.lsl import LslError, LslStreams
from affect_live.types import FrameResult

log = logging.getLogger(__name__)


class LiveLsl:
    """Thread-safe; `notify(level, message)` tells the user how switching on went."""

    def __init__(self, notify: Callable[[str, str], None], describe_model: Callable[[], Mapping[str, Any] | None] = lambda: None) -> None:
        """`describe_model()`: the running model's description for the stream metadata."""
        self._notify = notify
        self._describe_model = describe_model
        self._lock = threading.Lock()
        self._streams: LslStreams | None = None
        self._wanted = False
        self._opener: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self._wanted

    @property
    def streams(self) -> LslStreams | None:
        return self._streams

    def set_enabled(self, on: bool) -> None:
        with self._lock:
            self._wanted = on
            if not on:
                streams, self._streams = self._streams, None
                if streams is not None:
                    streams.close()
                return
            if self._streams is not None or (self._opener is not None and self._opener.is_alive()):
                return
            self._opener = threading.Thread(target=self._open, name="lsl-open", daemon=True)
            self._opener.start()

    def _open(self) -> None:
        try:
            streams = LslStreams(model=self._describe_model())
        except LslError as exc:
            with self._lock:
                self._wanted = False
            self._notify("error", str(exc))
            return
        with self._lock:
            if not self._wanted:  # switched off meanwhile
                streams.close()
                return
            self._streams = streams
        self._notify("info", "LSL: streaming affect-live (Affect) and affect-live-markers (Markers)")

    def push(self, result: FrameResult) -> None:
        streams = self._streams
        if streams is not None:
            streams.push(result)

    def close(self) -> None:
        self.set_enabled(False)
        opener = self._opener
        if opener is not None:
            opener.join()
