"""Command-line front end: `affect-live` / `python main.py`.

Every user-facing failure ends as one line on stderr and a non-zero exit status, never a
traceback (run with -v for the details in the log).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from affect_live import __version__
from affect_live.backends.native_logs import quiet_native_logs
from affect_live.errors import EXIT_MISSING_EXTRA, UserError
from affect_live.extras import tensorflow_missing
from affect_live.stop_signals import interruption, stopping_on_signals
from affect_live.train.arguments import add_parsers as add_training_parsers

log = logging.getLogger("affect_live")


TENSORFLOW_MODULES = {"tensorflow", "keras", "h5py", "tf_keras"}  # what the train extra installs


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


LSL_SCOPES = ("machine", "lab")  # affect_live/lsl/scope.py (not imported here: it reads liblsl's config)
LSL_SCOPE_HELP = "who may reach the LSL streams: machine (this computer only, default) or lab (the local network, as liblsl's configuration says)"
DEVICE_HELP = "auto (a GPU when one is present, default), cpu (LiteRT, no TensorFlow) or gpu (TensorFlow)"


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, nargs="+", help="weight bundle(s) (.affect) instead of the default; several are fused")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help=DEVICE_HELP)
    parser.add_argument("--window", type=_positive_int, help="temporal window T in frames (default: the bundle's, 16)")
    parser.add_argument("--max-faces", type=_positive_int, default=4, help="faces per frame, largest first (default 4)")
    parser.add_argument("--min-score", type=float, default=0.5, help="face detection threshold 0..1 (default 0.5)")
    parser.add_argument("--no-reid", dest="reid", action="store_false",
                        help="do not re-identify faces that leave and return (each return gets a new id)")


def _add_epoch_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--events", type=Path, metavar="FILE",
                        help="stimulus log: CSV with time_s,marker (and optionally recording); default: each recording's own events file, its user markers")
    parser.add_argument("--marker", action="append", metavar="NAME", help="only the markers named NAME (repeatable; default: all)")
    parser.add_argument("--pre", type=_positive_float, required=required, metavar="S", help="seconds before each onset: the pre-stimulus mean each response is corrected by")
    parser.add_argument("--post", type=_positive_float, required=required, metavar="S", help="seconds after each onset")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="affect-live",
        description="Real-time facial affect analysis: valence, arousal and 7 expressions per face.",
    )
    parser.add_argument("--version", action="version", version=f"affect-live {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    app = parser.add_argument_group("desktop app (no COMMAND)")
    app.add_argument("--source", help="camera index, video file, image folder or stream URL (default: camera 0, else the demo clip)")
    app.add_argument("--weights", type=Path, nargs="+", help="weight bundle(s) (.affect), several are fused (default: the last used, else the bundled one)")
    app.add_argument("--window", type=_positive_int, help="temporal window T in frames")
    app.add_argument("--max-faces", type=_positive_int, help="faces per frame, largest first")
    app.add_argument("--device", choices=("auto", "cpu", "gpu"), help=DEVICE_HELP + "; default: the last used, else auto")
    app.add_argument("--lsl-markers", metavar="NAME", help="record the markers of another program's LSL stream NAME into recordings")
    app.add_argument("--lsl", action="store_true", help="publish results and markers as Lab Streaming Layer streams (default: as the last run)")
    app.add_argument("--lsl-scope", choices=LSL_SCOPES, default="machine", help=LSL_SCOPE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    analyze = commands.add_parser("analyze", help="analyse videos, image folders, cameras or streams into CSV")
    analyze.add_argument("inputs", nargs="+", help="video file, folder of videos or of images, camera index or stream URL")
    analyze.add_argument("--out", type=Path, help="CSV file (one input) or folder (one CSV per input); default: next to each input")
    analyze.add_argument("--lsl-markers", metavar="NAME", help="record the markers of another program's LSL stream NAME into the events file")
    analyze.add_argument("--quiet", action="store_true", help="no progress bar")
    analyze.add_argument("--lsl", action="store_true", help="publish the results and markers as Lab Streaming Layer streams (affect-live, affect-live-markers)")
    analyze.add_argument("--lsl-scope", choices=LSL_SCOPES, default="machine", help=LSL_SCOPE_HELP)
    analyze.add_argument("--lsl-wait", type=_positive_float, metavar="SECONDS",
                         help="with --lsl: wait up to SECONDS for a consumer (LabRecorder) of the data stream before the first frame; none by then: exit 1")
    analyze.add_argument("--realtime", action="store_true", help="play files at their own frame rate, as a camera would (newest frame only)")
    analyze.add_argument("--no-actions", action="store_true", help="skip the face mesh, head pose, gaze and blendshapes (faster; the CSV has only the affect columns)")
    analyze.add_argument("--landmarks", action="store_true", help="also write the 478 face points per face and frame to <name>.landmarks.csv")
    analyze.add_argument("--detect-every", type=_positive_int, help="frames between face detector runs while faces are tracked from their landmarks (default 10, docs/actions.md)")
    analyze.add_argument("--video-out", type=Path, metavar="PATH", help="also write an annotated copy (.mp4): a file for one input, a folder for many")
    analyze.add_argument("--jobs", type=_positive_int, default=1, metavar="N", help="analyse N inputs at once in local worker processes (default 1)")
    analyze.add_argument("--ray", metavar="ADDRESS", help="run one task per input on a Ray cluster: auto, HOST:PORT or ray://HOST:PORT (pip install affect-live[cluster])")
    analyze.add_argument("--baseline", metavar="SPEC",
                         help="a neutral baseline per person: first:10s (the recording's first seconds), markers:START,END (between two markers) "
                         "or CALIBRATION.csv (a recording of the same people at rest, matched by re-identification); the CSV gains "
                         "delta_* and z_* columns, the sidecar the baselines (docs/study.md)")
    analyze.add_argument("--force", action="store_true", help="analyse again inputs whose sidecar says complete with the same model and settings")
    _add_model_options(analyze)

    report = commands.add_parser("report", help="plots and a summary (index.html) of recordings made by analyze or the app")
    report.add_argument("csvs", nargs="+", type=Path, metavar="CSV", help="recordings (their .meta.json sidecars are read too)")
    report.add_argument("--out", type=Path, required=True, help="folder for index.html and the PNG plots")
    report.add_argument("--participants", type=Path, metavar="TABLE",
                        help="a study report instead: CSV recording,participant,condition[,face_id,...] (docs/study.md); needs --pre and --post")
    _add_epoch_options(report, required=False)

    epochs = commands.add_parser("epochs", help="stimulus-locked responses of recordings: epochs.csv, summary.csv, trials.csv (docs/study.md)")
    epochs.add_argument("recordings", nargs="+", type=Path, metavar="RECORDING", help="recordings (CSV) made by analyze or the app")
    _add_epoch_options(epochs, required=True)
    epochs.add_argument("--out", type=Path, required=True, help="folder for epochs.csv, summary.csv and trials.csv (never overwritten)")

    sync = commands.add_parser("synchrony", help="synchrony between the faces of a recording: lagged correlation, peak lag and a surrogate test (synchrony.csv)")
    sync.add_argument("csv", type=Path, metavar="RECORDING", help="a recording made by analyze or the app (CSV; its sidecar gives the frame rate)")
    sync.add_argument("--out", type=Path, required=True, help="folder for synchrony.csv (never written over)")
    sync.add_argument("--window", type=_positive_float, default=4.0, metavar="S", help="window of each correlation in seconds (default 4)")
    sync.add_argument("--max-lag", type=_non_negative_float, default=2.0, metavar="S", help="largest lag either way in seconds (default 2)")
    sync.add_argument("--surrogates", type=_non_negative_int, default=199, metavar="N", help="surrogate pairings for the p value; 0: no test (default 199)")
    sync.add_argument("--seed", type=int, default=0, help="seed of the surrogate pairings (default 0)")
    sync.add_argument("--measures", metavar="M,M,...", help="CSV columns to correlate (default: valence,arousal,mouthSmileLeft,browInnerUp)")

    imp = commands.add_parser("import-weights", help="wrap a per-frame model (Keras, ONNX or TFLite) into a weight bundle")
    imp.add_argument("model", type=Path, help="per-frame model: Keras (.keras, .h5/.hdf5), ONNX (.onnx) or TFLite (.tflite)")
    imp.add_argument("--input", required=True, metavar="WxH", help="input size in pixels, e.g. 64x64")
    colour = imp.add_mutually_exclusive_group()
    colour.add_argument("--gray", action="store_true", help="the model takes one grey channel")
    colour.add_argument("--bgr", action="store_true", help="the model takes BGR (default RGB)")
    imp.add_argument("--scale", metavar="LOW,HIGH", help="map pixel values 0..255 linearly to LOW..HIGH, e.g. -1,1")
    imp.add_argument("--mean", metavar="M[,M,M]", help="per-channel mean to subtract (in --scale's units when given, else 0..255)")
    imp.add_argument("--std", metavar="S[,S,S]", help="per-channel divisor after the mean (default 1)")
    imp.add_argument("--layout", choices=("nhwc", "nchw"), default="nhwc", help="input tensor layout (ONNX models are often nchw)")
    imp.add_argument(
        "--outputs", metavar="ROLE=[OUT/]I[:J],...",
        help="which output values are expression, valence, arousal, features; OUT is an output's name or index "
        "(default the first), e.g. expression=0:8,valence=8,arousal=9",
    )  # fmt: skip
    imp.add_argument("--logits", action="store_true", help="the expression values are logits: apply a softmax")
    imp.add_argument("--source", help="where the model comes from (URL, paper), recorded in the bundle")
    imp.add_argument("--classes", required=True, help="output class names in the model's order, comma-separated")
    imp.add_argument("--crop", choices=("box", "aligned"), default="box", help="face crop the model was trained on")
    imp.add_argument("--margin", type=float, default=0.0, help="extra border of a box crop, fraction of its side")
    imp.add_argument("--name", help="model name (default: the file name)")
    imp.add_argument("--license", default="unknown", help="licence of the weights")
    imp.add_argument("--trained-on", default="unknown (imported with affect-live import-weights)", help="what the model was trained on")
    imp.add_argument("--window", type=_positive_int, default=16, help="default temporal window T (default 16)")
    imp.add_argument("--out", type=Path, required=True, help="bundle to write (.affect)")

    models = commands.add_parser("models", help="weight bundles (list), the model catalogue (available) and installing from it (fetch)")
    models_commands = models.add_subparsers(dest="models_command", metavar="{list,available,fetch}")
    listing = models_commands.add_parser("list", help="the bundled, installed and given bundles with their model cards (the default)")
    listing.add_argument("bundles", nargs="*", type=Path, help="more bundles to describe")
    listing.add_argument("--brief", action="store_true", help="one line per bundle, no model card")
    available = models_commands.add_parser("available", help="the catalogue of published models that `models fetch` installs")
    fetch = models_commands.add_parser("fetch", help="download a catalogue model, check its pins and install it as a bundle")
    fetch.add_argument("name", help="a name from `models available`")
    fetch.add_argument("--file", type=Path, help="install a copy downloaded elsewhere (the same checks)")
    fetch.add_argument("--mirror", metavar="URL", help="a lab's own copy: a folder URL holding the file under its upstream name (default: $AFFECT_LIVE_MIRROR)")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    for sub in (available, fetch):
        sub.add_argument("--catalogue", type=Path, action="append", metavar="FILE", help="a lab's own catalogue file too (docs/catalogue.md)")

    add_training_parsers(commands, _positive_int)

    bench = commands.add_parser("bench", help="measure speed per stage and memory on the shipped clips")
    bench.add_argument("--frames", type=_positive_int, default=300, help="frames per run (default 300)")
    bench.add_argument("--long", type=_positive_int, default=3000, help="frames of the memory run (default 3000)")
    bench.add_argument("--weights", type=Path, help="weight bundle (default: the bundled one)")
    bench.add_argument("--app", action="store_true", help="measure the desktop app live instead (clips at native fps)")
    bench.add_argument("--seconds", type=float, default=60.0, help="seconds per case with --app (default 60)")
    bench.add_argument("--lsl", action="store_true", help="with --app: stream on LSL and measure samples/s and capture-to-inlet lag at a local inlet")
    bench.add_argument("--startup", action="store_true", help="measure start-up instead: first CSV row, the app's first prediction, peak RSS")
    bench.add_argument("--batch", action="store_true", help="measure a batch instead: serial vs --jobs 2 vs --ray on a local cluster (--frames per input)")
    bench.add_argument("--runs", type=_positive_int, default=3, help="runs per figure with --startup; the minimum is reported (default 3)")
    bench.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto", help=DEVICE_HELP)
    bench.add_argument("--no-reid", dest="reid", action="store_false", help="measure without re-identification")
    return parser


def _log_stream() -> TextIO:
    """stderr on its own copy of fd 2: while one thread mutes the native libraries' output
    (fd 2 -> /dev/null while a model loads), another thread's log lines still arrive."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, errors="backslashreplace")
    except (AttributeError, OSError, ValueError):  # no real fd (an embedding host)
        return sys.stderr


