"""The face overlay drawn on a video frame: one implementation for the app's video pane and for
`analyze --video-out` (OpenCV drawing on a BGR image, no Qt).

The frame is drawn at the scale it is shown at (the app's widget size, or 1.0 for a video file),
so lines and text keep their pixel size whatever the frame's resolution. Each face is drawn by
the `layers` in order (box, keypoints, label by default); another layer (a mesh contour, say) is
one more function with the `Layer` signature added to the tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from affect_live.render.mesh_contours import draw_mesh_contours
from affect_live.types import FacePrediction

# Tableau 10, reordered so the first ids (the common case) get the most distinct hues; all of
# them stay readable on dark frames. RGB; the app's plots use the same colours.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (66, 146, 226),  # blue (brighter than Tableau's, for dark frames)
    (242, 142, 43),  # orange
    (89, 161, 79),  # green
    (225, 87, 89),  # red
    (176, 122, 161),  # purple
    (118, 183, 178),  # teal
    (237, 201, 72),  # yellow
    (255, 157, 167),  # pink
    (156, 117, 95),  # brown
    (186, 176, 172),  # grey
)

BOX_WIDTH = 2
SELECTED_BOX_WIDTH = 4
KEYPOINT_RADIUS = 2
LABEL_PAD = 3
LABEL_SHADE = 0.33  # the label's background keeps a third of the frame: dark, still see-through
FONT = cv2.FONT_HERSHEY_SIMPLEX
TITLE_SCALE, TITLE_THICKNESS = 0.45, 1
DETAIL_SCALE, DETAIL_THICKNESS = 0.4, 1


def face_color_tuple(face_id: int) -> tuple[int, int, int]:
    """RGB of a face id; the same id always maps to the same colour (ids wrap around)."""
    # The tracker numbers faces from 1: the first face gets the first colour.
    return PALETTE[(int(face_id) - 1) % len(PALETTE)]


def face_color_bgr(face_id: int) -> tuple[int, int, int]:
    r, g, b = face_color_tuple(face_id)
    return b, g, r


@dataclass(frozen=True)
class FaceStyle:
    """What a layer needs besides the face: the frame-to-canvas scale and how to draw it."""

    scale: float
    color: tuple[int, int, int]  # BGR
    selected: bool
    prior_heads: bool


Layer = Callable[[np.ndarray, FacePrediction, FaceStyle], None]


def _point(x: float, y: float, scale: float) -> tuple[int, int]:
    return round(x * scale), round(y * scale)


def draw_box(canvas: np.ndarray, pred: FacePrediction, style: FaceStyle) -> None:
    x, y, w, h = pred.detection.box
    width = SELECTED_BOX_WIDTH if style.selected else BOX_WIDTH
    cv2.rectangle(canvas, _point(x, y, style.scale), _point(x + w, y + h, style.scale), style.color, width, cv2.LINE_AA)


def draw_keypoints(canvas: np.ndarray, pred: FacePrediction, style: FaceStyle) -> None:
    for kx, ky in np.asarray(pred.detection.keypoints, dtype=float).reshape(-1, 2):
        cv2.circle(canvas, _point(kx, ky, style.scale), KEYPOINT_RADIUS, style.color, -1, cv2.LINE_AA)


def label_lines(pred: FacePrediction, prior_heads: bool) -> tuple[str, str]:
    """The label's two lines: id, top expression and its share; valence and arousal."""
    top = max(float(np.max(pred.probabilities)), 0.0)
    line1 = f"#{pred.face_id} {pred.expression} {top * 100:.0f}%"
    line2 = f"V {pred.valence:+.2f}  A {pred.arousal:+.2f}" + ("  (prior)" if prior_heads else "")
    return line1, line2


