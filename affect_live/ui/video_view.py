"""The video pane: the current frame, letterboxed, with each face's box, keypoints and labels
and (the Mesh toggle) its face mesh contours, drawn by affect_live.render.overlay, the same code
`analyze --video-out` uses."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import cv2
import numpy as np
from PyQt5.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent
from PyQt5.QtWidgets import QSizePolicy, QWidget

from affect_live.render.overlay import DEFAULT_LAYERS, MESH_LAYERS, draw_faces, scaled_frame
from affect_live.types import Box, FacePrediction

log = logging.getLogger(__name__)

_BACKGROUND = QColor(18, 18, 18)
_PLACEHOLDER_COLOR = QColor(150, 150, 150)


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
        self._scaled: tuple[QImage, np.ndarray] | None = None  # the annotated frame at its drawn size
        self._predictions: tuple[FacePrediction, ...] = ()
        self._selected_id: int | None = None
        self._prior_heads = False
        self._show_mesh = False
        self._placeholder = "No video"
        self._placeholder_font = QFont(self.font())
        self._placeholder_font.setPointSizeF(13.0)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # paintEvent fills every pixel itself
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(280, 160)
        self.setFocusPolicy(Qt.ClickFocus)  # a click on the video takes the keyboard from the marker field

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

    def set_selected(self, face_id: int | None) -> None:
        """Highlight another face on the frame shown (also a paused or ended one)."""
        if face_id != self._selected_id:
            self._selected_id = face_id
            self._scaled = None
            self.update()

    @property
    def selected_id(self) -> int | None:
        return self._selected_id

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
        finally:
            painter.end()

    def _frame_at(self, width: int, height: int) -> QImage:
        """The frame scaled to its drawn size with the faces drawn on it, in the painter's native
        32-bit format; made once per shown frame (and widget size).

        OpenCV scales, draws and converts in about a millisecond; a smooth-scaled drawImage of
        a BGR888 image costs Qt several milliseconds of the GUI thread per frame.
        """
        if self._scaled is None or (self._scaled[0].width(), self._scaled[0].height()) != (width, height):
            assert self._frame is not None
            canvas = scaled_frame(self._frame, max(width, 1), max(height, 1))
            layers = MESH_LAYERS if self._show_mesh else DEFAULT_LAYERS
            draw_faces(canvas, self._predictions, canvas.shape[1] / self._frame.shape[1], self._selected_id, self._prior_heads, layers)
            bgra = cv2.cvtColor(canvas, cv2.COLOR_BGR2BGRA)  # Format_RGB32 is B, G, R, A bytes in memory
            self._scaled = (QImage(bgra.data, bgra.shape[1], bgra.shape[0], bgra.strides[0], QImage.Format_RGB32), bgra)
        return self._scaled[0]
