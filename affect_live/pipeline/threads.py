"""The analysis pipeline: a capture thread and an inference worker joined by queues.

    source -> [capture thread: decode, detect, align, track] -> FacePacket
           -> [inference thread: per-frame model, ring buffers, heads] -> FrameResult
           -> the caller, who feeds its sinks (CSV, progress bar, UI)

With the facial actions the capture thread runs the meshes (and the detector when due); the
inference thread the blendshapes, pose and gaze, and for files also re-identification and the
crops (``_finish_later``).

The same object serves `analyze` (lossless queues: every frame) and the desktop app
(latest-wins slots: never stale frames, drops counted).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial

from affect_live.faces.actions import ActionStage
from affect_live.faces.align import CropStyle
from affect_live.faces.capture import FaceStage, MeshedFrame
from affect_live.faces.landmark_tracking import DETECT_EVERY
from affect_live.model.bundle.manifest import Manifest
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.meters import RateMeter
from affect_live.pipeline.queues import CLOSED, LatestSlot, LosslessQueue
from affect_live.pipeline.sources import FrameSource
from affect_live.types import FacePacket, FrameResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSettings:
    max_faces: int = 4
    min_score: float = 0.5
    max_missed: int = 10  # frames a face may go undetected and keep its id
    reid: bool = True  # a face that returns after a longer gap gets its id back (faces/identity.py)
    lossless: bool = True  # False for live sources: only the newest frame is processed
    keep_images: bool = False  # pass frames through for a display
    actions: bool = True  # mesh, pose, gaze, blendshapes (and tracking from landmarks)
    detect_every: int = DETECT_EVERY  # with actions: frames between detector runs while tracking
    landmarks: bool = False  # recordings also write the 478 points (<name>.landmarks.csv)


# The crop faces get while no model is there yet (the app's start-up); the model's own crop
# takes over with its first frame.
WAITING_CROP = CropStyle(kind="box", size=(112, 112), margin=0.0)


def carry_track_events(dropped: FacePacket, newer: FacePacket) -> FacePacket:
    """The packet that replaces an unread one in the live slot keeps its track events: ids that
    ended, and new_track for faces whose first frame was dropped. A re-identified face returns
    with its old id, so without this a dropped return could let its window bridge the gap."""
    started = {face.face_id for face in dropped.faces if face.new_track}
    faces = tuple(replace(face, new_track=True) if face.face_id in started else face for face in newer.faces)
    ended = tuple(dict.fromkeys((*dropped.ended_ids, *newer.ended_ids)))
    return replace(newer, faces=faces, ended_ids=ended)


@dataclass(frozen=True)
class _Unfinished:
    """A packet whose faces are still to be re-identified and cropped (``_finish_later``)."""

    packet: FacePacket
    meshed: MeshedFrame

    def finish(self, faces: FaceStage) -> FacePacket:
        tracked, ended, stage_ms = faces.finish(self.meshed)
        return replace(self.packet, faces=tracked, ended_ids=ended, stage_ms=dict(self.packet.stage_ms, **stage_ms))


def crop_style(manifest: Manifest) -> CropStyle:
    spec = manifest.input
    return CropStyle(kind=spec.crop, size=(spec.width, spec.height), margin=spec.margin)


class Pipeline:
    """Runs one source through one engine; iterate `results()` once, from one thread.

    Without an engine (None) capture runs and frames are skipped, counted in
    `waiting_packets`, until `replace_engine` brings one."""

    def __init__(
        self, source: FrameSource, engine: AffectEngine | None, settings: PipelineSettings, after: Pipeline | None = None
    ) -> None:
        self.source = source
        # The pipeline this one replaces: its inference thread may still be finishing a frame
        # with the same engine, and the engine is not thread-safe, so ours waits for it.
        self._after = after
        self.engine = engine
        self.settings = settings
        self.faces = FaceStage(
            crop_style(engine.manifest) if engine is not None else WAITING_CROP,
            max_faces=settings.max_faces,
            min_score=settings.min_score,
            max_missed=settings.max_missed,
            actions=settings.actions,
            detect_every=settings.detect_every,
            reid=settings.reid,
        )
        self._actions = ActionStage()  # used by the inference thread only
        # Files with the actions: the capture thread meshes and tracks, the inference thread
        # re-identifies and crops (FaceStage.track / finish), as the mesh keeps the capture
        # thread busier than the other (1 face: 92% and 32% of a core). Live sources keep both
        # on the capture thread: their slot drops packets, re-identification must see each.
        self._finish_later = settings.actions and settings.lossless and not settings.keep_images
        make_queue: Callable[[], LosslessQueue | LatestSlot] = LosslessQueue if settings.lossless else partial(LatestSlot, carry_track_events)
        self._packets = make_queue()
        self._results = LosslessQueue(maxsize=64)
        self._stop = threading.Event()
        self._running = threading.Event()  # cleared while paused
        self._running.set()
        # Each thread takes its changes from its own command queue, so nothing it reads changes
        # under it. A model swap is one generation number: the capture thread crops for it from
        # its next frame, the inference thread switches when the first packet cropped for it
        # arrives, and packets cropped for a model replaced meanwhile are skipped (stale).
        self._swap_lock = threading.Lock()  # gives concurrent swaps one order in both queues
        self._generation = 0  # the newest generation asked for
        self._capture_commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._inference_commands: queue.SimpleQueue[tuple[int, AffectEngine] | Callable[[AffectEngine], None]] = queue.SimpleQueue()
        self._crop_generation = 0  # capture thread's
        self._pending_engine: tuple[int, AffectEngine] | None = None  # inference thread's: the newest swap
        self._engine_generation = 0
        self._engine_commands: list[Callable[[AffectEngine], None]] = []
        self.frames_read = 0
        self.parked = False  # the capture thread is paused between frames
        self.latest_packet: FacePacket | None = None  # newest capture, for a display (keep_images)
        self.capture_meter = RateMeter()  # frames read per second, for the live status bar
        self.stale_packets = 0  # cropped for a model that was replaced meanwhile
        self.waiting_packets = 0  # read before the first model was there
        self.error: str | None = None  # set when a thread failed; one line for the user
        self.error_traceback = ""  # the failure's traceback, for the log
        self._threads = [
            threading.Thread(target=self._guarded, args=(self._capture_loop, self._packets), name="capture", daemon=True),
            threading.Thread(target=self._guarded, args=(self._inference_loop, self._results), name="inference", daemon=True),
        ]

    @property
    def dropped_frames(self) -> int:
        """Frames read but never analysed: replaced by a newer one (live), or cropped for a
        model that was swapped out meanwhile."""
        return self._packets.dropped + self.stale_packets

    @property
    def ended_early(self) -> str | None:
        return self.source.ended_early

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        """Stop reading frames (the source stays open) until `resume()`."""
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def replace_engine(self, engine: AffectEngine) -> None:
        """Hand over to another model without stopping capture (any thread; the newest asked
        for wins, however the swaps interleave)."""
        style = crop_style(engine.manifest)
        with self._swap_lock:
            self._generation += 1
            generation = self._generation
            self._inference_commands.put((generation, engine))  # before the capture thread can crop for it
            self._capture_commands.put(partial(self._set_crop, generation, style))

    def set_max_faces(self, max_faces: int) -> None:
        """Applies from the capture thread's next frame (any thread)."""
        self._capture_commands.put(partial(self.faces.set_max_faces, max_faces))

    def set_actions(self, on: bool) -> None:
        """Measure the facial actions or not, from the capture thread's next frame (any thread)."""
        self._capture_commands.put(partial(self.faces.set_actions, on))

    def on_engine(self, command: Callable[[AffectEngine], None]) -> None:
        """Run `command(engine)` on the inference thread before its next packet (any thread)."""
        self._inference_commands.put(command)

    def _set_crop(self, generation: int, style: CropStyle) -> None:
        self._crop_generation = generation
        if style != self.faces.style:
            self.faces.set_style(style)

    def _guarded(self, loop: Callable[[], None], output: LosslessQueue | LatestSlot) -> None:
        """Run a thread body; whatever happens, close its output so the consumer never hangs."""
        try:
            loop()
        except Exception as exc:  # reported once to the user, with the detail in the log
            log.debug("%s thread failed", threading.current_thread().name, exc_info=True)
            if self.error is None:
                self.error = f"{threading.current_thread().name} failed: {exc}"
                self.error_traceback = traceback.format_exc()
            self._stop.set()
        finally:
            output.close()

    def _capture_loop(self) -> None:
        """Reads until the source ends or `stop`; closes the source and the detector here, on
        the thread that uses them (their native handles are not thread-safe)."""
        try:
            self._capture_frames()
        finally:
            self._close_source()

    def _close_source(self) -> None:
        try:
            self.source.close()
        finally:
            self.faces.close()

    def _capture_frames(self) -> None:
        frames = self.source.frames()
        while not self._stop.is_set():
            if not self._running.is_set():
                self.parked = True  # paused, with no frame in flight
                self._running.wait(timeout=0.1)
                continue
            self.parked = False
            while not self._capture_commands.empty():
                self._capture_commands.get()()
            started = time.perf_counter()
            frame = next(frames, None)
            if frame is None:
                return
            decoded = time.perf_counter()
            self.frames_read += 1
            self.capture_meter.add(decoded)
            meshed = self.faces.track(frame) if self._finish_later else None
            faces, ended, stage_ms = self.faces.process(frame) if meshed is None else ((), (), dict(meshed.timings))
            stage_ms["decode"] = (decoded - started) * 1000
            packet = FacePacket(
                frame_index=frame.index,
                time_s=frame.time_s,
                frame_size=(frame.image.shape[1], frame.image.shape[0]),
                faces=faces,
                captured_at=decoded,  # latency counts from a frame in hand (cameras block in read)
                ended_ids=ended,
                stage_ms=stage_ms,
                image=frame.image if self.settings.keep_images else None,
                crop_generation=self._crop_generation,
            )
            if self.settings.keep_images:
                self.latest_packet = packet
            if not self._packets.put(packet if meshed is None else _Unfinished(packet, meshed), self._stop):
                return

    def _inference_loop(self) -> None:
        try:
            self._infer_packets()
        finally:
            self._actions.close()  # on the thread that used it

    def _infer_packets(self) -> None:
        if self._after is not None:
            self._after.join_inference()
            self._after = None  # let it be collected
        while not self._stop.is_set():
            try:
                packet = self._packets.get(timeout=0.1)
            except queue.Empty:
                continue
            if packet is CLOSED:
                return
            if isinstance(packet, _Unfinished):  # every packet, in order (re-identification)
                packet = packet.finish(self.faces)
            engine = self._engine_for(packet.crop_generation)
            if engine is None:
                if self.engine is None:
                    self.waiting_packets += 1
                else:
                    self.stale_packets += 1
                continue
            if not self._results.put(engine.process(self._actions.complete(packet)), self._stop):
                return

    def _engine_for(self, generation: int) -> AffectEngine | None:
        """The engine for a packet's crops, switching to a new one when its crops arrive."""
        while not self._inference_commands.empty():
            command = self._inference_commands.get()
            if isinstance(command, tuple):
                self._pending_engine = command  # a model replaced before it ran never runs
            else:
                self._engine_commands.append(command)
        if self._pending_engine is not None and generation == self._pending_engine[0]:
            self._engine_generation, self.engine = self._pending_engine
            self._pending_engine = None
        if self.engine is None:
            return None
        for command in self._engine_commands:
            command(self.engine)
        self._engine_commands.clear()
        return self.engine if generation == self._engine_generation else None

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

    def request_stop(self) -> None:
        """Ask both threads to end, without waiting (any thread: the GUI never joins); the
        capture thread closes the source and the detector on its way out."""
        self._stop.set()

    def join_inference(self) -> None:
        """Wait until the inference thread has ended (or never started)."""
        inference = self._threads[1]
        if inference.ident is not None and inference is not threading.current_thread():
            inference.join()

    def stop(self) -> None:
        """Stop both threads and wait for them; safe to call twice. The source is closed by
        the capture thread, or here when it never started."""
        self._stop.set()
        for thread in self._threads:
            if thread.ident is not None and thread is not threading.current_thread():
                thread.join()
        if self._threads[0].ident is None:
            self._close_source()
