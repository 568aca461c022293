"""Lab Streaming Layer output, for `analyze --lsl` and the app's LSL toggle: a data stream
(one sample per face per analysed frame, stamped with the frame's capture time on LSL's clock)
and a Markers stream (strings), which LabRecorder or any inlet records beside other devices.

liblsl comes from mne-lsl's wheel (pylsl ships none for Linux); `mne_lsl` is imported only when
streaming starts (lsl/scope.py), so `analyze` and the app start as fast without it. In `machine`
scope (the default) the outlets' ports are bound to loopback as they open (lsl/loopback.py).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from affect_live.lsl.loopback import bind_to_loopback, socket_fds
from affect_live.lsl.scope import LslError, load_lsl, multicast_port, setup
from affect_live.types import EXPRESSIONS, FrameResult

log = logging.getLogger(__name__)

DATA_STREAM, DATA_TYPE = "affect-live", "Affect"
MARKER_STREAM, MARKER_TYPE = "affect-live-markers", "Markers"


@dataclass(frozen=True)
class Channel:
    """One channel as XDF's channel metadata describes it: desc/channels/channel/{label,unit,type}."""

    label: str
    unit: str
    kind: str


def affect_channels() -> tuple[Channel, ...]:
    """Today's channels: face id, valence, arousal and the 7 probabilities. Head pose, gaze and
    blendshapes are appended here as further groups once the pipeline computes them; inlets
    find channels by label, never by position."""
    return (
        Channel("face_id", "id", "Misc"),
        Channel("valence", "normalized", "Affect"),
        Channel("arousal", "normalized", "Affect"),
        *(Channel(f"p_{name}", "probability", "Affect") for name in EXPRESSIONS),
    )


def face_samples(result: FrameResult) -> np.ndarray:
    """One row per face, in `affect_channels()` order."""
    rows = [[p.face_id, p.valence, p.arousal, *p.probabilities] for p in result.predictions]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), 3 + len(EXPRESSIONS))


def append_description(element: Any, key: str, value: Any) -> None:
    """Nested mappings as XML children of an LSL stream's desc; a list as repeated children
    named by the key's singular ("members" -> member)."""
    if isinstance(value, Mapping):
        child = element.append_child(key)
        for name, item in value.items():
            append_description(child, str(name), item)
    elif isinstance(value, (list, tuple)):
        child = element.append_child(key)
        for item in value:
            append_description(child, key.removesuffix("s") or "item", item)
    else:
        element.append_child_value(key, str(value))


class LslStreams:
    """The two outlets. Thread-safe: liblsl outlets may be pushed to from any thread."""

    def __init__(self, source_id: str = "affect-live", model: Mapping[str, Any] | None = None) -> None:
        """`model`: the running model, what each output is and where it came from
        (`metadata.stream_model_description`), written into the data stream's metadata
        (desc/model); later changes arrive as markers."""
        lsl = load_lsl()
        self._clock: Callable[[], float] = lsl.local_clock
        self.channels = affect_channels()
        info = lsl.StreamInfo(DATA_STREAM, DATA_TYPE, len(self.channels), 0.0, "float32", f"{source_id}-data")
        info.set_channel_names([c.label for c in self.channels])
        info.set_channel_units([c.unit for c in self.channels])
        info.set_channel_types([c.kind for c in self.channels])
        if model:
            append_description(info.desc, "model", model)
        markers = lsl.StreamInfo(MARKER_STREAM, MARKER_TYPE, 1, 0.0, "string", f"{source_id}-markers")
        before = socket_fds()
        self._data = lsl.StreamOutlet(info)
        self._markers = lsl.StreamOutlet(markers)
        self.scope = setup().scope
        if self.scope == "machine":
            try:
                bind_to_loopback(before, {multicast_port(), *_ports(self._data), *_ports(self._markers)})
            except LslError:
                self.close()  # freed now: nothing stays open beyond loopback
                raise
        self._lock = threading.Lock()
        self.samples_pushed = 0
        log.info("LSL streams %s (%s) and %s (%s) are open (%s scope)", DATA_STREAM, DATA_TYPE, MARKER_STREAM, MARKER_TYPE, self.scope)

    def wait_for_consumer(self, timeout_s: float) -> bool:
        """Block until an inlet (LabRecorder, ...) has opened the data stream, at most
        `timeout_s`; in short slices, so that Ctrl-C is not held up by liblsl."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if self._data.wait_for_consumers(max(0.01, min(left, 0.25))):
                return True
            if left <= 0:
                return False

    def has_consumer(self) -> bool:
        """Whether an inlet has the data stream open now (liblsl tells whether, not how many)."""
        return bool(self._data.has_consumers)

    def now(self) -> float:
        """LSL's clock."""
        return self._clock()

    def capture_time(self, result: FrameResult) -> float:
        """The frame's capture time on LSL's clock (`captured_at` is time.perf_counter())."""
        return self._clock() - (time.perf_counter() - result.captured_at)

    def push(self, result: FrameResult) -> None:
        """Publish a result: one sample per face, at the frame's capture time."""
        stamp = self.capture_time(result)
        for row in face_samples(result):
            self._data.push_sample(row, stamp)
        with self._lock:
            self.samples_pushed += len(result.predictions)

    def marker(self, text: str, stamp: float | None = None) -> float:
        """Push a marker (now, unless stamped) and return its LSL time."""
        stamp = self._clock() if stamp is None else stamp
        self._markers.push_sample([text], stamp)
        return stamp

    def close(self) -> None:
        # mne-lsl's outlets free their liblsl handles when collected; drop our references.
        self._data = self._markers = None  # type: ignore[assignment]


def _ports(outlet: Any) -> list[int]:  # noqa: ANN401 (an mne_lsl StreamOutlet)
    """The data (TCP) and time (UDP) ports liblsl opened for an outlet, from its stream info."""
    xml = outlet.get_sinfo().as_xml
    return [int(port) for port in re.findall(r"<v[46](?:data|service)_port>(\d+)<", xml) if int(port)]
