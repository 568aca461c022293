"""The app's facial-action views, driven offscreen on real faces: the blendshape bars and their
groups, the pose readout, the "not measured" state, the Mesh toggle drawing contours on the
face, and a returning face id keeping its history and selection.

The landmarks are real: the 468-point face mesh (affect_live.faces.landmarks.FiveLandmarks) of
the fixture photos. That model has no iris points, so the 10 iris points (468-477) are placed
here from the eye contours: each iris centre is the mean of its eye's 16 contour points and its
4 ring points sit at 0.2 eye widths around it. No blendshape model runs on this branch, so the
52 scores are distinct test values (each bar's value identifies it).
"""

from __future__ import annotations

import ast
import importlib.util
import math
import os
from pathlib import Path

import cv2

os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # cv2 points Qt at its own plugins

import numpy as np
import pytest
from tests.conftest import FIXTURES
from PyQt5.QtCore import QSettings
from tests.helpers.qt_images import qimage_to_rgb

from affect_live.faces.detector import FaceDetector
from affect_live.faces.landmarks import IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE, FiveLandmarks
from affect_live.gaps import GAP_S
from affect_live.session.history import FaceHistory
from affect_live.session.live import LiveSession
from affect_live.render.mesh_contours import MESH_CONTOURS, contour_points, draw_mesh_contours
from affect_live.types import BLENDSHAPE_NAMES, Detection, FaceActions, FacePrediction, FrameResult
from affect_live.ui.actions_view import OFF_TEXT, ActionsView, pose_text
from affect_live.ui.blendshape_bars import BLOCKS, GROUPS, BlendshapeBars, group_of
from affect_live.ui.colors import face_color_tuple
from affect_live.ui.face_panel import TIMELINE_STEP_S, FacePanel
from affect_live.ui.main_window import MainWindow
from affect_live.ui.settings import AppSettings
from affect_live.ui.video_view import VideoView

pytestmark = pytest.mark.gui

PHOTOS = FIXTURES / "images"
SCORES = np.random.default_rng(8).permutation(np.arange(1, 53) / 53.0)  # 52 distinct values in (0, 1)


def _with_irises(mesh: np.ndarray) -> np.ndarray:
    """468 x 3 mesh -> 478 x 3 with iris centres and rings from the eye contours (see above)."""
    irises = []
    for eye in (IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE):  # the subject's right eye (468-472), then left (473-477)
        points = mesh[list(eye)]
        centre = points.mean(axis=0)
        r = 0.2 * np.ptp(points[:, 0])
        ring = [centre + (dx * r, dy * r, 0.0) for dx, dy in ((1, 0), (0, -1), (-1, 0), (0, 1))]
        irises += [centre, *ring]
    return np.vstack([mesh, np.array(irises, dtype=mesh.dtype)])


def _roll_degrees(mesh: np.ndarray) -> float:
    """The eye line's angle, clockwise positive as the image shows it (y points down)."""
    (lx, ly), (rx, ry) = mesh[list(IMAGE_LEFT_EYE), :2].mean(axis=0), mesh[list(IMAGE_RIGHT_EYE), :2].mean(axis=0)
    return math.degrees(math.atan2(ry - ly, rx - lx))


@pytest.fixture(scope="module")
def faces() -> dict[str, tuple[np.ndarray, Detection, FaceActions]]:
    """Each fixture photo, its detection and FaceActions carrying its real 478-point landmarks."""
    found = {}
    with FaceDetector() as detector, FiveLandmarks() as landmarks:
        for name in ("astronaut.png", "grace_hopper.jpg"):
            image = cv2.imread(str(PHOTOS / name))
            detection = detector.detect(image)[0]
            mesh, presence = landmarks.mesh(image, detection)
            roll = _roll_degrees(mesh)
            actions = FaceActions(-7.4, 3.6, roll, 11.2, -4.5, SCORES, _with_irises(mesh), presence)
            found[name] = (image, detection, actions)
    return found


@pytest.fixture
def make_window(qtbot):
    """Main windows on a session without a source (shown, as in the app; closed after the test
    while still referenced, so pyqtgraph's items are not torn down by the garbage collector)."""
    windows = []

    def make(store: QSettings, session: LiveSession | None = None) -> MainWindow:
        window = MainWindow(session or LiveSession(), AppSettings.load(store), store, cameras=[])
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def _prediction(face_id: int, detection: Detection, actions: FaceActions | None, valence: float = 0.1) -> FacePrediction:
    return FacePrediction(face_id, detection, valence, -0.2, np.full(7, 1 / 7), actions)


