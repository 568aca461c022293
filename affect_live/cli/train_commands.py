"""The Aff-Wild2 commands: extract, train, evaluate, predict-set, finetune, reproduce."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from affect_live.cli.commands import load_weights
from affect_live.errors import EXIT_BAD_INPUT, EXIT_BAD_WEIGHTS, BundleError, UserError
from affect_live.extras import require_tensorflow
from affect_live.train.affwild2 import AffWild2, DatasetError

if TYPE_CHECKING:
    from affect_live.train.heads_training import TrainSettings

log = logging.getLogger(__name__)


def _dataset(args: argparse.Namespace) -> AffWild2:
    try:
        return AffWild2(args.affwild2)
    except DatasetError as exc:
        raise UserError(str(exc)) from None


def run_extract(args: argparse.Namespace) -> int:
    from affect_live.train.cache import FeatureCache

    dataset, bundle = _dataset(args), load_weights(args.weights)
    cache = FeatureCache(args.cache, bundle, actions=not args.no_actions)
    done = _guard(lambda: cache.extract(dataset, quiet=args.quiet))
    rate = done["frames_per_s"]
    print(f"extracted {done['frames']} frames of {done['videos']} videos ({done['skipped']} already cached) into {cache.folder}: {rate:.0f} frames/s")
    if "actions" in done:
        acts = done["actions"]
        print(f"facial actions of {acts['frames']} frames ({acts['skipped']} videos already cached) into {cache.actions.folder}: {acts['frames_per_s']:.0f} frames/s")
    return 0


def run_train(args: argparse.Namespace) -> int:
    require_tensorflow("train")  # before any work: training runs on TensorFlow
    from affect_live.train.cache import FeatureCache
    from affect_live.train.runs import TrainingVideos, load_training_data, train_bundle

    settings = training_settings(args, window=args.window, random_window=args.random_window, lstm=args.lstm,
                                 heads_input="current_frame" if args.no_stat else "window_stats", with_actions=args.with_actions)  # fmt: skip
    dataset, base = _dataset(args), load_weights(args.weights)
    cache = FeatureCache(args.cache, base, actions=args.with_actions)
    videos = _guard(lambda: TrainingVideos.of(dataset))
    _guard(lambda: cache.extract(dataset, videos.names, quiet=args.quiet))  # only what is missing
    data = _guard(lambda: load_training_data(cache, videos))
    done = _guard(lambda: train_bundle(args.out, base, data, settings, args.name or args.out.stem, verbose=0 if args.quiet else 1))
    m = done.manifest.metrics
    print(
        f"wrote {args.out}: best epoch {m['best_epoch']}, validation VA score {m['va_score']:.4f}, "
        f"ABAW expression score {m['abaw2020_expr_score']:.4f}; {done.windows_per_s:.0f} windows/s"
    )
    return 0


def training_settings(args: argparse.Namespace, **variant: Any) -> TrainSettings:
    """TrainSettings from the shared training options (`add_training_options`) and what sets a
    variant apart; an impossible combination is one error line."""
    from affect_live.train.heads_training import TrainSettings

    shared = dict(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, balance_classes=args.balance,
        auxiliary=not args.no_auxiliary, hidden=args.hidden, patience=args.patience, seed=args.seed, lstm_units=args.lstm_units,
    )  # fmt: skip
    try:
        return TrainSettings(**(shared | variant))
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run_reproduce(args: argparse.Namespace) -> int:
    require_tensorflow("reproduce")  # before any work: training runs on TensorFlow
    from affect_live.train.arguments import QUICK_EPOCHS
    from affect_live.train.paper_table import render_markdown, write_table
    from affect_live.train.reproduce import reproduce

    settings = training_settings(args, epochs=QUICK_EPOCHS) if args.quick else training_settings(args)
    if args.out.exists() and not args.out.is_dir():
        raise UserError(f"--out {args.out} is a file; reproduce writes a folder (bundles, their settings, table.md, table.json)")
    dataset, base = _dataset(args), load_weights(args.weights)
    table = _guard(lambda: reproduce(
        dataset, args.cache, base, settings, args.out, quick=args.quick, with_lstm=args.with_lstm, quiet=args.quiet, notify=print,
    ))  # fmt: skip
    markdown, data = _guard(lambda: write_table(table, args.out))
    print("\n" + render_markdown(table))
    trained = sum(1 for row in table.rows if row.trained_now)
    kept = sum(1 for row in table.rows if row.trained_now is False)
    print(f"wrote {markdown} and {data}: {trained} variant(s) trained, {kept} kept from an earlier run")
    return 0


def _runners(args: argparse.Namespace) -> list:
    from affect_live.train.evaluate import BundleRunner

    return [BundleRunner(load_weights(path), args.cache, getattr(args, "window", None)) for path in args.weights]


def run_evaluate(args: argparse.Namespace) -> int:
    from affect_live.train.evaluate import evaluate
    from affect_live.train.metrics import format_table

    dataset, runners = _dataset(args), _runners(args)
    results = _guard(lambda: evaluate(dataset, runners, args.split, quiet=args.quiet))
    results["model"] = " + ".join(results["models"]) + (" (fusion)" if results["fusion"] else "")
    print(format_table(results))
    out = args.json or (Path(args.cache) / f"evaluation-{args.split}.json")
    _guard(lambda: out.write_text(json.dumps(results, indent=2, default=float)))
    print(f"wrote {out}")
    return 0


def run_predict_set(args: argparse.Namespace) -> int:
    from affect_live.train.evaluate import write_submission

    dataset, runners = _dataset(args), _runners(args)
    if args.videos:
        try:
            videos = [line.strip() for line in args.videos.read_text().splitlines() if line.strip()]
        except OSError as exc:
            raise UserError(f"cannot read {args.videos}: {exc.strerror}") from None
    else:
        videos = sorted({name for task in ("EXPR", "VA") for name in _guard(lambda t=task: dataset.videos(t, args.split))})
    missing = [v for v in videos if v not in set(dataset.image_videos())]
    if missing:
        raise UserError(f"no cropped_aligned folder for {len(missing)} video(s), e.g. {missing[0]}")
    for runner in runners:
        _guard(lambda r=runner: r.cache.extract(dataset, videos, quiet=args.quiet))
    done = _guard(lambda: write_submission(dataset, runners, videos, args.out, quiet=args.quiet))
    print(f"wrote {done['videos']} videos' EXPR and VA files to {args.out} ({done['skipped']} without any face image)")
    return 0


def run_finetune(args: argparse.Namespace) -> int:
    require_tensorflow("finetune")  # before any work: training runs on TensorFlow
    from affect_live.train.finetune import FinetuneSettings, finetune, write_finetuned

    dataset = _dataset(args)
    if args.backbone == "resnet50":
        from affect_live.train.backbones import build_resnet50, resnet50_manifest

        try:
            model = build_resnet50(imagenet_weights=args.imagenet)
        except Exception as exc:  # only --imagenet downloads; offline that fails here
            raise UserError(f"could not get the ImageNet weights for ResNet-50 (they are downloaded): {exc}") from None
        manifest = resnet50_manifest(args.name or args.out.stem, "ResNet-50" + (" from ImageNet weights" if args.imagenet else " from random weights"))
    else:
        base = load_weights(args.weights)
        if base.manifest.outputs:
            raise UserError(f"{base.path}: fine-tuning needs a Keras per-frame model; this one was brought in as {base.manifest.provenance.get('format', 'a file')}")
        model, manifest = base.frame_model, base.manifest
    settings = FinetuneSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, augment=not args.no_augment)
    history = _guard(lambda: finetune(dataset, model, manifest, settings, verbose=0 if args.quiet else 1))
    written = _guard(lambda: write_finetuned(args.out, model, manifest, args.name or args.out.stem, history))
    print(f"wrote {args.out}: {written.frame_model}; heads are priors until trained (extract + train)")
    return 0


def _guard(action):  # noqa: ANN001, ANN202
    """Dataset problems, failed reads or writes (disk full, permissions) and bad model files (a
    changed Face Landmarker file, a failed conversion check) end as one line."""
    try:
        return action()
    except DatasetError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise UserError(f"{where}{exc.strerror or exc}", EXIT_BAD_INPUT) from None
