"""The analysis pipeline: a capture thread and an inference worker joined by queues.

    source -> [capture thread: decode, detect, align, track] -> FacePacket
           -> [inference thread: per-frame model, ring buffers, heads] -> FrameResult
           -> the caller, who feeds its sinks (CSV, progress bar, UI)

The same object serves `analyze` (lossless queues: every frame) and the desktop app
(latest-wins slots: never stale frames, drops counted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from affect_live.faces.align import CropStyle
from affect_live.faces.capture import FaceStage
from affect_live.model.engine import AffectEngine
from affect_live.model.manifest import Manifest
from affect_live.queues import CLOSED, LatestSlot, LosslessQueue
from affect_live.sources import FrameSource
from affect_live.types import FacePacket, FrameResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSettings:
    max_faces: int = 4
    min_score: float = 0.5
    max_missed: int = 10  # frames a face may go undetected and keep its id
    lossless: bool = True  # False for live sources: only the newest frame is processed
    keep_images: bool = False  # pass frames through for a display


def crop_style(manifest: Manifest) -> CropStyle:
    spec = manifest.input
    return CropStyle(kind=spec.crop, size=(spec.width, spec.height), margin=spec.margin)


class Pipeline:
    """Runs one source through one engine; iterate `results()` once, from one thread."""

    def __init__(self, source: FrameSource, engine: AffectEngine, settings: PipelineSettings) -> None:
        self.source = source
        self.engine = engine
        self.settings = settings
        self.faces = FaceStage(
            crop_style(engine.manifest),
            max_faces=settings.max_faces,
            min_score=settings.min_score,
            max_missed=settings.max_missed,
        )
        make_queue: Callable[[], LosslessQueue | LatestSlot] = LosslessQueue if settings.lossless else LatestSlot
        self._packets = make_queue()
        self._results = LosslessQueue(maxsize=64)
        self._stop = threading.Event()
        self.frames_read = 0
        self.error: str | None = None  # set when a thread failed; one line for the user
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._capture_loop, self._packets), name="capture", daemon=True),
            threading.Thread(target=self._guarded, args=(self._inference_loop, self._results), name="inference", daemon=True),
        ]

    @property
    def dropped_frames(self) -> int:
        return self._packets.dropped

    @property
    def ended_early(self) -> str | None:
        return self.source.ended_early

    def _guarded(self, loop: Callable[[], None], output: LosslessQueue | LatestSlot) -> None:
        """Run a thread body; whatever happens, close its output so the consumer never hangs."""
        try:
            loop()
        except Exception as exc:  # reported once to the user, with the detail in the log
            log.debug("%s thread failed", threading.current_thread().name, exc_info=True)
            self.error = self.error or f"{threading.current_thread().name} failed: {exc}"
            self._stop.set()
        finally:
            output.close()

    def _capture_loop(self) -> None:
        frames = self.source.frames()
        while not self._stop.is_set():
            started = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                return
            decoded = time.perf_counter()
            self.frames_read += 1
            faces, ended, stage_ms = self.faces.process(frame)
            stage_ms["decode"] = (decoded - started) * 1000
            packet = FacePacket(
                frame_index=frame.index,
                time_s=frame.time_s,
                frame_size=(frame.image.shape[1], frame.image.shape[0]),
                faces=faces,
                captured_at=started,
                ended_ids=ended,
                stage_ms=stage_ms,
                image=frame.image if self.settings.keep_images else None,
            )
            if not self._packets.put(packet, self._stop):
                return

    def _inference_loop(self) -> None:
        while True:
            packet = self._packets.get()
            if packet is CLOSED:
                return
            if not self._results.put(self.engine.process(packet), self._stop):
                return

    def results(self) -> Iterator[FrameResult]:
        """Start the threads and yield results in frame order until the source ends or `stop()`."""
        for thread in self._threads:
            thread.start()
        try:
            while True:
                result = self._results.get()
                if result is CLOSED:
                    return
                yield result
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop both threads and release the source and detector; safe to call twice."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=5)
        self.source.close()
        self.faces.close()
