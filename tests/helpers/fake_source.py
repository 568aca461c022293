"""A source the test drives: real face frames (a shipped photo), handed out one at a time when
the test allows, so the pipeline's own logic (drops, pause, swaps) is tested without a clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from affect_live.pipeline.sources import FrameSource, LoopingVideoSource, SourceInfo
from affect_live.types import Frame
from tests.conftest import IMAGES

BOUND_S = 120.0  # a bound for a broken build, never a speed


class GatedSource(FrameSource):
    """`allow(n)` lets n more frames out; `frames()` ends after `total` (or at `close()`).
    `shift_px`: frame k is the photo moved right by k * shift_px (a face that moves)."""

    def __init__(self, total: int = 1000, kind: str = "camera", fps: float = 30.0, shift_px: float = 0.0) -> None:
        image = cv2.imread(str(IMAGES / "astronaut.png"))
        assert image is not None
        self._image = image
        self._total = total
        self._shift_px = shift_px
        self._permits = threading.Semaphore(0)
        self._closed = threading.Event()
        self.delivered = 0  # frames handed to the pipeline so far
        self.info = SourceInfo("gated", kind, fps, total if kind != "camera" else None, image.shape[1], image.shape[0])

    def allow(self, frames: int = 1) -> None:
        for _ in range(frames):
            self._permits.release()

    def frames(self) -> Iterator[Frame]:
        while self.delivered < self._total and not self._closed.is_set():
            if not self._permits.acquire(timeout=0.05):
                continue
            index = self.delivered
            self.delivered += 1
            yield Frame(index, index / self.info.fps, self.image(index))

    def image(self, index: int) -> np.ndarray:
        """Frame `index` as delivered."""
        if not self._shift_px:
            return self._image.copy()
        height, width = self._image.shape[:2]
        move = np.float32([[1, 0, index * self._shift_px], [0, 1, 0]])
        return cv2.warpAffine(self._image, move, (width, height), borderMode=cv2.BORDER_REPLICATE)

    def close(self) -> None:
        self._closed.set()


class UnpluggableCamera(FrameSource):
    """A real clip, looped, presented as a camera (named `name`, else after the clip) until the
    test unplugs it: then it stops delivering frames as a camera pulled out would."""

    def __init__(self, clip: Path, name: str | None = None) -> None:
        self._inner = LoopingVideoSource(clip)
        self.info = replace(self._inner.info, name=name or self._inner.info.name, kind="camera", frame_count=None)
        self.unplug = threading.Event()

    def frames(self) -> Iterator[Frame]:
        for frame in self._inner.frames():
            if self.unplug.is_set():
                self.ended_early = f"camera {self.info.name} stopped delivering frames (unplugged or in use?)"
                return
            yield frame

    def close(self) -> None:
        self._inner.close()

