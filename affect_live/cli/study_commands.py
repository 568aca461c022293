"""The study commands (docs/study.md): `epochs`, and `report` with a participants table.
Bad input and outputs that exist are one line, exit 2, before anything is written."""

from __future__ import annotations

import argparse
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
