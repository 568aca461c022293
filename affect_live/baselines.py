"""A person's neutral baseline and the correction it gives, one implementation for the CSV,
the LSL stream and the app's plots.

How a value is corrected (docs/study.md): for each of CORRECTED_MEASURES, the baseline is the
person's mean and sample standard deviation (ddof=1) over the baseline's frames;
``delta_<m> = value - mean`` and ``z_<m> = delta / sd``. A measure gets no delta when fewer than
MIN_FRAMES baseline frames have it, and no z when its spread is under Z_MIN_SD (a measure that
did not move at rest would turn noise into huge z-scores). Missing is NaN here and an empty cell
in the CSV, never 0: a person without a baseline is not "at baseline".
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from affect_live.measures import CORRECTED_MEASURES

MIN_FRAMES = 10  # baseline frames a measure needs for a mean
Z_MIN_SD = 0.01  # in the measure's own unit (valence/arousal in [-1, 1], scores in [0, 1])
_M = len(CORRECTED_MEASURES)


@dataclass(frozen=True)
class Baseline:
    """One person's baseline: per measure mean and sd (NaN where unusable), how it was taken."""

    face_id: int
    mean: np.ndarray  # CORRECTED_MEASURES order
    sd: np.ndarray  # NaN where the z-score is not given
    frames: int  # baseline frames of this person
    how: str  # e.g. "first 10 s of the recording (0.00-10.00 s)"
    start_s: float | None = None
    end_s: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # e.g. the calibration recording and match

    def correct(self, values: np.ndarray) -> np.ndarray:
        """Rows x M values (or one row) -> rows x 2M: the deltas, then the z-scores."""
        delta = np.asarray(values, dtype=float) - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            z = delta / self.sd
        return np.concatenate((delta, z), axis=-1)

    def to_json(self) -> dict[str, Any]:
        def numbers(array: np.ndarray) -> dict[str, float | None]:
            return {m: (round(float(v), 6) if np.isfinite(v) else None) for m, v in zip(CORRECTED_MEASURES, array, strict=True)}

        return {
            "face_id": self.face_id, "how": self.how, "frames": self.frames, "start_s": self.start_s,
            "end_s": self.end_s, **self.details, "mean": numbers(self.mean), "sd": numbers(self.sd),
        }  # fmt: skip


def no_correction(rows: int = 1) -> np.ndarray:
    """What a face without a baseline gets: rows x 2M NaN."""
    return np.full((rows, 2 * _M), np.nan)


def compute_baseline(face_id: int, values: np.ndarray, how: str, start_s: float | None = None,
                     end_s: float | None = None, details: dict[str, Any] | None = None) -> Baseline | None:
    """The baseline of one person's rows x M values (CORRECTED_MEASURES order); None when no
    measure has MIN_FRAMES frames."""
    values = np.asarray(values, dtype=float).reshape(-1, _M)
    counts = np.isfinite(values).sum(axis=0)
    if not (counts >= MIN_FRAMES).any():
        return None
    usable = counts >= MIN_FRAMES
    with warnings.catch_warnings():  # all-NaN columns: their result is masked out anyway
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.where(usable, np.nanmean(values, axis=0), np.nan)
        sd = np.where(usable, np.nanstd(values, axis=0, ddof=1), np.nan)
    sd = np.where(sd >= Z_MIN_SD, sd, np.nan)
    return Baseline(face_id, mean, sd, len(values), how, start_s, end_s, dict(details or {}))


class LiveBaselines:
    """The baselines of a running session, by face id; thread-safe (the app's calibration sets
    one on the session thread while the outputs thread corrects rows)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_face: dict[int, Baseline] = {}

    def set(self, baseline: Baseline) -> None:
        with self._lock:
            self._by_face[baseline.face_id] = baseline

    def get(self, face_id: int) -> Baseline | None:
        with self._lock:
            return self._by_face.get(face_id)

    def clear(self) -> None:
        """Forget every baseline (a new source: its face ids start again)."""
        with self._lock:
            self._by_face.clear()

    def all(self) -> list[Baseline]:
        with self._lock:
            return sorted(self._by_face.values(), key=lambda b: b.face_id)

    def correct(self, face_id: int, values: np.ndarray) -> np.ndarray:
        """One face's 2M corrected values; NaN when the face has no baseline (yet)."""
        baseline = self.get(face_id)
        return no_correction()[0] if baseline is None else baseline.correct(values)


class BaselineRecorder:
    """Collects one face's values over an interval, for a baseline taken live (the app's
    Calibrate, `analyze --baseline first:10s` on a stream): feed every row, then `finish`."""

    def __init__(self, face_id: int, start_s: float, duration_s: float, how: str) -> None:
        self.face_id, self.start_s, self.end_s, self.how = face_id, start_s, start_s + duration_s, how
        self._rows: list[np.ndarray] = []

    def add(self, face_id: int, time_s: float, values: np.ndarray) -> None:
        if face_id == self.face_id and self.start_s <= time_s <= self.end_s:
            self._rows.append(np.asarray(values, dtype=float))

    @property
    def frames(self) -> int:
        return len(self._rows)

    def done(self, time_s: float) -> bool:
        return time_s > self.end_s

    def finish(self) -> Baseline | None:
        return compute_baseline(self.face_id, np.array(self._rows).reshape(-1, _M), self.how, self.start_s, self.end_s)
