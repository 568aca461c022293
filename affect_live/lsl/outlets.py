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

from affect_live.baselines import LiveBaselines
from affect_live.lsl.loopback import bind_to_loopback, socket_fds
from affect_live.lsl.scope import LslError, load_lsl, multicast_port, setup
from affect_live.measures import CORRECTED_COLUMNS, CORRECTED_MEASURES, corrected_values, delta_column, numeric_columns, numeric_rows, z_column
from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FrameResult

log = logging.getLogger(__name__)

DATA_STREAM, DATA_TYPE = "affect-live", "Affect"
MARKER_STREAM, MARKER_TYPE = "affect-live-markers", "Markers"
CHANNEL_FORMAT = "float64"  # frame numbers and times as the CSV has them (float32 loses them)


@dataclass(frozen=True)
class Channel:
    """One channel as XDF's channel metadata describes it: desc/channels/channel/{label,unit,type},
    and for a model output also {head,head_label}: which head it comes from and what that head is
    (learned, learned per frame, or prior: a documented projection never fitted to labels)."""

    label: str
    unit: str
    kind: str
    head: str = ""
    head_label: str = ""


# Unit and XDF type of every measured column (the CSV's numeric columns, docs/lsl.md).
_UNIT_TYPE: dict[str, tuple[str, str]] = {
    "frame": ("index", "Frame"), "time_s": ("s", "Time"), "face_id": ("id", "Misc"),
    **dict.fromkeys(("x", "y", "w", "h"), ("pixels", "Box")), "det_score": ("score", "Detection"),
    "valence": ("normalized", "Affect"), "arousal": ("normalized", "Affect"),
    **dict.fromkeys(EXPRESSIONS, ("probability", "Affect")),
    **dict.fromkeys(POSE_COLUMNS[:3], ("degrees", "HeadPose")), **dict.fromkeys(POSE_COLUMNS[3:], ("degrees", "Gaze")),
    **dict.fromkeys(BLENDSHAPE_NAMES, ("score", "Blendshape")),
}  # fmt: skip
_HEAD_OF = {"valence": "valence", "arousal": "arousal", **dict.fromkeys(EXPRESSIONS, "expression")}


def affect_channels(actions: bool = True, corrected: bool = False, heads: Mapping[str, str] | None = None) -> tuple[Channel, ...]:
    """The data stream's channels: every numeric CSV column, labelled as in the CSV (with
    `actions`, pose, gaze and the 52 blendshapes too), then with `corrected` the baseline-corrected
    CORRECTED_COLUMNS (delta_<m> in m's unit, z_<m> in baseline standard deviations). `heads`:
    each model output's word (`stream_model_description`'s "heads"), given to its channels."""

    def channel(label: str, measure: str, unit: str, kind: str) -> Channel:
        head = _HEAD_OF.get(measure, "")
        return Channel(label, unit, kind, head, (heads or {}).get(head, "") if head else "")

    channels = [channel(c, c, *_UNIT_TYPE[c]) for c in numeric_columns(actions)]
    if corrected:
        channels += [channel(delta_column(m), m, _UNIT_TYPE[m][0], "BaselineDelta") for m in CORRECTED_MEASURES]
        channels += [channel(z_column(m), m, "sd", "BaselineZ") for m in CORRECTED_MEASURES]
    return tuple(channels)


def face_samples(result: FrameResult, actions: bool = True, baselines: LiveBaselines | None = None) -> np.ndarray:
    """One float64 row per face, in `affect_channels(actions, baselines is not None)` order: the
    unrounded values the CSV rounds; NaN for actions a face has none of and for corrected values
    of a face without a baseline (yet)."""
    rows = numeric_rows(result, actions)
    if baselines is None:
        return rows
    corrected = [baselines.correct(p.face_id, corrected_values(p)) for p in result.predictions]
    return np.hstack((rows, np.reshape(corrected, (len(rows), len(CORRECTED_COLUMNS)))))


def describe_channels(desc: Any, channels: tuple[Channel, ...]) -> None:  # noqa: ANN401 (an mne_lsl XMLElement)
    """desc/channels/channel/... as XDF readers (pyxdf, MNE, LabRecorder's viewers) expect."""
    parent = desc.append_child("channels")
    for c in channels:
        element = parent.append_child("channel")
        element.append_child_value("label", c.label)
        element.append_child_value("unit", c.unit)
        element.append_child_value("type", c.kind)
        if c.head:
            element.append_child_value("head", c.head)
        if c.head_label:
            element.append_child_value("head_label", c.head_label)


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

    def __init__(
        self,
        source_id: str = "affect-live",
        model: Mapping[str, Any] | None = None,
        actions: bool = True,
        baselines: LiveBaselines | None = None,
    ) -> None:
        """`model`: the running model, what each output is and where it came from
        (`metadata.stream_model_description`), written into the data stream's metadata
        (desc/model) and its heads' words into their channels; later changes arrive as markers.
        `actions`: the pose, gaze and blendshape channels exist (NaN while not measured).
        `baselines`: the corrected channels exist, corrected by these baselines as they are set.
        The channel set is fixed for the outlet's life (a recorder reads it once)."""
        lsl = load_lsl()
        self._clock: Callable[[], float] = lsl.local_clock
        self._actions, self._baselines = actions, baselines
        self.channels = affect_channels(actions, baselines is not None, (model or {}).get("heads"))
        info = lsl.StreamInfo(DATA_STREAM, DATA_TYPE, len(self.channels), 0.0, CHANNEL_FORMAT, f"{source_id}-data")
        describe_channels(info.desc, self.channels)
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
        for row in face_samples(result, self._actions, self._baselines):
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
