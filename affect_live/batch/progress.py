"""One progress bar for a whole batch: inputs done, frames, frames/s, and which worker runs
which input."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from affect_live.batch.plan import BatchItem, is_live


def expected_frames(item: BatchItem) -> int:
    """The container's frame count of a video (0 when unknown: cameras, image folders count
    as they come)."""
    if is_live(item.spec) or Path(item.spec).is_dir():
        return 0
    capture = cv2.VideoCapture(item.spec)
    try:
        return max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if capture.isOpened() else 0
    finally:
        capture.release()


class BatchProgress:
    """Frames over all inputs as one bar; the postfix says inputs done and who runs what."""

    def __init__(self, items: list[BatchItem], disable: bool) -> None:
        self._names = {item.index: item.name for item in items}
        self._frames: dict[int, int] = {}
        self._running: dict[int, str] = {}
        self._done = 0
        self._total_inputs = len(items)
        total = sum(expected_frames(item) for item in items) if not disable else 0
        self._bar = tqdm(total=total or None, unit="frame", desc="batch", disable=disable, dynamic_ncols=True, leave=True, file=sys.stderr)
        self._show()

    def start(self, index: int, where: str) -> None:
        self._running[index] = where
        self._show()

    def frames(self, index: int, frames: int) -> None:
        step = frames - self._frames.get(index, 0)
        if step > 0:
            self._frames[index] = frames
            self._bar.update(step)

    def done(self, index: int, frames: int) -> None:
        self.frames(index, frames)
        self._running.pop(index, None)
        self._done += 1
        self._show()

    def _show(self) -> None:
        running = ", ".join(f"{self._names[i]}@{w}" for i, w in sorted(self._running.items()))
        self._bar.set_postfix_str(f"inputs {self._done}/{self._total_inputs}" + (f"; running {running}" if running else ""), refresh=True)

    @property
    def running(self) -> list[int]:
        """Items started and not done."""
        return sorted(self._running)

    def write(self, line: str) -> None:
        """A line above the bar (stderr)."""
        self._bar.write(line, file=sys.stderr)

    def close(self) -> None:
        self._bar.close()
