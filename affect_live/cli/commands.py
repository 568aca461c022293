"""The sub-commands behind the CLI. Each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from affect_live.catalogue.store import resolve_weights
from affect_live.errors import EXIT_BAD_INPUT, EXIT_BAD_WEIGHTS, EXIT_REFUSED, BundleError, UserError
from affect_live.model.bundle.manifest import Manifest
from affect_live.model.bundle.reading import BUNDLE_SUFFIX, DEFAULT_BUNDLE, MODELS_DIR, LoadedBundle, load_bundle, read_manifest, read_model_card

if TYPE_CHECKING:
    from affect_live.baselines import LiveBaselines
    from affect_live.study.baseline_spec import BaselinePlan


def load_weights(path: Path | None) -> LoadedBundle:
    """A bundle by path (made absolute: batch workers get it) or installed catalogue name."""
    try:
        return load_bundle(resolve_weights(path).absolute() if path else DEFAULT_BUNDLE)
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None


def pick_device(requested: str) -> str:
    """'CPU' or 'GPU' for --device; an unusable GPU request is one error line."""
    from affect_live.backends.device import DeviceError, resolve_device

    try:
        return resolve_device(requested)
    except DeviceError as exc:
        raise UserError(str(exc)) from None


def open_lsl(model: dict | None = None, baselines: LiveBaselines | None = None, actions: bool = True):  # noqa: ANN201 (LslStreams, imported lazily)
    """The LSL outlets for --lsl (`model`: `metadata.stream_model_description` for the stream
    metadata; `baselines`: with --baseline, the corrected channels' baselines, filled as they are
    taken; `actions`: the CSV's action columns are streamed too); unavailable LSL is one error
    line."""
    from affect_live.lsl.outlets import LslError, LslStreams

    try:
        return LslStreams(model=model, actions=actions, baselines=baselines)
    except LslError as exc:
        raise UserError(str(exc)) from None


def run_analyze(args: argparse.Namespace) -> int:
    from affect_live.batch.plan import fingerprint, plan_batch
    from affect_live.batch.run import BatchOptions, run_batch
    from affect_live.batch.summary import BATCH_FILE
    from affect_live.batch.worker import JobSpec, preload
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.threads import PipelineSettings
    from affect_live.session.metadata import model_summary, session_settings, stream_model_description

    parallel = args.jobs > 1 or args.ray is not None
    if parallel and (args.lsl or args.lsl_markers or args.realtime):
        raise UserError("--lsl, --lsl-markers and --realtime work in one process only (not with --jobs or --ray)")
    if args.lsl_wait and not args.lsl:
        raise UserError("--lsl-wait needs --lsl")
    folder = args.out if args.out is not None and args.out.suffix.lower() != ".csv" else None
    summary = folder / BATCH_FILE if folder is not None else None
    items = plan_batch(args.inputs, args.out, args.video_out, landmarks=args.landmarks, summary=summary)
    baseline = prepare_baseline(args.baseline, items) if args.baseline else None
    device = pick_device(args.device)
    bundles = [load_weights(path) for path in args.weights or [None]]
    try:
        engine = AffectEngine(bundles, window=args.window, device=device)
    except BundleError as exc:  # bundles that cannot be fused
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    if args.landmarks and args.no_actions:
        raise UserError("--landmarks needs the face mesh, which --no-actions turns off")
    if args.no_actions and engine.needs_actions:  # refused before any frame, rather than wrong numbers
        from affect_live.model.bundle.action_inputs import actions_needed_message

        raise UserError(actions_needed_message(engine.needs_actions))
    from affect_live.faces.model_files import check_model_files

    try:
        check_model_files(actions=not args.no_actions)
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    tracking = {"detect_every": args.detect_every} if args.detect_every else {}
    settings = PipelineSettings(
        max_faces=args.max_faces, min_score=args.min_score, actions=not args.no_actions, landmarks=args.landmarks, reid=args.reid, **tracking
    )
    job = JobSpec(tuple(str(b.path) for b in bundles), args.window, device, settings, args.realtime, baseline=baseline)
    recorded = {**session_settings(settings, engine), "realtime": args.realtime} | ({"baseline": baseline.setting} if baseline else {})
    expected = fingerprint({"model": model_summary(engine), "settings": recorded})
    options = BatchOptions(args.jobs, args.ray, args.force, args.quiet, args.verbose, folder)
    if parallel:
        del engine  # the workers load their own
        return run_batch(items, job, expected, options)
    preload(job, engine)
    if args.lsl or args.lsl_markers:
        from affect_live.lsl.scope import configure

        configure(args.lsl_scope, args.verbose, args.quiet)
    from affect_live.baselines import LiveBaselines

    live_baselines = LiveBaselines() if args.lsl and baseline is not None else None
    lsl = open_lsl(stream_model_description(engine), live_baselines, actions=settings.actions) if args.lsl else None
    if lsl is not None and args.lsl_wait:
        wait_for_lsl_consumer(lsl, args.lsl_wait, args.quiet)
    markers = follow_lsl_markers(args.lsl_markers) if args.lsl_markers else None
    try:
        return run_batch(items, job, expected, options, lsl=lsl, markers=markers, live_baselines=live_baselines)
    finally:
        if markers is not None:
            markers.close()


def prepare_baseline(text: str, items: list) -> BaselinePlan:  # noqa: ANN001 (BatchItem)
    """--baseline: the spec checked (a calibration recording read and described) before anything
    is written; a calibration recording that an output would overwrite is refused."""
    from affect_live.recording.output_files import identities
    from affect_live.study.baseline_spec import load_plan, parse_baseline_spec

    spec = parse_baseline_spec(text)
    calibration = spec.calibration_csv
    if calibration is not None:
        for item in items:
            if identities(Path(item.csv)) & identities(calibration):
                raise UserError(f"--baseline: the calibration recording {calibration} would be overwritten by the CSV of {item.spec}; choose another --out", EXIT_REFUSED)
    return load_plan(spec)


def wait_for_lsl_consumer(lsl, seconds: float, quiet: bool) -> None:  # noqa: ANN001 (LslStreams)
    """--lsl-wait: hold the first frame until an inlet has opened the data stream; none within
    `seconds` is one error line (exit 1), with nothing analysed."""
    from affect_live.lsl.outlets import DATA_STREAM

    print(f"affect-live: waiting up to {seconds:g} s for a consumer of the LSL stream {DATA_STREAM} (e.g. LabRecorder)", file=sys.stderr, flush=True)
    if not lsl.wait_for_consumer(seconds):
        lsl.close()
        raise UserError(f"no consumer of the LSL stream {DATA_STREAM} connected within {seconds:g} s; nothing was analysed")
    if not quiet:
        print("affect-live: an LSL consumer connected; starting", file=sys.stderr, flush=True)


def run_report(args: argparse.Namespace) -> int:
    from affect_live.cli.study_commands import run_study_report
    from affect_live.report.build import make_report

    if args.participants is not None or args.pre or args.post or args.events or args.marker:
        return run_study_report(args)

    try:
        index, problems, reported = make_report(args.csvs, args.out)
    except OSError as exc:
        raise UserError(f"cannot write the report to {args.out}: {exc.strerror or exc}") from None
    for problem in problems:
        print(f"affect-live: error: {problem}", file=sys.stderr)
    if not reported:
        print("affect-live: error: no recording could be read", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {index}")
    return EXIT_BAD_INPUT if problems else 0


def follow_lsl_markers(name: str):  # noqa: ANN201 (MarkerInlet, imported lazily)
    """--lsl-markers: another program's marker stream; unavailable LSL is one error line."""
    from affect_live.lsl.inlet import MarkerInlet
    from affect_live.lsl.outlets import LslError

    try:
        return MarkerInlet(name)
    except LslError as exc:
        raise UserError(str(exc)) from None


def _parse_numbers(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got {text!r}") from None


def run_import_weights(args: argparse.Namespace) -> int:
    from affect_live.model.making.byo_import import ImportOptions, import_model
    from affect_live.model.making.keras_import import pixel_mean_std

    try:
        width, height = (int(part) for part in args.input.lower().split("x"))
    except ValueError:
        raise UserError(f"--input must look like 64x64 (width x height), got {args.input!r}") from None
    color = "gray" if args.gray else "bgr" if args.bgr else "rgb"
    scale, mean, std = (_parse_numbers(args.scale, "--scale"), _parse_numbers(args.mean, "--mean"), _parse_numbers(args.std, "--std"))
    try:
        mean, std = pixel_mean_std(scale, mean, std)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    classes = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    options = ImportOptions(
        width=width, height=height, color=color, mean=mean, std=std, classes=classes, crop=args.crop, margin=args.margin,
        name=args.name or args.model.stem, license=args.license, trained_on=args.trained_on, source=args.source or "",
        window=args.window, layout=args.layout, outputs=args.outputs, logits=args.logits,
    )  # fmt: skip
    try:
        manifest = import_model(args.model, args.out, options)
        load_bundle(args.out)  # read back exactly as --weights will
    except (BundleError, ValueError) as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    print(f"wrote {args.out}: {describe(manifest)}")
    return 0


def describe(manifest: Manifest) -> str:
    spec = manifest.input
    priors = ", ".join(manifest.prior_heads) or "none"
    per_frame = f"; learned per frame: {', '.join(manifest.per_frame_heads)}" if manifest.per_frame_heads else ""
    return (
        f"{manifest.name} {manifest.version} ({manifest.license}); input {spec.width}x{spec.height} {spec.color}, "
        f"{spec.crop} crop; window {manifest.window}; prior heads: {priors}{per_frame}"
        + ("; learned heads read the current frame only (no window statistics)" if manifest.heads_input == "current_frame" else "")
        + ("; learned heads also take the facial actions (needs the face mesh)" if manifest.needs_actions else "")
    )


def bundled_models() -> list[Path]:
    return sorted(MODELS_DIR.glob(f"*/*{BUNDLE_SUFFIX}"))


def run_models(args: argparse.Namespace) -> int:
    if args.models_command == "available":
        from affect_live.catalogue.listing import print_available

        return print_available(args.catalogue)
    if args.models_command == "fetch":
        from affect_live.catalogue.listing import run_fetch

        return run_fetch(args.name, args.file, args.mirror, args.catalogue, args.quiet)
    from affect_live.catalogue.store import installed_names, installed_path

    status = 0
    for path in [*bundled_models(), *(installed_path(name) for name in installed_names()), *args.bundles]:
        try:
            resolved = resolve_weights(path)
            manifest = read_manifest(resolved)
            card = "" if args.brief else read_model_card(resolved)
        except BundleError as exc:
            print(f"affect-live: error: {exc}", file=sys.stderr)
            status = EXIT_BAD_WEIGHTS
            continue
        print(f"{path}\n  {describe(manifest)}")
        if not args.brief:
            print("\n" + (card.strip() or "(no model card in this bundle)") + "\n")
    return status


def run_bench(args: argparse.Namespace) -> int:
    if args.batch:
        from affect_live.benchmarks.batch import run_batch_benchmark

        return run_batch_benchmark(frames=args.frames)
    if args.startup:
        from affect_live.benchmarks.startup import run_startup_benchmark

        return run_startup_benchmark(runs=args.runs)
    if args.app:
        from affect_live.benchmarks.live_app import run_app_benchmark

        return run_app_benchmark(args.seconds, weights=args.weights, device=pick_device(args.device), lsl=args.lsl)
    from affect_live.benchmarks.throughput import run_benchmark

    return run_benchmark(load_weights(args.weights), frames=args.frames, long_frames=args.long, device=pick_device(args.device), reid=args.reid)


def run_app(args: argparse.Namespace) -> int:
    """The desktop app (no subcommand)."""
    from affect_live.ui.app import AppError, AppOptions, run_app

    from affect_live.lsl.scope import configure

    configure(args.lsl_scope, args.verbose)  # before the app's LSL toggle can open a stream
    options = AppOptions(source=args.source, weights=args.weights, window=args.window, max_faces=args.max_faces, device=args.device, lsl=args.lsl, lsl_markers=args.lsl_markers)
    try:
        return run_app(options)
    except AppError as exc:
        raise UserError(str(exc)) from None
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
