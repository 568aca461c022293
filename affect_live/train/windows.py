"""Causal windows over cached per-frame outputs: the heads' inputs for any frame and any T.

The videos' rows are concatenated; for row k of a video starting at row s, the window is rows
max(s, k-T+1) .. k with the start padded by repeating row s: exactly what the app's ring buffer
does (frames without a face have no row, so they are skipped, not zero-filled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from affect_live.model.bundle.action_inputs import action_rows
from affect_live.model.bundle.manifest import join_heads_input
from affect_live.model.inference.window import window_stats
from affect_live.train.affwild2 import LabelledVideo
from affect_live.train.cache import FeatureCache, VideoOutputs

N_CLASSES = 7


@dataclass(frozen=True)
class CachedRows:
    """Several videos' cached outputs, concatenated."""

    videos: tuple[str, ...]
    probabilities: np.ndarray  # (N, 7)
    features: np.ndarray  # (N, F)
    frames: np.ndarray  # (N,) 1-based frame number of each row in its video
    start: np.ndarray  # (N,) first row of the row's video
    offsets: dict[str, int]  # first row of each video
    lengths: dict[str, int]  # rows of each video
    valence_arousal: np.ndarray | None = None  # (N, 2): the per-frame model's own, when it gives them
    actions: np.ndarray | None = None  # (N, 55): the facial actions as heads inputs (`action_rows`), when loaded

    @classmethod
    def from_outputs(cls, outputs: Sequence[VideoOutputs]) -> CachedRows:
        sizes = [len(o.frames) for o in outputs]
        firsts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64) if sizes else np.zeros(0, np.int64)
        feature_dim = outputs[0].features.shape[1] if outputs else 0
        return cls(
            videos=tuple(o.video for o in outputs),
            probabilities=np.concatenate([o.probabilities for o in outputs]) if outputs else np.zeros((0, N_CLASSES), np.float32),
            features=np.concatenate([o.features for o in outputs]) if outputs else np.zeros((0, feature_dim), np.float32),
            frames=np.concatenate([o.frames for o in outputs]) if outputs else np.zeros(0, np.int64),
            start=np.repeat(firsts, sizes),
            offsets={o.video: int(first) for o, first in zip(outputs, firsts)},
            lengths={o.video: n for o, n in zip(outputs, sizes)},
            valence_arousal=np.concatenate([o.valence_arousal for o in outputs]) if outputs and all(o.valence_arousal is not None for o in outputs) else None,
            actions=np.concatenate([action_rows(o.actions.pose, o.actions.blendshapes) for o in outputs])
            if outputs and all(o.actions is not None for o in outputs)
            else None,
        )

    def rows_of(self, video: str, frames: np.ndarray) -> np.ndarray:
        """Rows of the given frames of a video (each must have a cached image row)."""
        first = self.offsets[video]
        video_frames = self.frames[first : first + self.lengths[video]]
        position = np.searchsorted(video_frames, frames)
        if np.any(position >= len(video_frames)) or np.any(video_frames[np.minimum(position, len(video_frames) - 1)] != frames):
            raise ValueError(f"{video}: some labelled frames have no cached output (cache older than the images?)")
        return first + position

    def window_rows(self, rows: np.ndarray, window: int) -> np.ndarray:
        """(B, T) row indices, oldest first, start-padded with the video's first row."""
        steps = np.arange(window - 1, -1, -1)
        return np.maximum(rows[:, None] - steps[None, :], self.start[rows][:, None])

    def window_stats(self, rows: np.ndarray, window: int) -> np.ndarray:
        """[max, min, mean] of the window's probabilities: (B, 21)."""
        return window_stats(self.probabilities[self.window_rows(rows, window)])

    def action_stats(self, rows: np.ndarray, window: int) -> np.ndarray | None:
        """[max, min, mean] of the window's facial actions, (B, 165), as the live engine's ring
        buffers give them; None when the actions were not loaded."""
        if self.actions is None:
            return None
        return window_stats(self.actions[self.window_rows(rows, window)])

    def va_means(self, rows: np.ndarray, window: int) -> np.ndarray | None:
        """The window mean of the per-frame valence/arousal, (B, 2), as the app's "per_frame"
        heads take it; None when the per-frame model gives none."""
        if self.valence_arousal is None:
            return None
        return self.valence_arousal[self.window_rows(rows, window)].mean(axis=1)

    def heads_inputs(self, rows: np.ndarray, window: int, heads_input: str = "window_stats", with_actions: bool = False) -> np.ndarray:
        """The heads' flat input (`join_heads_input`): [max, min, mean of the window's
        probabilities, features, probabilities], (B, 28 + F), then with_actions the window's
        action statistics (B, 28 + F + 165); without the window statistics, (B, F + 7), for
        "current_frame" heads."""
        stats = self.window_stats(rows, window) if heads_input == "window_stats" else None
        extra = ()
        if with_actions:
            actions = self.action_stats(rows, window)
            if actions is None:
                raise ValueError("these rows were loaded without their facial actions")
            extra = (actions,)
        return join_heads_input(heads_input, stats, self.features[rows], self.probabilities[rows], extra)

    def sequences(self, rows: np.ndarray, window: int) -> np.ndarray:
        """The window's probabilities in time order, (B, T, 7), for a temporal module."""
        return self.probabilities[self.window_rows(rows, window)].astype(np.float32)


@dataclass(frozen=True)
class LabelledRows:
    """Training or evaluation samples: rows of a CachedRows with their labels."""

    rows: np.ndarray
    expression: np.ndarray | None
    valence: np.ndarray | None
    arousal: np.ndarray | None
    video_of_sample: np.ndarray  # index into CachedRows.videos, for per-video grouping


def load_labelled(cache: FeatureCache, labelled: Sequence[LabelledVideo]) -> tuple[CachedRows, LabelledRows]:
    """Cached outputs of the videos and the rows of their labelled frames."""
    cached = CachedRows.from_outputs([cache.load(v.video) for v in labelled])
    rows = [cached.rows_of(v.video, v.frames) for v in labelled]

    def gather(name: str) -> np.ndarray | None:
        parts = [getattr(v, name) for v in labelled]
        return None if not parts or parts[0] is None else np.concatenate(parts)

    samples = LabelledRows(
        rows=np.concatenate(rows) if rows else np.zeros(0, np.int64),
        expression=gather("expression"),
        valence=gather("valence"),
        arousal=gather("arousal"),
        video_of_sample=np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)]) if rows else np.zeros(0, np.int64),
    )
    return cached, samples
