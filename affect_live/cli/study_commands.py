"""The study commands (docs/study.md): `epochs`, and `report` with a participants table.
Bad input and outputs that exist are one line, exit 2, before anything is written."""

from __future__ import annotations

import argparse
from pathlib import Path

from affect_live.errors import EXIT_REFUSED, UserError

EPOCH_FILES = ("epochs.csv", "summary.csv", "trials.csv")


def study_trials(recordings, args: argparse.Namespace) -> list:  # noqa: ANN001 (Recordings, Trials)
    """Every recording's trials from --events (a stimulus log) or its own events file, limited
    to --marker; notes on what was passed over are printed; no trial at all is an error."""
    from affect_live.study.inputs import StudyError
    from affect_live.study.stimuli import check_log_recordings, read_stimulus_log, recording_trials

    stimuli = read_stimulus_log(args.events) if args.events is not None else None
    if stimuli is not None:
        check_log_recordings(stimuli, recordings, args.events)
    trials = []
    for recording in recordings:
        found, notes = recording_trials(recording, stimuli, set(args.marker or ()), args.events.parent if args.events else Path("."), recordings)
        trials.extend(found)
        for note in notes:
            print(f"affect-live: note: {note}")
    if not trials:
        where = str(args.events) if args.events else "the recordings' events files (user markers)"
        named = f" named {', '.join(args.marker)}" if args.marker else ""
        raise StudyError(f"no stimulus onsets{named} in {where}: nothing to epoch")
    return trials


def run_epochs(args: argparse.Namespace) -> int:
    from affect_live.study.epochs import common_fps, epoch_table, summarise, trial_table
    from affect_live.study.inputs import StudyError, read_recordings, refuse_existing, write_new_csv

    try:
        refuse_existing(args.out / name for name in EPOCH_FILES)
        recordings = read_recordings(args.recordings)
        trials = study_trials(recordings, args)
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
