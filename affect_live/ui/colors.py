"""Per-face colours: one fixed palette so a face keeps its colour in the video and the plots."""

from __future__ import annotations

from PyQt5.QtGui import QColor

from affect_live.render.overlay import (  # the video overlay's colours, Qt-free
    PALETTE,
    face_color_tuple,
)

__all__ = ["PALETTE", "face_color", "face_color_tuple"]


def face_color(face_id: int) -> QColor:
    """The face's colour as a QColor (a new object, so callers may change its alpha)."""
    return QColor(*face_color_tuple(face_id))
