"""Face detection with MediaPipe's BlazeFace models (shipped in models/mediapipe-face/), run on LiteRT directly.

Choice of model (measured on this 2-core x86 CPU, 1 interpreter thread, ``detect()`` wall
time including pre/post-processing; median of repeated runs while other jobs shared the CPU;
see ``FaceDetector`` for the knobs):

=====================================================  ==========  ==========  =============
variant                                                640x480     1280x720    smallest face
=====================================================  ==========  ==========  =============
mp.solutions short-range (model_selection=0)           2.9 ms      5.6 ms      ~100 px @640
mp.solutions full-range  (model_selection=1)           7.1 ms      7.0 ms      ~48 px @640
Tasks FaceDetector + short-range .tflite               2.5 ms      2.7 ms      ~100 px @640
Tasks FaceDetector + full-range .tflite                fails: graph hard-codes 896 anchors
this module, short-range only                          ~1.6 ms     ~1.7 ms     ~100 px @640
this module, full-range (default)                      ~4.5 ms     ~4.6 ms     ~48 px @640
=====================================================  ==========  ==========  =============

"smallest face" = the smallest face box found in synthetic scenes of two real faces. The
short-range model (128x128 input) needs a face of about 20 px in its input, i.e. ~15% of the
frame width: it misses the 64 px face (10% of 640) of a group shot, and it misses the small face
of the three_faces fixture in every frame. Tiling the frame for it (4 tiles + 1 full pass) would
cost ~6.5 ms, more than the full-range model (192x192 input, one anchor per 4 px), which finds
faces from ~7% of the frame width up to ~80% of the long side. Beyond that (a face filling a
webcam frame) only the short-range model fires, so it runs as a fallback *only on frames where
the full-range model found nothing* (+~1.6 ms there, nothing on frames with faces).

Running the .tflite files directly gives exactly MediaPipe's outputs (same boxes, keypoints
and scores to 0.01 px on the astronaut photo) because pre- and post-processing follow
MediaPipe's graphs: letterbox to the model input (zero border), RGB in [-1, 1], SSD anchors,
sigmoid scores, weighted non-maximum suppression (IoU 0.3). The full-range model (~4.4 ms of
pure inference on one thread, ~3.2 ms on two) cannot meet a 2-3 ms budget on this CPU; the
short-range model can but misses small faces, so ``model_range="short"`` is offered for
single-user webcam setups where faces are always large.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from affect_live.backends.litert import LiteRtRunner
from affect_live.faces.model_files import DETECTOR_FULL, DETECTOR_SHORT, checked_model
from affect_live.types import Detection

logger = logging.getLogger(__name__)

NMS_IOU = 0.3  # MediaPipe's face detection graphs use 0.3 with weighted suppression
_MIN_BOX_PX = 2.0  # boxes smaller than this after clipping to the frame are dropped


@dataclass(frozen=True)
class _ModelSpec:
    """What MediaPipe's graph configures for one BlazeFace variant."""

    name: str  # the shipped file (models/mediapipe-face/)
    size: int  # square input side
    strides: tuple[int, ...]  # one per SSD layer; equal consecutive strides share a grid
    anchors_per_layer: int  # 2 with interpolated_scale_aspect_ratio=1.0, else 1


_SHORT = _ModelSpec(DETECTOR_SHORT, 128, (8, 16, 16, 16), 2)
_FULL = _ModelSpec(DETECTOR_FULL, 192, (4,), 1)


def ssd_anchor_centres(spec: _ModelSpec) -> np.ndarray:
    """Anchor centres (N x 2, normalised) in the order of the model's outputs.

    With ``fixed_anchor_size`` every anchor is 1x1, so only the centres matter. Consecutive
    layers with the same stride are merged into one grid with their anchors interleaved per
    cell, as MediaPipe's SsdAnchorsCalculator does.
    """
    grids = []
    i = 0
    while i < len(spec.strides):
        stride = spec.strides[i]
        per_cell = 0
        while i < len(spec.strides) and spec.strides[i] == stride:
            per_cell += spec.anchors_per_layer
            i += 1
        cells = math.ceil(spec.size / stride)
        ys, xs = np.mgrid[0:cells, 0:cells]
        centres = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        grids.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(grids).astype(np.float32)


