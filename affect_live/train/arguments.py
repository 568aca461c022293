"""Command-line arguments of the Aff-Wild2 commands (argparse only: cheap to import)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

QUICK_EPOCHS = 2  # reproduce --quick: a smoke run, and the results table says so


def add_parsers(commands: argparse._SubParsersAction, positive_int: Callable[[str], int]) -> None:
    def common(parser: argparse.ArgumentParser, cache: bool = True) -> None:
        parser.add_argument("--affwild2", type=Path, required=True, metavar="ROOT", help="Aff-Wild2 root (annotations/, cropped_aligned/)")
        if cache:
            parser.add_argument("--cache", type=Path, required=True, metavar="DIR", help="feature cache folder")
        parser.add_argument("--quiet", action="store_true", help="no progress bars")

    extract = commands.add_parser("extract", help="run the per-frame model once over every Aff-Wild2 frame image (resumable)")
    common(extract)
    extract.add_argument("--weights", type=Path, help="bundle whose per-frame model to run (default: the bundled one)")
    extract.add_argument(
        "--no-actions", action="store_true",
        help="skip the facial actions (head pose and blendshapes of every crop, which `train --with-actions` needs; faster)",
    )  # fmt: skip

    def training_options(parser: argparse.ArgumentParser) -> None:
        """The options `train` and `reproduce` share (`commands.training_settings` reads them)."""
        parser.add_argument("--weights", type=Path, help="base bundle (its per-frame model; default: the bundled one)")
        parser.add_argument("--batch-size", type=positive_int, default=256, help="default 256")
        parser.add_argument("--learning-rate", type=float, default=1e-4, help="default 1e-4 (Adam)")
        parser.add_argument("--lstm-units", type=positive_int, default=1024, help="LSTM units each way (paper: 1024)")
        parser.add_argument("--no-auxiliary", action="store_true", help="leave out the auxiliary [a, v, m, |a-m|, |v-m|] head")
        parser.add_argument("--patience", type=positive_int, default=4, help="epochs without improvement before stopping (default 4)")
        parser.add_argument("--hidden", type=positive_int, default=1024, help="units per hidden layer (paper: 1024)")
        parser.add_argument("--seed", type=int, default=0, help="random seed of every training (default 0)")

    train = commands.add_parser("train", help="train the multi-task heads on cached outputs; writes a bundle")
    common(train)
    train.add_argument("--out", type=Path, required=True, help="bundle to write (.affect)")
    train.add_argument("--name", help="model name (default: the output file name)")
    train.add_argument("--window", type=positive_int, default=16, help="window T (default 16)")
    train.add_argument("--random-window", action="store_true", help="draw T from 4/8/16/32 per batch (the paper's variant)")
    train.add_argument("--epochs", type=positive_int, default=20, help="default 20")
    train.add_argument("--balance", action="store_true", help="oversample every expression class to the largest")
    train.add_argument("--lstm", action="store_true", help="add the 2-layer BiLSTM over the window (the paper's 'with LSTM' variant)")
    train.add_argument(
        "--no-stat", action="store_true",
        help="heads on the current frame's features and probabilities only, no window statistics (the paper's 'Emotion VA Image')",
    )  # fmt: skip
    train.add_argument(
        "--with-actions", action="store_true",
        help="the heads also take max/min/mean over the window of head pose and the 52 blendshapes (3 x 55 more inputs)",
    )  # fmt: skip
    training_options(train)

    reproduce = commands.add_parser("reproduce", help="train and evaluate the paper's variants; writes its results table (table.md, table.json)")
    common(reproduce)
    reproduce.add_argument("--out", type=Path, required=True, help="folder for the bundles, their settings and the table (re-runs resume)")
    length = reproduce.add_mutually_exclusive_group()
    length.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_EPOCHS} epochs per variant; the table says so")
    length.add_argument("--epochs", type=positive_int, default=20, help="epochs per variant (default 20)")
    reproduce.add_argument("--with-lstm", action="store_true", help="also the 'with LSTM' variant at T=16 (slow on a CPU)")
    reproduce.add_argument(
        "--no-balance", dest="balance", action="store_false",
        help="no class balancing (default: every expression class oversampled to the largest, as in the paper)",
    )  # fmt: skip
    training_options(reproduce)

    evaluate = commands.add_parser("evaluate", help="ABAW metrics of one bundle, or the fusion of several, on a split")
    common(evaluate)
    evaluate.add_argument("--weights", type=Path, nargs="+", required=True, help="bundle(s); several are fused (mean of outputs)")
    evaluate.add_argument("--split", default="Validation_Set", choices=("Training_Set", "Validation_Set"))
    evaluate.add_argument("--window", type=positive_int, help="window T (default: each bundle's)")
    evaluate.add_argument("--json", type=Path, help="write the results here (default: evaluation-<split>.json in the cache folder)")

    predict = commands.add_parser("predict-set", help="challenge submission files for a split or a list of videos")
    common(predict)
    predict.add_argument("--weights", type=Path, nargs="+", required=True, help="bundle(s); several are fused")
    predict.add_argument("--out", type=Path, required=True, help="folder for EXPR/ and VA/ files")
    predict.add_argument("--split", default="Validation_Set", choices=("Training_Set", "Validation_Set"))
    predict.add_argument("--videos", type=Path, help="text file with one video name per line (e.g. the test set) instead of --split")

    finetune = commands.add_parser("finetune", help="fine-tune the per-frame model end to end on frame images (GPU advised)")
    common(finetune, cache=False)
    finetune.add_argument("--out", type=Path, required=True, help="bundle to write (.affect), with prior heads")
    source = finetune.add_mutually_exclusive_group()
    source.add_argument("--weights", type=Path, help="bundle whose per-frame model to fine-tune (default: the bundled one)")
    source.add_argument("--backbone", choices=("resnet50",), help="start from the paper's ResNet-50 backbone instead")
    finetune.add_argument("--imagenet", action="store_true", help="with --backbone: ImageNet initial weights (downloads; needs a network)")
    finetune.add_argument("--name", help="model name (default: the output file name)")
    finetune.add_argument("--epochs", type=positive_int, default=5)
    finetune.add_argument("--batch-size", type=positive_int, default=32)
    finetune.add_argument("--learning-rate", type=float, default=1e-5)
    finetune.add_argument("--no-augment", action="store_true", help="no flip / shift / scale / rotate")
