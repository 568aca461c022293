"""The Qt widgets on a real frame of two_faces.mp4 with its ground-truth face boxes."""

from __future__ import annotations

import os

import cv2

# cv2 points Qt at its own plugins; the PyQt5 ones must be used.
os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)

import numpy as np
import pytest
from tests.conftest import CLIPS
from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtGui import QColor
from tests.helpers.qt_images import qimage_to_rgb

from affect_live.types import EXPRESSIONS, Detection, FacePrediction
from affect_live.ui.colors import face_color, face_color_tuple
from affect_live.ui.plots import SHORT_EXPRESSIONS, ExpressionBars, VaPlane, VaTimeline
from affect_live.ui.video_view import VideoView

pytestmark = pytest.mark.gui

FRAME_INDEX = 10
FACE_IDS = (3, 8)  # arbitrary tracker ids; their colours differ


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())
    return e / e.sum()


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(CLIPS / "two_faces.mp4"))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, FRAME_INDEX)
        ok, image = cap.read()
    finally:
        cap.release()
    assert ok and image.shape == (360, 640, 3)
    return image


@pytest.fixture(scope="module")
def predictions(clips_truth: dict) -> list[FacePrediction]:
    truth = next(f for f in clips_truth["two_faces.mp4"]["frames"] if f["index"] == FRAME_INDEX)
    preds = []
    for k, (face_id, face) in enumerate(zip(FACE_IDS, truth["faces"], strict=True)):
        x, y, w, h = map(float, face["box"])
        keypoints = np.tile([x + w / 2, y + h / 2], (6, 1))
        probs = _softmax(np.array([0.5, 0.1, 0.0, 0.2, 2.0 - 2 * k, 0.3 + 2 * k, 0.4]))
        preds.append(FacePrediction(face_id, Detection((x, y, w, h), 0.9, keypoints), 0.4 - k, 0.2, probs))
    return preds


@pytest.fixture
def view(qtbot, frame: np.ndarray, predictions: list[FacePrediction]) -> VideoView:
    widget = VideoView()
    qtbot.addWidget(widget)
    widget.resize(500, 500)  # square: the 16:9 frame is letterboxed top and bottom
    widget.show()
    qtbot.waitExposed(widget)
    widget.show_frame(frame, predictions, selected_id=None, prior_heads=True)
    return widget


def _box_center(view: VideoView, pred: FacePrediction) -> QPoint:
    x, y, w, h = pred.detection.box
    p = view.frame_to_widget(x + w / 2, y + h / 2)
    return QPoint(round(p.x()), round(p.y()))


def test_mapping_round_trip_and_letterbox(view: VideoView, predictions: list[FacePrediction]) -> None:
    scale = 500 / 640
    top_left = view.frame_to_widget(0, 0)
    assert top_left.x() == pytest.approx(0.0)
    assert top_left.y() == pytest.approx((500 - 360 * scale) / 2)
    points = [(0, 0), (639, 359), (320, 180)] + [p.detection.box[:2] for p in predictions]
    for fx, fy in points:
        w = view.frame_to_widget(fx, fy)
        back = view.widget_to_frame(w.x(), w.y())
        assert back is not None
        assert abs(back[0] - fx) <= 1 and abs(back[1] - fy) <= 1
    view.resize(700, 300)  # now wider than 16:9: pillarboxed left and right
    assert view.frame_to_widget(0, 0).x() == pytest.approx((700 - 640 * 300 / 360) / 2)
    back = view.widget_to_frame(view.frame_to_widget(123.4, 56.7).x(), view.frame_to_widget(123.4, 56.7).y())
    assert back == pytest.approx((123.4, 56.7), abs=1.0)


def test_click_on_face_emits_its_id(qtbot, view: VideoView, predictions: list[FacePrediction]) -> None:
    second = predictions[1]
    with qtbot.waitSignal(view.face_clicked, timeout=1000) as blocker:
        qtbot.mouseClick(view, Qt.LeftButton, pos=_box_center(view, second))
    assert blocker.args == [second.face_id]


def test_click_outside_faces_emits_nothing(qtbot, view: VideoView) -> None:
    empty = view.frame_to_widget(320, 340)  # between and below the two faces
    letterbox = QPoint(250, 5)
    with qtbot.assertNotEmitted(view.face_clicked, wait=50):
        qtbot.mouseClick(view, Qt.LeftButton, pos=QPoint(round(empty.x()), round(empty.y())))
        qtbot.mouseClick(view, Qt.LeftButton, pos=letterbox)


def test_overlapping_boxes_pick_the_smallest(view: VideoView, frame, predictions) -> None:
    outer = predictions[0]
    x, y, w, h = outer.detection.box
    inner_box = (x + w / 4, y + h / 4, w / 2, h / 2)
    inner = FacePrediction(99, Detection(inner_box, 0.8, outer.detection.keypoints), 0.0, 0.0, outer.probabilities)
    view.show_frame(frame, [outer, inner], None, False)
    centre = view.frame_to_widget(x + w / 2, y + h / 2)
    near_edge = view.frame_to_widget(x + 2, y + h / 2)
    assert view.face_at(centre.x(), centre.y()) == 99
    assert view.face_at(near_edge.x(), near_edge.y()) == outer.face_id


