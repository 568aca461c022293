"""The participants table of a study report: a CSV with one row per recording (or per face of
one), saying who is in it and in which condition.

Columns: `recording` (its CSV's stem or its CSV path relative to the table's folder),
`participant`, `condition`; optional `face_id` (the row is that face only; empty or no column:
every face of the recording is that participant, as when a tracker gave one person two ids);
any other columns are carried into the tidy table and the per-participant summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from affect_live.measures import MEASURES
from affect_live.report.data import Recording
from affect_live.study.epochs import CHANGE_PREFIX, TRIAL_KEYS
from affect_live.study.responses import STATISTIC
from affect_live.study.inputs import StudyError, find_recording

REQUIRED = ("recording", "participant", "condition")
# The columns the trials and the tidy table have already: an extra column may not take their names.
RESERVED = frozenset({*TRIAL_KEYS, "onset_s", "t_s", "frame", "time_s", "fps", "frames_expected", "frames_present", "share_present",
                      "pre_frames_present", "post_frames_present", "corrected", "note", "measure", "trials", "window_from_s",
                      "window_to_s", "prior", STATISTIC})  # fmt: skip
FACE = "face_id"
ANY_FACE = -1  # a row without face_id: every face of its recording


@dataclass(frozen=True)
class Participants:
    """`faces`: one row per (recording name, face_id or ANY_FACE) with participant, condition
    and the extra columns, as text."""

    faces: pd.DataFrame
    extra: tuple[str, ...]

    def attach(self, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`table` (with recording, face_id) with participant, condition and the extra columns;
        and the (recording, face_id) pairs of faces the participants table does not name,
        which are left out."""
        keys = table[["recording", "face_id"]].drop_duplicates()
        exact = keys.merge(self.faces, on=["recording", "face_id"], how="left")
        anyface = keys.merge(self.faces[self.faces["face_id"] == ANY_FACE].drop(columns="face_id"), on="recording", how="left")
        mapped = exact.combine_first(anyface)[["recording", "face_id", "participant", "condition", *self.extra]]
        unnamed = mapped[mapped["participant"].isna()][["recording", "face_id"]]
        attached = table.merge(mapped.dropna(subset=["participant"]), on=["recording", "face_id"], how="inner")
        front = ["recording", "face_id", "participant", "condition", *self.extra]
        return attached[front + [c for c in table.columns if c not in front]], unnamed.reset_index(drop=True)

    def pairs(self) -> pd.DataFrame:
        """Every (participant, condition) of the table with its extra columns (values that
        differ between its rows joined with '; ')."""
        grouped = self.faces.groupby(["participant", "condition"], sort=True)
        rows = []
        for (participant, condition), part in grouped:
            row = {"participant": participant, "condition": condition}
            row.update({c: "; ".join(dict.fromkeys(str(v) for v in part[c] if str(v))) for c in self.extra})
            rows.append(row)
        return pd.DataFrame(rows, columns=["participant", "condition", *self.extra])


def read_participants(path: Path, recordings: Sequence[Recording]) -> Participants:
    """Raises StudyError (one line, with the line number) for a missing column or value, a row
    naming no recording given, a bad or repeated face_id, or a recording given but not named."""
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except OSError as exc:
        raise StudyError(f"cannot read the participants table {path}: {exc.strerror}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise StudyError(f"{path} is not a readable CSV: {str(exc).splitlines()[0] if str(exc) else 'empty'}") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise StudyError(f"{path} is not a participants table: no column {missing[0]!r} (it needs recording,participant,condition)")
    extra = tuple(c for c in table.columns if c not in (*REQUIRED, FACE))
    taken = next((c for c in extra if c in RESERVED or c.startswith(CHANGE_PREFIX) or c in MEASURES), None)
    if taken:
        raise StudyError(f"{path}: column {taken!r} is also a column of the outputs (epochs, trials, tidy table): rename it")
    rows = []
    for number, row in enumerate(table.to_dict("records"), start=2):  # line 1 is the header
        values = {c: str(row[c]).strip() for c in table.columns}
        empty = next((c for c in REQUIRED if not values[c]), None)
        if empty:
            raise StudyError(f"{path} line {number}: no {empty}")
        recording = find_recording(values["recording"], recordings, path.parent)
        if recording is None:
            raise StudyError(f"{path} line {number}: recording {values['recording']!r} is none of the recordings given (name one by its CSV's stem or path)")
        face = values.get(FACE, "")
        if face and not (face.isdigit() and int(face) in {f.face_id for f in recording.faces}):
            raise StudyError(f"{path} line {number}: face_id {face!r} is no face of {recording.name}")
        rows.append({**values, "recording": recording.name, "face_id": int(face) if face else ANY_FACE, "line": number})
    if not rows:
        raise StudyError(f"{path} has no participants (a header only)")
    faces = pd.DataFrame(rows)
    repeated = faces[faces.duplicated(["recording", "face_id"], keep="first")]
    if len(repeated):
        first = repeated.iloc[0]
        raise StudyError(f"{path} line {first['line']}: {first['recording']} " + ("" if first["face_id"] == ANY_FACE else f"face {first['face_id']} ") + "is named twice")
    unnamed = [r.name for r in recordings if r.name not in set(faces["recording"])]
    if unnamed:
        raise StudyError(f"recording {unnamed[0]} is not in the participants table {path}")
    return Participants(faces[["recording", "face_id", "participant", "condition", *extra]], extra)
