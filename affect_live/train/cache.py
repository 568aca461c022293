"""The feature cache: the per-frame model run once over every frame image of Aff-Wild2.

Layout: `CACHE/<fingerprint>/<video>.npz` (frames, features, probabilities, and valence_arousal
for a per-frame model that gives them) plus `cache.json`,
where the fingerprint identifies the per-frame model (its weights and input spec), so outputs of
different models never mix and a trained bundle (same per-frame model, new heads) finds the
cache its features came from. One file per video, written atomically: an interrupted run
resumes at the first video without a file. Training the heads never touches images again.
With `actions`, the facial actions (head pose, blendshapes) of the same frames come along from
their own cache (`action_cache.py`: they depend on the Face Landmarker, not on this model).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.inference.frame_model import FrameModel
from affect_live.train.action_cache import ActionCache, VideoActions
from affect_live.train.affwild2 import AffWild2, DatasetError, read_frame_image
from affect_live.train.npz_folder import NpzFolder, extract_counts

log = logging.getLogger(__name__)

BATCH = 64


def frame_model_fingerprint(bundle: LoadedBundle) -> str:
    """12 hex digits over the per-frame model's weights and input spec (not the heads); for a
    brought-in model, over its file and output mapping (it has no Keras model)."""
    manifest = bundle.manifest
    digest = hashlib.sha256(json.dumps(manifest.to_dict()["input"], sort_keys=True).encode())
    if manifest.outputs:
        digest.update(json.dumps(manifest.outputs, sort_keys=True).encode())
        digest.update(bundle.frame_onnx or bundle.frame_tflite)
        return digest.hexdigest()[:12]
    for array in bundle.frame_model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class VideoOutputs:
    """The per-frame model's outputs for one video's frame images, in frame order."""

    video: str
    frames: np.ndarray  # (n,) 1-based frame numbers
    features: np.ndarray  # (n, F) float32
    probabilities: np.ndarray  # (n, 7) float32, Aff-Wild2 order
    valence_arousal: np.ndarray | None = None  # (n, 2) float32: the per-frame model's own, if it gives them
    actions: VideoActions | None = None  # head pose and blendshapes of the same frames, when asked for


class FeatureCache(NpzFolder):
    def __init__(self, cache_root: Path, bundle: LoadedBundle, actions: bool = False) -> None:
        """`actions`: also extract and load the facial actions (heads --with-actions)."""
        self.fingerprint = frame_model_fingerprint(bundle)
        super().__init__(Path(cache_root) / self.fingerprint)
        self.bundle = bundle
        self.actions = ActionCache(cache_root) if actions else None

    def load(self, video: str) -> VideoOutputs:
        data = self.read(video, f"no cached outputs for {video} in {self.folder} (run `affect-live extract` with these weights first)")
        try:
            outputs = VideoOutputs(video, data["frames"], data["features"].astype(np.float32), data["probabilities"], data.get("valence_arousal"))
        except KeyError as exc:
            raise DatasetError(f"{self.path(video)} is damaged ({exc}); delete it and run extract again") from None
        if self.actions is None:
            return outputs
        actions = self.actions.load(video)
        if not np.array_equal(actions.frames, outputs.frames):
            raise DatasetError(f"{video}: the cached facial actions and outputs cover different frames (images changed?); delete {self.actions.path(video)}")
        return replace(outputs, actions=actions)

    def _save(self, outputs: VideoOutputs) -> None:
        # float16 features halve the cache (Aff-Wild2 has ~2.6M frames); probabilities stay float32.
        extra = {} if outputs.valence_arousal is None else {"valence_arousal": outputs.valence_arousal.astype(np.float32)}
        self.write(outputs.video, frames=outputs.frames, features=outputs.features.astype(np.float16), probabilities=outputs.probabilities, **extra)

    def _write_index(self) -> None:
        manifest = self.bundle.manifest
        index = {
            "fingerprint": self.fingerprint,
            "model": manifest.name,
            "bundle": str(self.bundle.path),
            "feature_dim": manifest.feature_dim,
            "per_frame_valence_arousal": bool(manifest.per_frame_heads),
            "input": manifest.to_dict()["input"],
        }
        (self.folder / "cache.json").write_text(json.dumps(index, indent=2))

    def extract(self, dataset: AffWild2, videos: Sequence[str] | None = None, quiet: bool = False) -> dict[str, Any]:
        """Run the per-frame model over the frame images of `videos` (default: all) that are not
        cached yet (and their facial actions, with `actions`). Returns counts: videos done now,
        skipped (cached), frames processed, and frames/s (reading and inference, without the
        one-off model conversion); with actions, also "actions" (the same counts for them)."""
        done = self._extract_outputs(dataset, videos, quiet)
        if self.actions is not None:
            done["actions"] = self.actions.extract(dataset, videos, quiet)
        return done

    def _extract_outputs(self, dataset: AffWild2, videos: Sequence[str] | None, quiet: bool) -> dict[str, Any]:
        wanted, todo = self.plan(dataset, videos)
        self._write_index()
        total = int(sum(len(f) for f in todo.values()))
        model = FrameModel(self.bundle, threads=os.cpu_count() or 1)
        size = (self.bundle.manifest.input.width, self.bundle.manifest.input.height)
        bar = tqdm(total=total, unit="frame", desc="extract", disable=quiet or total == 0, dynamic_ncols=True)
        started = time.perf_counter()  # after the one-off model conversion
        with ThreadPoolExecutor(max_workers=2) as readers:  # JPEG decoding overlaps inference
            for video, frames in todo.items():
                features, probabilities, va = [], [], []
                for batch in _batches(frames, BATCH):
                    crops = list(readers.map(lambda n: read_frame_image(dataset.image_path(video, int(n)), size), batch))
                    f, p, v = model.infer_all(crops)
                    features.append(f)
                    probabilities.append(p)
                    va += [v] if v is not None else []
                    bar.update(len(batch))
                dim = self.bundle.manifest.feature_dim
                self._save(
                    VideoOutputs(
                        video,
                        frames.astype(np.int64),
                        np.concatenate(features) if features else np.zeros((0, dim), np.float32),
                        np.concatenate(probabilities) if probabilities else np.zeros((0, 7), np.float32),
                        (np.concatenate(va) if va else np.zeros((0, 2), np.float32)) if model.has_va else None,
                    )
                )
        bar.close()
        return extract_counts(wanted, todo, time.perf_counter() - started)


def _batches(items: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