def test_render_draws_frame_and_face_colours(view: VideoView, frame, predictions) -> None:
    view.show_frame(frame, predictions, selected_id=predictions[1].face_id, prior_heads=True)
    rgb = qimage_to_rgb(view.grab().toImage())
    assert rgb.shape[:2] == (500, 500)
    rect = view.image_rect()
    # The letterbox band is the plain dark background.
    assert np.all(rgb[: int(rect.top()) - 1] == rgb[0, 0]) and rgb[0, 0].max() < 40
    # The frame itself, in the right channel order, where the overlays are not.
    top, h = round(rect.top()), round(rect.height())
    shown = rgb[top : top + h].astype(float)
    expected = cv2.cvtColor(cv2.resize(frame, (500, h), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    assert np.median(np.abs(shown - expected)) < 8
    assert np.median(np.abs(shown - expected[..., ::-1])) > np.median(np.abs(shown - expected)) + 5
    for pred in predictions:
        color = np.array(face_color(pred.face_id).getRgb()[:3])
        box = view.box_to_widget(pred.detection.box)
        column = int(box.left())  # the pen (2 or 4 px) is centred on the edge and covers it
        rows = np.linspace(box.top() + box.height() * 0.3, box.bottom() - box.height() * 0.2, 9).astype(int)
        matches = [np.abs(rgb[r, column].astype(int) - color).max() <= 30 for r in rows]
        assert sum(matches) >= len(rows) // 2, (pred.face_id, rgb[rows, column])


def test_placeholder_renders_text(qtbot) -> None:
    widget = VideoView()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.set_placeholder("No source open")
    widget.show_frame(None, (), None, False)
    assert widget.frame_size is None and widget.widget_to_frame(10, 10) is None
    rgb = qimage_to_rgb(widget.grab().toImage())
    background = rgb[0, 0].astype(int)
    text_pixels = np.abs(rgb.astype(int) - background).max(axis=2) > 60
    ys, xs = np.nonzero(text_pixels)
    assert ys.size > 50  # the text is drawn...
    assert abs(xs.mean() - 200) < 20 and abs(ys.mean() - 150) < 20  # ...centred


def test_face_colors_are_stable_and_distinct() -> None:
    assert face_color(4) == face_color(4) and face_color_tuple(4) == face_color(4).getRgb()[:3]
    assert len({face_color_tuple(i) for i in range(1, 11)}) == 10
    assert isinstance(face_color(1), QColor)


def test_timeline_scrolls_last_span(qtbot) -> None:
    widget = VaTimeline(span_s=30.0)
    qtbot.addWidget(widget)
    t = 1000.0 + np.linspace(0.0, 40.0, 1000)  # absolute seconds
    valence, arousal = np.sin(t), np.cos(t) * 0.5
    widget.set_series(t, valence, arousal)
    (x0, x1), (y0, y1) = widget.getPlotItem().getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((-30.0, 0.0)) and (y0, y1) == pytest.approx((-1.05, 1.05))
    x, y = widget.valence_curve.getData()
    in_span = t - t[-1] >= -30.0
    assert x.min() >= -30.0 and x.max() == 0.0 and x.size == in_span.sum()
    np.testing.assert_allclose(y, valence[in_span])
    np.testing.assert_allclose(widget.arousal_curve.getData()[1], arousal[in_span])
    widget.clear_series()
    assert widget.valence_curve.getData()[0] is None or widget.valence_curve.getData()[0].size == 0


def test_plane_trail_fades_with_age(qtbot) -> None:
    widget = VaPlane()
    qtbot.addWidget(widget)
    n = 120
    angle = np.linspace(0.0, 3.0, n)
    valence, arousal = 0.8 * np.cos(angle), 0.6 * np.sin(angle)
    color = face_color_tuple(2)
    widget.set_trail(valence, arousal, color)
    data = widget.trail.data
    assert data.size == n - 1
    np.testing.assert_allclose(data["x"], valence[:-1])
    alphas = np.array([b.color().alpha() for b in data["brush"]])
    assert np.all(np.diff(alphas) >= 0) and alphas[0] < alphas[-1]  # older = fainter
    cx, cy = widget.current.getData()
    assert (cx[0], cy[0]) == pytest.approx((valence[-1], arousal[-1]))
    assert widget.current.opts["brush"].color().getRgb()[:3] == color
    widget.set_trail(valence, arousal, face_color_tuple(3))  # another face selected: its colour
    assert widget.current.opts["brush"].color().getRgb()[:3] == face_color_tuple(3)
    assert widget.trail.data["brush"][-1].color().getRgb()[:3] == face_color_tuple(3)
    (x0, x1), (y0, y1) = widget.getPlotItem().getViewBox().viewRange()
    assert x0 <= -1.1 + 1e-6 and x1 >= 1.1 - 1e-6 and y0 <= -1.1 + 1e-6 and y1 >= 1.1 - 1e-6
    widget.clear_trail()
    assert widget.trail.data.size == 0 and widget.current.data.size == 0


def test_expression_bars_heights_and_highlight(qtbot, predictions: list[FacePrediction]) -> None:
    widget = ExpressionBars()
    qtbot.addWidget(widget)
    p = predictions[1].probabilities
    widget.set_probabilities(p, face_color_tuple(8))
    np.testing.assert_allclose(widget.heights, p)
    top = int(np.argmax(p))
    assert widget.highlighted == top and EXPRESSIONS[top] == predictions[1].expression
    alphas = [b.color().alpha() for b in widget.bars.opts["brushes"]]
    assert alphas[top] == 255 and all(a < 255 for i, a in enumerate(alphas) if i != top)
    labels = [label for _, label in widget.getPlotItem().getAxis("bottom")._tickLevels[0]]
    assert labels == [SHORT_EXPRESSIONS[e] for e in EXPRESSIONS]
    widget.set_note("(prior)")
    assert widget.note == "(prior)"
    widget.set_probabilities(None, face_color_tuple(8))
    assert widget.highlighted is None and np.all(widget.heights == 0)
