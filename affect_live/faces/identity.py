"""Re-identification: a person who leaves and comes back gets their face id back.

The tracker (faces/tracker.py) gives a face that was gone longer than its grace a new track.
This module sits after it: each new track's face descriptor (faces/descriptor.py, 128-d, dlib's
metric) is compared with the people of the session's gallery who are not on screen, and a
match (Euclidean distance below ``threshold``, 0.6 by default as dlib and face-api use; measured
on our chips in docs/reidentification.md) hands that person's id to the new track. The new
track still starts with ``new_track=True``, so the temporal window restarts: statistics never
bridge the gap.

Why a returning id is safe although the tracker never reuses ids: the old track's end reached
the engine as ``ended_ids`` (its ring buffers were dropped) in this frame's packet or an
earlier one, and packets are processed in order, so every frame carrying the old track's rows
is processed before the first frame of the new one, which restarts the window anyway (live
sources drop packets, but the one that replaces another keeps its ended ids and new tracks:
``pipeline.carry_track_events``). After
``reset()`` (a new source, a seek) the gallery is forgotten and ids keep counting up, so frames
still in flight from before never share an id with a face after it.

Descriptors run only when needed: on a track's first frame; on each of its next
``confirm_frames`` frames while it matched nobody and someone is absent (a face entering at the
frame's edge is only partly visible at first: once it matches someone absent it takes their id,
from that frame on, and the provisional id ends); and for one on-screen person every
``refresh_every`` frames, to add an exemplar (at most ``exemplars`` kept per person: the first
and the latest).

The gallery is bounded: a person absent for more than ``forget_after`` frames is forgotten, and
beyond ``gallery_size`` people the longest absent go first (people on screen are never
forgotten, so a crowd larger than the bound keeps every id it shows). A forgotten person who
returns gets a new id, as without re-identification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from affect_live.types import Detection

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.5  # measured: docs/reidentification.md (tools/reid_threshold.py)
GALLERY_SIZE = 64  # people remembered at most (each a few 128-d exemplars)
FORGET_AFTER = 18_000  # frames absent before a person is forgotten: 10 minutes at 30 fps
Describe = Callable[[np.ndarray, Sequence[Detection]], np.ndarray]


@dataclass
class _Person:
    exemplars: list[np.ndarray] = field(default_factory=list)
    last_seen: int = 0  # the frame (IdentityStats.frames) this person was last on screen

    def distance(self, descriptor: np.ndarray) -> float:
        return float(min(np.linalg.norm(e - descriptor) for e in self.exemplars))

    def add(self, descriptor: np.ndarray, limit: int) -> None:
        self.exemplars.append(descriptor)
        if len(self.exemplars) > limit:  # keep the first and the most recent ones
            del self.exemplars[1]


@dataclass
class _Track:
    person: int
    age: int = 0  # frames since the track started
    provisional: bool = False  # matched nobody yet: may still turn out to be someone absent


@dataclass
class IdentityStats:
    frames: int = 0
    descriptors: int = 0  # faces described
    reidentified: int = 0
    forgotten: int = 0  # people dropped from the gallery (absent too long, or too many)


class Identities:
    """Maps tracker ids to person ids (the ``face_id`` users see); one thread only."""

    def __init__(self, describe: Describe, threshold: float = DEFAULT_THRESHOLD, refresh_every: int = 30,
                 confirm_frames: int = 10, exemplars: int = 8, gallery_size: int = GALLERY_SIZE,
                 forget_after: int = FORGET_AFTER) -> None:
        if not threshold > 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        self._describe = describe
        self.threshold = float(threshold)
        self.refresh_every = max(1, int(refresh_every))
        self.confirm_frames = int(confirm_frames)
        self.exemplars = max(1, int(exemplars))
        self.gallery_size = max(1, int(gallery_size))
        self.forget_after = max(1, int(forget_after))
        self._people: dict[int, _Person] = {}
        self._tracks: dict[int, _Track] = {}  # tracker id -> state
        self._next_person = 1
        self._refresh_cursor = 0
        self.stats = IdentityStats()

    def resolve(
        self, image: np.ndarray, assigned: Sequence[tuple[int, Detection, bool]], ended: Sequence[int]
    ) -> tuple[list[tuple[int, Detection, bool]], list[int]]:
        """The tracker's output for one frame with person ids: ``(face_id, detection,
        new_track)`` per face and the face ids whose tracks ended (buffers to drop)."""
        self.stats.frames += 1
        ended_people = [self._tracks.pop(t).person for t in ended if t in self._tracks]
        for track_id, _, is_new in assigned:
            if is_new or track_id not in self._tracks:
                self._tracks[track_id] = _Track(person=0)
            else:
                track = self._tracks[track_id]
                track.age += 1
                # Only a young track may still turn out to be someone absent. Whoever is absent
                # was last seen more than max_missed frames ago, so with confirm_frames <=
                # max_missed (10 and 10 by default) a late match never merges two faces that
                # were on screen in the same frame.
                track.provisional = track.provisional and track.age <= self.confirm_frames
        restart: set[int] = set()
        wanted = self._wanted(assigned)
        if wanted:
            descriptors = self._describe(image, [assigned[i][1] for i in wanted])
            self.stats.descriptors += len(wanted)
            by_track = {assigned[i][0]: descriptors[k] for k, i in enumerate(wanted)}
            self._match(by_track, ended_people, restart)
        out = [(self._tracks[t].person, det, is_new or t in restart) for t, det, is_new in assigned]
        self._forget()
        return out, ended_people

    @property
    def remembered(self) -> int:
        """People in the gallery (on screen or absent)."""
        return len(self._people)

    def reset(self, ended_tracks: Sequence[int]) -> list[int]:
        """Forget the gallery (a new source or a seek); returns the face ids that ended."""
        ended = [self._tracks[t].person for t in ended_tracks if t in self._tracks]
        self._tracks.clear()
        self._people.clear()
        return ended

    # -- internals ---------------------------------------------------------------------------
    def _wanted(self, assigned: Sequence[tuple[int, Detection, bool]]) -> list[int]:
        """Indices of the faces to describe this frame: new tracks; young unmatched ones while
        someone is absent (else there is nobody they could turn out to be); one refresh."""
        anyone_absent = bool(self._absent())
        wanted = [i for i, (t, _, is_new) in enumerate(assigned)
                  if is_new or (anyone_absent and self._tracks[t].provisional)]
        settled = [i for i in range(len(assigned)) if i not in wanted]
        if settled and self.stats.frames % self.refresh_every == 0:
            self._refresh_cursor = (self._refresh_cursor + 1) % len(settled)
            wanted.append(settled[self._refresh_cursor])
        return wanted

    def _forget(self) -> None:
        """Mark who is on screen as seen now; drop the absent past ``forget_after`` frames, then
        the longest absent while the gallery is over ``gallery_size``."""
        now = self.stats.frames
        for track in self._tracks.values():
            if track.person in self._people:
                self._people[track.person].last_seen = now
        absent = sorted(self._absent(), key=lambda p: self._people[p].last_seen)
        stale = [p for p in absent if now - self._people[p].last_seen > self.forget_after]
        excess = absent[len(stale): len(stale) + max(0, len(self._people) - len(stale) - self.gallery_size)]
        for person in (*stale, *excess):
            del self._people[person]
            self.stats.forgotten += 1
            logger.debug("face %d forgotten by re-identification", person)

    def _absent(self) -> set[int]:
        on_screen = {track.person for track in self._tracks.values()}
        return set(self._people) - on_screen

    def _match(self, by_track: dict[int, np.ndarray], ended_people: list[int], restart: set[int]) -> None:
        """Give tracks that seek an id (new, or provisional) the closest absent person below the
        threshold; the rest become (or stay) their own person. Updates exemplars."""
        absent = self._absent()
        seeking = [t for t in by_track if self._tracks[t].person == 0 or self._tracks[t].provisional]
        # Greedy one-to-one: closest (track, absent person) pairs first, below the threshold.
        pairs = sorted((self._people[p].distance(by_track[t]), t, p) for t in seeking for p in absent)
        taken_t: set[int] = set()
        taken_p: set[int] = set()
        for dist, t, p in pairs:
            if dist >= self.threshold or t in taken_t or p in taken_p:
                continue
            taken_t.add(t)
            taken_p.add(p)
            track = self._tracks[t]
            if track.person:  # a provisional id gives way: it ends here, the person's id goes on
                ended_people.append(track.person)
                self._people.pop(track.person, None)
                restart.add(t)
            track.person, track.provisional = p, False
            self.stats.reidentified += 1
            logger.info("face %d re-identified (descriptor distance %.2f)", p, dist)
        for t, descriptor in by_track.items():
            track = self._tracks[t]
            if track.person == 0:  # nobody absent matches: a new person
                track.person, track.provisional = self._next_person, True
                self._people[track.person] = _Person([descriptor])
                self._next_person += 1
            elif t not in taken_t:
                person = self._people[track.person]
                if person.distance(descriptor) < self.threshold:  # guard against a tracker swap
                    person.add(descriptor, self.exemplars)
