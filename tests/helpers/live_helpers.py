"""Helpers shared by the live-session tests: a bounded wait and a model gated by the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from affect_live.model.inference.engine import AffectEngine
from affect_live.types import FacePacket, FrameResult

BOUND_S = 120.0  # a bound for a broken build, never a speed


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


class GatedEngine(AffectEngine):
    """The real engine, but each frame waits for a permit from the test (a slow model)."""

    def __init__(self, bundle, permits: threading.Semaphore) -> None:  # noqa: ANN001
        super().__init__([bundle])
        self.permits = permits
        self.frames: list[int] = []
        self.holding = threading.Event()

    def process(self, packet: FacePacket) -> FrameResult:
        self.holding.set()  # a packet in hand, waiting for its permit
        assert self.permits.acquire(timeout=BOUND_S)
        self.holding.clear()
        self.frames.append(packet.frame_index)
        return super().process(packet)
