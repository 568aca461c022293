"""A recording read back for the report: per-face series from the CSV, the sidecar and the
markers of its events file."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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

    @property
    def span_s(self) -> tuple[float, float] | None:
        """The earliest and latest time of any row (None without one): the time plots' x range."""
        times = np.concatenate([face.time_s for face in self.faces]) if self.faces else np.empty(0)
        times = times[np.isfinite(times)]
        return (float(times.min()), float(times.max())) if times.size else None

    @property
    def name(self) -> str:
        return self.csv.stem

    @property
    def prior_heads(self) -> list[str]:
        return list((self.meta.get("model") or {}).get("prior_heads") or [])


def _floats(rows: list[dict[str, str]], column: str) -> np.ndarray:
    return np.array([float(row[column]) if row.get(column) not in (None, "") else np.nan for row in rows], dtype=float)


def read_recording(path: Path) -> Recording:
    """Raises ReportError (one line) for a missing file or one without affect-live's columns."""
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise ReportError(f"{path} is not an affect-live recording (no column {missing[0]!r})")
            rows = list(reader)
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} is not a readable CSV: {exc}") from None
    try:
        meta = json.loads(sidecar_path(path).read_text())
    except (OSError, ValueError):
        meta = {}
    try:
        faces = _faces(rows, columns)
    except (KeyError, ValueError) as exc:
        raise ReportError(f"{path}: a row has a bad value ({exc})") from None
    meta = meta if isinstance(meta, dict) else {}
    fps = (meta.get("source") or {}).get("fps")
    named = meta.get("events_csv")  # the sidecar names the events file, which lies beside the CSV
    name = Path(named).name if isinstance(named, str) else ""
    events = read_events(Path(path).with_name(name) if name else events_path(path))
    return Recording(Path(path), meta, faces, fps, events)


def _faces(rows: list[dict[str, str]], columns: list[str]) -> list[FaceSeries]:
    by_face: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        by_face.setdefault(int(row["face_id"]), []).append(row)
    pose = [c for c in POSE_COLUMNS if c in columns]
    shapes = [c for c in BLENDSHAPE_NAMES if c in columns]
    faces = []
    for face_id, face_rows in sorted(by_face.items()):
        face_rows.sort(key=lambda r: int(r["frame"]))
        faces.append(
            FaceSeries(
                face_id=face_id,
                frame=np.array([int(r["frame"]) for r in face_rows]),
                time_s=_floats(face_rows, "time_s"),
                valence=_floats(face_rows, "valence"),
                arousal=_floats(face_rows, "arousal"),
                probabilities=np.stack([_floats(face_rows, name) for name in EXPRESSIONS], axis=1),
                pose={c: _floats(face_rows, c) for c in pose},
                blendshapes={c: _floats(face_rows, c) for c in shapes},
            )
        )
    return faces
