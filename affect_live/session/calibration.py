"""The app's Calibrate: one face's neutral baseline over the next few seconds of the source
(CALIBRATION_S by default), into the session's `LiveBaselines`, which the LSL stream corrects
with and the plots follow.

Who does what: the control thread hands a `CalibrationRequest` over (`request`), the run's
`session` thread feeds every result to `add` (the same results the plots' history gets), and
what happens is told as `SessionEvent`s (topic "calibration"): the seconds left, the outcome, or
why there is none. The request, the recorder and the finished `Baseline` are swapped whole under
one lock, held for microseconds, so the GUI thread never waits on it.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from affect_live.baselines import MIN_FRAMES, Baseline, BaselineRecorder, LiveBaselines
from affect_live.errors import RecordingError
from affect_live.measures import corrected_values
from affect_live.recording.recording import RecordingOutcome
from affect_live.session.events import SessionEvent
from affect_live.study.baseline_apply import add_corrected_columns
from affect_live.types import FrameResult

log = logging.getLogger(__name__)

CALIBRATION_S = 5.0  # source seconds of the face at rest
TOPIC = "calibration"


@dataclass(frozen=True)
class CalibrationRequest:
    """Calibrate `face_id` over the `seconds` of the source that follow the next result."""

    face_id: int
    seconds: float = CALIBRATION_S


class Calibrations:
    def __init__(self, baselines: LiveBaselines, tell: Callable[[SessionEvent], None]) -> None:
        self.baselines = baselines
        self._tell = tell
        self._lock = threading.Lock()
        self._pending: CalibrationRequest | None = None  # asked for, starts with the next result
        self._recorder: BaselineRecorder | None = None  # under way
        self._told_left = 0  # whole seconds left, last said

    def request(self, request: CalibrationRequest) -> None:
        """Any thread. Replaces a calibration under way; the new baseline replaces the face's old
        one once it is taken (a refused one leaves the old in place)."""
        with self._lock:
            self._pending, self._recorder, self._told_left = request, None, math.ceil(request.seconds)
        self._say("info", f"calibrating face {request.face_id}: {self._told_left} s left")

    def stop(self, why: str, forget: bool = False) -> None:
        """The source ended or changed: a calibration under way stops (said, with `why`);
        `forget`: every baseline goes too (another source's face ids are other people)."""
        with self._lock:
            face = self._pending.face_id if self._pending else self._recorder.face_id if self._recorder else None
            self._pending = self._recorder = None
        if forget:
            self.baselines.clear()
        if face is not None:
            self._say("warning", f"face {face} not calibrated: {why}")

    def forget(self, why: str) -> None:
        """Another model: its outputs at rest differ, so the baselines go, and the user is told."""
        faces = [b.face_id for b in self.baselines.all()]
        self.stop(why, forget=True)
        if faces:
            self._say("warning", f"baselines of face {', '.join(map(str, faces))} forgotten: {why}; press Calibrate again")

    def add(self, result: FrameResult) -> None:
        """The run's `session` thread, every result in order."""
        with self._lock:
            if self._pending is not None:
                request, self._pending = self._pending, None
                how = f"Calibrate in the app: face {request.face_id} over {request.seconds:g} s of the source from {result.time_s:.2f} s"
                self._recorder = BaselineRecorder(request.face_id, result.time_s, request.seconds, how)
            recorder = self._recorder
            if recorder is None:
                return
            finished = recorder.done(result.time_s)
            if finished:
                self._recorder = None
            else:
                for p in result.predictions:
                    recorder.add(p.face_id, result.time_s, corrected_values(p))
                left = math.ceil(recorder.end_s - result.time_s)
                told, self._told_left = self._told_left, left
        if finished:
            self._finish(recorder)
        elif 0 < left < told:
            self._say("info", f"calibrating face {recorder.face_id}: {left} s left")

    def _finish(self, recorder: BaselineRecorder) -> None:
        seconds = recorder.end_s - recorder.start_s
        baseline = recorder.finish()
        if baseline is None:
            self._say(
                "warning",
                f"face {recorder.face_id} not calibrated: it was in view for {recorder.frames} frames of {seconds:.1f} s, "
                f"{MIN_FRAMES} are needed; keep the face in view and press Calibrate again",
            )
            return
        self.baselines.set(baseline)
        log.info("baseline of face %d: %d frames, %s", baseline.face_id, baseline.frames, baseline.how)
        self._say("info", f"face {baseline.face_id} calibrated: {baseline.frames} frames, {seconds:.1f} s")

    def _say(self, level: str, text: str) -> None:
        self._tell(SessionEvent(level, text, TOPIC))


def add_baseline_columns(tell: Callable[[SessionEvent], None], baselines: list[Baseline], stopped: Future[RecordingOutcome | None]) -> None:
    """When an app recording has stopped (on the outputs thread, its files closed): the CSV gets
    the corrected columns of the app's baselines, when there are any."""
    outcome = stopped.result() if stopped.exception() is None else None
    if outcome is None or not baselines:
        return
    try:
        add_corrected_columns(Path(outcome.csv_path), baselines, spec="calibrate")
    except RecordingError as exc:
        tell(SessionEvent("error", str(exc), "recording_stopped"))
