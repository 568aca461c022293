"""One training run of the heads: the multi-task frames of Aff-Wild2 loaded once from the feature
cache, heads trained on them and written as a bundle. `train` makes one run, `reproduce` one
per variant of the paper over the same loaded data."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from affect_live.model.bundle.manifest import Manifest
from affect_live.model.bundle.reading import LoadedBundle
from affect_live.train.affwild2 import AffWild2, DatasetError, LabelledVideo
from affect_live.train.cache import FeatureCache
from affect_live.train.export import export_bundle
from affect_live.train.heads_training import TrainSettings, train_heads
from affect_live.train.windows import CachedRows, LabelledRows, load_labelled

log = logging.getLogger(__name__)

TRAIN_SPLIT, VALIDATION_SPLIT = "Training_Set", "Validation_Set"


@dataclass(frozen=True)
class TrainingVideos:
    """The multi-task (EXPR and VA) videos heads are trained and validated on."""

    train: list[LabelledVideo]
    validation: list[LabelledVideo]

    @classmethod
    def of(cls, dataset: AffWild2) -> TrainingVideos:
        videos = cls(dataset.labelled("MTL", TRAIN_SPLIT), dataset.labelled("MTL", VALIDATION_SPLIT))
        if not videos.train or not videos.validation:
            raise DatasetError("training needs multi-task (EXPR and VA) videos in both Training_Set and Validation_Set")
        return videos

    @property
    def names(self) -> list[str]:
        return [v.video for v in self.train + self.validation]

    @property
    def counts(self) -> dict[str, int]:
        """What the manifest and the results table record about the training data."""
        return {
            "train_frames": int(sum(len(v.frames) for v in self.train)),
            "train_videos": len(self.train),
            "validation_frames": int(sum(len(v.frames) for v in self.validation)),
            "validation_videos": len(self.validation),
        }


@dataclass(frozen=True)
class TrainingData:
    """The cached per-frame outputs of the training videos with their labels, ready for `train_heads`."""

    videos: TrainingVideos
    train: tuple[CachedRows, LabelledRows]
    validation: tuple[CachedRows, LabelledRows]


def load_training_data(cache: FeatureCache, videos: TrainingVideos) -> TrainingData:
    """Reads the cache only: extract the videos' frames first (`FeatureCache.extract`)."""
    return TrainingData(videos, load_labelled(cache, videos.train), load_labelled(cache, videos.validation))


@dataclass(frozen=True)
class TrainedBundle:
    path: Path
    manifest: Manifest
    windows_per_s: float


def train_bundle(path: Path, base: LoadedBundle, data: TrainingData, settings: TrainSettings, name: str, verbose: int = 1) -> TrainedBundle:
    """Train heads on `data` with `settings` and write them with the base bundle's per-frame
    model to `path` (atomically)."""
    outcome = train_heads(data.train, data.validation, settings, verbose=verbose)
    counts = data.videos.counts | {"windows_per_s": round(outcome.windows_per_s, 1)}
    manifest = export_bundle(path, base, outcome.heads_model, outcome, settings, counts, name)
    log.info("wrote %s (best epoch %d)", path, manifest.metrics["best_epoch"])
    return TrainedBundle(path, manifest, outcome.windows_per_s)