def configure_logging(verbosity: int) -> None:
    level = (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)]
    if not logging.root.handlers:  # basicConfig would do nothing: no stream to open
        logging.basicConfig(level=level, format="affect-live: %(levelname)s: %(message)s", stream=_log_stream())
    if verbosity < 2:
        for noisy in ("tensorflow", "absl", "h5py"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


MODELS_COMMANDS = ("list", "available", "fetch", "-h", "--help")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["models"] and (argv[1] if len(argv) > 1 else None) not in MODELS_COMMANDS:
        argv.insert(1, "list")  # `models`, `models --brief`, `models X.affect` as before
    args = parser.parse_args(argv)
    if args.verbose < 2:
        quiet_native_logs()
    configure_logging(args.verbose)
    from affect_live.cli import commands
    from affect_live.cli import study_commands
    from affect_live.cli import train_commands as training

    handlers = {
        None: commands.run_app,
        "extract": training.run_extract,
        "train": training.run_train,
        "evaluate": training.run_evaluate,
        "predict-set": training.run_predict_set,
        "finetune": training.run_finetune,
        "reproduce": training.run_reproduce,
        "analyze": commands.run_analyze,
        "report": commands.run_report,
        "epochs": study_commands.run_epochs,
        "synchrony": study_commands.run_synchrony,
        "import-weights": commands.run_import_weights,
        "models": commands.run_models,
        "bench": commands.run_bench,
    }
    try:
        if args.command is None:  # the app closes its window on these signals itself (ui/app.py)
            return handlers[None](args)
        with stopping_on_signals():  # SIGTERM and SIGHUP end a command as Ctrl-C does
            return handlers[args.command](args)
    except UserError as exc:
        print(f"affect-live: error: {exc}", file=sys.stderr)
        return exc.status
    except ModuleNotFoundError as exc:
        if exc.name not in TENSORFLOW_MODULES:
            raise
        # A path that needs TensorFlow and has no check of its own: still one line.
        print(f"affect-live: error: {tensorflow_missing(args.command or 'this command')}", file=sys.stderr)
        return EXIT_MISSING_EXTRA
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP before anything was recorded
        message, status = interruption(exc)
        print(f"affect-live: {message}", file=sys.stderr)
        return status
