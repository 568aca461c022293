"""Per-face colours: one fixed palette so a face keeps its colour in the video and the plots."""

from __future__ import annotations

from PyQt5.QtGui import QColor

# Tableau 10, reordered so the first ids (the common case) get the most distinct hues; all of
# them stay readable on the dark backgrounds the widgets use.
_PALETTE: tuple[tuple[int, int, int], ...] = (
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


def face_color_tuple(face_id: int) -> tuple[int, int, int]:
    """RGB of a face id; the same id always maps to the same colour (ids wrap around)."""
    # The tracker numbers faces from 1: the first face gets the first colour.
    return _PALETTE[(int(face_id) - 1) % len(_PALETTE)]


def face_color(face_id: int) -> QColor:
    """The face's colour as a QColor (a new object, so callers may change its alpha)."""
    return QColor(*face_color_tuple(face_id))
