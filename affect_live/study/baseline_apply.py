"""The baseline-corrected columns added to a finished recording: the one implementation that
`analyze --baseline` and the app (when a recording stops) both call.

`add_corrected_columns` appends `delta_<m>` then `z_<m>` for every m of CORRECTED_MEASURES
(baselines.Baseline.correct: value minus the person's baseline mean; divided by its sd where the
spread allows) to every row, and records each baseline in the sidecar's `baselines`. A person
without a baseline gets empty cells, never 0, and a note saying why. The raw columns are copied
byte for byte. The CSV is rewritten into `<name>.csv.partial` and moved over the CSV in one
`os.replace`, so an interrupted pass leaves the raw recording as it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect_live.baselines import MIN_FRAMES, Z_MIN_SD, Baseline
from affect_live.errors import RecordingError
from affect_live.measures import CORRECTED_COLUMNS, CORRECTED_MEASURES
from affect_live.recording.output_files import csv_temp_path, sidecar_path
from affect_live.recording.sidecar import write_sidecar
from affect_live.report.data import ReportError, read_recording

log = logging.getLogger(__name__)

NO_BASELINE = "no baseline was taken for this person"
CORRECTION = (
    f"delta_<m> = value - the person's baseline mean; z_<m> = delta_<m> / the baseline's sample sd (ddof=1), "
    f"empty where the sd is under {Z_MIN_SD:g}; a measure needs {MIN_FRAMES} baseline frames; "
    "empty cells for a person without a baseline (never 0)"
)


def measure_values(rows: pd.DataFrame) -> np.ndarray:
    """Rows x CORRECTED_MEASURES of a recording's table; NaN for columns it lacks (--no-actions)."""
    return np.column_stack([
        rows[m].to_numpy(dtype=float) if m in rows.columns else np.full(len(rows), np.nan) for m in CORRECTED_MEASURES
    ]).reshape(len(rows), len(CORRECTED_MEASURES))  # fmt: skip


def add_corrected_columns(
    csv_path: Path, baselines: Sequence[Baseline], notes: Mapping[int, str] | None = None, spec: str = "", note: str = "",
    rows: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Append the corrected columns to the recording `csv_path` (again: corrected columns
    already there are replaced) and record the baselines in its sidecar.

    `baselines`: one per person (by face_id) who has one; `notes`: why a person has none (a
    person with neither gets NO_BASELINE); `spec`: how they were asked for (`first:10s`, the
    app's "calibrate"); `note`: why nobody has one, when it is one reason (an END marker that
    never came); `rows`: the recording's table when the caller has read it already (not read
    again). Returns the sidecar's `baselines`. Raises RecordingError (one line) when the
    recording cannot be read or written; the CSV is then unchanged."""
    csv_path = Path(csv_path)
    try:
        rows = read_recording(csv_path).rows if rows is None else rows
        lines = csv_path.read_text().splitlines()
    except (ReportError, OSError) as exc:
        raise RecordingError(f"cannot add the corrected columns to {csv_path}: {exc}") from None
    if len(lines) != len(rows) + 1:  # a blank or broken line: the rows would not line up
        raise RecordingError(f"cannot add the corrected columns to {csv_path}: its lines are not one row each")
    header = lines[0].split(",")
    keep = [i for i, column in enumerate(header) if column not in CORRECTED_COLUMNS]  # a second pass replaces them
    by_face = {b.face_id: b for b in baselines}
    corrected = np.full((len(rows), len(CORRECTED_COLUMNS)), np.nan)
    values = measure_values(rows)
    face_ids = rows["face_id"].to_numpy()
    for face_id, baseline in by_face.items():
        mask = face_ids == face_id
        if mask.any():
            corrected[mask] = baseline.correct(values[mask])
    corrected = np.round(corrected, 6) + 0.0  # no "-0.000000" for a value at the mean
    extra = pd.DataFrame(corrected).to_csv(header=False, index=False, float_format="%.6f", na_rep="", lineterminator="\n").splitlines()
    temp = csv_temp_path(csv_path)
    try:
        with open(temp, "w", newline="") as out:
            out.write(",".join([header[i] for i in keep] + list(CORRECTED_COLUMNS)) + "\n")
            for line, tail in zip(lines[1:], extra, strict=True):
                fields = line.split(",")
                raw = line if len(keep) == len(fields) else ",".join(fields[i] for i in keep)
                out.write(f"{raw},{tail}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, csv_path)
    except OSError as exc:
        raise RecordingError(f"cannot write the corrected columns of {csv_path}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
    summary = _summary(sorted(set(int(f) for f in face_ids) | set(by_face)), by_face, notes or {}, spec, note)
    _update_sidecar(csv_path, [header[i] for i in keep], summary)
    log.info("%s: corrected columns added (%d with a baseline, %d without)", csv_path.name, len(summary["people"]), len(summary["without"]))
    return summary


def _summary(face_ids: list[int], by_face: dict[int, Baseline], notes: Mapping[int, str], spec: str, note: str) -> dict[str, Any]:
    without = [{"face_id": f, "why": notes.get(f) or note or NO_BASELINE} for f in face_ids if f not in by_face]
    summary: dict[str, Any] = {"spec": spec, "correction": CORRECTION, "people": [by_face[f].to_json() for f in sorted(by_face)], "without": without}
    if note:
        summary["note"] = note
    return summary


def _update_sidecar(csv_path: Path, raw_columns: list[str], summary: dict[str, Any]) -> None:
    path = sidecar_path(csv_path)
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        meta = {}  # a recording without its sidecar gets one saying at least this
    meta = meta if isinstance(meta, dict) else {}
    meta["columns"] = [*raw_columns, *CORRECTED_COLUMNS]
    meta["baselines"] = summary
    write_sidecar(path, meta)
