"""`affect-live bench --app`: the desktop app's live figures on clips played at their native
30 fps: do results keep up with every frame, capture-to-result latency, the GUI thread's CPU
share, and whether memory stays flat.

Runs the real main window (offscreen when there is no display) with the real pipeline and
model. The GUI thread's CPU time comes from `time.thread_time()` read on the GUI thread itself;
latency p95 is sampled every 5 s over the last 300 results and the worst sample is reported.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from affect_live.pipeline.meters import current_rss_mb, peak_rss_mb
from affect_live.pipeline.sources import LoopingVideoSource
from affect_live.resources import LSL_MACHINE_CONFIG, clip
from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment

SAMPLE_EVERY_S = 5.0


def _lsl_probe(app, window):  # noqa: ANN001, ANN202
    """Wait (processing events) until the app's LSL streams are open, then connect an inlet."""
    from PyQt5.QtCore import QEventLoop, QTimer

    from affect_live.benchmarks.lsl_probe import LslProbe

    loop = QEventLoop()
    for _ in range(600):
        if window.session.stats().lsl == "on":
            return LslProbe()
        QTimer.singleShot(50, loop.quit)
        loop.exec_()
    raise RuntimeError("the app's LSL streams did not open")


@dataclass(frozen=True)
class LiveCase:
    label: str
    clip: str
    loop_frames: int | None  # frames of the clip that show the wanted number of faces


LIVE_CASES = (LiveCase("1 face", "astronaut_motion.mp4", 60), LiveCase("3 faces", "three_faces.mp4", None))


class LiveProbe:
    """Samples one running window from the GUI thread (a QTimer), then summarises."""

    def __init__(self, window, case: LiveCase, seconds: float, warmup_s: float = 3.0) -> None:  # noqa: ANN001
        self.window, self.case, self.seconds, self.warmup_s = window, case, seconds, warmup_s
        self.samples: list[dict[str, float]] = []
        self._start: dict[str, float] | None = None

    def snapshot(self) -> dict[str, float]:
        session = self.window.session
        stats = session.stats()
        return {
            "wall": time.monotonic(),
            "gui_cpu": time.thread_time(),  # this runs on the GUI thread
            "process_cpu": time.process_time(),
            "frames_read": stats.frames_read,
            "results": session.results_seen,
            "drawn": self.window.frames_shown,
            "dropped": stats.dropped_frames,
            "p50": stats.latency_ms_p50,
            "p95": stats.latency_ms_p95,
            "faces": len(self.window.video.predictions),
            "rss_mb": current_rss_mb(),
        }

    def tick(self) -> bool:
        """Take a sample; False when the run is over."""
        now = self.snapshot()
        if self._start is None:
            self._start = now
        else:
            self.samples.append(now)
        return now["wall"] - self._start["wall"] < self.seconds

    def summary(self) -> dict[str, object]:
        first, last = self._start, self.samples[-1]
        wall = last["wall"] - first["wall"]
        frames = last["frames_read"] - first["frames_read"]
        results = last["results"] - first["results"]
        return {
            "case": self.case.label,
            "clip": self.case.clip,
            "seconds": round(wall, 1),
            "capture_fps": round(frames / wall, 2),
            "results_fps": round(results / wall, 2),
            "results_per_frame": round(results / max(frames, 1), 4),
            "dropped_frames": int(last["dropped"] - first["dropped"]),
            "display_fps": round((last["drawn"] - first["drawn"]) / wall, 2),
            "faces_on_screen": statistics.median(s["faces"] for s in self.samples),
            "latency_ms_p50_median": round(statistics.median(s["p50"] for s in self.samples), 2),
            "latency_ms_p95_worst": round(max(s["p95"] for s in self.samples), 2),
            "gui_thread_cpu_pct": round(100 * (last["gui_cpu"] - first["gui_cpu"]) / wall, 1),
            "process_cpu_pct": round(100 * (last["process_cpu"] - first["process_cpu"]) / wall, 1),
            "rss_mb_start": round(first["rss_mb"], 1),
            "rss_mb_end": round(last["rss_mb"], 1),
            "rss_mb_max": round(max(s["rss_mb"] for s in self.samples), 1),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }


def run_live_case(app, window, case: LiveCase, seconds: float, lsl=None) -> dict[str, object]:  # noqa: ANN001
    from PyQt5.QtCore import QEventLoop, QTimer

    window.session.play(LoopingVideoSource(clip(case.clip), None, case.loop_frames), case.clip)
    loop = QEventLoop()
    QTimer.singleShot(3000, loop.quit)  # warm-up: first frames, tracker settled
    loop.exec_()
    probe = LiveProbe(window, case, seconds)
    probe.tick()
    if lsl is not None:
        lsl.take()  # from now on
    timer = QTimer(interval=int(SAMPLE_EVERY_S * 1000))
    timer.timeout.connect(lambda: probe.tick() or loop.quit())
    timer.start()
    loop.exec_()
    timer.stop()
    summary = probe.summary()
    if lsl is not None:
        received, lags = lsl.take()
        summary["lsl_samples_per_s"] = round(received / summary["seconds"], 2)
        summary["lsl_lag_ms_p50"] = round(float(statistics.median(lags)), 2) if lags else None
        summary["lsl_lag_ms_p95"] = round(float(statistics.quantiles(lags, n=20)[-1]), 2) if len(lags) > 1 else None
    return summary


def run_app_benchmark(
    seconds: float, weights: Path | None = None, cases: tuple[LiveCase, ...] = LIVE_CASES, device: str = "CPU", lsl: bool = False
) -> int:
    """With `lsl`, the app streams on LSL and a local inlet measures samples/s and the lag from
    capture to the inlet."""
    if lsl:  # the inlet is local: keep discovery and data on this machine unless told otherwise
        os.environ.setdefault("LSLAPICFG", str(LSL_MACHINE_CONFIG))
    if not os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    prepare_qt_environment()
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from affect_live.ui.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="affect-live-bench-app-") as tmp:
        store = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)  # never the user's settings
        options = AppOptions(source=str(clip(cases[0].clip)), weights=[weights] if weights else None, lsl=lsl)
        window = build_window(options, AppSettings.load(store), store, cameras=[], device=device)
        window.show()
        probe = _lsl_probe(app, window) if lsl else None
        try:
            results = [run_live_case(app, window, case, seconds, probe) for case in cases]
        finally:
            if probe is not None:
                probe.close()
        window.close()
    platform = app.platformName()
    print(f"affect-live bench --app ({platform} display, {window.session.engine.info.device}); clips played at their native fps")
    for r in results:
        print(
            f"{r['case']:<8} {r['seconds']:>6}s capture {r['capture_fps']:5.1f} fps, results/frame {r['results_per_frame']:.3f}, "
            f"dropped {r['dropped_frames']}, latency p50 {r['latency_ms_p50_median']:.1f} ms / worst p95 {r['latency_ms_p95_worst']:.1f} ms, "
            f"GUI thread {r['gui_thread_cpu_pct']:.1f}% of a core, process {r['process_cpu_pct']:.0f}%, "
            f"RSS {r['rss_mb_start']:.0f} -> {r['rss_mb_end']:.0f} MB (max {r['rss_mb_max']:.0f})"
            + (f"; LSL {r['lsl_samples_per_s']:.1f} samples/s, lag p50 {r['lsl_lag_ms_p50']} / p95 {r['lsl_lag_ms_p95']} ms" if lsl else "")
        )
    print(json.dumps({"platform": platform, "runs": results}))
    return 0
