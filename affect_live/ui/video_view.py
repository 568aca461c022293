"""The video pane: the current frame, letterboxed, with each face's box, keypoints and labels,
and (the Mesh toggle) its face mesh contours."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
from PyQt5.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
)
from PyQt5.QtWidgets import QSizePolicy, QWidget

from affect_live.overlay_mesh import draw_mesh_contours
from affect_live.types import Box, FacePrediction
from affect_live.ui.colors import face_color, face_color_tuple

log = logging.getLogger(__name__)

_BACKGROUND = QColor(18, 18, 18)
_LABEL_BACKGROUND = QColor(0, 0, 0, 170)  # dark but see-through, so the label reads on any frame
_PLACEHOLDER_COLOR = QColor(150, 150, 150)
_BOX_WIDTH = 2.0
_SELECTED_BOX_WIDTH = 4.0
_KEYPOINT_RADIUS = 2.5
_LABEL_PAD = 3.0


def _checked_frame(image: np.ndarray) -> np.ndarray:
    """A BGR (or grey) uint8 frame, contiguous for OpenCV's scaling; raises on anything else."""
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"expected an H x W x 3 (or H x W) uint8 frame, got {image.shape} {image.dtype}")
    return image if image.flags.c_contiguous else np.ascontiguousarray(image)


