"""One face overlay for the app and --video-out: the app's video pane shows exactly what
affect_live.render.overlay draws on the frame at the pane's scale."""

from __future__ import annotations

import os

import cv2

os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)  # cv2 points Qt at its own plugins

import numpy as np

from affect_live.render.overlay import DEFAULT_LAYERS, FaceStyle, annotated, draw_faces, face_color_bgr
from affect_live.types import FacePrediction
from affect_live.ui.video_view import VideoView
from tests.helpers.qt_images import qimage_to_rgb
from tests.ui.test_ui_widgets import frame, predictions  # noqa: F401 (fixtures)


def test_the_app_shows_what_the_overlay_draws(qtbot, frame, predictions):  # noqa: F811
    widget = VideoView()
    qtbot.addWidget(widget)
    widget.resize(500, 500)
    widget.show()
    qtbot.waitExposed(widget)
    widget.show_frame(frame, predictions, selected_id=predictions[0].face_id, prior_heads=True)
    rgb = qimage_to_rgb(widget.grab().toImage())
    rect = widget.image_rect()
    top, width, height = round(rect.top()), round(rect.width()), round(rect.height())
    expected = annotated(frame, predictions, width, height, selected_id=predictions[0].face_id, prior_heads=True)
    shown = rgb[top : top + height, :width]
    assert np.abs(shown.astype(int) - expected[..., ::-1].astype(int)).max() <= 2
    plain = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    assert (np.abs(expected.astype(int) - plain.astype(int)).max(axis=2) > 40).sum() > 500  # the overlay is there


def test_layers_draw_in_order_and_one_more_fits(frame, predictions):  # noqa: F811
    seen: list[tuple[int, float]] = []

    def extra(canvas: np.ndarray, pred: FacePrediction, style: FaceStyle) -> None:
        seen.append((pred.face_id, style.scale))
        x, y, w, h = (round(v * style.scale) for v in pred.detection.box)
        canvas[y + h // 2, x + w // 2] = (255, 255, 255)

    canvas = cv2.resize(frame, (320, 180))
    draw_faces(canvas, predictions, 0.5, selected_id=predictions[0].face_id, layers=(*DEFAULT_LAYERS, extra))
    # the selected face last (on top), every face at the canvas scale
    assert seen == [(predictions[1].face_id, 0.5), (predictions[0].face_id, 0.5)]
    x, y, w, h = predictions[1].detection.box
    assert np.abs(canvas[round(y * 0.5), round((x + w / 2) * 0.5)].astype(int) - face_color_bgr(predictions[1].face_id)).max() <= 60
