"""Calibrate in the app (offscreen Qt, the looped demo clip two_faces.mp4, the real model): the
selected face's neutral baseline is the mean of its values over the calibration frames, the
plots and the LSL stream then show its values vs that baseline, a second calibration replaces
the first, and a calibration without a face is refused out loud. Waits are on events."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers.app_window import WAIT_MS, open_window, store, wait_for_frames  # noqa: F401 (fixtures)

from PyQt5.QtCore import QTimer  # noqa: E402  (after app_window prepared Qt)
from PyQt5.QtWidgets import QApplication  # noqa: E402

from affect_live.baselines import MIN_FRAMES  # noqa: E402
from affect_live.lsl.outlets import DATA_STREAM  # noqa: E402
from affect_live.measures import CORRECTED_COLUMNS, CORRECTED_MEASURES  # noqa: E402
from affect_live.resources import clip  # noqa: E402
from affect_live.session.calibration import CALIBRATION_S  # noqa: E402
from affect_live.ui.dialogs import RecordDialog  # noqa: E402
from tests.lsl.test_lsl import inlet, pull_until  # noqa: E402

pytestmark = pytest.mark.gui
VALENCE, AROUSAL = CORRECTED_MEASURES.index("valence"), CORRECTED_MEASURES.index("arousal")


def said(window) -> list[str]:  # noqa: ANN001
    return [message for _, message in window.messages]


def wait_said(qtbot, window, text: str, after: int = 0) -> str:  # noqa: ANN001
    """The first message containing `text` among those said after the first `after`."""
    qtbot.waitUntil(lambda: any(text in m for m in said(window)[after:]), timeout=WAIT_MS)
    return next(m for m in said(window)[after:] if text in m)


def calibrate(qtbot, window, face: int):  # noqa: ANN001, ANN201 (a Baseline)
    """Press Calibrate and wait for the outcome; the baseline the session then holds for `face`."""
    before = len(said(window))
    window.controls.calibrate_action.trigger()
    done = wait_said(qtbot, window, f"face {face} calibrated", before)
    baseline = window.session.calibrations.baselines.get(face)
    assert done == f"face {face} calibrated: {baseline.frames} frames, {CALIBRATION_S:.1f} s"
    assert any(m.startswith(f"calibrating face {face}: ") and m.endswith(" s left") for m in said(window)[before:])
    return baseline


def test_calibrate_takes_the_selected_faces_baseline_and_the_plots_and_lsl_follow_it(qtbot, open_window):
    window = open_window(source=None)  # the demo, looped: longer than a calibration
    wait_for_frames(qtbot, window, faces=1)
    window.set_lsl(True)
    qtbot.waitUntil(lambda: window.session.stats().lsl == "on", timeout=WAIT_MS)
    data = inlet(DATA_STREAM)
    labels = data.get_sinfo().get_channel_names()
    assert labels[-len(CORRECTED_COLUMNS) :] == list(CORRECTED_COLUMNS)  # there from the start: a fixed channel set
    face = window.selected_face
    first = calibrate(qtbot, window, face)

    # Its mean is the mean of the face's values over the calibration frames (the history has
    # every result the calibration saw).
    series = window.session.history.series(face)
    during = (series.t >= first.start_s) & (series.t <= first.end_s) & np.isfinite(series.valence)
    assert during.sum() == first.frames >= MIN_FRAMES
    assert first.mean[VALENCE] == pytest.approx(series.valence[during].mean(), abs=1e-12)
    assert first.mean[AROUSAL] == pytest.approx(series.arousal[during].mean(), abs=1e-12)
    assert first.end_s - first.start_s == pytest.approx(CALIBRATION_S)

    # The plots show valence and arousal vs the baseline, labelled so; the priors stay priors.
    window._draw_plots()
    faces = window.faces
    assert faces.vs_baseline and "vs baseline" in faces.timeline.note and "(prior)" in faces.timeline.note
    assert [label.text for _, label in faces.timeline.legend.items] == ["Δ valence", "Δ arousal"]
    assert "vs baseline" in faces.plane.note and "raw" in faces.bars.note and "(prior)" in faces.plane.note
    assert faces.plane.getPlotItem().getAxis("bottom").labelText == "valence vs baseline"
    series = window.session.history.series(face)  # drawn from a prefix of this
    _, shown = faces.timeline.valence_curve.getData()
    assert len(shown) >= first.frames
    assert np.allclose(shown, (series.valence - first.mean[VALENCE])[: len(shown)], equal_nan=True)

    # The LSL stream corrects this face with the same baseline from now on.
    column = {label: i for i, label in enumerate(labels)}

    def corrected(samples: list) -> bool:
        return any(s[column["face_id"]] == face and np.isfinite(s[column["delta_valence"]]) for s in samples)

    samples, _ = pull_until(data, corrected, "a corrected sample of the calibrated face")
    sample = next(s for s in samples if s[column["face_id"]] == face and np.isfinite(s[column["delta_valence"]]))
    assert sample[column["delta_valence"]] == pytest.approx(sample[column["valence"]] - first.mean[VALENCE], abs=1e-12)
    data.close_stream()

    # A second calibration replaces the first.
    second = calibrate(qtbot, window, face)
    assert second.start_s > first.end_s and window.session.calibrations.baselines.all() == [second]


def test_calibrate_without_a_face_or_without_enough_frames_is_refused_out_loud(qtbot, open_window):
    window = open_window(source=None)
    wait_for_frames(qtbot, window, faces=1)
    window.selection.reset()  # as before any face was seen (no tick runs between these lines)
    window.calibrate()
    assert said(window)[-1] == "not calibrated: no face is selected; click a face (or pick its id above the plots), then Calibrate"
    assert window.banner.level == "warning"
    absent = 1 + max(window.session.history.face_ids())
    window.select_face(absent)  # a face not in view: it never shows during its calibration
    window.calibrate(seconds=0.5)
    refused = wait_said(qtbot, window, f"face {absent} not calibrated")
    assert refused == (
        f"face {absent} not calibrated: it was in view for 0 frames of 0.5 s, {MIN_FRAMES} are needed; keep the face in view and press Calibrate again"
    )
    assert window.session.calibrations.baselines.get(absent) is None and not window.faces.vs_baseline


def test_a_recording_gets_the_corrected_columns_and_a_new_source_forgets_the_baselines(qtbot, open_window, tmp_path):
    from tests.helpers.app_window import read_rows, start_and_wait

    window = open_window(source=None)
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "calibrated.csv"
    start_and_wait(qtbot, window, csv_path, 5)
    face = window.selected_face
    baseline = calibrate(qtbot, window, face)
    before = len(said(window))
    window.stop_recording()
    wait_said(qtbot, window, "recording saved", before)
    assert window.session.flush()
    header, rows = read_rows(csv_path)
    assert header[-len(CORRECTED_COLUMNS) :] == list(CORRECTED_COLUMNS)
    mine = [r for r in rows if int(r["face_id"]) == face]
    assert mine and all(float(r["delta_valence"]) == pytest.approx(float(r["valence"]) - baseline.mean[VALENCE], abs=2e-6) for r in mine)
    assert all(r["delta_valence"] == "" for r in rows if int(r["face_id"]) != face)
    # Once a face is calibrated, the Record dialog offers "from here" first and says what "from
    # the start" (reopening the file: new face ids) forgets; another source forgets out loud.
    seen = {}

    def in_the_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RecordDialog)
        seen["from_here"] = dialog.from_here.isChecked()
        seen["says"] = dialog.from_start.text()
        dialog.reject()

    QTimer.singleShot(0, in_the_dialog)
    window.controls.record_action.trigger()
    assert seen["from_here"] and seen["says"].endswith(f"forgets the baselines of face {face}")
    before = len(said(window))
    window.open_source(str(clip("astronaut_motion.mp4")))
    assert wait_said(qtbot, window, "forgotten", before) == (
        f"baselines of face {face} forgotten: the source changed (its faces get new ids); press Calibrate again"
    )
    assert window.session.calibrations.baselines.all() == []
