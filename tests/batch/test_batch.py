"""Batches of the fixture clips: --jobs 2 and --ray on a real local Ray cluster give the serial
run's CSVs and sidecars; an interrupted batch resumes, skipping what is complete; a corrupt
input fails alone."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from affect_live.batch.local_cluster import READY_LINE, local_cluster
from affect_live.cli.parser import main
from tests.conftest import CLIPS, REPO, running
from tests.helpers.sockets import listening_by_pid, on_loopback
from tests.session.test_analyze import _long_clip, _wait_for_rows

pytestmark = pytest.mark.slow

# The shipped clips as a folder of videos; not the 30 s dyad clips of the synchrony tests, which
# would more than triple the frames these batches (serial, --jobs 2, Ray) analyse.
CLIP_NAMES = tuple(sorted(path.stem for path in CLIPS.glob("*.mp4") if not path.stem.startswith("dyad_")))
TIMES = ("started_at", "finished_at", "timing")  # the only sidecar fields that may differ


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def assert_same_recording(expected_csv: Path, actual_csv: Path) -> None:
    """Row for row the same (numbers within 1e-4), and the same sidecar but for its times."""
    expected, actual = _rows(expected_csv), _rows(actual_csv)
    assert len(expected) == len(actual) > 0, actual_csv
    for want, got in zip(expected, actual):
        assert want.keys() == got.keys()
        for key, value in want.items():
            try:
                assert abs(float(value) - float(got[key])) <= 1e-4, (actual_csv, key, value, got[key])
            except ValueError:
                assert value == got[key], (actual_csv, key)
    meta = [json.loads(p.with_suffix(".meta.json").read_text()) for p in (expected_csv, actual_csv)]
    assert meta[0]["status"] == "complete"
    assert {k: v for k, v in meta[0].items() if k not in TIMES} == {k: v for k, v in meta[1].items() if k not in TIMES}


def _cli(args: list[str], cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """The CLI as a user runs it (`python -m affect_live`), from `cwd`."""
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "affect_live", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """A folder holding copies of the CLIP_NAMES clips."""
    folder = tmp_path_factory.mktemp("videos")
    for name in CLIP_NAMES:
        shutil.copy(CLIPS / f"{name}.mp4", folder)
    return folder


@pytest.fixture(scope="module")
def serial(videos, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial")
    assert main(["analyze", str(videos), "--out", str(out), "--quiet"]) == 0  # a folder of videos
    return out


@pytest.fixture(scope="module")
def ray_cluster():
    cluster = local_cluster(num_cpus=2)
    # A Ray head ignores SIGTERM for 30 s; nothing of it needs a clean exit here.
    with running(list(cluster.command), grace_s=3.0, env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:  # a wait for the head node, not a time limit on it
            if READY_LINE in line:
                break
        else:
            pytest.fail(f"ray start ended: {proc.poll()}")
        yield cluster, proc.pid  # the head's session: every process of the cluster is in it
    shutil.rmtree(cluster.temp_dir, ignore_errors=True)


def test_jobs_2_equals_the_serial_run(serial, videos, tmp_path):
    out = tmp_path / "jobs"
    proc = _cli(["analyze", str(videos), "--out", str(out), "--jobs", "2"])
    assert proc.returncode == 0, proc.stderr
    for name in CLIP_NAMES:
        assert_same_recording(serial / f"{name}.csv", out / f"{name}.csv")
    batch = json.loads((out / "batch.json").read_text())
    assert batch["mode"] == "processes" and batch["complete"] == len(CLIP_NAMES) and batch["failed"] == 0
    assert len({item["worker"] for item in batch["items"]}) == 2  # two worker processes shared the inputs
    for item in batch["items"]:
        meta = json.loads(Path(item["csv"]).with_suffix(".meta.json").read_text())
        assert (item["frames"], item["rows"], item["faces"]) == (meta["frames_processed"], meta["rows"], len(meta["face_ids"]))
    assert "batch" in proc.stderr and f"inputs {len(CLIP_NAMES)}/{len(CLIP_NAMES)}" in proc.stderr  # the one overall bar


def _in_session(pid: int, session: int) -> bool:
    try:
        return os.getsid(pid) == session
    except OSError:  # ended meanwhile
        return False


def test_ray_cluster_equals_the_serial_run_with_the_package_shipped(serial, videos, ray_cluster, tmp_path):
    """... and the cluster, its workers and the driver listen on loopback only."""
    cluster, session = ray_cluster
    out = tmp_path / "ray"
    # Run from another folder: the workers then import affect_live only from the runtime env.
    command = [sys.executable, "-m", "affect_live", "analyze", *(str(videos / f"{n}.mp4") for n in CLIP_NAMES), "--out", str(out), "--ray", cluster.address, "--quiet"]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO))
    with running(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as driver:
        listening: dict[int, list[str]] = {}
        # Until the driver's own gRPC server is up and a worker writes a CSV (the driver waits
        # for every task): the driver, the cluster and a busy worker are all in the snapshot.
        while driver.pid not in listening or not any(out.glob("*.csv")):
            assert driver.poll() is None, driver.communicate()[1]
            time.sleep(0.05)
            listening = listening_by_pid()
        cluster_side = [a for pid, addresses in listening.items() if _in_session(pid, session) for a in addresses]
        _, stderr = driver.communicate(timeout=300)
    assert driver.returncode == 0, stderr
    assert len(cluster_side) >= 3, listening  # at least the GCS and the raylet's two servers
    assert all(on_loopback(a) and "%" not in a for a in [*cluster_side, *listening[driver.pid]]), listening
    for name in CLIP_NAMES:
        assert_same_recording(serial / f"{name}.csv", out / f"{name}.csv")
    batch = json.loads((out / "batch.json").read_text())
    assert batch["mode"] == "ray" and batch["complete"] == len(CLIP_NAMES)
    for item in batch["items"]:
        assert "runtime_resources" in item["package_dir"] and "py_modules" in item["package_dir"], item["package_dir"]
        assert item["peak_rss_mb"] > 0 and item["worker"]


def test_unreachable_ray_cluster_is_one_line(tmp_path):
    from affect_live.batch.local_cluster import free_port

    proc = _cli(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(tmp_path), "--ray", f"127.0.0.1:{free_port()}", "--quiet"])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert lines[-1].startswith("affect-live: error: cannot connect to the Ray cluster"), proc.stderr


def test_interrupted_batch_resumes_and_a_corrupt_input_fails_alone(tmp_path):
    sessions, results = tmp_path / "sessions", tmp_path / "results"
    sessions.mkdir()
    shutil.copy(CLIPS / "two_faces.mp4", sessions / "a.mp4")
    (sessions / "b.mp4").write_bytes(b"not a video at all")
    _long_clip(sessions, 300)  # sessions/long.avi: 10 s, still under way when 50 rows are in
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(sessions), "--out", str(results), "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_rows(results / "long.csv", 50, proc)  # a.mp4 done, b.mp4 failed, long.avi under way
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr
    batch = json.loads((results / "batch.json").read_text())
    assert [item["status"] for item in batch["items"]] == ["complete", "failed", "interrupted"]
    a_written = (results / "a.csv").stat().st_mtime_ns

    proc = _cli(["analyze", str(sessions), "--out", str(results), "--jobs", "2", "--quiet"])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("affect-live: error: 1 of 3 inputs failed"), proc.stderr
    assert sum("b.mp4" in line and "not a video" in line for line in lines) == 1  # failed again, alone
    assert (results / "a.csv").stat().st_mtime_ns == a_written  # skipped, not redone
    batch = json.loads((results / "batch.json").read_text())
    a, bad, long = batch["items"]
    assert a["skipped"] and a["status"] == "complete"
    assert long["status"] == "complete" and not long["skipped"] and long["frames"] == 300
    assert json.loads((results / "long.meta.json").read_text())["status"] == "complete"
    assert bad["status"] == "failed" and batch["failed"] == 1

    # Other settings: the finished input is analysed again; --force redoes it with the same ones.
    assert main(["analyze", str(sessions / "a.mp4"), "--out", str(results), "--quiet", "--max-faces", "1"]) == 0
    assert json.loads((results / "a.meta.json").read_text())["settings"]["max_faces"] == 1
    frames = [r["frame"] for r in _rows(results / "a.csv")]
    assert len(frames) == len(set(frames)) > 0  # one face per frame now
    assert (results / "a.csv").stat().st_mtime_ns != a_written
    again = ["analyze", str(sessions / "a.mp4"), "--out", str(results), "--quiet", "--max-faces", "1"]
    one_face = (results / "a.csv").stat().st_mtime_ns
    assert main(again) == 0 and (results / "a.csv").stat().st_mtime_ns == one_face  # same settings: skipped
    assert main([*again, "--force"]) == 0
    assert (results / "a.csv").stat().st_mtime_ns != one_face  # --force: analysed again
    assert [r["frame"] for r in _rows(results / "a.csv")] == frames


def _spawned_workers(parent: int) -> list[int]:
    """Pids of the multiprocessing workers a process started (from /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == parent and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def test_a_worker_that_dies_has_its_input_retried_once(tmp_path):
    sessions, results = tmp_path / "sessions", tmp_path / "results"
    sessions.mkdir()
    _long_clip(sessions, 600)
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(sessions), "--out", str(results), "--jobs", "2", "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_rows(results / "long.csv", 50, proc)  # the worker is half-way
        workers = _spawned_workers(proc.pid)
        assert len(workers) == 1  # one input: one worker
        os.kill(workers[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    assert "the worker process died" in stderr and "trying it again" in stderr
    item = json.loads((results / "batch.json").read_text())["items"][0]
    assert item["status"] == "complete" and item["attempts"] == 2 and item["frames"] == 600
    assert json.loads((results / "long.meta.json").read_text())["status"] == "complete"


def test_a_worker_that_dies_twice_fails_its_input_alone(tmp_path):
    sessions, results = tmp_path / "sessions", tmp_path / "results"
    sessions.mkdir()
    _long_clip(sessions, 600)
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(sessions), "--out", str(results), "--jobs", "2", "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        killed: set[int] = set()
        for _ in range(2):  # each attempt's worker, once it has written rows
            deadline = time.monotonic() + 120  # a bound for a broken build
            while not (workers := [w for w in _spawned_workers(proc.pid) if w not in killed]):
                assert time.monotonic() < deadline and proc.poll() is None, "no worker to kill"
                time.sleep(0.05)
            _wait_for_rows(results / "long.csv", 20, proc)
            os.kill(workers[0], signal.SIGKILL)
            killed.add(workers[0])
            (results / "long.csv").unlink(missing_ok=True)  # so the wait above sees the retry's rows
        _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("affect-live: error:")]
    assert "trying it again" in stderr and len(errors) == 1 and "worker process died" in errors[0], stderr
    item = json.loads((results / "batch.json").read_text())["items"][0]
    assert item["status"] == "failed" and item["attempts"] == 2 and "worker process died" in item["message"]
