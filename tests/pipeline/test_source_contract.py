"""What every kind of source promises the pipeline, checked on each (the real clips and images,
a looping clip, real-time playback, a local file opened as a stream URL, and the test's own
gated source)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from affect_live.pipeline.sources import FrameSource, LoopingVideoSource, RealTimePlayback, open_source
from tests.conftest import CLIPS, IMAGES
from tests.helpers.fake_source import GatedSource

CLIP = CLIPS / "two_faces.mp4"


def _gated() -> FrameSource:
    source = GatedSource(total=12, kind="video")
    source.allow(12)
    return source


SOURCES: dict[str, Callable[[], FrameSource]] = {
    "video file": lambda: open_source(str(CLIP)),
    "image folder": lambda: open_source(str(IMAGES)),
    "single image": lambda: open_source(str(IMAGES / "astronaut.png")),
    "looping clip": lambda: LoopingVideoSource(CLIP, total_frames=150),
    "real-time playback": lambda: RealTimePlayback(open_source(str(CLIP))),
    "stream URL (local file)": lambda: open_source(CLIP.resolve().as_uri()),
    "gated test source": _gated,
}


@pytest.mark.parametrize("kind", SOURCES)
def test_every_source_keeps_the_contract(kind):
    source = SOURCES[kind]()
    try:
        info = source.info
        assert info.name and info.kind in ("camera", "video", "images", "stream") and info.fps > 0
        assert info.frame_count is None or info.frame_count >= 0
        frames = list(source.frames())
    finally:
        source.close()
    source.close()  # a second close is harmless
    assert frames, "no frame"
    assert [f.index for f in frames] == sorted({f.index for f in frames}) and frames[0].index == 0
    times = [f.time_s for f in frames]
    assert times == sorted(times) and times[0] >= 0
    for frame in frames:
        assert frame.image.dtype == np.uint8 and frame.image.ndim == 3 and frame.image.shape[2] == 3
    if info.kind in ("video", "images") and info.frame_count:
        assert len(frames) == info.frame_count and source.ended_early is None
    assert (info.width, info.height) == (frames[0].image.shape[1], frames[0].image.shape[0])
