"""Stable face identities across frames (pure numpy, no model).

Each frame's detections are matched to the live tracks greedily: first by IoU against each
track's predicted box (highest IoU first), then, for what is left, by centre distance relative
to face size, which catches motion too fast for boxes to overlap. A track survives up to
``max_missed`` consecutive frames without a detection (a face briefly hidden keeps its id); a
face gone longer gets a new id, so its temporal window starts fresh. Ids start at 1 and are
never reused, not even after ``reset()``: frames still in flight in the inference worker may
carry old ids, and a reused id would mix two faces' windows. (Re-identification,
faces/identity.py, maps these track ids to the ids users see and may give a returning person
their old id back, but only after that id's track ended, with ``new_track`` set: see there.)
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from affect_live.types import Box, Detection

logger = logging.getLogger(__name__)

MAX_CENTRE_DISTANCE = 1.0  # fallback match: centre shift of at most one face size
MAX_SIZE_RATIO = 1.6  # ...and a face size within this factor of the track's
_VELOCITY_SMOOTHING = 0.5  # weight of the newest displacement in the velocity estimate


@dataclass
class _Track:
    face_id: int
    box: Box  # last detected box
    velocity: tuple[float, float] = (0.0, 0.0)  # centre pixels per frame
    missed: int = 0  # consecutive frames without a detection

    def predicted(self) -> Box:
        """Box expected in the next frame under constant velocity."""
        x, y, w, h = self.box
        steps = self.missed + 1
        return (x + self.velocity[0] * steps, y + self.velocity[1] * steps, w, h)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N x 4, x y w h) with every box in ``b`` (M x 4)."""
    ax0, ay0 = a[:, 0:1], a[:, 1:2]
    ax1, ay1 = ax0 + a[:, 2:3], ay0 + a[:, 3:4]
    bx0, by0 = b[:, 0], b[:, 1]
    bx1, by1 = bx0 + b[:, 2], by0 + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return inter / np.maximum(union, 1e-9)


def _greedy(score: np.ndarray, accept: np.ndarray, descending: bool) -> list[tuple[int, int]]:
    """Greedy one-to-one assignment over a score matrix, best pairs first."""
    rows, cols = np.nonzero(accept)
    if rows.size == 0:
        return []
    values = score[rows, cols]
    order = np.argsort(-values if descending else values, kind="stable")
    used_rows, used_cols, pairs = set(), set(), []
    for k in order:
        r, c = int(rows[k]), int(cols[k])
        if r not in used_rows and c not in used_cols:
            used_rows.add(r)
            used_cols.add(c)
            pairs.append((r, c))
    return pairs


class FaceTracker:
    """Assigns a stable id to each detection, frame after frame (one thread only)."""

    def __init__(self, max_missed: int = 10, min_iou: float = 0.3) -> None:
        if max_missed < 0:
            raise ValueError(f"max_missed must be >= 0, got {max_missed}")
        if not 0.0 < min_iou <= 1.0:
            raise ValueError(f"min_iou must be in (0, 1], got {min_iou}")
        self.max_missed = int(max_missed)
        self.min_iou = float(min_iou)
        self._tracks: list[_Track] = []
        self._next_id = 1

    @property
    def live_ids(self) -> tuple[int, ...]:
        """Ids of the tracks currently kept (seen, or missed for at most max_missed frames)."""
        return tuple(t.face_id for t in self._tracks)

    def update(
        self, detections: list[Detection]
    ) -> tuple[list[tuple[int, Detection, bool]], list[int]]:
        """Match one frame's detections to tracks.

        Returns ``(face_id, detection, is_new_track)`` per detection, in the given order, and
        the ids whose tracks ended in this frame (missed more than ``max_missed`` frames).
        """
        n_tracks, n_dets = len(self._tracks), len(detections)
        matches: dict[int, int] = {}  # detection index -> track index
        if n_tracks and n_dets:
            predicted = np.array([t.predicted() for t in self._tracks], dtype=np.float64)
            boxes = np.array([d.box for d in detections], dtype=np.float64).reshape(-1, 4)
            iou = iou_matrix(predicted, boxes)
            for t, d in _greedy(iou, iou >= self.min_iou, descending=True):
                matches[d] = t
            free_t = [t for t in range(n_tracks) if t not in matches.values()]
            free_d = [d for d in range(n_dets) if d not in matches]
            if free_t and free_d:
                for t, d in self._match_by_distance(predicted[free_t], boxes[free_d]):
                    matches[free_d[d]] = free_t[t]

        results: list[tuple[int, Detection, bool]] = []
        for d, detection in enumerate(detections):
            if d in matches:
                track = self._tracks[matches[d]]
                self._follow(track, detection.box)
                results.append((track.face_id, detection, False))
            else:
                track = _Track(self._next_id, tuple(map(float, detection.box)))  # type: ignore[arg-type]
                self._next_id += 1
                self._tracks.append(track)
                results.append((track.face_id, detection, True))
                logger.debug("new face id %d at %s", track.face_id, detection.box)

        matched = set(matches.values())
        ended: list[int] = []
        kept: list[_Track] = []
        for index, track in enumerate(self._tracks):
            if index < n_tracks and index not in matched:
                track.missed += 1
                if track.missed > self.max_missed:
                    ended.append(track.face_id)
                    logger.debug("face id %d ended", track.face_id)
                    continue
            kept.append(track)
        self._tracks = kept
        return results, ended

    def reset(self) -> list[int]:
        """End every track (returned, so buffers can be freed); ids keep counting up."""
        ended = [t.face_id for t in self._tracks]
        self._tracks = []
        return ended

    @staticmethod
    def _match_by_distance(tracks: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
        """Greedy match by centre distance / face size, for boxes that no longer overlap."""
        t_size = np.sqrt(tracks[:, 2] * tracks[:, 3])[:, None]
        d_size = np.sqrt(boxes[:, 2] * boxes[:, 3])[None, :]
        t_centre = tracks[:, :2] + tracks[:, 2:] / 2
        d_centre = boxes[:, :2] + boxes[:, 2:] / 2
        distance = np.linalg.norm(t_centre[:, None, :] - d_centre[None, :, :], axis=2)
        relative = distance / np.maximum(np.sqrt(t_size * d_size), 1e-9)
        ratio = np.maximum(t_size, d_size) / np.maximum(np.minimum(t_size, d_size), 1e-9)
        accept = (relative <= MAX_CENTRE_DISTANCE) & (ratio <= MAX_SIZE_RATIO)
        return _greedy(relative, accept, descending=False)

    @staticmethod
    def _follow(track: _Track, box: Box) -> None:
        """Move a matched track to its new box and update its velocity."""
        (ox, oy, ow, oh), (nx, ny, nw, nh) = track.box, box
        steps = track.missed + 1  # the displacement spans the missed frames too
        vx = ((nx + nw / 2) - (ox + ow / 2)) / steps
        vy = ((ny + nh / 2) - (oy + oh / 2)) / steps
        a = _VELOCITY_SMOOTHING
        track.velocity = (a * vx + (1 - a) * track.velocity[0], a * vy + (1 - a) * track.velocity[1])
        if not all(math.isfinite(v) for v in track.velocity):
            track.velocity = (0.0, 0.0)
        track.box = (float(nx), float(ny), float(nw), float(nh))
        track.missed = 0
