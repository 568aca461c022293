"""Recent predictions per face, for live plots: written by the session thread, read by the UI.

Only a bounded time span is kept (memory stays flat over hours); readers get numpy copies, so
the lock is held for microseconds. A face that is missing from some frames keeps its history
for the whole span, so when its id comes back (the tracker's grace or re-identification) the
plots continue; after an absence longer than GAP_S (affect_live/gaps.py, the rule the report
follows too) a row of NaN marks the gap, so no line is drawn across it (shorter misses, inside
the tracker's grace, are bridged as before).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

from affect_live.gaps import is_gap
from affect_live.types import FaceActions, FacePrediction, FrameResult

_NO_POSE = (float("nan"),) * 5
_GAP = (float("nan"),) * 7


@dataclass(frozen=True)
class FaceSeries:
    """One face's recent values; `t` in the source's seconds, oldest first."""

    face_id: int
    t: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    probabilities: np.ndarray  # the newest 7 probabilities
    pose: np.ndarray | None = None  # N x 5: yaw, pitch, roll, gaze_yaw, gaze_pitch (NaN: not measured)
    actions: FaceActions | None = None  # the newest frame's actions (None: not measured)


def _row(t: float, p: FacePrediction) -> tuple[float, ...]:
    a = p.actions
    pose = _NO_POSE if a is None else (a.yaw, a.pitch, a.roll, a.gaze_yaw, a.gaze_pitch)
    return (t, p.valence, p.arousal, *pose)


class FaceHistory:
    def __init__(self, span_s: float = 30.0, max_points: int = 4096) -> None:
        self.span_s = span_s
        self._max_points = max_points  # a cap even for sources with odd timestamps
        self._lock = threading.Lock()
        self._points: dict[int, deque[tuple[float, ...]]] = {}
        self._latest: dict[int, FacePrediction] = {}
        self._last_seen: dict[int, float] = {}
        self._now: float | None = None

    def add(self, result: FrameResult) -> None:
        with self._lock:
            previous, self._now = self._now, result.time_s
            for p in result.predictions:
                points = self._points.setdefault(p.face_id, deque(maxlen=self._max_points))
                if points and previous is not None and is_gap(self._last_seen[p.face_id], result.time_s):
                    points.append((previous, *_GAP))  # away a while: break the lines
                points.append(_row(result.time_s, p))
                self._latest[p.face_id] = p
                self._last_seen[p.face_id] = result.time_s
            horizon = self._now - self.span_s
            for face_id in [f for f, seen in self._last_seen.items() if seen < horizon]:
                del self._points[face_id], self._latest[face_id], self._last_seen[face_id]
            for points in self._points.values():
                while points and points[0][0] < horizon:
                    points.popleft()

    def face_ids(self) -> list[int]:
        """Faces seen within the span, most recently seen first."""
        with self._lock:
            return sorted(self._last_seen, key=lambda f: (-self._last_seen[f], f))

    def absent_for(self, face_id: int) -> float | None:
        """Source seconds since the face was last in a result (0: in the newest); None: unknown."""
        with self._lock:
            seen = self._last_seen.get(face_id)
            return None if seen is None or self._now is None else self._now - seen

    def series(self, face_id: int) -> FaceSeries | None:
        with self._lock:
            points = self._points.get(face_id)
            if not points:
                return None
            data = np.array(points, dtype=np.float64)
            latest = self._latest[face_id]
        return FaceSeries(face_id, data[:, 0], data[:, 1], data[:, 2], latest.probabilities, data[:, 3:8], latest.actions)

    def clear(self) -> None:
        with self._lock:
            self._points.clear()
            self._latest.clear()
            self._last_seen.clear()
            self._now = None