class VideoView(QWidget):
    """Shows frames with face overlays; clicking a face box emits its id."""

    face_clicked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: np.ndarray | None = None  # kept by reference, never modified
        self._scaled: tuple[QImage, np.ndarray] | None = None  # the frame at its drawn size
        self._predictions: tuple[FacePrediction, ...] = ()
        self._selected_id: int | None = None
        self._prior_heads = False
        self._show_mesh = False
        self._placeholder = "No video"
        self._label_font = QFont(self.font())
        self._label_font.setPointSizeF(9.0)
        self._label_font.setBold(True)
        self._small_font = QFont(self.font())
        self._small_font.setPointSizeF(8.0)
        self._placeholder_font = QFont(self.font())
        self._placeholder_font.setPointSizeF(13.0)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # paintEvent fills every pixel itself
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 180)

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    # --- state -------------------------------------------------------------------------------

    def show_frame(
        self,
        image: np.ndarray | None,
        predictions: Sequence[FacePrediction],
        selected_id: int | None,
        prior_heads: bool,
    ) -> None:
        """Show a BGR frame and its faces; `image=None` clears to the placeholder.

        `prior_heads` marks valence/arousal as coming from prior (untrained) heads in the labels.
        """
        if image is None:
            self._frame, self._predictions = None, ()
        else:
            self._frame = _checked_frame(image)
            self._predictions = tuple(predictions)
        self._scaled = None
        self._selected_id = selected_id
        self._prior_heads = prior_heads
        self.update()

    def clear_frame(self) -> None:
        """Drop the frame and faces and show the placeholder."""
        self.show_frame(None, (), None, False)

    def set_mesh(self, on: bool) -> None:
        """Draw each face's mesh contours (where it has landmarks) on the shown image."""
        self._show_mesh = on
        self._scaled = None  # the contours are drawn into the scaled frame
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Text shown centred while there is no frame."""
        self._placeholder = text
        if self._frame is None:
            self.update()

    @property
    def frame_size(self) -> tuple[int, int] | None:
        """Width, height of the shown frame, or None."""
        return None if self._frame is None else (self._frame.shape[1], self._frame.shape[0])

    @property
    def predictions(self) -> tuple[FacePrediction, ...]:
        return self._predictions

    # --- geometry ----------------------------------------------------------------------------

    def image_rect(self) -> QRectF:
        """Where the frame is drawn in widget coordinates (letterboxed); empty without a frame."""
        size = self.frame_size
        if size is None or 0 in size:
            return QRectF()
        fw, fh = size
        ww, wh = float(self.width()), float(self.height())
        scale = min(ww / fw, wh / fh)
        w, h = fw * scale, fh * scale
        return QRectF((ww - w) / 2.0, (wh - h) / 2.0, w, h)

    def _scale(self) -> float:
        rect = self.image_rect()
        return rect.width() / self._frame.shape[1] if self._frame is not None and not rect.isEmpty() else 0.0

    def frame_to_widget(self, x: float, y: float) -> QPointF:
        """Frame pixel coordinates -> widget coordinates (no frame: returned unchanged)."""
        scale = self._scale()
        if scale <= 0.0:
            return QPointF(x, y)
        rect = self.image_rect()
        return QPointF(rect.x() + x * scale, rect.y() + y * scale)

    def widget_to_frame(self, x: float, y: float) -> tuple[float, float] | None:
        """Widget coordinates -> frame pixel coordinates; None without a frame."""
        scale = self._scale()
        if scale <= 0.0:
            return None
        rect = self.image_rect()
        return (x - rect.x()) / scale, (y - rect.y()) / scale

    def box_to_widget(self, box: Box) -> QRectF:
        """A frame-pixel (x, y, w, h) box in widget coordinates."""
        top_left = self.frame_to_widget(box[0], box[1])
        scale = self._scale() or 1.0
        return QRectF(top_left.x(), top_left.y(), box[2] * scale, box[3] * scale)

    def face_at(self, x: float, y: float) -> int | None:
        """Id of the face whose box contains the widget point; the smallest box wins on overlap."""
        point = self.widget_to_frame(x, y)
        if point is None:
            return None
        fx, fy = point
        best: tuple[float, int] | None = None
        for pred in self._predictions:
            bx, by, bw, bh = pred.detection.box
            if bx <= fx <= bx + bw and by <= fy <= by + bh:
                area = bw * bh
                if best is None or area < best[0]:
                    best = (area, pred.face_id)
        return None if best is None else best[1]

    # --- events ------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            face_id = self.face_at(event.x(), event.y())
            if face_id is not None:
                log.debug("face %d clicked", face_id)
                self.face_clicked.emit(face_id)
                event.accept()
                return
        super().mousePressEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), _BACKGROUND)
            if self._frame is None:
                painter.setPen(_PLACEHOLDER_COLOR)
                painter.setFont(self._placeholder_font)
                painter.drawText(QRectF(self.rect()), Qt.AlignCenter | Qt.TextWordWrap, self._placeholder)
                return
            rect = self.image_rect()
            painter.drawImage(rect.topLeft(), self._frame_at(round(rect.width()), round(rect.height())))
            painter.setRenderHint(QPainter.Antialiasing)
            painter.setClipRect(self.image_rect())  # labels of faces at the edge stay on the frame
            # Selected face last, so its box and label are on top where faces overlap.
            ordered = sorted(self._predictions, key=lambda p: p.face_id == self._selected_id)
            for pred in ordered:
                self._paint_face(painter, pred)
        finally:
            painter.end()

    def _frame_at(self, width: int, height: int) -> QImage:
        """The frame scaled to its drawn size, in the painter's native 32-bit format.

        OpenCV scales and converts in well under a millisecond; a smooth-scaled drawImage of a
        BGR888 image costs Qt several milliseconds of the GUI thread per frame.
        """
        if self._scaled is None or (self._scaled[0].width(), self._scaled[0].height()) != (width, height):
            assert self._frame is not None
            shrinking = width < self._frame.shape[1]
            scaled = cv2.resize(self._frame, (max(width, 1), max(height, 1)), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
            code = cv2.COLOR_GRAY2BGRA if scaled.ndim == 2 else cv2.COLOR_BGR2BGRA
            bgra = cv2.cvtColor(scaled, code)  # Format_RGB32 is B, G, R, A bytes in memory
            if self._show_mesh:  # at the drawn size, so the lines stay 1 px thin and crisp
                for pred in self._predictions:
                    if pred.actions is not None and pred.actions.landmarks is not None:
                        r, g, b = face_color_tuple(pred.face_id)
                        draw_mesh_contours(bgra, pred.actions.landmarks, (b, g, r, 255), width / self._frame.shape[1])
            self._scaled = (QImage(bgra.data, bgra.shape[1], bgra.shape[0], bgra.strides[0], QImage.Format_RGB32), bgra)
        return self._scaled[0]

    def _paint_face(self, painter: QPainter, pred: FacePrediction) -> None:
        color = face_color(pred.face_id)
        selected = pred.face_id == self._selected_id
        box = self.box_to_widget(pred.detection.box)
        pen = QPen(color, _SELECTED_BOX_WIDTH if selected else _BOX_WIDTH)
        pen.setJoinStyle(Qt.MiterJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.NoBrush)
        painter.drawRect(box)

        painter.setPen(Qt.NoPen)
        painter.setBrush(color)
        for kx, ky in np.asarray(pred.detection.keypoints, dtype=float).reshape(-1, 2):
            painter.drawEllipse(self.frame_to_widget(kx, ky), _KEYPOINT_RADIUS, _KEYPOINT_RADIUS)

        top = max(float(np.max(pred.probabilities)), 0.0)
        line1 = f"#{pred.face_id} {pred.expression} {top * 100:.0f}%"
        line2 = f"V {pred.valence:+.2f}  A {pred.arousal:+.2f}" + ("  (prior)" if self._prior_heads else "")
        self._paint_label(painter, box, color, line1, line2)

    def _paint_label(self, painter: QPainter, box: QRectF, color: QColor, line1: str, line2: str) -> None:
        m1, m2 = QFontMetricsF(self._label_font), QFontMetricsF(self._small_font)
        width = max(m1.horizontalAdvance(line1), m2.horizontalAdvance(line2)) + 2 * _LABEL_PAD
        height = m1.height() + m2.height() + 2 * _LABEL_PAD
        area = self.image_rect()
        # Above the box; inside its top edge when there is no room above (face at the frame top).
        y = box.top() - height - 2.0
        if y < area.top():
            y = box.top() + 2.0
        x = min(max(box.left(), area.left()), max(area.right() - width, area.left()))
        rect = QRectF(x, y, width, height)
        painter.setPen(Qt.NoPen)
        painter.setBrush(_LABEL_BACKGROUND)
        painter.drawRoundedRect(rect, 3.0, 3.0)
        painter.setPen(color.lighter(130))  # a touch brighter: text is thinner than the box
        painter.setFont(self._label_font)
        painter.drawText(QPointF(x + _LABEL_PAD, y + _LABEL_PAD + m1.ascent()), line1)
        painter.setFont(self._small_font)
        painter.drawText(QPointF(x + _LABEL_PAD, y + _LABEL_PAD + m1.height() + m2.ascent()), line2)