def test_mesh_chains_are_mediapipes_contours() -> None:
    """Our chains walk exactly the edges of MediaPipe's FACE_LANDMARKS_* connection sets (read
    from the installed mediapipe's face_landmarker.py as data; mediapipe is not imported)."""
    spec = importlib.util.find_spec("mediapipe")
    source = Path(spec.submodule_search_locations[0]) / "tasks" / "python" / "vision" / "face_landmarker.py"
    sets = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.List) and isinstance(node.target, ast.Name):
            edges = [call.args for call in node.value.elts if isinstance(call, ast.Call)]
            sets[node.target.id] = {frozenset(ast.literal_eval(arg) for arg in args) for args in edges}
    for name, chains in MESH_CONTOURS.items():
        ours = [frozenset(pair) for chain in chains for pair in zip(chain[:-1], chain[1:], strict=True)]
        assert len(ours) == len(set(ours)), name  # no edge drawn twice
        assert set(ours) == sets[f"FACE_LANDMARKS_{name.upper()}"], name


def test_contours_need_a_mesh() -> None:
    assert contour_points(np.zeros((5, 2))) == [] and contour_points(np.full((478, 2), np.nan)) == []
    assert len(contour_points(np.zeros((468, 3)))) == sum(len(c) for c in MESH_CONTOURS.values()) - 2  # no irises
    image = np.zeros((10, 10, 3), np.uint8)
    assert not draw_mesh_contours(image, np.zeros((3, 2)), (255, 255, 255)) and not image.any()


def test_groups_cover_the_52_blendshapes_once() -> None:
    shown = [name for _, rows in GROUPS for _, names in rows for name in names]
    assert sorted(shown) == sorted(BLENDSHAPE_NAMES) and len(shown) == 52
    assert [header for block in BLOCKS for header in block] == [header for header, _ in GROUPS]
    for _, rows in GROUPS:
        for _, names in rows:
            if len(names) == 2:  # a pair is the same action on the Left and the Right
                assert names[0].replace("Left", "") == names[1].replace("Right", "")
    assert group_of("jawOpen") == "jaw" and group_of("cheekPuff") == group_of("noseSneerLeft") == "cheeks and nose"


def test_bars_show_each_score_in_its_group(qtbot, faces) -> None:
    widget = BlendshapeBars()
    qtbot.addWidget(widget)
    widget.resize(420, widget.minimumHeight())
    widget.show()
    qtbot.waitExposed(widget)
    color = face_color_tuple(5)
    widget.set_values(faces["astronaut.png"][2].blendshapes, color)
    for name, score in zip(BLENDSHAPE_NAMES, SCORES, strict=True):
        assert widget.value(name) == pytest.approx(score)
    # Rows follow the groups' order down each block; a pair shares its row, Left first.
    for block in BLOCKS:
        names = [n for header, rows in GROUPS if header in block for _, ns in rows for n in ns]
        tops = [widget.bar_track(n).top() for n in names]
        assert tops == sorted(tops)
        assert [group_of(n) for n in sorted(names, key=lambda n: widget.bar_track(n).top())] == [group_of(n) for n in names]
    left, right = widget.bar_track("mouthSmileLeft"), widget.bar_track("mouthSmileRight")
    assert left.top() == right.top() and left.right() < right.left()
    assert widget.bar_track("mouth" + "Smile" + "Left").width() == widget.bar_track("jawOpen").width()  # one scale
    # The pixels: each bar is filled in the face's colour over its score's share of the track.
    rgb = qimage_to_rgb(widget.grab().toImage())
    for name in ("_neutral", "browInnerUp", "eyeBlinkRight", "mouthSmileLeft", "jawOpen"):
        track = widget.bar_track(name)
        row = rgb[int(track.center().y()), int(track.left()) : int(track.right())].astype(int)
        filled = np.abs(row - np.array(color)).max(axis=1) <= 12
        assert filled.sum() == pytest.approx(widget.value(name) * track.width(), abs=2.0), name
    widget.set_values(None, color)
    assert widget.values is None
    with pytest.raises(ValueError):
        widget.set_values(np.zeros(7), color)


