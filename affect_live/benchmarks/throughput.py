"""`affect-live bench`: end-to-end speed, per-stage milliseconds and memory on the shipped clips.

Runs the real pipeline (decode, detect, mesh, align, actions, model, heads, CSV write) exactly
as `analyze` does, on clips looped to the requested length, with the facial actions off
(`--no-actions`) and on (the default), and reports what the sidecar timing says. "mesh" is the
478-point mesh (capture thread, both cores when there are several faces), "blendsh" the
blendshape model and "pose" head pose and gaze (inference thread); "det/frame" the detector
runs per frame. "CPU/frame" is the process's CPU time (all threads, user + system) per frame,
so ``2000 / CPU`` is the frame rate two idle cores could reach at best with this much work
(on a shared machine it is the figure least changed by the other load).
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.meters import current_rss_mb, peak_rss_mb
from affect_live.pipeline.sources import LoopingVideoSource
from affect_live.pipeline.threads import PipelineSettings
from affect_live.recording.sidecar import sidecar_path
from affect_live.resources import clip, face_crops
from affect_live.session.analyze import analyze_source

STAGES = ("decode", "detect", "mesh", "reid", "align", "blendsh", "pose", "model", "heads", "write")
_STAGE_KEYS = {"blendsh": "blendshapes"}  # short column names


@dataclass(frozen=True)
class BenchCase:
    label: str
    clip: str
    loop_frames: int | None  # frames of the clip that show the wanted number of faces


CASES = (
    BenchCase("1 face", "astronaut_motion.mp4", 60),  # frames 0-59 show one face
    BenchCase("3 faces", "three_faces.mp4", None),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(engine: AffectEngine, case: BenchCase, frames: int, out_dir: Path, actions: bool = True, reid: bool = True) -> dict:
    source = LoopingVideoSource(clip(case.clip), frames, case.loop_frames)
    csv_path = out_dir / f"{case.clip}.{frames}.{actions}.csv"
    cpu_before = cpu_seconds()
    outcome = analyze_source(source, csv_path, engine, PipelineSettings(actions=actions, reid=reid), quiet=True)
    cpu_ms = (cpu_seconds() - cpu_before) * 1000 / max(outcome.frames, 1)
    meta = json.loads(sidecar_path(csv_path).read_text())
    stage = meta["timing"]["stage_ms_mean"]
    faces_per_frame = outcome.rows / max(outcome.frames, 1)
    return {
        "case": case.label + ("" if actions else ", no actions"),
        "clip": case.clip,
        "actions": actions,
        "detector_runs_per_frame": stage.get("detector_runs", 1.0),
        "frames": outcome.frames,
        "faces_per_frame": round(faces_per_frame, 2),
        "fps": meta["timing"]["fps"],
        "cpu_ms_per_frame": round(cpu_ms, 2),
        "stage_ms": {name: stage.get(_STAGE_KEYS.get(name, name), 0.0) for name in STAGES},
        "model_ms_per_face": round(stage.get("model", 0.0) / max(faces_per_frame, 1e-9), 3),
        "device": engine.info.device,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_after_mb": round(current_rss_mb(), 1),
    }


def model_only_ms_per_face(engine: AffectEngine, faces: int, repeats: int = 300) -> float:
    """The per-frame model alone (preprocessing included) on real face crops, no other load."""
    crops = face_crops()[:faces, ..., ::-1]  # the shipped real crops, RGB -> BGR
    batch = [np.ascontiguousarray(crop) for crop in crops]
    for _ in range(20):
        engine.frame_model.infer(batch)
    started = time.perf_counter()
    for _ in range(repeats):
        engine.frame_model.infer(batch)
    return (time.perf_counter() - started) / repeats * 1000 / faces


def run_benchmark(bundle: LoadedBundle, frames: int = 300, long_frames: int = 3000, device: str = "CPU", reid: bool = True) -> int:
    """Same engine for every run, so the peak RSS after the long run shows any growth."""
    engine = AffectEngine(bundle, device=device)
    results = []
    with tempfile.TemporaryDirectory(prefix="affect-live-bench-") as tmp:
        for actions in (False, True):
            for case in CASES:
                results.append(measure(engine, case, frames, Path(tmp), actions, reid))
        results.append(measure(engine, CASES[0], long_frames, Path(tmp), reid=reid) | {"case": f"1 face, {long_frames} frames"})
    header = f"{'case':<24}{'fps':>8}{'faces':>7}" + "".join(f"{s:>8}" for s in STAGES) + f"{'CPU/frame':>10}{'det/frame':>10}{'ms/face':>9}{'peak RSS':>10}{'RSS now':>9}"
    print(f"affect-live bench ({bundle.manifest.name}, {engine.info.device}, re-identification {'on' if reid else 'off'}); stage columns are ms per frame")
    print(header)
    for r in results:
        stages = "".join(f"{r['stage_ms'][s]:>8.2f}" for s in STAGES)
        print(f"{r['case']:<24}{r['fps']:>8.1f}{r['faces_per_frame']:>7.2f}{stages}{r['cpu_ms_per_frame']:>10.2f}{r['detector_runs_per_frame']:>10.2f}{r['model_ms_per_face']:>9.3f}{r['peak_rss_mb']:>8.0f}MB{r['rss_after_mb']:>7.0f}MB")
    isolated = {faces: round(model_only_ms_per_face(engine, faces), 3) for faces in (1, 3)}
    print(
        f"per-frame model alone, ms per face: {isolated[1]:.3f} (batch of 1), {isolated[3]:.3f} (batch of 3); "
        f"in the pipeline it shares the 2 cores with the capture thread"
    )
    print(json.dumps({"runs": results, "model_only_ms_per_face": isolated}))
    return 0
