"""A folder of one `.npz` file per video, each written atomically (a temporary file, then a
rename), so that an interrupted run leaves only whole files and resumes at the first missing
one. The feature cache and the facial-action cache are both kept this way."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.train.affwild2 import AffWild2, DatasetError


class NpzFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, video: str) -> Path:
        return self.folder / f"{video}.npz"

    def has(self, video: str) -> bool:
        return self.path(video).is_file()

    def read(self, video: str, missing: str) -> dict[str, np.ndarray]:
        """Every array of the video's file; `missing`: the one line when there is none."""
        path = self.path(video)
        if not path.is_file():
            raise DatasetError(missing)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{path} is damaged ({exc}); delete it and run extract again") from None

    def write(self, video: str, **arrays: np.ndarray) -> None:
        tmp = self.path(video).with_suffix(".partial.npz")
        np.savez(tmp, **arrays)
        os.replace(tmp, self.path(video))

    def plan(self, dataset: AffWild2, videos: Sequence[str] | None) -> tuple[int, dict[str, np.ndarray]]:
        """(how many videos were asked for, {each one without a file: its frame numbers});
        `videos` None: every video with images. Creates the folder."""
        self.folder.mkdir(parents=True, exist_ok=True)
        wanted = list(videos) if videos is not None else dataset.image_videos()
        return len(wanted), {v: dataset.image_frames(v) for v in wanted if not self.has(v)}


def extract_counts(wanted: int, todo: dict[str, np.ndarray], seconds: float) -> dict[str, Any]:
    """What an extraction reports: videos done now, skipped (cached), frames, frames/s."""
    total = int(sum(len(f) for f in todo.values()))
    return {"videos": len(todo), "skipped": wanted - len(todo), "frames": total, "frames_per_s": total / seconds if total else 0.0}
