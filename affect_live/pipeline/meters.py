"""Rates and latency percentiles over the last few seconds, for the live status bar, and this
process's memory, for batch summaries and benchmarks.

One thread adds, any thread reads (reads copy the deques first).
"""

from __future__ import annotations

import resource
from collections import deque

import numpy as np


class RateMeter:
    def __init__(self, span_s: float = 2.0) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque(maxlen=2048)
        self._latencies: deque[float] = deque(maxlen=300)

    def add(self, at: float, latency_ms: float | None = None) -> None:
        self._times.append(at)
        if latency_ms is not None:
            self._latencies.append(latency_ms)

    def rate(self, now: float) -> float:
        """Events per second over the last `span_s` seconds."""
        times = [t for t in list(self._times) if t >= now - self.span_s]
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(now - times[0], 1e-6)

    def latency_percentiles(self) -> tuple[float, float]:
        """(p50, p95) of the last 300 latencies in ms."""
        values = list(self._latencies)
        if not values:
            return 0.0, 0.0
        p50, p95 = np.percentile(values, [50, 95])
        return float(p50), float(p95)

    def clear(self) -> None:
        self._times.clear()
        self._latencies.clear()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 1024**2
