"""The live session's races, each made deterministic: LSL switched while results are pushed, a
CSV write that stalls while the GUI keeps going, model swaps that overtake each other, and a
pause during a camera reconnect. Slow parts are gated with events; a wait has a generous bound
only so that a broken build fails instead of hanging."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from tests.conftest import CLIPS
from tests.helpers.fake_source import UnpluggableCamera
from tests.helpers.live_helpers import BOUND_S, GatedEngine, wait_until
from tests.helpers.app_window import open_window, store  # noqa: F401  (fixtures)
from tests.recording.test_recording import assert_whole_rows

from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.recording.csv_writer import CsvRecorder
from affect_live.recording.sidecar import sidecar_path
from affect_live.session.events import SessionState
from affect_live.pipeline.sources import FrameSource, LoopingVideoSource, SourceError
from affect_live.types import FrameResult

TWO_FACES = CLIPS / "two_faces.mp4"


def test_lsl_switched_off_and_on_100_times_while_results_are_pushed(session, tmp_path):
    session.play(LoopingVideoSource(TWO_FACES), str(TWO_FACES))
    wait_until(lambda: session.results_seen >= 2, "first results")
    csv_path = tmp_path / "lsl_toggled.csv"
    session.start_recording(csv_path)
    for turn in range(100):
        session.set_lsl(True)
        wait_until(lambda: session.stats().lsl == "on", f"LSL on (turn {turn})")
        seen = session.results_seen
        wait_until(lambda: session.results_seen > seen, f"a result pushed while streaming (turn {turn})")
        session.set_lsl(False)  # while the session thread pushes the next one
    seen = session.results_seen
    wait_until(lambda: session.results_seen > seen + 2, "results after the last switch")
    events = session.events()
    assert session.state is SessionState.RUNNING and session.stats().lsl == "off"
    assert not [e.message for e in events if e.level == "error"]
    session.stop_recording()
    assert session.flush()
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "complete" and meta["rows"] > 0
    assert_whole_rows(csv_path, meta)


@pytest.mark.gui
def test_a_csv_write_that_stalls_never_blocks_the_gui_thread(qtbot, tmp_path, monkeypatch, open_window):
    """The data CSV's writes wait on a gate (a disk that stalls); the GUI's timer, its status
    refresh, Stop and a marker all go on meanwhile, and every row reaches the file after."""
    stalled, release = threading.Event(), threading.Event()
    original = CsvRecorder._write_lines

    def stalling_write(recorder: CsvRecorder, data: bytes) -> int:
        if recorder.path.name == "stalled.csv" and data.count(b"\n") and not data.startswith(b"frame,"):
            stalled.set()
            release.wait(BOUND_S)
        return original(recorder, data)

    monkeypatch.setattr(CsvRecorder, "_write_lines", stalling_write)
    window = open_window()
    qtbot.waitUntil(lambda: window.session.results_seen >= 3 and window.session.engine is not None, timeout=int(BOUND_S * 1000))
    csv_path = tmp_path / "stalled.csv"
    assert window.start_recording(csv_path)
    try:
        assert stalled.wait(BOUND_S), "the flush never reached the disk"
        ticks = window._ticks
        qtbot.waitUntil(lambda: window._ticks >= ticks + 10, timeout=int(BOUND_S * 1000))  # the display timer runs
        window.refresh_status()  # reads the recording's status: no lock held across the write
        window.add_marker("during the stall")
        window.stop_recording()
        assert stalled.is_set() and not release.is_set()  # all of the above while the write hung
    finally:
        release.set()
    qtbot.waitUntil(lambda: any("recording saved" in m for _, m in window.messages), timeout=int(BOUND_S * 1000))
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "complete" and meta["rows"] > 0
    assert_whole_rows(csv_path, meta)
    events = csv_path.with_suffix(".events.csv").read_text()
    assert "during the stall" in events and "recording stopped: complete" in events


def test_a_swap_asked_for_while_another_is_installed_ends_with_the_newest(default_bundle):
    """The second model is installed (its first packet in the inference thread) when the third
    is asked for: the third runs from its first packet on, whatever the interleaving."""
    permits = threading.Semaphore(0)
    first, second, third = (GatedEngine(default_bundle, permits) for _ in range(3))
    pipeline = Pipeline(LoopingVideoSource(TWO_FACES, total_frames=60), first, PipelineSettings(keep_images=True))
    results: list[FrameResult] = []
    consumer = threading.Thread(target=lambda: results.extend(pipeline.results()))
    consumer.start()
    try:
        permits.release()
        wait_until(lambda: len(first.frames) == 1, "the first model's first frame")
        pipeline.replace_engine(second)
        while not second.frames:  # one frame at a time until the second model has one in hand
            done = len(first.frames)
            permits.release()
            wait_until(lambda: len(first.frames) + len(second.frames) > done, "the next frame")
        pipeline.replace_engine(third)  # while the second is installed and running
        for _ in range(60):
            permits.release()
        consumer.join(BOUND_S)
        assert not consumer.is_alive()
    finally:
        pipeline.stop()
        for _ in range(60):
            permits.release()
        consumer.join()
    assert pipeline.engine is third and third.frames
    assert max(first.frames) < min(second.frames) and max(second.frames) < min(third.frames)
    assert [r.frame_index for r in results] == sorted(first.frames + second.frames + third.frames)
    assert len(results) + pipeline.stale_packets == 60


class SwapDuringInstall(Pipeline):
    """The real pipeline; at the moment the inference thread installs the second model (its
    `engine` being set), another swap is asked for: the interleaving that lost swaps before."""

    def __init__(self, *args, then: AffectEngine, **kwargs) -> None:  # noqa: ANN002, ANN003
        self._then, self._installs = then, 0
        super().__init__(*args, **kwargs)

    @property
    def engine(self) -> AffectEngine | None:
        return self._engine

    @engine.setter
    def engine(self, value: AffectEngine | None) -> None:
        self._engine = value
        self._installs += 1
        if self._installs == 2:  # the first install after the constructor's
            self.replace_engine(self._then)


def test_a_swap_asked_for_in_the_middle_of_installing_another_is_not_lost(default_bundle):
    first, second, third = (AffectEngine([default_bundle]) for _ in range(3))
    pipeline = SwapDuringInstall(LoopingVideoSource(TWO_FACES), first, PipelineSettings(keep_images=True), then=third)
    results: list[FrameResult] = []
    consumer = threading.Thread(target=lambda: results.extend(pipeline.results()))
    consumer.start()
    try:
        wait_until(lambda: len(results) >= 2, "results from the first model")
        pipeline.replace_engine(second)
        wait_until(lambda: pipeline.engine is third, "the third model installed")
        seen = len(results)
        wait_until(lambda: len(results) > seen + 3, "results from the third model")
    finally:
        pipeline.stop()
        consumer.join()
    assert pipeline.engine is third


def test_model_loads_that_overtake_each_other_end_with_the_newest(session, default_bundle, tmp_path):
    session.play(LoopingVideoSource(TWO_FACES), str(TWO_FACES))
    wait_until(lambda: session.results_seen >= 2, "first results")
    engines = [AffectEngine([default_bundle]) for _ in range(20)]
    for engine in engines:  # as the weights thread hands them over, back to back
        session.models._on_ready(engine, [])
    wait_until(lambda: session.engine is engines[-1], "the newest model installed")
    seen = session.results_seen
    wait_until(lambda: session.results_seen > seen + 3, "results from the newest model")
    assert session.latest() is not None and session.stats().state is SessionState.RUNNING


def test_pause_and_resume_during_a_reconnect_apply_to_the_camera_that_comes_back(session):
    back = threading.Event()  # the camera may come back once this is set
    real_open = session.sources.open_source

    def open_when_back(spec: str) -> FrameSource:
        if not back.is_set():
            raise SourceError(f"{Path(spec).name} is not back yet")
        return real_open(spec)

    session.sources.open_source = open_when_back
    session.sources.retry_interval_s = 0.01
    camera = UnpluggableCamera(TWO_FACES)  # its spec is the clip: reconnecting succeeds once the test lets it
    session.play(camera, str(TWO_FACES))
    wait_until(lambda: session.results_seen >= 2, "results from the camera")
    camera.unplug.set()
    wait_until(lambda: session.state is SessionState.RECONNECTING, "the reconnect")
    session.pause()
    session.resume()
    session.pause()  # the last word: paused
    assert session.flush() and session.state is SessionState.RECONNECTING and session.paused
    back.set()
    wait_until(lambda: session.state is SessionState.PAUSED, "the camera back, paused")
    wait_until(lambda: session.stats().capture_parked, "capture parked")
    frames = session.stats().frames_read
    assert session.paused and session.stats().running
    session.resume()
    wait_until(lambda: session.stats().frames_read > frames + 3, "frames after resuming")
    assert session.state is SessionState.RUNNING
