"""`--lsl-markers NAME`: record another program's LSL marker stream (a stimulus program, a
lab's event box) into the recording's events file, at the marker's time on this machine's
LSL clock."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from affect_live.lsl.scope import load_lsl

log = logging.getLogger(__name__)

MarkerTarget = Callable[[str, float], None]  # (text, LSL time on this machine's clock)


class MarkerInlet:
    """A thread that finds the stream by name (waiting for it to appear), then hands every
    marker to `target` (which may be swapped or None at any time: between recordings)."""

    def __init__(self, name: str, target: MarkerTarget | None = None) -> None:
        self._lsl = load_lsl()
        self.name = name
        self.target = target
        self.connected = threading.Event()
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsl-markers", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        streams: list = []
        while not streams and not self._stop.is_set():
            streams = self._lsl.resolve_streams(timeout=0.5, name=self.name)
        if not streams:
            return
        # clocksync: timestamps come already mapped onto this machine's LSL clock
        inlet = self._lsl.StreamInlet(streams[0], processing_flags=["clocksync"])
        inlet.open_stream(timeout=10)
        log.info("recording the markers of LSL stream %s", self.name)
        self.connected.set()
        try:
            while not self._stop.is_set():
                sample, stamp = inlet.pull_sample(timeout=0.2)
                if stamp is None:
                    continue
                self.received += 1
                target = self.target
                if target is not None:
                    target(str(sample[0]), float(stamp))
        finally:
            inlet.close_stream()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