def draw_label(canvas: np.ndarray, pred: FacePrediction, style: FaceStyle) -> None:
    line1, line2 = label_lines(pred, style.prior_heads)
    (w1, h1), b1 = cv2.getTextSize(line1, FONT, TITLE_SCALE, TITLE_THICKNESS)
    (w2, h2), b2 = cv2.getTextSize(line2, FONT, DETAIL_SCALE, DETAIL_THICKNESS)
    width, height = max(w1, w2) + 2 * LABEL_PAD, h1 + b1 + h2 + b2 + 2 * LABEL_PAD
    canvas_h, canvas_w = canvas.shape[:2]
    bx, by = _point(*pred.detection.box[:2], style.scale)
    # Above the box; inside its top edge when there is no room above (a face at the frame top).
    y = by - height - 2
    if y < 0:
        y = by + 2
    x = min(max(bx, 0), max(canvas_w - width, 0))
    x0, y0, x1, y1 = x, max(y, 0), min(x + width, canvas_w), min(y + height, canvas_h)
    if x1 <= x0 or y1 <= y0:
        return  # the box is off the canvas
    region = canvas[y0:y1, x0:x1]
    cv2.convertScaleAbs(region, region, alpha=LABEL_SHADE)
    text = tuple(min(255, int(c * 1.3)) for c in style.color)  # a touch brighter: text is thinner than the box
    cv2.putText(canvas, line1, (x + LABEL_PAD, y + LABEL_PAD + h1), FONT, TITLE_SCALE, text, TITLE_THICKNESS, cv2.LINE_AA)
    cv2.putText(canvas, line2, (x + LABEL_PAD, y + LABEL_PAD + h1 + b1 + h2 + 1), FONT, DETAIL_SCALE, text, DETAIL_THICKNESS, cv2.LINE_AA)


def draw_mesh(canvas: np.ndarray, pred: FacePrediction, style: FaceStyle) -> None:
    """The face mesh's contours (the app's Mesh toggle), 1 px at the drawn size."""
    if pred.actions is not None and pred.actions.landmarks is not None:
        draw_mesh_contours(canvas, pred.actions.landmarks, style.color, style.scale)


DEFAULT_LAYERS: tuple[Layer, ...] = (draw_box, draw_keypoints, draw_label)
MESH_LAYERS: tuple[Layer, ...] = (draw_mesh, *DEFAULT_LAYERS)  # contours under the box and label


def draw_faces(
    canvas: np.ndarray,
    predictions: Sequence[FacePrediction],
    scale: float = 1.0,
    selected_id: int | None = None,
    prior_heads: bool = False,
    layers: Sequence[Layer] = DEFAULT_LAYERS,
) -> np.ndarray:
    """Draw every face on `canvas` (a BGR uint8 frame already at `scale`), in place; returns it.

    The selected face is drawn last, so its box and label are on top where faces overlap."""
    for pred in sorted(predictions, key=lambda p: p.face_id == selected_id):
        style = FaceStyle(scale, face_color_bgr(pred.face_id), pred.face_id == selected_id, prior_heads)
        for layer in layers:
            layer(canvas, pred, style)
    return canvas


def scaled_frame(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """A new BGR copy of the frame at width x height (a grey frame becomes BGR)."""
    if (frame.shape[1], frame.shape[0]) == (width, height):
        scaled = frame.copy()
    else:
        shrinking = width < frame.shape[1]
        scaled = cv2.resize(frame, (max(width, 1), max(height, 1)), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return cv2.cvtColor(scaled, cv2.COLOR_GRAY2BGR) if scaled.ndim == 2 else scaled


def annotated(
    frame: np.ndarray,
    predictions: Sequence[FacePrediction],
    width: int | None = None,
    height: int | None = None,
    selected_id: int | None = None,
    prior_heads: bool = False,
) -> np.ndarray:
    """The frame at width x height (default: its own size) with its faces drawn; the input is
    not modified."""
    width = width or frame.shape[1]
    height = height or frame.shape[0]
    canvas = scaled_frame(frame, width, height)
    return draw_faces(canvas, predictions, width / frame.shape[1], selected_id, prior_heads)
