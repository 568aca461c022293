"""Which sockets a process listens on, as `ss` (iproute2) reports them: unlike /proc/net, it
shows a socket bound to the loopback device (0.0.0.0%lo:PORT). Without `ss` the test is
skipped with a reason (.ci/run installs iproute2)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest


def listening_by_pid() -> dict[int, list[str]]:
    """pid -> local addresses of its listening TCP and unconnected UDP sockets."""
    if shutil.which("ss") is None:
        pytest.skip("needs `ss` to see which interface a socket is bound to (Debian: apt-get install iproute2)")
    found: dict[int, list[str]] = {}
    lines = subprocess.run(["ss", "-H", "-l", "-t", "-u", "-n", "-p"], capture_output=True, text=True, check=True).stdout.splitlines()
    for line in lines:
        for pid in {int(p) for p in re.findall(r"pid=(\d+),", line)}:
            found.setdefault(pid, []).append(line.split()[4])
    return found


def on_loopback(address: str) -> bool:
    """127.x, ::1, or bound to the loopback device."""
    host = address.rsplit(":", 1)[0].strip("[]")
    return host.startswith(("127.", "::ffff:127.")) or host == "::1" or host.endswith("%lo")