def weighted_nms(
    boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's weighted NMS: each cluster's box and keypoints are score-weighted means.

    ``boxes`` are N x 4 (x0, y0, x1, y1). Returns (box, keypoints, best score) per cluster,
    best cluster first.
    """
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    kept = []
    while order.size:
        top = order[0]
        b = boxes[order]
        iw = np.clip(np.minimum(b[:, 2], b[0, 2]) - np.maximum(b[:, 0], b[0, 0]), 0, None)
        ih = np.clip(np.minimum(b[:, 3], b[0, 3]) - np.maximum(b[:, 1], b[0, 1]), 0, None)
        inter = iw * ih
        iou = inter / np.maximum(areas[order] + areas[top] - inter, 1e-9)
        cluster = order[iou > iou_threshold]
        weights = scores[cluster]
        total = float(weights.sum())
        box = (boxes[cluster] * weights[:, None]).sum(axis=0) / total
        kps = (keypoints[cluster] * weights[:, None, None]).sum(axis=0) / total
        kept.append((box, kps, float(scores[top])))
        order = order[iou <= iou_threshold]
    return kept


class _BlazeFace:
    """One BlazeFace model: letterboxed input, SSD decoding, weighted NMS, frame pixels out."""

    def __init__(self, spec: _ModelSpec, num_threads: int) -> None:
        self.spec = spec
        self.model = LiteRtRunner(checked_model(spec.name), num_threads, spec.name)
        self.anchors = ssd_anchor_centres(spec)
        self._boxes_out = self.model.output_index(16)  # 4 box + 6 x 2 keypoint values
        self._scores_out = self.model.output_index(1)
        n_out = int(next(o["shape"][1] for o in self.model.outputs if o["shape"][-1] == 16))
        if n_out != len(self.anchors):
            raise ValueError(f"{spec.name}: {n_out} boxes but {len(self.anchors)} anchors")

    def __call__(
        self, image_bgr: np.ndarray, min_score: float
    ) -> list[tuple[np.ndarray, np.ndarray, float]]:
        height, width = image_bgr.shape[:2]
        size = self.spec.size
        scale = size / max(width, height)
        off_x, off_y = (size - width * scale) / 2, (size - height * scale) / 2
        # One warp does resize + centred letterbox with a zero border, as MediaPipe's
        # ImageToTensorCalculator (keep_aspect_ratio, BORDER_ZERO) does.
        matrix = np.array([[scale, 0.0, off_x], [0.0, scale, off_y]], dtype=np.float64)
        tensor = cv2.warpAffine(
            image_bgr, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0)
        )
        tensor = cv2.cvtColor(tensor, cv2.COLOR_BGR2RGB).astype(np.float32)
        tensor *= 2.0 / 255.0
        tensor -= 1.0
        self.model.run(tensor[None])

        logits = self.model.get(self._scores_out).reshape(-1)
        # Compare in logit space: no exp() over thousands of anchors, no overflow.
        p = min(max(min_score, 1e-6), 1 - 1e-6)
        candidates = np.flatnonzero(logits >= math.log(p / (1 - p)))
        if candidates.size == 0:
            return []
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[candidates], -100.0, 100.0)))
        raw = self.model.get(self._boxes_out).reshape(-1, 16)[candidates] / size
        centres = self.anchors[candidates]
        cx, cy = raw[:, 0] + centres[:, 0], raw[:, 1] + centres[:, 1]
        half_w, half_h = raw[:, 2] / 2, raw[:, 3] / 2
        boxes = np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
        keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centres[:, None, :]

        results = []
        for box, kps, score in weighted_nms(boxes, keypoints, scores, NMS_IOU):
            # Normalised letterbox coordinates -> pixels of the original frame.
            box_px = (box * size - [off_x, off_y, off_x, off_y]) / scale
            kps_px = (kps * size - [off_x, off_y]) / scale
            results.append((box_px, kps_px.astype(np.float32), score))
        return results

    def close(self) -> None:
        self.model.close()


class FaceDetector:
    """Finds faces in BGR frames; one instance per thread (the interpreters are not shared).

    Args:
        min_score: minimum detection confidence (0-1).
        model_range: "full" (default: faces from ~7% of the frame width to frame-filling,
            ~4.5 ms at 640x480) or "short" (~1.6 ms, only faces wider than ~15% of the frame).
        close_range_fallback: with "full", run the short-range model on frames where the
            full-range one found nothing, to catch faces larger than ~80% of the frame.
        num_threads: TFLite threads per model. 1 leaves the second core to inference.
    """

    def __init__(
        self,
        min_score: float = 0.5,
        model_range: Literal["full", "short"] = "full",
        close_range_fallback: bool = True,
        num_threads: int = 1,
    ) -> None:
        if not 0.0 < min_score < 1.0:
            raise ValueError(f"min_score must be in (0, 1), got {min_score}")
        if model_range not in ("full", "short"):
            raise ValueError(f"model_range must be 'full' or 'short', got {model_range!r}")
        self.min_score = float(min_score)
        self.model_range = model_range
        self._primary: _BlazeFace | None = _BlazeFace(
            _FULL if model_range == "full" else _SHORT, num_threads
        )
        self._fallback: _BlazeFace | None = (
            _BlazeFace(_SHORT, num_threads)
            if model_range == "full" and close_range_fallback
            else None
        )
        # The first invoke initialises XNNPACK's buffers; do it now, not on the first frame.
        self.detect(np.zeros((8, 8, 3), np.uint8))
        logger.info(
            "face detector: %s-range%s, min_score %.2f",
            model_range,
            " + short-range fallback" if self._fallback else "",
            self.min_score,
        )

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Faces in ``image_bgr`` (H x W x 3 uint8, BGR), largest box first.

        Boxes are clipped to the frame; keypoints are not (an ear may lie outside it).
        """
        if self._primary is None:
            raise RuntimeError("FaceDetector is closed")
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 BGR image, got shape {image_bgr.shape}")
        found = self._primary(image_bgr, self.min_score)
        if not found and self._fallback is not None:
            found = self._fallback(image_bgr, self.min_score)

        height, width = image_bgr.shape[:2]
        detections = []
        for box, keypoints, score in found:
            x0, y0 = max(float(box[0]), 0.0), max(float(box[1]), 0.0)
            x1, y1 = min(float(box[2]), float(width)), min(float(box[3]), float(height))
            if x1 - x0 < _MIN_BOX_PX or y1 - y0 < _MIN_BOX_PX:
                continue
            detections.append(Detection((x0, y0, x1 - x0, y1 - y0), score, keypoints))
        detections.sort(key=lambda d: d.box[2] * d.box[3], reverse=True)
        return detections

    def close(self) -> None:
        """Free the interpreters; ``detect`` raises afterwards."""
        for model in (self._primary, self._fallback):
            if model is not None:
                model.close()
        self._primary = self._fallback = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
