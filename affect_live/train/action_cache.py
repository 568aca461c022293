"""The facial-action cache: head pose and the 52 blendshapes of every Aff-Wild2 frame image,
measured once by the Face Landmarker (`extract`, and `train --with-actions` for what is missing).

Layout: `CACHE/actions-<fingerprint>/<video>.npz` (frames, pose: yaw/pitch/roll in degrees,
blendshapes, presence) plus `cache.json`. The actions do not depend on the per-frame model, so
they sit beside its caches, shared by every bundle; the fingerprint is over the Face Landmarker
files' pinned sha256 and the way a crop is measured (`faces/crop_actions.py`), so actions of
other landmarker files or another method never mix. One file per video, written atomically:
an interrupted run resumes at the first video without a file.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from affect_live.faces.model_files import check_model_files, landmarker_sha256
from affect_live.train.affwild2 import AffWild2, DatasetError, read_frame_image
from affect_live.train.npz_folder import NpzFolder, extract_counts
from affect_live.types import BLENDSHAPE_NAMES

METHOD = "crop as the face box, then the ROI from the mesh's landmarks (2 mesh passes)"


def actions_fingerprint() -> str:
    """12 hex digits over the Face Landmarker files and the crop method."""
    return hashlib.sha256(json.dumps({"files": landmarker_sha256(), "method": METHOD}, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class VideoActions:
    video: str
    frames: np.ndarray  # (n,) 1-based frame numbers
    pose: np.ndarray  # (n, 3) float32 yaw, pitch, roll in degrees
    blendshapes: np.ndarray  # (n, 52) float32 in [0, 1]
    presence: np.ndarray  # (n,) float32 the mesh's face-presence probability


class ActionCache(NpzFolder):
    def __init__(self, cache_root: Path) -> None:
        self.fingerprint = actions_fingerprint()
        super().__init__(Path(cache_root) / f"actions-{self.fingerprint}")

    def load(self, video: str) -> VideoActions:
        missing = f"no cached facial actions for {video} in {self.folder} (run `affect-live extract` without --no-actions)"
        data = self.read(video, missing)
        try:
            loaded = VideoActions(video, data["frames"], data["pose"], data["blendshapes"], data["presence"])
        except KeyError as exc:
            raise DatasetError(f"{self.path(video)} lacks {exc.args[0]!r}; delete it and run extract again") from None
        n = len(loaded.frames)
        if loaded.pose.shape != (n, 3) or loaded.blendshapes.shape != (n, len(BLENDSHAPE_NAMES)) or loaded.presence.shape != (n,):
            raise DatasetError(f"{self.path(video)} has arrays of the wrong shape; delete it and run extract again")
        return loaded

    def _save(self, actions: VideoActions) -> None:
        self.write(actions.video, frames=actions.frames, pose=actions.pose, blendshapes=actions.blendshapes, presence=actions.presence)

    def _write_index(self) -> None:
        index = {"fingerprint": self.fingerprint, "landmarker_sha256": landmarker_sha256(), "method": METHOD, "blendshapes": list(BLENDSHAPE_NAMES)}
        (self.folder / "cache.json").write_text(json.dumps(index, indent=2))

    def extract(self, dataset: AffWild2, videos: Sequence[str] | None = None, quiet: bool = False, workers: int = 2) -> dict[str, Any]:
        """Measure the frame images of `videos` (default: all) not cached yet, on `workers`
        threads (each with its own interpreters). Counts as `FeatureCache.extract`."""
        check_model_files()  # a bad shipped file is one line before any work
        wanted, todo = self.plan(dataset, videos)
        self._write_index()
        total = int(sum(len(f) for f in todo.values()))
        local = threading.local()

        def measure(path: Path) -> tuple[float, ...]:
            from affect_live.faces.crop_actions import (
                CropActions,  # the interpreters load lazily
            )

            if getattr(local, "actions", None) is None:
                local.actions = CropActions()  # made on the thread that uses it
            a = local.actions.measure(read_frame_image(path))
            return (a.yaw, a.pitch, a.roll, a.landmark_score, *a.blendshapes)

        bar = tqdm(total=total, unit="frame", desc="actions", disable=quiet or total == 0, dynamic_ncols=True)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="actions") as pool:
            for video, frames in todo.items():
                rows = []
                for row in pool.map(lambda n: measure(dataset.image_path(video, int(n))), frames):
                    rows.append(row)
                    bar.update(1)
                table = np.asarray(rows, np.float32).reshape(len(frames), 4 + len(BLENDSHAPE_NAMES))
                self._save(VideoActions(video, frames.astype(np.int64), table[:, :3], table[:, 4:], table[:, 3]))
        bar.close()
        return extract_counts(wanted, todo, time.perf_counter() - started)
