"""The study commands (docs/study.md): `epochs`, `synchrony`, and `report` with a participants table.
Bad input and outputs that exist are one line, exit 2, before anything is written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from affect_live.errors import EXIT_REFUSED, UserError

EPOCH_FILES = ("epochs.csv", "summary.csv", "trials.csv")


def run_epochs(args: argparse.Namespace) -> int:
    from affect_live.study.epochs import common_fps, epoch_table, summarise, trial_table
    from affect_live.study.inputs import StudyError, read_recordings, refuse_existing, write_new_csv
    from affect_live.study.stimuli import study_trials

    try:
        refuse_existing(args.out / name for name in EPOCH_FILES)
        recordings = read_recordings(args.recordings)
        trials, notes = study_trials(recordings, args.events, args.marker or ())
        for note in notes:
            print(f"affect-live: note: {note}")
        epochs = epoch_table(recordings, trials, args.pre, args.post)
        table = trial_table(recordings, trials, epochs, args.pre, args.post)
        summary = summarise(epochs, common_fps(recordings))
    except StudyError as exc:
        raise UserError(str(exc), EXIT_REFUSED) from None
    try:
        for name, frame in zip(EPOCH_FILES, (epochs, summary, table)):
            write_new_csv(frame, args.out / name)
    except FileExistsError as exc:  # made by another process since the check
        raise UserError(f"{exc.filename} exists: outputs are never overwritten; choose another --out or remove it", EXIT_REFUSED) from None
    except OSError as exc:
        raise UserError(f"cannot write to {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {args.out / EPOCH_FILES[0]}: {len(trials)} trials, {len(table)} trial-faces, {len(epochs)} rows; summary.csv, trials.csv")
    report_missing(table)
    return 0


def report_missing(table) -> None:  # noqa: ANN001 (the trial table)
    """One line on faces missing during trials and trials without a correction."""
    incomplete = table[table["frames_present"] < table["frames_expected"]]
    uncorrected = table[~table["corrected"]]
    if len(incomplete) or len(uncorrected):
        print(f"affect-live: note: {len(incomplete)} of {len(table)} trial-faces miss frames and {len(uncorrected)} have no pre-stimulus frame "
              "(not corrected); trials.csv lists them")  # fmt: skip


def run_study_report(args: argparse.Namespace) -> int:
    """`report` with --participants: the study report (affect_live/study/study_report.py)."""
    from affect_live.study.inputs import StudyError
    from affect_live.study.study_report import StudyOptions, make_study_report

    if args.participants is None:
        raise UserError("--events, --marker, --pre and --post make a study report: they need --participants TABLE", EXIT_REFUSED)
    if args.pre is None or args.post is None:
        raise UserError("a study report (--participants) needs --pre and --post: the seconds before and after each onset", EXIT_REFUSED)
    options = StudyOptions(args.participants, args.events, tuple(args.marker or ()), args.pre, args.post)
    try:
        report = make_study_report(args.csvs, args.out, options)
    except StudyError as exc:
        raise UserError(str(exc), EXIT_REFUSED) from None
    except FileExistsError as exc:  # made by another process since the check
        raise UserError(f"{exc.filename} exists: outputs are never overwritten; choose another --out or remove it", EXIT_REFUSED) from None
    except OSError as exc:
        raise UserError(f"cannot write the report to {args.out}: {exc.strerror or exc}") from None
    for note in report.notes:
        print(f"affect-live: note: {note}")
    print(f"wrote {report.index} ({len(report.images)} plots, tidy.csv, summary.csv, trials.csv)")
    return 0


def run_synchrony(args: argparse.Namespace) -> int:
    """`synchrony RECORDING --out DIR`: DIR/synchrony.csv, one row per pair of faces and measure."""
    from affect_live.measures import MEASURES
    from affect_live.study.inputs import StudyError, read_recordings, refuse_existing, write_new_csv
    from affect_live.study.synchrony import DEFAULT_MEASURES, SynchronyError, recording_synchrony, usable_measures

    out = args.out / "synchrony.csv"
    try:
        refuse_existing([out])
        (recording,) = read_recordings([args.csv])
    except StudyError as exc:
        raise UserError(str(exc), EXIT_REFUSED) from None
    if args.measures is None:
        measures = usable_measures(recording, DEFAULT_MEASURES)
        if len(measures) < len(DEFAULT_MEASURES):
            print(f"affect-live: {args.csv} has no blendshape columns (analysed with --no-actions?): only {', '.join(measures)}", file=sys.stderr)
    else:
        measures = [m.strip() for m in args.measures.split(",") if m.strip()]
        unknown = [m for m in measures if m not in MEASURES]
        if unknown or not measures:
            raise UserError(f"--measures: {unknown[0] if unknown else args.measures!r} is not a measure of the CSV (e.g. valence, arousal, happiness, yaw, mouthSmileLeft)", EXIT_REFUSED)
        absent = [m for m in measures if m not in usable_measures(recording, measures)]
        if absent:
            raise UserError(f"{args.csv} has no column {absent[0]} (blendshapes and pose need a run with the face mesh)", EXIT_REFUSED)
    try:
        table = recording_synchrony(recording, measures, args.window, args.max_lag, args.surrogates, args.seed)
    except SynchronyError as exc:
        raise UserError(str(exc), EXIT_REFUSED) from None
    if table.empty:
        span = args.window + 2 * args.max_lag
        raise UserError(f"{args.csv}: no two faces are together for {span:g} s (a window and twice the largest lag); nothing written", EXIT_REFUSED)
    try:
        write_new_csv(table, out)
    except FileExistsError:  # made by another process since the check
        raise UserError(f"{out} exists: outputs are never overwritten; choose another --out or remove it", EXIT_REFUSED) from None
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror or exc}") from None
    for row in table.itertuples():
        tested = row.p == row.p  # not NaN
        follower = f"face {row.face_b} follows face {row.face_a}" if row.lag_frames > 0 else f"face {row.face_a} follows face {row.face_b}" if row.lag_frames < 0 else "together"
        who = f": {follower}" if not tested or row.p < 0.05 else ""  # no leader to name within chance
        chance = "" if not tested else f", p {row.p:.3f}: " + ("beyond chance" if row.p < 0.05 else "within chance")
        print(f"faces {row.face_a} and {row.face_b}, {row.measure}: r {row.r:+.2f} at {row.lag_s:+.2f} s ({row.lag_frames:+d} frames{who}){chance}")
    print(f"wrote {out}")
    return 0
