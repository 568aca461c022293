"""`report` shows a recording's markers on every plot over time and lists them, and breaks the
lines where a face was away (the app's rule, affect_live/gaps.py). The recording is real:
two_faces.mp4 through the pipeline and the one output fan-out (session/outputs.py), with the
user's markers given as the app's M key gives them (`Outputs.mark(text, "user")`)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PolyCollection

from affect_live.cli.parser import main
from affect_live.gaps import GAP_S
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.sources import open_source
from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.report import plots
from affect_live.report.build import timeline
from affect_live.report.data import read_recording
from affect_live.report.events import Marker
from affect_live.session.metadata import model_summary, session_metadata
from affect_live.session.outputs import Outputs
from tests.conftest import CLIPS

# Frame after which each marker is given: the user's, and a model change (the app reloading it).
USER_MARKS = {20: "stimulus on", 60: "stimulus off"}
MODEL_CHANGE_AT = 40


def _record_with_markers(csv_path: Path, bundle) -> None:  # noqa: ANN001
    """What the app's recorder does, frame by frame: each result to the outputs, then (after
    the chosen frames) a marker, which the outputs thread files at that frame."""
    engine = AffectEngine([bundle])
    source = open_source(str(CLIPS / "two_faces.mp4"))
    settings = PipelineSettings()
    pipeline = Pipeline(source, engine, settings)
    outputs = Outputs()
    try:
        outputs.start_recording(csv_path, session_metadata(csv_path.name, source.info, settings, engine), source_name=source.info.name).result()
        for result in pipeline.results():
            outputs.write(result)
            if result.frame_index in USER_MARKS:
                outputs.mark(USER_MARKS[result.frame_index], "user")
            if result.frame_index == MODEL_CHANGE_AT:
                outputs.model_changed("default bundle again", model_summary(engine))
        assert pipeline.error is None and pipeline.ended_early is None
        assert outputs.stop_recording("complete", "").result().ok
    finally:
        pipeline.stop()
        outputs.close()


@pytest.fixture(scope="module")
def marked(default_bundle, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("marked") / "marked.csv"
    _record_with_markers(path, default_bundle)
    return path


def _times(csv_path: Path) -> dict[int, float]:
    with open(csv_path, newline="") as handle:
        return {int(row["frame"]): float(row["time_s"]) for row in csv.DictReader(handle)}


def _marker_lines(axes, kind: str) -> list[float]:  # noqa: ANN001
    return sorted(float(line.get_xdata()[0]) for line in axes.lines if line.get_gid() == f"marker:{kind}")


def test_every_plot_over_time_shows_the_markers(marked):
    recording = read_recording(marked)
    times = _times(marked)
    user = [m for m in recording.events.markers if m.origin == "user"]
    assert [(m.frame, m.text) for m in user] == sorted(USER_MARKS.items())
    assert all(m.time_s == pytest.approx(times[m.frame], abs=1e-4) for m in user)
    change = [m for m in recording.events.markers if m.text.startswith("model changed")]
    assert [m.frame for m in change] == [MODEL_CHANGE_AT]
    assert any(m.text.startswith("face ") for m in recording.events.markers)  # table only, not drawn
    shared = timeline(recording)
    for face in recording.faces:
        figures = [plots.va_over_time(face, True, shared), plots.expression_shares(face, recording.fps, shared), plots.pose_over_time(face, shared)]
        for figure in figures:
            axes = figure.axes[0]
            assert _marker_lines(axes, "user") == pytest.approx([times[f] for f in sorted(USER_MARKS)], abs=1e-4)
            assert _marker_lines(axes, "change") == pytest.approx([times[MODEL_CHANGE_AT]], abs=1e-4)
            assert len([line for line in axes.lines if (line.get_gid() or "").startswith("marker:")]) == 3  # no face events
            labels = [text.get_text() for text in axes.texts if text.get_gid() == "marker_label"]
            assert set(USER_MARKS.values()) <= set(labels)
            # every face's plot spans the whole recording, so every marker is inside it
            assert axes.get_xlim() == pytest.approx((min(times.values()), max(times.values())))


def test_lines_break_where_the_face_was_away(marked):
    recording = read_recording(marked)
    shared = timeline(recording)
    away = {}  # face -> (last time before, first time after) each absence longer than GAP_S
    for face in recording.faces:
        steps = np.diff(face.time_s)
        away[face.face_id] = [(face.time_s[k], face.time_s[k + 1]) for k in np.flatnonzero(steps > GAP_S)]
    # two_faces.mp4: the astronaut walks out (44-49) and back (74-79), ~1 s, and keeps her id;
    # hopper is hidden for 3 frames only (30-32): bridged, as in the app.
    assert sorted(len(gaps) for gaps in away.values()) == [0, 1]
    for face in recording.faces:
        gaps = away[face.face_id]
        va = plots.va_over_time(face, True, shared).axes[0]
        pose = plots.pose_over_time(face, shared).axes[0]
        lines = [line for line in va.lines + pose.lines if not (line.get_gid() or "").startswith("marker:")]
        lines = [line for line in lines if len(line.get_xdata()) > 2]  # the data, not the zero line
        assert len(lines) == 2 + 5  # valence, arousal; yaw, pitch, roll, gaze_yaw, gaze_pitch
        for line in lines:
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            assert len(x) == face.rows + len(gaps)
            holes = x[np.isnan(y)]
            assert len(holes) == len(gaps)
            for hole, (before, after) in zip(holes, gaps, strict=True):
                assert before < hole < after
        # The stacked expression shares: one filled area per stretch the face was there.
        shares = plots.expression_shares(face, recording.fps, shared).axes[0]
        areas = [c for c in shares.collections if isinstance(c, PolyCollection)]
        assert len(areas) == 7 and all(len(area.get_paths()) == len(gaps) + 1 for area in areas)


def test_html_lists_the_markers_and_a_recording_without_events_is_reported(marked, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    for suffix in (".csv", ".meta.json"):  # the recording without its events file
        shutil.copy(marked.with_suffix(suffix), bare / f"marked{suffix}")
    broken = tmp_path / "broken"
    broken.mkdir()
    for suffix in (".csv", ".meta.json"):
        shutil.copy(marked.with_suffix(suffix), broken / f"marked{suffix}")
    (broken / "marked.events.csv").write_text("a,b\n1,2\n")
    out = tmp_path / "report"
    assert main(["report", str(marked), str(bare / "marked.csv"), str(broken / "marked.csv"), "--out", str(out)]) == 0
    index = (out / "index.html").read_text()
    times = _times(marked)
    for frame, text in USER_MARKS.items():
        assert f"<tr><td>{times[frame]:.2f}</td><td>{frame}</td><td>user</td><td>{text}</td></tr>" in index
    assert "<td>before the first frame</td><td></td><td>affect-live</td><td>recording started: marked.csv</td>" in index
    assert "Markers: no events file (marked.events.csv): no markers." in index
    assert "Markers: marked.events.csv is not an events file (no column &#x27;frame&#x27;): no markers." in index
    assert len(list(out.glob("03_marked_face*_va_time.png"))) == 2  # its plots are still made


def test_many_markers_are_drawn_but_only_some_labelled(marked):
    """A long session with a marker every second: every line drawn, MAX_LABELS texts, a note."""
    recording = read_recording(marked)
    face = recording.faces[0]
    start, end = recording.span_s
    many = tuple(Marker(float(t), None, "user", f"trial {k}") for k, t in enumerate(np.linspace(start, end, plots.MAX_LABELS + 8)))
    axes = plots.va_over_time(face, True, plots.Timeline(recording.span_s, many)).axes[0]
    assert len(_marker_lines(axes, "user")) == plots.MAX_LABELS + 8
    assert len([t for t in axes.texts if t.get_gid() == "marker_label"]) == plots.MAX_LABELS
    assert [t.get_text() for t in axes.texts if t.get_gid() == "marker_note"] == ["8 more markers without labels (see the table)"]