def test_pose_readout_and_not_measured(qtbot, faces) -> None:
    view = ActionsView()
    qtbot.addWidget(view)
    actions = faces["astronaut.png"][2]
    view.show_actions(actions, face_color_tuple(1))
    text = view.readout.text()
    assert text == pose_text(actions)
    assert f"yaw {actions.yaw:+4.0f}°" in text.splitlines()[0] and f"roll {actions.roll:+4.0f}°" in text.splitlines()[0]
    assert text.splitlines()[1].startswith("gaze") and f"pitch {actions.gaze_pitch:+4.0f}°" in text
    assert view.stack.currentWidget() is view.bars and view.measured
    np.testing.assert_allclose(view.bars.values, SCORES)
    view.show_actions(None, face_color_tuple(1))
    assert view.stack.currentWidget() is view.off_label and view.off_label.text() == OFF_TEXT
    assert "not measured" in view.readout.text() and view.measured is False
    assert "°" not in view.readout.text()  # no zeros standing in for a missing measurement


def test_roll_follows_a_rotated_face(faces) -> None:
    """The fixture's roll is a real measurement: rotating the photo turns it by the same angle."""
    image, detection, actions = faces["grace_hopper.jpg"]
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    rotated = cv2.warpAffine(image, cv2.getRotationMatrix2D(centre, -10.0, 1.0), image.shape[1::-1])  # clockwise
    with FaceDetector() as detector, FiveLandmarks() as landmarks:
        mesh, _ = landmarks.mesh(rotated, detector.detect(rotated)[0])
    assert _roll_degrees(mesh) - actions.roll == pytest.approx(10.0, abs=3.0)


def _changed(view: VideoView, frame: np.ndarray, prediction: FacePrediction) -> np.ndarray:
    view.set_mesh(False)
    view.show_frame(frame, [prediction], None, False)
    off = qimage_to_rgb(view.grab().toImage()).astype(int)
    view.set_mesh(True)
    on = qimage_to_rgb(view.grab().toImage()).astype(int)
    return np.abs(on - off).max(axis=2) > 30


