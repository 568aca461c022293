"""Each person's baseline from a finished recording, as a `--baseline` spec asks, and the
corrected columns it gives (baseline_apply.add_corrected_columns).

Baselines are computed from the CSV's own values, so `delta_<m>` equals arithmetic on the file:
the mean of the person's rows in the interval (both ends included) subtracted from each row.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect_live.baselines import MIN_FRAMES, Baseline, compute_baseline
from affect_live.errors import RecordingError
from affect_live.report.data import Recording, ReportError, read_recording
from affect_live.report.events import Events
from affect_live.study.baseline_apply import add_corrected_columns, measure_values
from affect_live.study.baseline_spec import BaselinePlan
from affect_live.study.calibration import Match

log = logging.getLogger(__name__)


def marker_interval(events: Events, start: str, end: str) -> tuple[float, float] | str:
    """(start_s, end_s) between the first marker `start` and the next `end` after it; a
    marker that came before the first frame counts from the start (-inf). A string says why
    there is no interval."""
    markers = list(events.markers)
    first = next((i for i, m in enumerate(markers) if m.text == start), None)
    if first is None:
        return f"no marker {start!r} in the recording's events" + (f" ({events.note})" if events.note else "")
    after = next((m for m in markers[first + 1 :] if m.text == end), None)
    if after is None:
        return f"the marker {end!r} never came after {start!r}"
    begin = markers[first].time_s
    return (-math.inf if begin is None else begin, -math.inf if after.time_s is None else after.time_s)


def interval_baselines(rows: pd.DataFrame, start_s: float, end_s: float, how: str) -> tuple[list[Baseline], dict[int, str]]:
    """Each person's baseline over their rows with start_s <= time_s <= end_s, and why the
    others have none."""
    baselines, notes = [], {}
    for face_id, face_rows in rows.groupby("face_id", sort=True):
        times = face_rows["time_s"].to_numpy(dtype=float)
        inside = face_rows[(times >= start_s) & (times <= end_s)]
        baseline = compute_baseline(int(face_id), measure_values(inside), how, _finite(start_s, times), _finite(end_s, times))
        if baseline is not None:
            baselines.append(baseline)
        else:
            notes[int(face_id)] = (f"not present in the baseline interval ({how})" if inside.empty
                                   else f"only {len(inside)} frames in the baseline interval ({how}); at least {MIN_FRAMES} are needed")
    return baselines, notes


def _finite(bound: float, times: np.ndarray) -> float | None:
    return round(float(bound), 4) if math.isfinite(bound) else (round(float(times.min()), 4) if len(times) else None)


def recording_baselines(
    recording: Recording, plan: BaselinePlan, start_s: float | None = None, matches: dict[int, Match] | None = None
) -> tuple[list[Baseline], dict[int, str], str]:
    """The baselines a plan gives this recording, the notes of people without one, and a note
    when nobody can have one. `start_s`: the time of the recording's first analysed frame (by
    default its first row's); `matches`: the session's faces matched to the calibration."""
    spec, rows = plan.spec, recording.rows
    if spec.kind == "first":
        begin = start_s if start_s is not None else (float(rows["time_s"].min()) if len(rows) else 0.0)
        how = f"first {spec.seconds:g} s of the recording ({begin:.2f}-{begin + spec.seconds:.2f} s)"
        return (*interval_baselines(rows, begin, begin + spec.seconds, how), "")
    if spec.kind == "markers":
        interval = marker_interval(recording.events, spec.start_marker, spec.end_marker)
        if isinstance(interval, str):
            return [], {}, interval
        how = f"between the markers {spec.start_marker!r} and {spec.end_marker!r}"
        return (*interval_baselines(rows, *interval, how), "")
    calibration = plan.calibration
    assert calibration is not None
    baselines, notes = [], {}
    for face_id in sorted(int(f) for f in rows["face_id"].unique()):
        match = (matches or {}).get(face_id, Match(face_id, None, None))
        baseline = calibration.baseline_for(match)
        if baseline is not None:
            baselines.append(baseline)
        elif match.calibration_face_id is None:
            notes[face_id] = match.why_unmatched(calibration)
        else:
            notes[face_id] = f"matched to face {match.calibration_face_id} of {calibration.csv.name}, which has under {MIN_FRAMES} frames"
    return baselines, notes, ""


def apply_baseline(csv_path: Path, plan: BaselinePlan, start_s: float | None = None, matches: dict[int, Match] | None = None) -> dict[str, Any]:
    """Compute the plan's baselines from the finished recording and add its corrected columns;
    returns the sidecar's `baselines`. Raises RecordingError (one line)."""
    try:
        recording = read_recording(csv_path)
    except ReportError as exc:
        raise RecordingError(str(exc)) from None
    baselines, notes, note = recording_baselines(recording, plan, start_s, matches)
    return add_corrected_columns(csv_path, baselines, notes, plan.setting, note, rows=recording.rows)


def summary_line(csv_path: Path, summary: dict[str, Any]) -> str | None:
    """One line for the console when someone has no baseline (None when everyone has one)."""
    if summary.get("note"):
        return f"{Path(csv_path).name}: no baseline: {summary['note']}; the corrected columns are empty"
    without = summary.get("without") or []
    if not without:
        return None
    said = "; ".join(f"face {w['face_id']}: {w['why']}" for w in without)
    return f"{Path(csv_path).name}: no baseline for {len(without)} of {len(without) + len(summary['people'])} people ({said}); their corrected columns are empty"
