"""Re-identification: the descriptor model against the original JavaScript one, the session
gallery, and faces that leave the frame and come back on real clips."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.faces.align import CropStyle
from affect_live.faces.capture import FaceStage
from affect_live.faces.descriptor import FaceDescriptor
from affect_live.faces.identity import DEFAULT_THRESHOLD, Identities
from affect_live.model.inference.engine import AffectEngine
from affect_live.errors import BundleError
from affect_live.pipeline.threads import PipelineSettings, carry_track_events
from affect_live.pipeline.queues import LatestSlot
from affect_live.resources import FACE_RECOGNITION_DIR, face_crop_names, face_crops
from affect_live.types import Detection, FacePacket, Frame, TrackedFace
from tests.conftest import CLIPS, FIXTURES

CONVERSION = FIXTURES / "conversion"
GRACE = PipelineSettings().max_missed


@pytest.fixture(scope="module")
def descriptor() -> FaceDescriptor:
    return FaceDescriptor()


@pytest.fixture(scope="module")
def chips() -> tuple[np.ndarray, list[str]]:
    """The committed 150x150 RGB face chips and their names."""
    return np.load(CONVERSION / "recognition_crops.npy"), json.loads((CONVERSION / "recognition_crops.json").read_text())


@pytest.fixture(scope="module")
def chip_descriptors(descriptor, chips) -> np.ndarray:
    return descriptor.from_chips(list(chips[0][..., ::-1]))  # the run time hands BGR chips


def test_descriptor_matches_javascript_reference(chip_descriptors, chips):
    reference = np.array(json.loads((CONVERSION / "reference_descriptors.json").read_text())["descriptors"])
    assert reference.shape == (len(chips[1]), 128)
    assert np.abs(chip_descriptors - reference).max() <= 1e-3  # values up to ~0.45
    cosine = (chip_descriptors * reference).sum(1) / np.linalg.norm(chip_descriptors, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosine.min() >= 0.9999


def test_fixture_chips_separate_people_at_the_threshold(chip_descriptors, chips):
    person = [name if name.startswith("lfw") else name.split("_")[0] for name in chips[1]]  # each LFW face its own person
    same, different = [], []
    for i in range(len(person)):
        for j in range(i + 1, len(person)):
            (same if person[i] == person[j] else different).append(float(np.linalg.norm(chip_descriptors[i] - chip_descriptors[j])))
    assert len(same) >= 20 and len(different) >= 20
    assert max(same) < DEFAULT_THRESHOLD < min(different)


def test_a_changed_or_missing_model_is_one_clear_error(tmp_path):
    folder = tmp_path / "face-recognition"
    shutil.copytree(FACE_RECOGNITION_DIR, folder)
    model = folder / "face_recognition.tflite"
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="sha256 does not match") as refused:
        FaceDescriptor(folder)
    assert "\n" not in str(refused.value)
    (folder / "descriptor.json").unlink()
    with pytest.raises(BundleError, match="cannot read the face descriptor model's description"):
        FaceDescriptor(folder)


def test_a_bad_model_turns_reid_off_with_one_line_and_faces_still_come(tmp_path, monkeypatch, caplog):
    import affect_live.faces.descriptor as descriptor_module

    (tmp_path / "descriptor.json").write_text("{not json")
    monkeypatch.setattr(descriptor_module, "FACE_RECOGNITION_DIR", tmp_path)
    image = cv2.imread(str(FIXTURES / "images" / "astronaut.png"))
    with caplog.at_level("ERROR"), FaceStage(CropStyle("box", (112, 112))) as stage:
        faces, _, timings = stage.process(Frame(0, 0.0, image))
    assert stage.identities is None and len(faces) == 1 and "reid" not in timings
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and errors[0].startswith("re-identification is off:") and "\n" not in errors[0]


def _detection(tag: float) -> Detection:
    return Detection(box=(tag, 0.0, 10.0, 10.0), score=1.0, keypoints=np.zeros((6, 2)))


def test_gallery_returns_ids_to_people_who_left_and_gives_newcomers_new_ones(chip_descriptors, chips):
    """Tracker output written by hand (tracker ids), descriptors from real chips."""
    names = chips[1]
    table = {float(k): chip_descriptors[k] for k in range(len(names))}
    ids = Identities(lambda image, dets: np.stack([table[d.box[0]] for d in dets]), refresh_every=1000)
    astro, astro2 = names.index("astronaut_plain"), names.index("astronaut_rot10")
    hopper, hopper2 = names.index("hopper_plain"), names.index("hopper_mirror_dark")
    lfw = names.index("lfw_subset_0")
    image = np.zeros((8, 8, 3), np.uint8)
    # Frame 1: two people, tracker ids 1 and 2.
    out, ended = ids.resolve(image, [(1, _detection(astro), True), (2, _detection(hopper), True)], [])
    first = {k: face_id for k, (face_id, _, _) in zip(("astronaut", "hopper"), out)}
    assert len(set(first.values())) == 2 and all(new for _, _, new in out) and ended == []
    # Both tracks end; they come back swapped as tracker ids 3 and 4, seen differently.
    out, ended = ids.resolve(image, [], [1, 2])
    assert out == [] and sorted(ended) == sorted(first.values())
    out, ended = ids.resolve(image, [(3, _detection(hopper2), True), (4, _detection(astro2), True)], [])
    assert [face_id for face_id, _, _ in out] == [first["hopper"], first["astronaut"]]
    assert all(new for _, _, new in out) and ended == []  # windows restart
    # Someone nobody has seen: a new id, not one of the absent or present people.
    out, _ = ids.resolve(image, [(3, _detection(hopper2), False), (4, _detection(astro2), False), (5, _detection(lfw), True)], [])
    assert out[2][0] not in first.values() and out[2][2] is True
    assert [new for _, _, new in out[:2]] == [False, False]
    # An on-screen person is never given to a second face.
    out, _ = ids.resolve(image, [(3, _detection(hopper2), False), (4, _detection(astro2), False), (5, _detection(lfw), False),
                                 (6, _detection(astro), True)], [])
    assert out[3][0] not in {first["astronaut"], first["hopper"], out[2][0]}
    assert ids.reset([3, 4, 5, 6]) == [first["hopper"], first["astronaut"], out[2][0], out[3][0]]


def test_gallery_is_bounded_by_count_and_age_and_keeps_who_is_on_screen(chip_descriptors, chips):
    """A long session: one person stays while 200 others each pass by once (synthetic 128-d
    descriptors, far apart; the gallery is what is under test). The gallery never holds more
    than its size, the longest absent go first, the present person keeps their id throughout,
    and whoever has been absent longer than `forget_after` frames is forgotten."""
    names = chips[1]
    rng = np.random.default_rng(19)
    passers = rng.normal(size=(200, 128))
    passers /= np.linalg.norm(passers, axis=1, keepdims=True)  # pairwise ~1.4 apart, threshold 0.5
    table = {float(k): chip_descriptors[k] for k in range(len(names))} | {1000.0 + k: v for k, v in enumerate(passers)}
    ids = Identities(lambda image, dets: np.stack([table[d.box[0]] for d in dets]), refresh_every=1000, gallery_size=5, forget_after=50)
    image = np.zeros((8, 8, 3), np.uint8)
    stays = _detection(names.index("astronaut_plain"))
    (kept, _, _), = ids.resolve(image, [(1, stays, True)], [])[0]
    passer_ids, track = [], 2
    for k in range(len(passers)):  # each passer: one frame on screen, then their track ends
        out, _ = ids.resolve(image, [(1, stays, False), (track, _detection(1000.0 + k), True)], [])
        assert out[0][0] == kept and ids.remembered <= 5
        passer_ids.append(out[1][0])
        ids.resolve(image, [(1, stays, False)], [track])
        track += 1
    assert len(set(passer_ids)) == len(passers) and kept not in passer_ids
    assert ids.stats.forgotten == len(passers) - 4  # all but the 4 most recent passers

    def comes_back(k: int) -> int:
        nonlocal track
        track += 1
        out, _ = ids.resolve(image, [(1, stays, False), (track, _detection(1000.0 + k), True)], [])
        ids.resolve(image, [(1, stays, False)], [track])
        return out[1][0]

    assert comes_back(len(passers) - 1) == passer_ids[-1]  # among the most recent: re-identified
    assert comes_back(0) not in passer_ids  # the longest absent was forgotten: a new id
    for _ in range(50 + 1):  # only the one who stays, for longer than forget_after
        ids.resolve(image, [(1, stays, False)], [])
    assert ids.remembered == 1 and comes_back(len(passers) - 2) not in passer_ids
    assert ids.resolve(image, [(1, stays, False)], [])[0][0][0] == kept


# ------------------------------------------------------------------ real clips, end to end
def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _named_ids(rows: list[dict[str, str]], truth: dict, offset: int = 0) -> dict[str, dict[int, dict[str, str]]]:
    """name -> frame -> row, for rows on faces that are fully in the frame (nearest box centre)."""
    out: dict[str, dict[int, dict[str, str]]] = {}
    for row in rows:
        frame = int(row["frame"]) + offset
        cx, cy = float(row["x"]) + float(row["w"]) / 2, float(row["y"]) + float(row["h"]) / 2
        faces = truth["frames"][frame]["faces"]
        if not faces:
            continue
        face = min(faces, key=lambda f: (f["box"][0] + f["box"][2] / 2 - cx) ** 2 + (f["box"][1] + f["box"][3] / 2 - cy) ** 2)
        if abs(face["box"][0] + face["box"][2] / 2 - cx) < face["box"][2] / 3:
            out.setdefault(face["name"], {})[frame] = row
    return out


def _ids(by_frame: dict[int, dict[str, str]], first: int, last: int) -> set[int]:
    return {int(row["face_id"]) for frame, row in by_frame.items() if first <= frame <= last}


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """CSV paths of leave_return (with and without re-identification) and swap_return."""
    out = tmp_path_factory.mktemp("reid")
    paths = {}
    for key, clip, extra in (("leave", "leave_return.mp4", []), ("leave_no_reid", "leave_return.mp4", ["--no-reid"]),
                             ("swap", "swap_return.mp4", [])):
        paths[key] = out / f"{key}.csv"
        assert main(["analyze", str(CLIPS / clip), "--out", str(paths[key]), "--quiet", *extra]) == 0
    return paths


def test_a_face_that_leaves_and_returns_keeps_its_id(analysed, clips_truth):
    truth = clips_truth["leave_return.mp4"]
    (a0, a1), (b0, b1) = truth["visible"]["astronaut"]
    assert b0 - a1 - 1 > GRACE
    named = _named_ids(_rows(analysed["leave"]), truth)
    before, after = _ids(named["astronaut"], a0, a1), _ids(named["astronaut"], b0, b1)
    assert len(before) == 1 and after == before
    # Hopper walked in while the astronaut was away: she matches nobody and gets her own id.
    hopper = _ids(named["hopper"], 0, len(truth["frames"]))
    assert len(hopper) == 1 and not (hopper & before)
    meta = json.loads(analysed["leave"].with_suffix(".meta.json").read_text())["settings"]["reidentification"]
    assert meta["enabled"] is True and meta["threshold"] == DEFAULT_THRESHOLD
    assert meta["model"]["sha256"] == json.loads((FACE_RECOGNITION_DIR / "descriptor.json").read_text())["sha256"]


def test_without_reid_the_returning_face_gets_a_new_id(analysed, clips_truth):
    truth = clips_truth["leave_return.mp4"]
    (a0, a1), (b0, b1) = truth["visible"]["astronaut"]
    named = _named_ids(_rows(analysed["leave_no_reid"]), truth)
    before, after = _ids(named["astronaut"], a0, a1), _ids(named["astronaut"], b0, b1)
    assert len(before) == 1 and len(after) == 1 and before != after
    assert json.loads(analysed["leave_no_reid"].with_suffix(".meta.json").read_text())["settings"]["reidentification"] == {"enabled": False}


def test_two_faces_returning_in_swapped_places_keep_their_ids(analysed, clips_truth):
    truth = clips_truth["swap_return.mp4"]
    named = _named_ids(_rows(analysed["swap"]), truth)
    kept = {}
    for name in ("astronaut", "hopper"):
        (a0, a1), (b0, b1) = truth["visible"][name]
        assert b0 - a1 - 1 > GRACE
        before, after = _ids(named[name], a0, a1), _ids(named[name], b0, b1)
        assert len(before) == 1 and after == before, name
        kept[name] = before
    assert kept["astronaut"] != kept["hopper"]
    # They did come back on the other side.
    first_back = min(named["astronaut"])
    last = max(named["astronaut"])
    assert float(named["astronaut"][first_back]["x"]) < float(named["hopper"][min(named["hopper"])]["x"])
    assert float(named["astronaut"][last]["x"]) > float(named["hopper"][max(named["hopper"])]["x"])


def _packet(index: int, crops: list[np.ndarray], new: bool, ended: tuple[int, ...] = ()) -> FacePacket:
    faces = tuple(TrackedFace(1, _detection(0.0), crop, new) for crop in crops)
    return FacePacket(index, index / 30, (112, 112), faces, 0.0, ended_ids=ended)


def test_the_window_restarts_when_a_person_returns(default_bundle):
    """The engine, given what the face stage sends for a returning person (the old id ended,
    then back with new_track=True), starts that id's window afresh: its outputs equal a fresh
    engine's on the frames after the return. Astronaut frames before, Hopper frames after, so a
    bridged window would show (the control)."""
    crops = face_crops()[..., ::-1]  # BGR, as the pipeline hands them over
    names = face_crop_names()
    before = [c for c, n in zip(crops, names) if n.startswith("astronaut")]
    after = [c for c, n in zip(crops, names) if n.startswith("grace_hopper")]
    returning, fresh, bridged = (AffectEngine(default_bundle) for _ in range(3))
    for k, crop in enumerate(before):
        for engine in (returning, bridged):
            engine.process(_packet(k, [crop], new=k == 0))
    returning.process(_packet(len(before), [], new=False, ended=(1,)))  # the track ended in the gap
    for k, crop in enumerate(after):
        got = returning.process(_packet(10 + k, [crop], new=k == 0)).predictions[0]
        want = fresh.process(_packet(k, [crop], new=k == 0)).predictions[0]
        control = bridged.process(_packet(10 + k, [crop], new=False)).predictions[0]
        assert (got.valence, got.arousal) == pytest.approx((want.valence, want.arousal), abs=1e-6)
        np.testing.assert_allclose(got.probabilities, want.probabilities, atol=1e-6)
        if k == 0:
            assert abs(control.valence - want.valence) + abs(control.arousal - want.arousal) > 1e-3


def test_face_stage_on_leave_return(clips_truth):
    """The returning astronaut comes back with her old id and new_track=True, after that id was
    reported ended; descriptors ran far less often than faces were seen."""
    truth = clips_truth["leave_return.mp4"]
    (a0, a1), (b0, _) = truth["visible"]["astronaut"]
    capture = cv2.VideoCapture(str(CLIPS / "leave_return.mp4"))
    faces_seen, first_seen, ended_at, returned = 0, {}, {}, None
    with FaceStage(CropStyle("box", (112, 112))) as stage:
        for index, expected in enumerate(truth["frames"]):
            ok, image = capture.read()
            assert ok
            faces, ended, timings = stage.process(Frame(index, index / 30, image))
            assert "reid" in timings
            faces_seen += len(faces)
            for face_id in ended:
                ended_at.setdefault(face_id, index)
            for face in faces:
                first_seen.setdefault(face.face_id, index)
                if index > first_seen[face.face_id] and face.new_track and returned is None:
                    returned = (index, face.face_id)
        stats = stage.identities.stats
    capture.release()
    astronaut = next(face_id for face_id, index in first_seen.items() if index == 0)
    assert returned is not None and returned[1] == astronaut
    assert a1 < ended_at[astronaut] < returned[0] <= b0
    assert stats.frames == len(truth["frames"]) and stats.reidentified >= 1
    assert 2 <= stats.descriptors <= faces_seen / 3, (stats, faces_seen)


def test_the_live_slot_keeps_track_events_of_the_packets_it_drops(default_bundle):
    """Live sources keep only the newest packet: a returning face's restart and the end of its
    old track must survive being overwritten, or its window could bridge the gap."""
    crop = face_crops()[0][..., ::-1]
    slot = LatestSlot(carry_track_events)
    slot.put(_packet(1, [crop], new=False, ended=(1,)))  # the old track ends (face 1 is the return)
    returned = _packet(2, [crop], new=True)
    slot.put(returned)
    slot.put(replace(_packet(3, [crop], new=False), ended_ids=(7,)))
    got = slot.get(timeout=0)
    assert slot.dropped == 2 and got.frame_index == 3
    assert got.ended_ids == (1, 7) and [f.new_track for f in got.faces] == [True]
    restarted, fresh = AffectEngine(default_bundle), AffectEngine(default_bundle)
    for k in range(3):
        restarted.process(_packet(k, [face_crops()[4][..., ::-1]], new=k == 0))
    a = restarted.process(got).predictions[0]
    b = fresh.process(_packet(0, [crop], new=True)).predictions[0]
    assert (a.valence, a.arousal) == pytest.approx((b.valence, b.arousal), abs=1e-6)
