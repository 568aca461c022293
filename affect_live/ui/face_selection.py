"""Which face the plots follow. Until the user picks one, the first face shown (the largest)
is followed for as long as it is around: a frame or two without it (a detector miss, a face
turned away) never switches the plots; only an absence longer than `AUTO_SWITCH_S` hands them to
another face in view. A face the user picked stays picked while it is in the history, even out
of view (the panel then says so)."""

from __future__ import annotations

from dataclasses import dataclass

from affect_live.session.history import FaceHistory

AUTO_SWITCH_S = 2.0  # source seconds a followed face may be away before another is followed


@dataclass
class FaceSelection:
    face_id: int | None = None
    picked: bool = False  # by the user (a click on a face or the Face box)

    def pick(self, face_id: int) -> None:
        self.face_id, self.picked = face_id, True

    def reset(self) -> None:
        """A new source: its faces are new."""
        self.face_id, self.picked = None, False

    def follow(self, visible: list[int], history: FaceHistory) -> int | None:
        """The face to show, given the faces in the frame shown (largest first)."""
        known = history.face_ids()
        if self.face_id is not None and self.face_id in known:
            away = history.absent_for(self.face_id)
            if self.picked or self.face_id in visible or not visible or away is None or away <= AUTO_SWITCH_S:
                return self.face_id
        self.face_id = visible[0] if visible else (known[0] if known else None)
        self.picked = False
        return self.face_id