@pytest.mark.parametrize("photo", ["astronaut.png", "grace_hopper.jpg"])
def test_mesh_toggle_draws_contours_on_the_face(qtbot, faces, photo) -> None:
    image, detection, actions = faces[photo]
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(600, 500)
    view.show()
    qtbot.waitExposed(view)
    changed = _changed(view, image, _prediction(2, detection, actions))
    ys, xs = np.nonzero(changed)
    assert ys.size > 300
    # Inside the face: the box grown by 10% (the mesh's chin reaches a few px below the
    # detector's box), nothing outside it.
    x, y, w, h = detection.box
    box = view.box_to_widget((x - 0.1 * w, y - 0.1 * h, 1.2 * w, 1.2 * h))
    assert xs.min() >= box.left() and xs.max() <= box.right() and ys.min() >= box.top() and ys.max() <= box.bottom()
    # On the contours: nearly every contour point (irises included) has a drawn pixel within 2 px.
    near = cv2.dilate(changed.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    points = [view.frame_to_widget(float(px), float(py)) for chain in MESH_CONTOURS.values() for c in chain for px, py in actions.landmarks[list(c), :2]]
    hits = [near[round(p.y()), round(p.x())] for p in points]
    assert np.mean(hits) > 0.9
    iris = view.frame_to_widget(*map(float, actions.landmarks[469, :2]))
    assert near[round(iris.y()), round(iris.x())]
    # No landmarks (actions off): the toggle changes nothing.
    assert not _changed(view, image, _prediction(2, detection, None)).any()


def _frames(detections: list[Detection], actions: FaceActions, present: dict[int, set[int]], n: int) -> list[FrameResult]:
    """n frames at 30 fps; face id k + 3 is in the frames of present[k]."""
    results = []
    for i in range(n):
        preds = tuple(_prediction(k + 3, d, actions, valence=0.01 * i) for k, d in enumerate(detections) if i in present[k])
        results.append(FrameResult(i, i / 30.0, (640, 360), preds, 0.0))
    return results


def test_returning_face_keeps_history_selection_and_plots(faces, make_window, tmp_path) -> None:
    """Face #3 leaves for 1.5 s (longer than the tracker's grace) and comes back under its id
    (as re-identification gives it): the picker, the selection and the plots stay with it."""
    _, detection, actions = faces["astronaut.png"]
    other = Detection((10.0, 10.0, 60.0, 60.0), 0.9, detection.keypoints)
    away = range(20, 65)
    results = _frames([detection, other], actions, {0: set(range(90)) - set(away), 1: set(range(90))}, 90)
    session = LiveSession()
    window = make_window(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat), session)
    window.timer.stop()  # driven by hand below, one frame at a time
    window.select_face(3)
    for result in results:
        session.history.add(result)
        window.selection.follow([p.face_id for p in result.predictions], session.history)
        window._draw_plots()
        assert window.selected_face == 3 and window.faces.face_box.currentData() == 3, result.frame_index
        assert [window.faces.face_box.itemData(i) for i in range(window.faces.face_box.count())] == [3, 4]
    series = session.history.series(3)
    gap = np.flatnonzero(np.isnan(series.valence))
    assert gap.size == 1  # one break, at the last frame #3 was missed, between its two stretches
    assert series.t[0] == 0.0 and series.t[gap[0] - 1] == pytest.approx((away.start - 1) / 30)
    assert series.t[gap[0]] == pytest.approx((away.stop - 1) / 30) and series.t[gap[0] + 1] == pytest.approx(away.stop / 30)
    assert series.t[-1] == pytest.approx(89 / 30) and series.t.size == 90 - len(away) + 1
    # The plots show both stretches with the gap unbridged, the pose on the same time axis; the
    # timelines are redrawn every TIMELINE_STEP_S of source time, so they may lag by less than that.
    x, _ = window.faces.timeline.valence_curve.getData()
    px, yaw = window.faces.pose.yaw_curve.getData()
    shown = series.t[: x.size]
    assert series.t[-1] - shown[-1] < TIMELINE_STEP_S and shown[0] == 0.0
    np.testing.assert_allclose(x, shown - shown[-1])
    np.testing.assert_allclose(px, x)
    assert np.isnan(yaw).sum() == 1 and np.nanmax(np.abs(yaw - actions.yaw)) < 1e-9
    assert window.faces.actions.measured and window.faces.actions.readout.text() == pose_text(actions)


def test_mesh_toggle_is_remembered(make_window, tmp_path) -> None:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    assert AppSettings.load(store).mesh  # on by default
    window = make_window(store)
    assert window.controls.mesh_action.isChecked() and window.video._show_mesh
    window.controls.mesh_action.trigger()  # the toolbar button
    assert not window.settings.mesh and not window.video._show_mesh
    window.close()  # saves the settings
    again = make_window(store)
    assert not again.controls.mesh_action.isChecked() and not again.video._show_mesh


def test_panel_without_actions_says_so(qtbot, faces) -> None:
    _, detection, _ = faces["astronaut.png"]
    history = FaceHistory()
    for i in range(10):
        history.add(FrameResult(i, i / 30.0, (512, 512), (_prediction(1, detection, None),), 0.0))
    panel = FacePanel()
    qtbot.addWidget(panel)
    assert panel.show_face(history, 1)
    assert panel.actions.stack.currentWidget() is panel.actions.off_label and not panel.actions.measured
    assert panel.pose.yaw_curve.getData()[0] is None or panel.pose.yaw_curve.getData()[0].size == 0
    assert panel.timeline.valence_curve.getData()[0].size == 10  # affect is still plotted


def test_history_breaks_lines_only_after_a_real_absence(faces) -> None:
    """A miss inside the tracker's grace (5 frames) is bridged; one longer than GAP_S breaks."""
    _, detection, actions = faces["grace_hopper.jpg"]
    other = Detection((10.0, 10.0, 60.0, 60.0), 0.9, detection.keypoints)
    short, long = set(range(30, 35)), set(range(60, 60 + int(GAP_S * 30) + 3))
    history = FaceHistory()
    for result in _frames([detection, other], actions, {0: set(range(120)) - short - long, 1: set(range(120))}, 120):
        history.add(result)
    series = history.series(3)
    gaps = series.t[np.isnan(series.valence)]
    assert gaps == pytest.approx([(max(long)) / 30])  # one break, dated the last frame it was missed
    assert np.isfinite(series.pose[~np.isnan(series.valence)]).all() and history.series(4).t.size == 120
