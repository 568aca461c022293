"""A recording read back for the report and the study analyses: the CSV's rows as a pandas
table, per-face series, the sidecar and the markers of its events file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from affect_live.recording.recording import events_path
from affect_live.recording.sidecar import sidecar_path
from affect_live.report.events import Events, read_events
from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS

REQUIRED = ("frame", "time_s", "face_id", "valence", "arousal", *EXPRESSIONS)


class ReportError(ValueError):
    """A recording the report cannot read; the message is one line."""


@dataclass
class FaceSeries:
    """One face's rows, in frame order."""

    face_id: int
    frame: np.ndarray
    time_s: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    probabilities: np.ndarray  # rows x 7, EXPRESSIONS order
    pose: dict[str, np.ndarray] = field(default_factory=dict)  # POSE_COLUMNS present in the CSV
    blendshapes: dict[str, np.ndarray] = field(default_factory=dict)  # BLENDSHAPE_NAMES present

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0]) if self.rows else 0.0

    def top_expression_shares(self) -> np.ndarray:
        """Share of rows whose top expression is each of EXPRESSIONS."""
        top = np.argmax(self.probabilities, axis=1)
        return np.bincount(top, minlength=len(EXPRESSIONS)) / max(self.rows, 1)


@dataclass
class Recording:
    csv: Path
    meta: dict[str, Any]  # the sidecar ({} when there is none)
    faces: list[FaceSeries]
    fps: float | None
    events: Events = field(default_factory=Events)
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # the CSV as read, in file order

    @property
    def span_s(self) -> tuple[float, float] | None:
        """The earliest and latest time of any row (None without one): the time plots' x range."""
        times = np.concatenate([face.time_s for face in self.faces]) if self.faces else np.empty(0)
        times = times[np.isfinite(times)]
        return (float(times.min()), float(times.max())) if times.size else None

    @property
    def name(self) -> str:
        return self.csv.stem

    def frame_rate(self) -> float:
        """Frames per second: the sidecar's source fps, else the median step of time_s per
        frame between a face's consecutive rows (the CSV alone); ReportError when neither tells."""
        if isinstance(self.fps, (int, float)) and np.isfinite(self.fps) and self.fps > 0:
            return float(self.fps)
        steps: list[float] = []
        for face in self.faces:
            frames, times = np.diff(face.frame), np.diff(face.time_s)
            ok = (frames > 0) & (times > 0)
            steps.extend(times[ok] / frames[ok])
        if not steps:
            raise ReportError(f"{self.csv}: cannot tell its frame rate (no fps in its sidecar and no consecutive frames of a face)")
        return float(1.0 / np.median(steps))

    @property
    def prior_heads(self) -> list[str]:
        return list((self.meta.get("model") or {}).get("prior_heads") or [])


def read_recording(path: Path) -> Recording:
    """Raises ReportError (one line) for a missing file or one without affect-live's columns."""
    try:
        # pandas 3 parses floats exactly as Python's float() does (checked on 40,000 values of
        # the CSV's formats), so the analyses equal arithmetic on the file
        rows = pd.read_csv(path, dtype={"expression": str}, keep_default_na=False, na_values=[""])
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror}") from None
    except pd.errors.EmptyDataError:
        raise ReportError(f"{path} is not an affect-live recording (it is empty)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"{path} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise ReportError(f"{path} is not an affect-live recording (no column {missing[0]!r})")
    numeric = [c for c in rows.columns if c != "expression"]
    if rows.empty:  # a header only: no values to check, but numeric columns for the analyses
        rows = rows.astype({c: float for c in numeric})
    bad = [c for c in numeric if not pd.api.types.is_numeric_dtype(rows[c])]
    if bad:
        raise ReportError(f"{path}: a row has a bad value in column {bad[0]!r}")
    if rows["face_id"].isna().any() or rows["frame"].isna().any():
        raise ReportError(f"{path}: a row has no frame or face_id")
    rows = rows.astype({"frame": int, "face_id": int}).copy()  # one block per dtype: later column adds stay fast
    try:
        meta = json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        meta = {}
    meta = meta if isinstance(meta, dict) else {}
    fps = (meta.get("source") or {}).get("fps")
    named = meta.get("events_csv")  # the sidecar names the events file, which lies beside the CSV
    name = Path(named).name if isinstance(named, str) else ""
    events = read_events(Path(path).with_name(name) if name else events_path(path))
    return Recording(Path(path), meta, _faces(rows), fps, events, rows)


def _faces(rows: pd.DataFrame) -> list[FaceSeries]:
    pose = [c for c in POSE_COLUMNS if c in rows.columns]
    shapes = [c for c in BLENDSHAPE_NAMES if c in rows.columns]
    faces = []
    for face_id, face_rows in rows.groupby("face_id", sort=True):
        face_rows = face_rows.sort_values("frame", kind="stable")

        def column(name: str, face_rows: pd.DataFrame = face_rows) -> np.ndarray:
            return face_rows[name].to_numpy(dtype=float)

        faces.append(
            FaceSeries(
                face_id=int(face_id),
                frame=face_rows["frame"].to_numpy(dtype=int),
                time_s=column("time_s"),
                valence=column("valence"),
                arousal=column("arousal"),
                probabilities=np.stack([column(name) for name in EXPRESSIONS], axis=1),
                pose={c: column(c) for c in pose},
                blendshapes={c: column(c) for c in shapes},
            )
        )
    return faces
