"""`reproduce`: the paper's results table from one command (docs/model-spec.md, "Reported results").

Extracts what the feature cache lacks, trains each variant's heads (`runs.train_bundle`, as
`train` does), evaluates each bundle on the validation split with `evaluate`, and the fusion of
the three STAT models with the same call as `evaluate --weights a b c`. Next to each bundle,
`<variant>.settings.json` records a fingerprint of everything its training depends on (the
settings, the base bundle, the training data and labels): a re-run keeps a bundle whose
fingerprint and file are unchanged instead of training it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.errors import BundleError
from affect_live.model.bundle.reading import BUNDLE_SUFFIX, LoadedBundle, load_bundle
from affect_live.train.affwild2 import AffWild2
from affect_live.train.cache import FeatureCache
from affect_live.train.evaluate import BundleRunner, evaluate
from affect_live.train.heads_training import TrainSettings
from affect_live.train.paper_table import ResultsTable, TableRow
from affect_live.train.runs import VALIDATION_SPLIT, TrainingData, TrainingVideos, load_training_data, train_bundle

log = logging.getLogger(__name__)

SETTINGS_SUFFIX = ".settings.json"


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    changes: dict[str, Any]  # the TrainSettings fields that set it apart from the shared settings


VARIANTS = (
    Variant("image", "heads on the current frame's features and probabilities only, no window statistics", {"heads_input": "current_frame"}),
    Variant("frame_t8", "STAT heads, T = 8", {"window": 8}),
    Variant("frame_t16", "STAT heads, T = 16", {"window": 16}),
    Variant("frame_t32", "STAT heads, T = 32", {"window": 32}),
)
LSTM = Variant("lstm", "STAT heads with a 2-layer BiLSTM over the window, T = 16", {"window": 16, "lstm": True})
FUSION = ("frame_t8", "frame_t16", "frame_t32")
FUSION_DESCRIPTION = "the unweighted mean of the outputs of frame_t8, frame_t16 and frame_t32 (as `evaluate --weights` with the three)"
VARIED = ("window", "lstm", "heads_input")  # shown per variant, not among the shared settings


@dataclass(frozen=True)
class VariantRun:
    variant: Variant
    bundle: LoadedBundle
    fingerprint: str
    trained_now: bool


def settings_fingerprint(settings: TrainSettings, base: LoadedBundle, videos: TrainingVideos) -> str:
    """16 hex digits over the settings, the base bundle and the training data with its labels."""
    fields = dataclasses.asdict(settings)
    if not settings.with_actions:  # a later field: runs made before it keep their fingerprint
        del fields["with_actions"]
    digest = hashlib.sha256(json.dumps({"settings": fields, "base_bundle": base.sha256}, sort_keys=True).encode())
    for video in videos.train + videos.validation:
        digest.update(video.video.encode())
        for values in (video.frames, video.expression, video.valence, video.arousal):
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()[:16]


class Reproduction:
    """The variants' bundles in `out`: kept from an earlier run or trained now."""

    def __init__(
        self, dataset: AffWild2, cache: FeatureCache, base: LoadedBundle, settings: TrainSettings, out: Path,
        notify: Callable[[str], None] = log.info, verbose: int = 0,
    ) -> None:  # fmt: skip
        self.dataset, self.cache, self.base, self.settings, self.out = dataset, cache, base, settings, Path(out)
        self.videos = TrainingVideos.of(dataset)
        self.notify, self.verbose = notify, verbose

    @cached_property
    def data(self) -> TrainingData:
        """Loaded on the first training only: a run that keeps every bundle never reads it."""
        return load_training_data(self.cache, self.videos)

    def extract(self, quiet: bool = False) -> None:
        """The per-frame outputs of every video training and evaluation need, where missing."""
        needed = {*self.videos.names, *self.dataset.videos("EXPR", VALIDATION_SPLIT), *self.dataset.videos("VA", VALIDATION_SPLIT)}
        self.cache.extract(self.dataset, sorted(needed), quiet=quiet)

    def run(self, variant: Variant) -> VariantRun:
        settings = dataclasses.replace(self.settings, **variant.changes)
        fingerprint = settings_fingerprint(settings, self.base, self.videos)
        path = self.out / f"{variant.name}{BUNDLE_SUFFIX}"
        kept = self._kept(variant, path, fingerprint)
        if kept is not None:
            self.notify(f"{variant.name}: kept {path} (trained earlier with the same settings, fingerprint {fingerprint})")
            return VariantRun(variant, kept, fingerprint, trained_now=False)
        self.notify(f"{variant.name}: training ({variant.description}, {settings.epochs} epochs)")
        train_bundle(path, self.base, self.data, settings, f"paper-{variant.name}", self.verbose)
        bundle = load_bundle(path)  # read back exactly as `analyze` and the app will
        record = {
            "variant": variant.name,
            "description": variant.description,
            "fingerprint": fingerprint,
            "bundle": path.name,
            "bundle_sha256": bundle.sha256,
            "settings": dataclasses.asdict(settings),
            "base_bundle": {"name": self.base.manifest.name, "sha256": self.base.sha256},
            "data": self.videos.counts,
        }
        _write_json(self._sidecar(path), record)
        self.notify(f"{variant.name}: trained -> {path} (best epoch {bundle.manifest.metrics['best_epoch']})")
        return VariantRun(variant, bundle, fingerprint, trained_now=True)

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(path.stem + SETTINGS_SUFFIX)

    def _kept(self, variant: Variant, path: Path, fingerprint: str) -> LoadedBundle | None:
        """The bundle of an earlier run with the same fingerprint, still as it was written."""
        try:
            record = json.loads(self._sidecar(path).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("fingerprint") != fingerprint:
            self.notify(f"{variant.name}: settings or data changed since the last run, training again")
            return None
        try:
            bundle = load_bundle(path)
        except BundleError as exc:
            self.notify(f"{variant.name}: {exc}; training again")
            return None
        if bundle.sha256 != record.get("bundle_sha256"):
            self.notify(f"{variant.name}: {path} changed since it was trained, training again")
            return None
        return bundle


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def reproduce(
    dataset: AffWild2, cache_root: Path, base: LoadedBundle, settings: TrainSettings, out: Path, *,
    quick: bool = False, with_lstm: bool = False, quiet: bool = False, notify: Callable[[str], None] = log.info,
) -> ResultsTable:  # fmt: skip
    """Every variant trained (or kept) in `out` and evaluated on the validation split; the table
    is returned, not written (`paper_table.write_table`)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    cache = FeatureCache(cache_root, base)
    reproduction = Reproduction(dataset, cache, base, settings, out, notify, verbose=0 if quiet else 1)
    reproduction.extract(quiet)
    variants = VARIANTS + ((LSTM,) if with_lstm else ())
    runs = [reproduction.run(variant) for variant in variants]
    rows, runners = [], {}
    for run in runs:
        # Every bundle here has the base's per-frame model (the fingerprint covers the base), hence its cache.
        runner = runners[run.variant.name] = BundleRunner(run.bundle, cache_root, cache=cache)
        results = evaluate(dataset, [runner], VALIDATION_SPLIT, quiet=quiet)
        rows.append(TableRow.measured(
            run.variant.name, run.variant.description, results, (run.bundle.path.name,), trained_now=run.trained_now,
            settings_fingerprint=run.fingerprint, best_epoch=run.bundle.manifest.metrics["best_epoch"],
        ))  # fmt: skip
    members = [runners[name] for name in FUSION]
    fusion = evaluate(dataset, members, VALIDATION_SPLIT, quiet=quiet)
    rows.append(TableRow.measured("fusion", FUSION_DESCRIPTION, fusion, tuple(r.bundle.path.name for r in members)))
    counts = {
        "expression_frames": fusion["expression"]["frames"],
        "expression_videos": fusion["expression"]["videos"],
        "va_frames": fusion["va"]["frames"],
        "va_videos": fusion["va"]["videos"],
    }
    shared = {name: value for name, value in dataclasses.asdict(settings).items() if name not in VARIED}
    return ResultsTable(
        rows=tuple(rows),
        quick=quick,
        split=VALIDATION_SPLIT,
        base_model={"name": base.manifest.name, "sha256": base.sha256, "description": base.manifest.frame_model},
        settings=shared,
        variant_settings={v.name: dict(v.changes) for v in variants},
        seeds={v.name: settings.seed for v in variants},
        data=reproduction.videos.counts | counts,
    )
