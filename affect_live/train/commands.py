"""The Aff-Wild2 commands: extract, train, evaluate, predict-set."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from affect_live.commands import load_weights
from affect_live.errors import EXIT_BAD_INPUT, UserError
from affect_live.train.affwild2 import AffWild2, DatasetError

log = logging.getLogger(__name__)


def _dataset(args: argparse.Namespace) -> AffWild2:
    try:
        return AffWild2(args.affwild2)
    except DatasetError as exc:
        raise UserError(str(exc)) from None


def run_extract(args: argparse.Namespace) -> int:
    from affect_live.train.cache import FeatureCache

    dataset, bundle = _dataset(args), load_weights(args.weights)
    cache = FeatureCache(args.cache, bundle)
    done = _guard(lambda: cache.extract(dataset, quiet=args.quiet))
    rate = done["frames_per_s"]
    print(f"extracted {done['frames']} frames of {done['videos']} videos ({done['skipped']} already cached) into {cache.folder}: {rate:.0f} frames/s")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from affect_live.train.cache import FeatureCache
    from affect_live.train.export import export_bundle
    from affect_live.train.heads_training import TrainSettings, train_heads
    from affect_live.train.windows import load_labelled

    dataset, base = _dataset(args), load_weights(args.weights)
    cache = FeatureCache(args.cache, base)
    train_videos = _guard(lambda: dataset.labelled("MTL", "Training_Set"))
    val_videos = _guard(lambda: dataset.labelled("MTL", "Validation_Set"))
    if not train_videos or not val_videos:
        raise UserError("training needs multi-task (EXPR and VA) videos in both Training_Set and Validation_Set")
    _guard(lambda: cache.extract(dataset, [v.video for v in train_videos + val_videos], quiet=args.quiet))  # only what is missing
    train = _guard(lambda: load_labelled(cache, train_videos))
    validation = _guard(lambda: load_labelled(cache, val_videos))
    settings = TrainSettings(
        window=args.window, random_window=args.random_window, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, balance_classes=args.balance, auxiliary=not args.no_auxiliary,
        hidden=args.hidden, patience=args.patience, seed=args.seed, lstm=args.lstm, lstm_units=args.lstm_units,
    )  # fmt: skip
    if settings.lstm and settings.random_window:
        raise UserError("the LSTM heads are built for one window length: use --window, not --random-window")
    outcome = train_heads(train, validation, settings, verbose=0 if args.quiet else 1)
    data = {
        "train_frames": int(len(train[1].rows)),
        "train_videos": len(train_videos),
        "validation_frames": int(len(validation[1].rows)),
        "validation_videos": len(val_videos),
        "windows_per_s": round(outcome.windows_per_s, 1),
    }
    manifest = _guard(lambda: export_bundle(args.out, base, outcome.heads_model, outcome, settings, data, args.name or args.out.stem))
    m = manifest.metrics
    print(
        f"wrote {args.out}: best epoch {m['best_epoch']}, validation VA score {m['va_score']:.4f}, "
        f"ABAW expression score {m['abaw2020_expr_score']:.4f}; {outcome.windows_per_s:.0f} windows/s"
    )
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
        model, manifest = base.frame_model, base.manifest
    settings = FinetuneSettings(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate, augment=not args.no_augment)
    history = _guard(lambda: finetune(dataset, model, manifest, settings, verbose=0 if args.quiet else 1))
    written = _guard(lambda: write_finetuned(args.out, model, manifest, args.name or args.out.stem, history))
    print(f"wrote {args.out}: {written.frame_model}; heads are priors until trained (extract + train)")
    return 0


def _guard(action):  # noqa: ANN001, ANN202
    """Dataset problems and failed reads or writes (disk full, permissions) end as one line."""
    try:
        return action()
    except DatasetError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        raise UserError(f"{where}{exc.strerror or exc}", EXIT_BAD_INPUT) from None
