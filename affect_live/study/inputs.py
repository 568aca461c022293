"""What every study analysis reads and writes the same way: recordings (through
`report.data.read_recording`), how a table names one of them (its CSV's stem, or its path), its
frame rate, and output files that are never overwritten."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from affect_live.report.build import EVENTS_SUFFIX
from affect_live.report.data import Recording, ReportError, read_recording

log = logging.getLogger(__name__)


class StudyError(ValueError):
    """Bad input to a study analysis (a recording, a stimulus log, a participants table, an
    option); the message is one line for the user."""


def read_recordings(paths: Sequence[Path]) -> list[Recording]:
    """Every recording, in the order given; events files given by a glob (`results/*.csv`) are
    passed over. Two recordings with one stem would be one name in the tables: refused."""
    recordings: list[Recording] = []
    for path in paths:
        if Path(path).name.endswith(EVENTS_SUFFIX):
            log.info("skipping %s: the events (markers) file of a recording", path)
            continue
        try:
            recordings.append(read_recording(Path(path)))
        except ReportError as exc:
            raise StudyError(str(exc)) from None
    if not recordings:
        raise StudyError("no recording given (only events files)")
    seen: dict[str, Path] = {}
    for recording in recordings:
        other = seen.setdefault(recording.name, recording.csv)
        if other != recording.csv:
            raise StudyError(f"{other} and {recording.csv} have one name ({recording.name}) in the tables: rename one")
    return recordings


def find_recording(name: str, recordings: Sequence[Recording], base: Path) -> Recording | None:
    """The recording a table's cell names: a CSV path (has a '/' or ends in .csv; relative to
    the table's folder `base`) or a CSV's stem (`clip` for `results/clip.csv`)."""
    name = name.strip()
    if "/" in name or "\\" in name or name.lower().endswith(".csv"):
        wanted = (base / name).resolve()
        return next((r for r in recordings if r.csv.resolve() == wanted), None)
    return next((r for r in recordings if r.name == name), None)


def frame_rate(recording: Recording) -> float:
    """The recording's frames per second (Recording.frame_rate) or StudyError."""
    try:
        return recording.frame_rate()
    except ReportError as exc:
        raise StudyError(str(exc)) from None


def refuse_existing(paths: Iterable[Path]) -> None:
    """Outputs are never overwritten: one line naming the first that exists."""
    for path in paths:
        if path.exists():
            raise StudyError(f"{path} exists: outputs are never overwritten; choose another --out or remove it")


def write_new_csv(table: pd.DataFrame, path: Path) -> Path:
    """Writes `table` to a file that must not exist yet (opened with 'x': no race either)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "x", newline="") as handle:
        table.to_csv(handle, index=False)
    return path
