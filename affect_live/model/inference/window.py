"""Per-face ring buffers of per-frame probabilities and their window statistics (STAT module).

Each face keeps the probabilities of its last T frames. A new face fills its whole buffer with
its first frame, which is exactly the paper's start padding ("repeat the first available
frame"), so max/min/mean over the buffer are always over T rows. Per-frame outputs are cached
here and never recomputed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def window_stats(windows: np.ndarray) -> np.ndarray:
    """[max, min, mean] over axis 1 of (B, T, D) windows: (B, 3 D), the STAT module's layout.
    The one definition used by the live buffers, training, evaluation and conversion checks."""
    return np.concatenate([windows.max(axis=1), windows.min(axis=1), windows.mean(axis=1)], axis=1)


class FaceWindows:
    """Ring buffers keyed by face id, each of shape (T, n_classes)."""

    def __init__(self, window: int, n_classes: int = 7) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 frame")
        self.window = window
        self.n_classes = n_classes
        self._buffers: dict[int, np.ndarray] = {}
        self._next_row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._buffers)

    def __contains__(self, face_id: int) -> bool:
        return face_id in self._buffers

    def push(self, face_ids: Sequence[int], probabilities: np.ndarray, restart: Sequence[bool]) -> None:
        """Append one frame's probabilities per face; `restart` starts that face's window afresh."""
        for face_id, row, fresh in zip(face_ids, probabilities, restart):
            if fresh or face_id not in self._buffers:
                self._buffers[face_id] = np.repeat(row[None, :].astype(np.float32), self.window, axis=0)
                self._next_row[face_id] = 0
            else:
                position = self._next_row[face_id]
                self._buffers[face_id][position] = row
                self._next_row[face_id] = (position + 1) % self.window

    def stats(self, face_ids: Sequence[int]) -> np.ndarray:
        """[max, min, mean] over each face's window: shape (N, 3 * n_classes)."""
        if not face_ids:
            return np.zeros((0, 3 * self.n_classes), np.float32)
        return window_stats(np.stack([self._buffers[face_id] for face_id in face_ids]))

    def means(self, face_ids: Sequence[int]) -> np.ndarray:
        """The mean over each face's window: shape (N, n_classes)."""
        if not face_ids:
            return np.zeros((0, self.n_classes), np.float32)
        return np.stack([self._buffers[face_id].mean(axis=0) for face_id in face_ids])

    def sequences(self, face_ids: Sequence[int]) -> np.ndarray:
        """Each face's window in time order, oldest first: shape (N, T, n_classes)."""
        if not face_ids:
            return np.zeros((0, self.window, self.n_classes), np.float32)
        return np.stack([np.roll(self._buffers[f], -self._next_row[f], axis=0) for f in face_ids])

    def drop(self, face_ids: Iterable[int]) -> None:
        """Forget faces whose tracks ended, so memory stays flat over long videos."""
        for face_id in face_ids:
            self._buffers.pop(face_id, None)
            self._next_row.pop(face_id, None)

    def clear(self) -> None:
        self._buffers.clear()
        self._next_row.clear()
