"""Qt images as numpy arrays, for tests that look at what a widget drew."""

from __future__ import annotations

import numpy as np
from PyQt5.QtGui import QImage


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """H x W x 3 uint8 RGB copy of a QImage (e.g. `widget.grab().toImage()`)."""
    image = image.convertToFormat(QImage.Format_RGB888)
    ptr = image.constBits()
    ptr.setsize(image.byteCount())
    rows = np.frombuffer(ptr, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()
