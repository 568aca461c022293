"""A calibration recording's people, and the matching of a session's faces to them by
re-identification (docs/study.md, Baselines; docs/reidentification.md).

The calibration recording is a CSV made by `analyze` of a clip of the same person(s) at rest.
Its people are described by re-reading the video its sidecar names (the CSV holds no
descriptors): a few of each person's frames, spread over their rows, are decoded again, the
face detector runs, the detection overlapping the CSV's box is cut into a chip and described
(faces/descriptor.py). A camera or stream has nothing to re-read, which is one error line.

A session's faces are described as they are analysed (FaceMatcher, from the frames the pipeline
passes on), so a match is known within a face's first frames: the LSL stream gets corrected
values from then on, and a camera session can be matched too. Each face takes the calibration
person with the smallest distance, if below the re-identification threshold; the distance of a
face to a person is the median, over the face's descriptors, of the smallest distance to the
person's descriptors. Two faces of a session may take the same person (someone who came back
with a new id, e.g. with --no-reid).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_live.baselines import Baseline, compute_baseline
from affect_live.errors import BundleError, UserError
from affect_live.faces.identity import DEFAULT_THRESHOLD, Describe
from affect_live.faces.tracker import iou_matrix
from affect_live.report.data import ReportError, read_recording
from affect_live.study.baseline_apply import measure_values
from affect_live.types import FrameResult

log = logging.getLogger(__name__)

DESCRIBED_FRAMES = 5  # frames described per person (calibration) and per face (session)
MIN_IOU = 0.3  # a re-detected face must overlap the CSV's box this much to be that person
REREAD_KINDS = ("video", "images")


@dataclass(frozen=True)
class CalibrationPerson:
    face_id: int  # in the calibration recording
    values: np.ndarray  # rows x CORRECTED_MEASURES: the baseline's frames (all the person's rows)
    times: tuple[float, float]  # first and last time_s
    descriptors: np.ndarray  # n x 128 (n may be 0: never found again in the video)


@dataclass(frozen=True)
class Calibration:
    csv: Path
    video: str
    people: tuple[CalibrationPerson, ...]
    threshold: float = DEFAULT_THRESHOLD

    def baseline_for(self, match: Match) -> Baseline | None:
        """The session face's baseline from its matched calibration person (None: unmatched
        or too few calibration frames)."""
        person = next((p for p in self.people if p.face_id == match.calibration_face_id), None)
        if person is None:
            return None
        details = {"calibration": str(self.csv.absolute()), "calibration_face_id": person.face_id,
                   "match_distance": round(float(match.distance), 4), "match_threshold": self.threshold}  # fmt: skip
        how = f"calibration recording {self.csv.name}, its face {person.face_id} (all its rows), matched by re-identification"
        return compute_baseline(match.face_id, person.values, how, person.times[0], person.times[1], details)


@dataclass(frozen=True)
class Match:
    face_id: int  # in the session
    calibration_face_id: int | None  # None: nobody below the threshold
    distance: float | None  # to the closest calibration person (None: nothing to compare)

    def why_unmatched(self, calibration: Calibration) -> str:
        if self.distance is None:
            return f"not matched to {calibration.csv.name}: no descriptor to compare"
        return f"not matched to anyone of {calibration.csv.name} (closest descriptor distance {self.distance:.2f}, threshold {calibration.threshold:g})"


def _video_of(csv: Path, source: dict) -> str:
    kind, name = source.get("kind"), str(source.get("name") or "")
    if kind not in REREAD_KINDS:
        what = f"camera {name}" if kind == "camera" else f"a {kind or 'unknown source'} ({name})" if name else "an unknown source"
        raise UserError(f"the calibration recording {csv} came from {what}: there is no video to re-read to describe its people; analyse a video file of the calibration instead")
    for candidate in (Path(name), csv.parent / Path(name).name):  # moved with its CSV: found beside it
        if name and candidate.exists():
            return str(candidate)
    raise UserError(f"the video of the calibration recording {csv} is not at {name} nor beside the CSV: it is needed to describe its people")


def load_calibration(csv: Path, describe: Describe | None = None) -> Calibration:
    """Read a calibration recording and describe its people; UserError (one line) when it
    cannot be used. `describe` defaults to the shipped descriptor model."""
    try:
        recording = read_recording(csv)
    except ReportError as exc:
        raise UserError(str(exc)) from None
    if recording.rows.empty:
        raise UserError(f"the calibration recording {csv} has no face rows")
    video = _video_of(csv, recording.meta.get("source") or {})
    rows = recording.rows
    wanted: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)  # frame -> (face, box)
    for face_id, face_rows in rows.groupby("face_id", sort=True):
        picks = np.unique(np.linspace(0, len(face_rows) - 1, DESCRIBED_FRAMES).round().astype(int))
        for _, row in face_rows.iloc[picks].iterrows():
            wanted[int(row["frame"])].append((int(face_id), row[["x", "y", "w", "h"]].to_numpy(dtype=float)))
    found = _describe_again(video, wanted, describe)
    people = []
    for face_id, face_rows in rows.groupby("face_id", sort=True):
        times = face_rows["time_s"].to_numpy(dtype=float)
        descriptors = np.array(found.get(int(face_id), []), dtype=np.float32).reshape(-1, 128)
        people.append(CalibrationPerson(int(face_id), measure_values(face_rows), (float(times.min()), float(times.max())), descriptors))
    if not any(len(p.descriptors) for p in people):
        raise UserError(f"no face of the calibration recording {csv} was found again in its video {video} (was the video changed?)")
    return Calibration(Path(csv), video, tuple(people))


def _describe_again(video: str, wanted: dict[int, list[tuple[int, np.ndarray]]], describe: Describe | None) -> dict[int, list[np.ndarray]]:
    """Descriptors by calibration face id, from the wanted frames of the video."""
    from affect_live.faces.descriptor import FaceDescriptor
    from affect_live.faces.detector import FaceDetector
    from affect_live.pipeline.sources import open_source

    try:
        describe = describe or FaceDescriptor().describe
        detector = FaceDetector()
    except BundleError as exc:
        raise UserError(str(exc)) from None
    found: dict[int, list[np.ndarray]] = defaultdict(list)
    last = max(wanted)
    try:
        with open_source(video) as source:
            for frame in source.frames():
                faces = wanted.get(frame.index, [])
                detections = detector.detect(frame.image) if faces else []
                for face_id, box in faces if detections else []:
                    overlap = iou_matrix(box[None, :], np.array([d.box for d in detections], dtype=float))[0]
                    if overlap.max() >= MIN_IOU:
                        found[face_id].append(describe(frame.image, [detections[int(overlap.argmax())]])[0])
                if frame.index >= last:
                    break
    except Exception as exc:  # SourceError and OS errors alike: one line
        raise UserError(f"cannot re-read the calibration video {video}: {exc}") from None
    finally:
        detector.close()
    return found


class FaceMatcher:
    """Matches a session's faces to the calibration's people from the analysed frames (which
    must carry their image); on the analysis thread only."""

    def __init__(self, calibration: Calibration, describe: Describe, frames: int = DESCRIBED_FRAMES) -> None:
        self.calibration = calibration
        self._describe = describe
        self._frames = frames
        self._descriptors: dict[int, list[np.ndarray]] = defaultdict(list)
        self.matches: dict[int, Match] = {}

    def feed(self, result: FrameResult) -> list[Match]:
        """Describe the faces still undecided; the matches decided in this frame."""
        todo = [p for p in result.predictions if p.face_id not in self.matches]
        if not todo or result.image is None:
            return []
        for p, descriptor in zip(todo, self._describe(result.image, [p.detection for p in todo]), strict=True):
            self._descriptors[p.face_id].append(descriptor)
        return [self._decide(p.face_id) for p in todo if len(self._descriptors[p.face_id]) >= self._frames]

    def finish(self, face_ids: set[int] | None = None) -> dict[int, Match]:
        """Decide the faces seen too briefly for `frames` descriptors; every match by face id
        (`face_ids`: also those never described)."""
        for face_id in list(self._descriptors):
            if face_id not in self.matches:
                self._decide(face_id)
        for face_id in face_ids or ():
            self.matches.setdefault(face_id, Match(face_id, None, None))
        return dict(self.matches)

    def _decide(self, face_id: int) -> Match:
        faces = np.array(self._descriptors[face_id], dtype=np.float32)
        best: tuple[float, int] | None = None
        for person in self.calibration.people:
            if not len(person.descriptors):
                continue
            pairwise = np.linalg.norm(faces[:, None, :] - person.descriptors[None, :, :], axis=2)
            distance = float(np.median(pairwise.min(axis=1)))
            if best is None or distance < best[0]:
                best = (distance, person.face_id)
        if best is None:
            match = Match(face_id, None, None)
        else:
            match = Match(face_id, best[1] if best[0] < self.calibration.threshold else None, best[0])
        self.matches[face_id] = match
        log.info("face %d: %s", face_id, f"calibration face {match.calibration_face_id} (distance {match.distance:.2f})"
                 if match.calibration_face_id is not None else match.why_unmatched(self.calibration))  # fmt: skip
        return match
