"""When each stimulus started: the user's markers of a recording's own events file, or a stimulus
log (a CSV with the columns `time_s,marker`, times in the recording's time_s clock; an optional
`recording` column says which recording a row belongs to, other columns are ignored).
Each onset becomes a trial, numbered from 1 per recording and marker in time order."""

from __future__ import annotations

import csv
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from affect_live.report.data import Recording
from affect_live.study.inputs import StudyError, find_recording

LOG_COLUMNS = ("time_s", "marker")
RECORDING_COLUMN = "recording"  # optional: the row's recording (stem or CSV path); empty: all


@dataclass(frozen=True)
class Stimulus:
    """One row of a stimulus log."""

    time_s: float
    marker: str
    recording: str = ""  # empty: every recording
    line: int = 0  # in the log, for messages


@dataclass(frozen=True)
class Trial:
    recording: str  # the recording's name (its CSV's stem)
    marker: str
    trial: int  # 1-based per recording and marker
    onset_s: float


def read_stimulus_log(path: Path) -> list[Stimulus]:
    """Raises StudyError (one line, with the line number) for a missing file, a missing
    column, a time that is not a finite number or an empty marker."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets' BOM
            reader = csv.DictReader(handle)
            names = [name.strip() for name in reader.fieldnames or []]
            missing = [c for c in LOG_COLUMNS if c not in names]
            if missing:
                raise StudyError(f"{path} is not a stimulus log: no column {missing[0]!r} (its header must have time_s,marker)")
            reader.fieldnames = names
            stimuli = [_stimulus(path, reader.line_num, row) for row in reader]
    except OSError as exc:
        raise StudyError(f"cannot read the stimulus log {path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise StudyError(f"{path} is not a readable CSV: {exc}") from None
    if not stimuli:
        raise StudyError(f"{path} has no stimuli (a header only)")
    return stimuli


def _stimulus(path: Path, line: int, row: dict[str, str | None]) -> Stimulus:
    text, marker = (row.get("time_s") or "").strip(), (row.get("marker") or "").strip()
    try:
        time_s = float(text)
    except ValueError:
        time_s = math.nan
    if not math.isfinite(time_s):
        raise StudyError(f"{path} line {line}: time_s {text!r} is not a number of seconds")
    if not marker:
        raise StudyError(f"{path} line {line}: no marker name")
    return Stimulus(time_s, marker, (row.get(RECORDING_COLUMN) or "").strip(), line)


def recording_trials(
    recording: Recording,
    stimuli: Sequence[Stimulus] | None,
    markers: Collection[str] = (),
    log_folder: Path = Path("."),
    others: Sequence[Recording] = (),
) -> tuple[list[Trial], list[str]]:
    """The recording's trials (of the `markers` named, all when empty) and notes on what was
    passed over. Without a log the events file's user markers are the onsets (those before the
    first frame have no time: noted); a log row naming another recording is not this one's."""
    notes: list[str] = []
    if stimuli is None:
        if recording.events.note:
            notes.append(f"{recording.name}: {recording.events.note}")
        onsets = []
        for marker in recording.events.markers:
            if marker.kind != "user" or (markers and marker.text not in markers):
                continue
            if marker.time_s is None:
                notes.append(f"{recording.name}: marker {marker.text!r} came before the first frame: no onset, passed over")
                continue
            onsets.append((marker.time_s, marker.text))
    else:
        onsets = [(s.time_s, s.marker) for s in stimuli if (not markers or s.marker in markers) and _belongs(s, recording, log_folder, others)]
    trials: list[Trial] = []
    counts: dict[str, int] = {}
    for onset_s, marker in sorted(onsets):
        counts[marker] = counts.get(marker, 0) + 1
        trials.append(Trial(recording.name, marker, counts[marker], float(onset_s)))
    return trials, notes


def _belongs(stimulus: Stimulus, recording: Recording, folder: Path, recordings: Sequence[Recording]) -> bool:
    if not stimulus.recording:
        return True
    named = find_recording(stimulus.recording, recordings or [recording], folder)
    return named is recording


def check_log_recordings(stimuli: Sequence[Stimulus], recordings: Sequence[Recording], log: Path) -> None:
    """A log row naming no given recording is a typo or a missing input: one line."""
    for stimulus in stimuli:
        if stimulus.recording and find_recording(stimulus.recording, recordings, log.parent) is None:
            raise StudyError(f"{log} line {stimulus.line}: recording {stimulus.recording!r} is none of the recordings given")


def study_trials(
    recordings: Sequence[Recording], log: Path | None, markers: Collection[str] = ()
) -> tuple[list[Trial], list[str]]:
    """Every recording's trials from a stimulus log (`log`) or, without one, its own events
    file, limited to `markers`; notes on what was passed over. No trial at all: StudyError."""
    stimuli = read_stimulus_log(log) if log is not None else None
    if stimuli is not None:
        check_log_recordings(stimuli, recordings, log)
    trials: list[Trial] = []
    notes: list[str] = []
    for recording in recordings:
        found, said = recording_trials(recording, stimuli, markers, log.parent if log is not None else Path("."), recordings)
        trials.extend(found)
        notes.extend(said)
    if not trials:
        where = str(log) if log is not None else "the recordings' events files (user markers)"
        named = f" named {', '.join(markers)}" if markers else ""
        raise StudyError(f"no stimulus onsets{named} in {where}: nothing to epoch")
    return trials, notes
