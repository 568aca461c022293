"""Baselines taken while a recording is analysed, for the online correction of the LSL stream
(`analyze --lsl --baseline ...`), and the calibration matches the CSV's correction uses too.

- first:Ns: a baselines.BaselineRecorder per face seen in the first N s; their baselines are
  set once a frame past the interval arrives;
- markers:START,END: the rows from the first START marker on; the baselines are set when END
  arrives;
- a calibration recording: each face is matched within its first frames (calibration.FaceMatcher)
  and its baseline set at once.

The stream's baselines come from the unrounded values (the CSV's from its rounded cells: they
differ by under 1e-4); a marker counts from the next frame here, from the newest frame recorded
in the events file.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

import numpy as np

from affect_live.baselines import Baseline, BaselineRecorder, LiveBaselines, compute_baseline
from affect_live.faces.identity import Describe
from affect_live.measures import corrected_values
from affect_live.study.baseline_spec import BaselinePlan
from affect_live.study.calibration import FaceMatcher, Match
from affect_live.types import FrameResult

log = logging.getLogger(__name__)


class LiveBaselineFeed:
    """Feed every result on the analysis thread; markers may come from any thread."""

    def __init__(self, plan: BaselinePlan, target: LiveBaselines | None = None, describe: Describe | None = None) -> None:
        self.plan = plan
        self.target = target
        self.start_s: float | None = None  # the first analysed frame's time
        self._recorders: dict[int, BaselineRecorder] = {}
        self._interval_over = False
        self._markers: list[str] = []
        self._lock = threading.Lock()
        self._collecting: dict[int, list[np.ndarray]] | None = None  # markers: START came
        self._markers_done = False
        self._matcher: FaceMatcher | None = None
        if plan.calibration is not None:
            if describe is None:
                from affect_live.faces.descriptor import FaceDescriptor

                describe = FaceDescriptor().describe
            self._matcher = FaceMatcher(plan.calibration, describe)

    @property
    def needs_images(self) -> bool:
        """Whether the results must carry their frame (to describe faces)."""
        return self._matcher is not None

    def marker(self, text: str) -> None:
        with self._lock:
            self._markers.append(text)

    def feed(self, result: FrameResult) -> None:
        if self.start_s is None:
            self.start_s = result.time_s
        kind = self.plan.spec.kind
        if kind == "first":
            self._feed_first(result)
        elif kind == "markers":
            self._feed_markers(result)
        elif self._matcher is not None:
            for match in self._matcher.feed(result):
                self._set(self._calibration_baseline(match))

    def matches(self, face_ids: set[int]) -> dict[int, Match] | None:
        """The calibration matches of every face (None without a calibration)."""
        return None if self._matcher is None else self._matcher.finish(face_ids)

    def _set(self, baseline: Baseline | None) -> None:
        if baseline is not None and self.target is not None:
            self.target.set(baseline)
            log.info("face %d: baseline set for the LSL stream (%s)", baseline.face_id, baseline.how)

    def _calibration_baseline(self, match: Match) -> Baseline | None:
        assert self.plan.calibration is not None
        return self.plan.calibration.baseline_for(match)

    def _feed_first(self, result: FrameResult) -> None:
        if self._interval_over:
            return
        assert self.start_s is not None
        seconds = self.plan.spec.seconds
        if result.time_s > self.start_s + seconds:
            self._interval_over = True
            for recorder in self._recorders.values():
                self._set(recorder.finish())
            return
        how = f"first {seconds:g} s of the recording"
        for p in result.predictions:
            recorder = self._recorders.setdefault(p.face_id, BaselineRecorder(p.face_id, self.start_s, seconds, how))
            recorder.add(p.face_id, result.time_s, corrected_values(p))

    def _feed_markers(self, result: FrameResult) -> None:
        with self._lock:
            markers, self._markers = self._markers, []
        spec = self.plan.spec
        for text in markers:
            if self._collecting is None and not self._markers_done and text == spec.start_marker:
                self._collecting = defaultdict(list)
            elif self._collecting is not None and text == spec.end_marker:
                how = f"between the markers {spec.start_marker!r} and {spec.end_marker!r}"
                for face_id, rows in self._collecting.items():
                    self._set(compute_baseline(face_id, np.array(rows), how))
                self._collecting, self._markers_done = None, True
        if self._collecting is not None:
            for p in result.predictions:
                self._collecting[p.face_id].append(corrected_values(p))
