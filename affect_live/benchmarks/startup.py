"""`affect-live bench --startup`: how long a user waits before the first result.

Each figure is measured on a fresh process, as a user starts it:
- analyze: from process start to the first CSV row for one face image, and that process's
  peak RSS (from ``os.wait4``);
- the app: from launch to its window being shown and to its first prediction on screen (read
  from the app's own log lines; offscreen when there is no display);
- the yardstick, in the same run: ``python -c "import tensorflow"``.
Every figure is the minimum of ``runs`` runs (the least disturbed by other load).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from affect_live.extras import tensorflow_installed

APP_WINDOW_LINE = "window shown"
APP_PREDICTION_LINE = "first prediction shown"
CHILD_TIMEOUT_S = 120.0
# The command line as the `affect-live` console script runs it (works from a wheel too).
CLI = [sys.executable, "-c", "import sys; from affect_live.cli.parser import main; sys.exit(main())"]


def _child_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(home / "config")  # the app's remembered settings stay untouched
    env["XDG_CACHE_HOME"] = env.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    if not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _has_row(csv_path: Path) -> bool:
    try:
        with open(csv_path, "rb") as handle:
            return handle.read().count(b"\n") >= 2  # header + one row
    except FileNotFoundError:
        return False


def time_analyze(image: Path, workdir: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the first CSV row, peak RSS in MB) of one `analyze IMAGE` process."""
    csv_path = workdir / f"startup-{time.monotonic_ns()}.csv"
    command = [*CLI, "analyze", str(image), "--out", str(csv_path), "--quiet"]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_row = None
    try:
        while True:  # poll the file every 2 ms; reap the child ourselves for its rusage
            if first_row is None and _has_row(csv_path):
                first_row = time.perf_counter() - started
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - started > CHILD_TIMEOUT_S:
                raise RuntimeError("analyze did not finish")
            time.sleep(0.002)
    finally:
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    if first_row is None and _has_row(csv_path):
        first_row = time.perf_counter() - started
    if first_row is None or proc.returncode != 0:
        raise RuntimeError(f"analyze wrote no row (exit {proc.returncode})")
    return first_row, usage.ru_maxrss / 1024.0


def time_app(source: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds to the window shown, seconds to the first prediction) of one app launch."""
    command = [*CLI, "-v", "--source", str(source)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    moments: dict[str, float] = {}
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the app logs both moments at INFO level (-v), in either order
            for marker in (APP_WINDOW_LINE, APP_PREDICTION_LINE):
                if marker in line and marker not in moments:
                    moments[marker] = time.perf_counter() - started
            if len(moments) == 2:
                return moments[APP_WINDOW_LINE], moments[APP_PREDICTION_LINE]
            if time.perf_counter() - started > CHILD_TIMEOUT_S:
                break
        raise RuntimeError(f"the app did not show its window and a prediction (exit {proc.poll()})")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def time_import_tensorflow(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _minimum(runs: int, measure: Callable[[], tuple[float, ...]]) -> tuple[float, ...]:
    results = [measure() for _ in range(runs)]
    return tuple(min(values) for values in zip(*results))


def write_face_image(clip: Path, out: Path) -> Path:
    """The first frame of a shipped clip (one real face) as a PNG."""
    capture = cv2.VideoCapture(str(clip))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read {clip}")
    cv2.imwrite(str(out), frame)
    return out


def run_startup_benchmark(runs: int = 3, clip: Path | None = None) -> int:
    """`clip` (default: the shipped one-face clip) gives the image and the app's source."""
    if clip is None:
        from affect_live.resources import clip as shipped_clip

        clip = shipped_clip("astronaut_motion.mp4")
    with tempfile.TemporaryDirectory(prefix="affect-live-startup-") as tmp:
        workdir = Path(tmp)
        env = _child_env(workdir)
        image = write_face_image(clip, workdir / "one_face.png")
        # The yardstick needs the train extra; the run time's own venv has no TensorFlow.
        tf_import = _minimum(runs, lambda: (time_import_tensorflow(env),))[0] if tensorflow_installed() else None
        first_row, peak_rss = _minimum(runs, lambda: time_analyze(image, workdir, env))
        window, prediction = _minimum(runs, lambda: time_app(clip, env))
    result = {
        "runs": runs,
        "import_tensorflow_s": round(tf_import, 3) if tf_import else None,
        "analyze_first_row_s": round(first_row, 3),
        "analyze_peak_rss_mb": round(peak_rss, 1),
        "analyze_vs_import_tensorflow": round(first_row / tf_import, 3) if tf_import else None,
        "app_window_shown_s": round(window, 3),
        "app_first_prediction_s": round(prediction, 3),
    }
    print(f"affect-live bench --startup (minimum of {runs} runs each)")
    if tf_import:
        print(f"  python -c 'import tensorflow'        {tf_import:7.2f} s   (yardstick)")
        ratio = f"= {first_row / tf_import:.2f} x the import; "
    else:
        print("  python -c 'import tensorflow'           -      (yardstick skipped: TensorFlow is not installed)")
        ratio = ""
    print(f"  analyze one image: first CSV row      {first_row:7.2f} s   {ratio}peak RSS {peak_rss:.0f} MB")
    print(f"  app: window shown                     {window:7.2f} s")
    print(f"  app: first prediction                 {prediction:7.2f} s")
    print(json.dumps(result))
    return 0
