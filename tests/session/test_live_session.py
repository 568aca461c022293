"""The live session without a window: switching never waits for the old source, settings are
session state, failed threads are failures, model swaps skip stale packets, and the queues.

Slow parts are gated with events, never timed: a wait has a generous bound only so that a
broken build fails instead of hanging."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator

import pytest
from tests.conftest import CLIPS, IMAGES
from tests.helpers.fake_source import UnpluggableCamera
from tests.helpers.live_helpers import BOUND_S, GatedEngine, wait_until

from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.pipeline.queues import CLOSED, LatestSlot, LosslessQueue
from affect_live.errors import RecordingError
from affect_live.recording.sidecar import sidecar_path
from affect_live.session.events import SessionState
from affect_live.pipeline.sources import FrameSource, LoopingVideoSource
from affect_live.types import Frame, FrameResult

TWO_FACES = CLIPS / "two_faces.mp4"



class GatedClose(FrameSource):
    """A real looping clip whose `close` waits for the test, and says on which thread it ran."""

    def __init__(self) -> None:
        self._inner = LoopingVideoSource(TWO_FACES)
        self.info = self._inner.info
        self.gate = threading.Event()
        self.close_started = threading.Event()
        self.closed_on: str | None = None

    def frames(self) -> Iterator[Frame]:
        return self._inner.frames()

    def close(self) -> None:
        if self.close_started.is_set():
            return
        self.closed_on = threading.current_thread().name
        self.close_started.set()
        self.gate.wait(BOUND_S)
        self._inner.close()


class FailsOnRequest(FrameSource):
    """A real looping clip that raises from the capture thread once `fail` is set."""

    def __init__(self) -> None:
        self._inner = LoopingVideoSource(TWO_FACES)
        self.info = self._inner.info
        self.fail = threading.Event()

    def frames(self) -> Iterator[Frame]:
        for frame in self._inner.frames():
            if self.fail.is_set():
                raise RuntimeError("sensor exploded")
            yield frame

    def close(self) -> None:
        self._inner.close()


def test_switching_source_never_waits_for_the_old_one(session):
    slow = GatedClose()
    session.play(slow, "slow")
    wait_until(lambda: session.results_seen >= 3, "results from the first source")
    switched = threading.Event()
    switcher = threading.Thread(target=lambda: (session.open(str(TWO_FACES)), switched.set()))
    switcher.start()
    try:
        assert switched.wait(BOUND_S), "opening another source waited for the old one to close"
        assert not slow.gate.is_set()  # the old source is still closing
        assert slow.close_started.wait(BOUND_S) and slow.closed_on == "capture"  # closed by its own capture thread
        wait_until(lambda: session.stats().source == str(TWO_FACES), "the new source playing")
        seen = session.results_seen
        wait_until(lambda: session.results_seen > seen + 3, "results from the new source while the old one closes")
    finally:
        slow.gate.set()
        switcher.join()


def test_a_failing_capture_thread_is_reported_as_a_failure(session, tmp_path, caplog):
    failing = FailsOnRequest()
    session.play(failing, "failing")
    wait_until(lambda: session.results_seen >= 2, "first results")
    csv_path = tmp_path / "failing.csv"
    session.start_recording(csv_path)
    assert session.flush()
    with caplog.at_level(logging.ERROR, logger="affect_live"):
        failing.fail.set()
        events = []
        wait_until(lambda: bool(events.extend(session.events()) or any(e.topic == "source_failed" for e in events)), "a failure event")
    failure = next(e for e in events if e.topic == "source_failed")
    assert failure.level == "error" and "capture failed: sensor exploded" in failure.message
    assert not any(e.topic == "source_ended" for e in events)
    assert "Traceback" in caplog.text and "sensor exploded" in caplog.text
    assert session.flush()
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "failed" and "sensor exploded" in meta["message"]
    with pytest.raises(RecordingError, match="has ended"):  # nothing more will come from it
        session.start_recording(tmp_path / "after.csv")


def test_window_and_max_faces_apply_to_the_next_source_after_one_ended(session, tmp_path):
    session.open(str(IMAGES / "astronaut.png"))  # one frame: it ends at once
    wait_until(lambda: session.state is SessionState.ENDED, "the image source to end")
    session.set_window(8)
    session.set_max_faces(1)
    with pytest.raises(RecordingError, match="astronaut.png has ended"):
        session.start_recording(tmp_path / "ended.csv")
    session.open(str(TWO_FACES))
    wait_until(lambda: session.results_seen >= 10, "results from the next source")
    stats = session.stats()
    assert stats.window == 8 and session.engine.windows.window == 8 and stats.max_faces == 1
    latest = session.latest()
    assert latest is not None and len(latest.predictions) <= 1


def test_a_model_replaced_before_it_ran_leaves_its_packets_stale(default_bundle):
    permits = threading.Semaphore(0)
    first, skipped, last = (GatedEngine(default_bundle, permits) for _ in range(3))
    pipeline = Pipeline(LoopingVideoSource(TWO_FACES, total_frames=40), first, PipelineSettings(keep_images=True))
    results: list[FrameResult] = []
    consumer = threading.Thread(target=lambda: results.extend(pipeline.results()))
    consumer.start()
    try:
        wait_until(lambda: pipeline.latest_packet is not None and pipeline._packets._queue.full(), "a full packet queue")
        pipeline.replace_engine(skipped)
        permits.release()  # room for one packet cropped for `skipped`
        wait_until(lambda: pipeline.latest_packet.crop_generation == 1, "a packet cropped for the second model")
        pipeline.replace_engine(last)  # before the second model saw any frame
        for _ in range(40):
            permits.release()
        consumer.join(BOUND_S)
        assert not consumer.is_alive()
    finally:
        pipeline.stop()
        for _ in range(40):
            permits.release()
        consumer.join()
    assert skipped.frames == []  # its packets were stale by the time they arrived
    assert pipeline.stale_packets >= 1 and pipeline.dropped_frames == pipeline.stale_packets
    assert first.frames and last.frames and max(first.frames) < min(last.frames)
    assert [r.frame_index for r in results] == sorted(first.frames + last.frames)
    assert len(results) + pipeline.stale_packets == 40


def test_latest_slot_keeps_the_newest_and_counts_the_rest():
    slot = LatestSlot()
    with pytest.raises(queue.Empty):
        slot.get(timeout=0)
    for item in range(3):
        assert slot.put(item)
    assert slot.get() == 2 and slot.dropped == 2
    slot.put(3)
    slot.close()
    assert slot.get() == 3 and slot.get() is CLOSED  # drained, then closed


def test_lossless_queue_blocks_until_stopped_and_drains_before_closed():
    items = LosslessQueue(maxsize=2)
    stop = threading.Event()
    assert items.put("a", stop) and items.put("b", stop)
    stop.set()
    assert not items.put("c", stop)  # full: gives up once stopped, the item not queued
    items.close()
    assert [items.get(), items.get(), items.get()] == ["a", "b", CLOSED] and items.dropped == 0
    with pytest.raises(queue.Empty):
        LosslessQueue().get(timeout=0)


def test_a_lost_camera_ends_the_recording_as_source_lost_and_switching_away_still_works(session, tmp_path):
    camera = UnpluggableCamera(TWO_FACES, name="99")  # no camera 99 exists: reconnecting keeps failing
    session.play(camera, "99")
    wait_until(lambda: session.results_seen >= 2, "results from the camera")
    csv_path = tmp_path / "camera.csv"
    session.start_recording(csv_path)
    assert session.flush()
    camera.unplug.set()
    events: list = []
    wait_until(lambda: bool(events.extend(session.events()) or any("waiting for camera 99" in e.message for e in events)), "the reconnect notice")
    assert any(e.topic == "source_ended" and e.level == "warning" for e in events)
    assert session.state is SessionState.RECONNECTING and session.flush()
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "source_lost" and "camera 99" in meta["message"]
    session.open(str(TWO_FACES))  # while the camera is retried: returns at once
    wait_until(lambda: session.stats().source == str(TWO_FACES), "the file playing")
    seen = session.results_seen
    wait_until(lambda: session.results_seen > seen + 3, "results from the file")
