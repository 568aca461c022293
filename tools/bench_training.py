"""Throughput of the Aff-Wild2 toolkit on this machine: feature extraction (frames/s) and head
training (windows/s), and the time per epoch that implies for Aff-Wild2's multi-task training
set (about 720k frames).

    python tools/bench_training.py [--windows 100000] [--epochs 2] [--lstm]

Uses the miniature data set of the tests (real face crops in the Aff-Wild2 layout) for
extraction, and its cached outputs tiled to `--windows` samples for training, with the paper's
head sizes (1024 units) and batch 256.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the miniature data set generator lives with the tests

from affect_live.backends.native_logs import quiet_native_logs  # noqa: E402

quiet_native_logs()

AFFWILD2_MTL_TRAIN_FRAMES = 720_000


def main() -> int:
    import numpy as np
    from affwild2_mini import make_mini_affwild2

    from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
    from affect_live.train.affwild2 import AffWild2
    from affect_live.train.cache import FeatureCache
    from affect_live.train.heads_training import TrainSettings, train_heads
    from affect_live.train.windows import LabelledRows, load_labelled

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=100_000, help="training samples per epoch")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lstm", action="store_true", help="the 'with LSTM' variant (2 x BiLSTM, 1024 units each way)")
    args = parser.parse_args()

    bundle = load_bundle(DEFAULT_BUNDLE)
    with tempfile.TemporaryDirectory(prefix="affect-live-bench-train-") as tmp:
        mini = make_mini_affwild2(Path(tmp) / "affwild2")
        dataset = AffWild2(mini.root)
        cache = FeatureCache(Path(tmp) / "cache", bundle)
        done = cache.extract(dataset, quiet=True)
        extract_fps = done["frames_per_s"]

        train = load_labelled(cache, dataset.labelled("MTL", "Training_Set"))
        validation = load_labelled(cache, dataset.labelled("MTL", "Validation_Set"))
        cached, samples = train
        tile = np.resize(np.arange(len(samples.rows)), args.windows)  # the real rows, repeated
        big = LabelledRows(samples.rows[tile], samples.expression[tile], samples.valence[tile], samples.arousal[tile], samples.video_of_sample[tile])
        outcome = train_heads((cached, big), validation, TrainSettings(epochs=args.epochs, patience=args.epochs, lstm=args.lstm), verbose=0)

    epoch_s = AFFWILD2_MTL_TRAIN_FRAMES / outcome.windows_per_s
    report = {
        "extract_frames": done["frames"],
        "extract_frames_per_s": round(extract_fps, 1),
        "train_windows_per_epoch": args.windows,
        "train_windows_per_s": round(outcome.windows_per_s, 1),
        "affwild2_epoch_minutes_estimate": round(epoch_s / 60, 1),
        "feature_dim": bundle.manifest.feature_dim,
        "lstm": args.lstm,
    }
    print(
        f"extraction: {extract_fps:.0f} frames/s ({done['frames']} frames); head training: {outcome.windows_per_s:.0f} windows/s "
        f"-> one epoch over Aff-Wild2's ~720k multi-task training frames takes about {epoch_s / 60:.1f} min"
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
