"""The session's Calibrate (session/calibration.py) on the real results of two_faces.mp4 (every
frame, in order, as the app's session thread hands them over): the baseline is the mean of the
face's values over the calibration's interval, a face that is out of view is refused, another
model forgets the baselines out loud, and a new source stops a calibration and forgets them."""

from __future__ import annotations

import numpy as np
import pytest

from affect_live.baselines import MIN_FRAMES, LiveBaselines
from affect_live.measures import CORRECTED_MEASURES
from affect_live.session.calibration import CalibrationRequest, Calibrations
from affect_live.session.events import SessionEvent
from affect_live.types import FrameResult
from tests.conftest import CLIPS


@pytest.fixture(scope="module")
def results(default_bundle) -> list[FrameResult]:
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.sources import open_source
    from affect_live.pipeline.threads import Pipeline, PipelineSettings

    return list(Pipeline(open_source(CLIPS / "two_faces.mp4"), AffectEngine([default_bundle]), PipelineSettings()).results())


def calibrations() -> tuple[Calibrations, list[SessionEvent]]:
    told: list[SessionEvent] = []
    return Calibrations(LiveBaselines(), told.append), told


def test_the_baseline_is_the_mean_of_the_faces_values_over_its_interval(results):
    calibration, told = calibrations()
    calibration.request(CalibrationRequest(1, 1.0))
    for result in results:
        calibration.add(result)
    baseline = calibration.baselines.get(1)
    start = results[0].time_s
    rows = [(r.time_s, p) for r in results for p in r.predictions if p.face_id == 1 and start <= r.time_s <= start + 1.0]
    assert baseline is not None and baseline.frames == len(rows) >= MIN_FRAMES
    assert (baseline.start_s, baseline.end_s) == (start, start + 1.0)
    for measure, values in (("valence", [p.valence for _, p in rows]), ("happiness", [p.probabilities[4] for _, p in rows])):
        assert baseline.mean[CORRECTED_MEASURES.index(measure)] == pytest.approx(np.mean(values), abs=1e-12)
    said = [(e.level, e.message, e.topic) for e in told]
    assert said[0] == ("info", "calibrating face 1: 1 s left", "calibration")
    assert said[-1] == ("info", f"face 1 calibrated: {len(rows)} frames, 1.0 s", "calibration")


def test_a_face_out_of_view_is_refused_and_a_new_source_forgets_the_baselines(results):
    calibration, told = calibrations()
    astronaut = 2  # walks out of the frame after about 1.5 s and is back about a second later
    present = [any(p.face_id == astronaut for p in r.predictions) for r in results]
    gone = present.index(False)
    away = results[gone : present.index(True, gone)]
    assert away[-1].time_s - away[0].time_s > 0.5
    calibration.request(CalibrationRequest(astronaut, 0.5))
    for result in away:
        calibration.add(result)
    assert calibration.baselines.get(astronaut) is None
    assert told[-1].level == "warning" and told[-1].message == (
        f"face {astronaut} not calibrated: it was in view for 0 frames of 0.5 s, {MIN_FRAMES} are needed; keep the face in view and press Calibrate again"
    )

    calibration.request(CalibrationRequest(1, 0.5))
    for result in results[:30]:  # 1 s: done within
        calibration.add(result)
    assert calibration.baselines.get(1) is not None
    calibration.forget("the model changed")  # another model's values at rest differ
    assert calibration.baselines.all() == []
    assert told[-1].message == "baselines of face 1 forgotten: the model changed; press Calibrate again"
    calibration.request(CalibrationRequest(1, 0.5))
    calibration.add(results[30])
    calibration.stop("the source changed", forget=True)
    assert calibration.baselines.all() == [] and told[-1].message == "face 1 not calibrated: the source changed"
    for result in results[31:]:  # nothing under way any more
        calibration.add(result)
    assert calibration.baselines.all() == [] and told[-1].message == "face 1 not calibrated: the source changed"
