"""Evaluation and challenge submissions for one bundle or the fusion of several.

Each bundle's heads run on the cached outputs of its own per-frame model (prior or learned
heads alike, through the same `Heads` code the app uses). Fusion is the paper's: the unweighted
mean of the models' expression probabilities and of their valence/arousal outputs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.inference.heads import Heads, heads_runner
from affect_live.train.affwild2 import AffWild2, DatasetError
from affect_live.train.cache import FeatureCache
from affect_live.train.metrics import expression_score, va_score
from affect_live.train.submission import fill_expression, fill_va, write_expression_file, write_va_file
from affect_live.train.windows import CachedRows, load_labelled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Predictions:
    expression: np.ndarray  # (N, 7)
    valence: np.ndarray  # (N,)
    arousal: np.ndarray  # (N,)


class BundleRunner:
    """One bundle's heads over cached per-frame outputs."""

    def __init__(self, bundle: LoadedBundle, cache_root: Path, window: int | None = None, cache: FeatureCache | None = None) -> None:
        """`cache`: the cache of this bundle's per-frame model when the caller has it already
        (heads trained on one base share it), which spares loading the Keras model to find it."""
        self.bundle = bundle
        needs_actions = bundle.manifest.needs_actions  # heads --with-actions: their cache comes too
        if cache is None or (needs_actions and cache.actions is None):
            cache = FeatureCache(cache_root, bundle, actions=needs_actions)
        self.cache = cache
        self.window = bundle.manifest.effective_window(window)
        self.heads = Heads(bundle.manifest, heads_runner(bundle, threads=os.cpu_count() or 1))

    def predict(self, cached: CachedRows, rows: np.ndarray) -> Predictions:
        sequences = cached.sequences(rows, self.window) if self.heads.temporal != "none" else None
        va_mean = cached.va_means(rows, self.window)
        actions = cached.action_stats(rows, self.window) if self.heads.needs_actions else None
        out = self.heads(cached.window_stats(rows, self.window), cached.features[rows], cached.probabilities[rows], sequences, va_mean, actions)
        return Predictions(out.expression, out.valence, out.arousal)


def fused(runners: Sequence[BundleRunner], load: Any) -> Predictions:
    """Mean of the runners' predictions; `load(runner)` gives (cached rows, rows) for that runner."""
    parts = [runner.predict(*load(runner)) for runner in runners]
    return Predictions(
        expression=np.mean([p.expression for p in parts], axis=0),
        valence=np.mean([p.valence for p in parts], axis=0),
        arousal=np.mean([p.arousal for p in parts], axis=0),
    )


def evaluate(dataset: AffWild2, runners: Sequence[BundleRunner], split: str, quiet: bool = False) -> dict[str, Any]:
    """Expression metrics on the EXPR set and VA metrics on the VA set of `split` (extracting the
    per-frame outputs that a model's cache still lacks)."""
    expr_videos = dataset.labelled("EXPR", split)
    va_videos = dataset.labelled("VA", split)
    needed = sorted({v.video for v in [*expr_videos, *va_videos]})
    for runner in runners:
        runner.cache.extract(dataset, needed, quiet=quiet)
    results: dict[str, Any] = {
        "split": split,
        "models": [r.bundle.manifest.name for r in runners],
        "fusion": len(runners) > 1,
        "window": runners[0].window,
        "prior_heads": sorted({h for r in runners for h in r.bundle.manifest.prior_heads}),
    }
    if expr_videos:
        p = fused(runners, lambda r: _rows(r, expr_videos))
        truth = np.concatenate([v.expression for v in expr_videos])
        results["expression"] = expression_score(truth, p.expression.argmax(axis=1)) | {"frames": len(truth), "videos": len(expr_videos)}
    if va_videos:
        p = fused(runners, lambda r: _rows(r, va_videos))
        valence = np.concatenate([v.valence for v in va_videos])
        arousal = np.concatenate([v.arousal for v in va_videos])
        results["va"] = va_score(valence, p.valence, arousal, p.arousal) | {"frames": len(valence), "videos": len(va_videos)}
    if "expression" not in results and "va" not in results:
        raise DatasetError(f"no labelled videos in {split} of {dataset.root}")
    return results


def _rows(runner: BundleRunner, videos: Sequence[Any]) -> tuple[CachedRows, np.ndarray]:
    cached, samples = load_labelled(runner.cache, videos)
    return cached, samples.rows


def write_submission(dataset: AffWild2, runners: Sequence[BundleRunner], videos: Sequence[str], out: Path, quiet: bool = False) -> dict[str, int]:
    """`out/EXPR/<video>.txt` and `out/VA/<video>.txt` for each video, every frame filled by the
    challenge's rules. Videos without any face image are reported and skipped."""
    (out / "EXPR").mkdir(parents=True, exist_ok=True)
    (out / "VA").mkdir(parents=True, exist_ok=True)
    written, skipped = 0, []
    for video in tqdm(videos, unit="video", desc="predict", disable=quiet):
        loaded = {id(r): r.cache.load(video) for r in runners}
        frames = next(iter(loaded.values())).frames
        if len(frames) == 0:
            skipped.append(video)
            continue
        p = fused(runners, lambda r: (CachedRows.from_outputs([loaded[id(r)]]), np.arange(len(frames))))
        n_frames = dataset.frame_counts(video) or int(frames[-1])
        keep = frames <= n_frames
        write_expression_file(out / "EXPR" / f"{video}.txt", fill_expression(n_frames, frames[keep], p.expression[keep].argmax(axis=1)))
        values = np.stack([p.valence[keep], p.arousal[keep]], axis=1)
        write_va_file(out / "VA" / f"{video}.txt", fill_va(n_frames, frames[keep], values))
        written += 1
    if skipped:
        log.warning("no face image at all, no file written: %s", ", ".join(skipped))
    return {"videos": written, "skipped": len(skipped)}
