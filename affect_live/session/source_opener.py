"""Opening sources off the session's control thread (a camera or a stream URL can take seconds)
and retrying a lost camera. The newest request wins: a source that opens after a newer request
was made is closed, never played. Called on the control thread only; the outcome comes back
to it through `deliver` (a post to the control thread)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from affect_live.pipeline.sources import FrameSource, LoopingVideoSource, SourceError, open_source

log = logging.getLogger(__name__)

Opened = Callable[[FrameSource, str, bool], None]  # (source, spec, reconnected)
Failed = Callable[[str, str], None]  # (spec, one-line message)


class SourceOpener:
    def __init__(
        self,
        deliver: Callable[..., bool],
        spawn: Callable[[Callable[..., None], str, tuple[Any, ...]], None],
        closed: threading.Event,
        opener: Callable[[str], FrameSource] = open_source,
    ) -> None:
        """`deliver(function, *args)` runs it on the control thread (False once closed);
        `spawn(target, name, args)` starts a helper thread the session joins on close."""
        self._deliver = deliver
        self._spawn = spawn
        self._closed = closed
        self.open_source = opener  # replaceable: tests stand a clip in for a camera
        self._request = 0  # the newest request; only the control thread changes it
        self.retry_interval_s = 2.0  # between attempts to reopen a lost camera

    def cancel(self) -> None:
        """Whatever is being opened or retried now will not be played."""
        self._request += 1

    def open(self, spec: str, loop: bool, opened: Opened, failed: Failed) -> None:
        self.cancel()
        self._spawn(self._open_once, "source-open", (self._request, spec, loop, opened, failed))

    def reconnect(self, spec: str, opened: Opened) -> None:
        """Retry `spec` every `retry_interval_s` until it opens, another request is made, or the
        session closes."""
        self.cancel()
        self._spawn(self._retry, "camera-reconnect", (self._request, spec, opened))

    def _open_once(self, request: int, spec: str, loop: bool, opened: Opened, failed: Failed) -> None:
        try:
            source = LoopingVideoSource(Path(spec)) if loop else self.open_source(spec)
        except (SourceError, OSError) as exc:
            self._deliver(self._unless_stale, request, failed, (spec, str(exc)), None)
            return
        if not self._deliver(self._unless_stale, request, opened, (source, spec, False), source):
            source.close()  # the session closed meanwhile

    def _retry(self, request: int, spec: str, opened: Opened) -> None:
        while not self._closed.wait(self.retry_interval_s):
            if request != self._request:
                return
            try:
                source = self.open_source(spec)
            except SourceError:
                continue
            if not self._deliver(self._unless_stale, request, opened, (source, spec, True), source):
                source.close()
            return

    def _unless_stale(self, request: int, then: Callable[..., None], args: tuple[Any, ...], source: FrameSource | None) -> None:
        """On the control thread: the outcome of the newest request goes on; an older one's
        source is closed."""
        if request == self._request:
            then(*args)
        elif source is not None:
            source.close()
