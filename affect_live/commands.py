"""The sub-commands behind the CLI. Each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from affect_live.errors import EXIT_BAD_INPUT, EXIT_BAD_WEIGHTS, EXIT_INTERRUPTED, UserError
from affect_live.model.bundle import BUNDLE_SUFFIX, DEFAULT_BUNDLE, MODELS_DIR, LoadedBundle, load_bundle, read_manifest
from affect_live.model.manifest import BundleError, Manifest


def load_weights(path: Path | None) -> LoadedBundle:
    try:
        return load_bundle(path or DEFAULT_BUNDLE)
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None


def pick_device(requested: str) -> str:
    """'CPU' or 'GPU' for --device; an unusable GPU request is one error line."""
    from affect_live.model.device import DeviceError, resolve_device

    try:
        return resolve_device(requested)
    except DeviceError as exc:
        raise UserError(str(exc)) from None


def _default_csv_name(spec: str) -> str:
    if spec.isdigit():
        return f"camera{spec}.csv"
    if "://" in spec:
        return "stream.csv"
    return (Path(spec).stem or Path(spec).name or "input") + ".csv"


def plan_outputs(inputs: list[str], out: Path | None) -> list[Path]:
    """The CSV path of each input: --out file, --out folder, or next to the input."""
    if out is not None and out.suffix.lower() == ".csv":
        if len(inputs) > 1:
            raise UserError("with several inputs, --out must be a folder (one CSV per input)")
        return [out]
    paths: list[Path] = []
    for spec in inputs:
        if out is None:
            path = Path(spec)
            folder = Path.cwd() if spec.isdigit() or "://" in spec else (path.parent if not path.is_dir() else path.parent)
        else:
            folder = out
        candidate = folder / _default_csv_name(spec)
        stem, n = candidate.stem, 2
        while candidate in paths:  # two inputs with the same name: clip.csv, clip-2.csv
            candidate = folder / f"{stem}-{n}.csv"
            n += 1
        paths.append(candidate)
    return paths


def open_lsl(model: str = ""):  # noqa: ANN201 (LslStreams, imported lazily)
    """The LSL outlets for --lsl (`model`: the engine's label for the stream metadata);
    unavailable LSL is one error line."""
    from affect_live.lsl import LslError, LslStreams

    try:
        return LslStreams(model=model)
    except LslError as exc:
        raise UserError(str(exc)) from None


def run_analyze(args: argparse.Namespace) -> int:
    from affect_live.model.engine import AffectEngine
    from affect_live.pipeline import PipelineSettings

    outputs = plan_outputs(args.inputs, args.out)
    device = pick_device(args.device)
    try:
        engine = AffectEngine([load_weights(path) for path in args.weights or [None]], window=args.window, device=device)
    except BundleError as exc:  # bundles that cannot be fused
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    if args.landmarks and args.no_actions:
        raise UserError("--landmarks needs the face mesh, which --no-actions turns off")
    if args.no_actions and engine.needs_actions:  # refused before any frame, rather than wrong numbers
        from affect_live.model.action_inputs import actions_needed_message

        raise UserError(actions_needed_message(engine.needs_actions))
    if not args.no_actions:
        from affect_live.faces.landmarker_files import check_landmarker_files

        try:
            check_landmarker_files()
        except BundleError as exc:
            raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    tracking = {"detect_every": args.detect_every} if args.detect_every else {}
    settings = PipelineSettings(
        max_faces=args.max_faces, min_score=args.min_score, actions=not args.no_actions, landmarks=args.landmarks, reid=args.reid, **tracking
    )
    lsl = open_lsl(engine.info.label) if args.lsl else None
    markers = follow_lsl_markers(args.lsl_markers) if args.lsl_markers else None
    try:
        return _analyze_each(args, outputs, engine, settings, lsl, markers)
    finally:
        if markers is not None:
            markers.close()


def follow_lsl_markers(name: str):  # noqa: ANN201 (MarkerInlet, imported lazily)
    """--lsl-markers: another program's marker stream; unavailable LSL is one error line."""
    from affect_live.lsl import LslError
    from affect_live.lsl_inlet import MarkerInlet

    try:
        return MarkerInlet(name)
    except LslError as exc:
        raise UserError(str(exc)) from None


def _analyze_each(args: argparse.Namespace, outputs: list[Path], engine, settings, lsl, markers) -> int:  # noqa: ANN001
    from affect_live.analyze import analyze_source

    status = 0
    for spec, csv_path in zip(args.inputs, outputs):
        outcome = analyze_source(spec, csv_path, engine, settings, quiet=args.quiet, realtime=args.realtime, lsl=lsl, markers=markers)
        if outcome.status == "failed" and outcome.frames == 0 and outcome.rows == 0 and not csv_path.exists():
            print(f"affect-live: error: {outcome.message}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        summary = f"{spec}: {outcome.frames} frames, {outcome.rows} rows, {len(outcome.face_ids)} face ids -> {csv_path}"
        if outcome.ok:
            if not args.quiet:
                print(summary, file=sys.stderr)
            continue
        print(f"affect-live: error: {outcome.message} ({summary})", file=sys.stderr)
        if outcome.status == "interrupted":
            return EXIT_INTERRUPTED
        status = EXIT_BAD_INPUT
    return status


def _parse_numbers(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise UserError(f"{what} must be comma-separated numbers, got {text!r}") from None


def run_import_weights(args: argparse.Namespace) -> int:
    from affect_live.model.byo_import import ImportOptions, import_model
    from affect_live.model.importer import pixel_mean_std

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
    status = 0
    for path in [*bundled_models(), *args.bundles]:
        try:
            manifest, card = read_manifest(path)
        except BundleError as exc:
            print(f"affect-live: error: {exc}", file=sys.stderr)
            status = EXIT_BAD_WEIGHTS
            continue
        print(f"{path}\n  {describe(manifest)}")
        if not args.brief:
            print("\n" + (card.strip() or "(no model card in this bundle)") + "\n")
    return status


def run_bench(args: argparse.Namespace) -> int:
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

    options = AppOptions(source=args.source, weights=args.weights, window=args.window, max_faces=args.max_faces, device=args.device, lsl=args.lsl, lsl_markers=args.lsl_markers)
    try:
        return run_app(options)
    except AppError as exc:
        raise UserError(str(exc)) from None
    except BundleError as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
