"""`bench --app --lsl`: a local LSL inlet on the app's data stream, counting the samples it
receives and the lag from a frame's capture (the sample's timestamp) to its arrival here."""

from __future__ import annotations

import threading

from affect_live.lsl.outlets import DATA_STREAM


class LslProbe:
    def __init__(self, timeout_s: float = 30.0) -> None:
        from mne_lsl import lsl

        self._lsl = lsl
        streams = lsl.resolve_streams(timeout=timeout_s, name=DATA_STREAM)
        if not streams:
            raise RuntimeError(f"no LSL stream {DATA_STREAM} within {timeout_s:.0f} s")
        self._inlet = lsl.StreamInlet(streams[0])
        self._inlet.open_stream(timeout=timeout_s)
        self._lock = threading.Lock()
        self._lags_ms: list[float] = []
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lsl-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            _, stamp = self._inlet.pull_sample(timeout=0.1)  # returns as soon as a sample is in
            if stamp is not None:
                now = self._lsl.local_clock()
                with self._lock:
                    self.received += 1
                    self._lags_ms.append((now - stamp) * 1000)

    def take(self) -> tuple[int, list[float]]:
        """Samples and lags since the last call."""
        with self._lock:
            received, lags = self.received, self._lags_ms
            self.received, self._lags_ms = 0, []
        return received, lags

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._inlet.close_stream()
