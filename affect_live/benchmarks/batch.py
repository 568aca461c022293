"""`affect-live bench --batch`: one batch of the shipped clips (each looped to --frames frames)
analysed serially, with --jobs 2, and with --ray on a local cluster started for the purpose,
in one run. Reports frames/s over the whole command (start-up included), each worker's model
start-up and process age when its model was ready, and each worker's peak RSS (batch.json).

Ray needs requirements-cluster.txt; without it the Ray case is reported as skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from affect_live.batch.local_cluster import READY_LINE, local_cluster
from affect_live.pipeline.sources import read_frames
from affect_live.process_group import stop_group
from affect_live.resources import CLIPS_DIR, clip

BATCH_CLIPS = ("astronaut_motion.mp4", "three_faces.mp4", "two_faces.mp4", "two_faces.mp4")


def write_inputs(folder: Path, frames: int) -> int:
    """The batch: each clip looped to `frames` frames (MJPG .avi); returns the frames in all."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, name in enumerate(BATCH_CLIPS):
        images = read_frames(clip(name))
        height, width = images[0].shape[:2]
        writer = cv2.VideoWriter(str(folder / f"{n}_{Path(name).stem}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 30, (width, height))
        for k in range(frames):
            writer.write(images[k % len(images)])
        writer.release()
    return frames * len(BATCH_CLIPS)


@contextlib.contextmanager
def ray_cluster(num_cpus: int) -> Iterator[tuple[str, float]]:
    """A local head node in its own process group; yields its address and start-up seconds."""
    cluster = local_cluster(num_cpus)
    started = time.perf_counter()
    proc = subprocess.Popen(list(cluster.command), env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if READY_LINE in line:
                break
        else:
            raise RuntimeError(f"ray start ended with {proc.wait()}")
        yield cluster.address, time.perf_counter() - started
    finally:
        stop_group(proc)
        shutil.rmtree(cluster.temp_dir, ignore_errors=True)


def run_case(label: str, inputs: Path, out: Path, extra: list[str], total_frames: int) -> dict[str, object]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    command = [sys.executable, "-m", "affect_live", "analyze", str(inputs), "--out", str(out), "--quiet", *extra]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=out.parent)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        return {"case": label, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    batch = json.loads((out / "batch.json").read_text())
    workers: dict[str, dict[str, object]] = {}
    for item in batch["items"]:
        worker = workers.setdefault(item["worker"], {"inputs": 0, "peak_rss_mb": 0.0})
        worker["inputs"] += 1
        worker["peak_rss_mb"] = max(worker["peak_rss_mb"], item["peak_rss_mb"])
        if item["startup_s"] is not None:
            worker["model_load_s"] = item["startup_s"]
            worker["process_age_at_model_s"] = item["process_age_s"]
    return {
        "case": label,
        "frames": batch["frames_analysed"],
        "expected_frames": total_frames,
        "wall_s": round(wall, 2),
        "fps": round(batch["frames_analysed"] / wall, 1),
        "workers": list(workers.values()),
    }


def run_batch_benchmark(frames: int) -> int:
    with tempfile.TemporaryDirectory(prefix="affect-live-batch-") as tmp:
        root = Path(tmp)
        total = write_inputs(root / "sessions", frames)
        results = [
            run_case("serial", root / "sessions", root / "serial", [], total),
            run_case("--jobs 2", root / "sessions", root / "jobs2", ["--jobs", "2"], total),
        ]
        try:
            import ray  # noqa: F401 (only whether it is installed)
        except ImportError:
            results.append({"case": "--ray", "error": "ray is not installed (requirements-cluster.txt)"})
        else:
            with ray_cluster(2) as (address, start_s):
                case = run_case("--ray (local cluster, 2 CPUs)", root / "sessions", root / "ray", ["--ray", address], total)
                case["cluster_start_s"] = round(start_s, 1)
                results.append(case)
    for result in results:
        print(json.dumps(result))
    base = results[0].get("fps")
    if base:
        ratios = ", ".join(f"{r['case']} {r['fps'] / base:.2f}x" for r in results[1:] if "fps" in r)
        print(f"frames/s relative to serial ({len(BATCH_CLIPS)} inputs of {frames} frames from {CLIPS_DIR.name}/): {ratios}")
    return 0 if all("fps" in r for r in results) else 1
