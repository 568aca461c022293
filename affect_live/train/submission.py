"""ABAW per-video prediction files (docs/model-spec.md, "Submission format").

Every video frame needs a line, but only frames with a detected face have a prediction. Frames
before the first prediction copy the first, frames after the last copy the last; in between,
expression is forward-filled and valence/arousal linearly interpolated.
Frame numbers are 1-based, as in the annotation files (line n after the header = frame n).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from affect_live.types import EXPRESSIONS

log = logging.getLogger(__name__)

EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
VA_HEADER = "valence,arousal"


def _check_frames(n_frames: int, frames: np.ndarray, k_values: int) -> np.ndarray:
    """Frame numbers as int64, strictly increasing, within 1..n_frames, one per value."""
    f = np.asarray(frames)
    if f.ndim != 1:
        raise ValueError(f"frames must be 1-D, got shape {f.shape}")
    if f.size != k_values:
        raise ValueError(f"{f.size} frame numbers but {k_values} predictions")
    if f.size == 0:
        raise ValueError("no predictions for this video (0 frames): cannot fill a submission file")
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    if not np.issubdtype(f.dtype, np.integer) and not np.all(np.mod(f, 1) == 0):
        raise ValueError("frame numbers must be integers")
    f = f.astype(np.int64)
    if np.any(np.diff(f) <= 0):
        raise ValueError("frame numbers must be strictly increasing (sorted, no duplicates)")
    if f[0] < 1 or f[-1] > n_frames:
        raise ValueError(f"frame numbers must lie in 1..{n_frames}, got {f[0]}..{f[-1]}")
    return f


def _check_expr_labels(labels: np.ndarray) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise ValueError(f"expression labels must be 1-D, got shape {lab.shape}")
    if not np.issubdtype(lab.dtype, np.integer) and not np.all(np.mod(lab, 1) == 0):
        raise ValueError("expression labels must be integers")
    lab = lab.astype(np.int64)
    if lab.size and (lab.min() < 0 or lab.max() >= len(EXPRESSIONS)):
        raise ValueError(f"expression labels must be 0..{len(EXPRESSIONS) - 1}")
    return lab


def _check_va(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        v = v.reshape(0, 2)  # an empty list is "no predictions", reported by _check_frames
    if v.ndim != 2 or v.shape[1] != 2:
        raise ValueError(f"VA values must have shape (k, 2) [valence, arousal], got {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError("VA values contain NaN or inf")
    return v


def fill_expression(n_frames: int, frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """One label per video frame: hold the last prediction, the first one before it starts."""
    lab = _check_expr_labels(labels)
    f = _check_frames(n_frames, frames, lab.size)
    # Index of the latest prediction at or before each frame; -1 (before the first) -> 0.
    idx = np.searchsorted(f, np.arange(1, n_frames + 1), side="right") - 1
    return lab[np.clip(idx, 0, f.size - 1)]


def fill_va(n_frames: int, frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n_frames, 2) valence/arousal: linear in gaps, constant beyond both ends, in [-1, 1].

    Predictions are clipped before interpolating, so a gap is filled between the values that
    will actually be written, not between out-of-range raw outputs.
    """
    v = _check_va(values)
    f = _check_frames(n_frames, frames, v.shape[0])
    v = np.clip(v, -1.0, 1.0)
    x = np.arange(1, n_frames + 1, dtype=np.float64)
    # np.interp holds the first / last value outside [f[0], f[-1]]: exactly the edge rule.
    out = np.stack([np.interp(x, f, v[:, j]) for j in range(2)], axis=1)
    return np.clip(out, -1.0, 1.0)


def _write_atomic(path: Path, lines: list[str]) -> None:
    """Write via a temporary file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    log.debug("wrote %s (%d lines)", path, len(lines))


def write_expression_file(path: Path, labels: np.ndarray) -> None:
    """Header, then one int 0-6 per video frame."""
    lab = _check_expr_labels(labels)
    _write_atomic(path, [EXPR_HEADER] + [str(int(v)) for v in lab])


def _fmt3(value: float) -> str:
    s = f"{value:.3f}"
    return "0.000" if s == "-0.000" else s  # tiny negatives would otherwise print "-0.000"


def write_va_file(path: Path, values: np.ndarray) -> None:
    """Header, then "v,a" per video frame, 3 decimals, clipped to [-1, 1]."""
    v = np.clip(_check_va(values), -1.0, 1.0)
    _write_atomic(path, [VA_HEADER] + [f"{_fmt3(a)},{_fmt3(b)}" for a, b in v])
