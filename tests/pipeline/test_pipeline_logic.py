"""The pipeline's own logic with a source and a model the test drives (no clock): a live
pipeline keeps only the newest frame while the model is busy and counts the rest; a paused one
reads nothing until it resumes."""

from __future__ import annotations

import threading

from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.types import FrameResult
from tests.helpers.fake_source import GatedSource
from tests.helpers.live_helpers import GatedEngine, wait_until

LIVE = PipelineSettings(lossless=False, keep_images=True, actions=False)


def _consume(pipeline: Pipeline, results: list[FrameResult]) -> threading.Thread:
    thread = threading.Thread(target=lambda: results.extend(pipeline.results()), name="test-consumer")
    thread.start()
    return thread


def test_a_busy_model_gets_the_newest_frame_and_the_others_are_counted_as_dropped(default_bundle):
    permits = threading.Semaphore(0)
    source, engine = GatedSource(total=12), GatedEngine(default_bundle, permits)
    pipeline = Pipeline(source, engine, LIVE)
    results: list[FrameResult] = []
    consumer = _consume(pipeline, results)
    try:
        source.allow(1)
        permits.release()
        wait_until(lambda: len(results) == 1, "frame 0 analysed")
        source.allow(1)
        wait_until(engine.holding.is_set, "frame 1 in the model's hands")
        source.allow(10)  # frames 2..11 arrive while the model holds frame 1
        wait_until(lambda: pipeline.latest_packet is not None and pipeline.latest_packet.frame_index == 11, "frame 11 read")
        permits.release()
        permits.release()
        consumer.join(60)
        assert not consumer.is_alive()
    finally:
        source.close()
        pipeline.stop()
        permits.release()
        consumer.join()
    assert [r.frame_index for r in results] == [0, 1, 11]
    assert pipeline.dropped_frames == 9 and pipeline.frames_read == 12


def test_a_paused_pipeline_reads_nothing_until_it_resumes(default_bundle):
    permits = threading.Semaphore(1000)
    source = GatedSource(total=8)
    pipeline = Pipeline(source, GatedEngine(default_bundle, permits), PipelineSettings(keep_images=True, actions=False))
    results: list[FrameResult] = []
    consumer = _consume(pipeline, results)
    try:
        source.allow(3)
        wait_until(lambda: len(results) == 3, "three frames analysed")
        pipeline.pause()  # takes effect between frames: the read under way (frame 3) completes first
        source.allow(1)
        wait_until(lambda: pipeline.parked, "capture parked")
        source.allow(4)
        assert pipeline.parked and source.delivered == 4 and pipeline.frames_read == 4
        pipeline.resume()
        consumer.join(60)
        assert not consumer.is_alive()
    finally:
        source.close()  # a source blocked in a read ends only when closed, as a camera would
        pipeline.stop()
        consumer.join()
    assert [r.frame_index for r in results] == list(range(8)) and pipeline.dropped_frames == 0
