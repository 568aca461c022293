"""A throw-away Ray cluster on this machine, for the tests and `bench --batch`: `ray start
--head --block` in its own process group, on loopback, no dashboard, no usage statistics;
ended by killing that group (never `ray stop`, which ends every Ray process on the machine).

It runs with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (batch/ray_loopback.py), so that the node's
address stays 127.0.0.1 and every process of it (GCS, raylet, workers) binds to loopback only;
a driver connecting to it at 127.0.0.1 does the same.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from dataclasses import dataclass

from affect_live.batch.ray_loopback import LOOPBACK_ENV

READY_LINE = "Ray runtime started"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class LocalCluster:
    port: int
    command: tuple[str, ...]
    env: dict[str, str]
    temp_dir: str

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def local_cluster(num_cpus: int = 2) -> LocalCluster:
    """The command (and environment) that starts a head node; the caller runs it in its own
    process group and waits for READY_LINE on its stdout."""
    port = free_port()
    # Fixed ports of Ray's (10001, 52365) would clash with another cluster on the machine.
    client, agent, env_agent = free_port(), free_port(), free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must stay < 108 bytes
    command = (
        sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
        f"--port={port}", f"--num-cpus={num_cpus}", "--include-dashboard=false",
        "--node-ip-address=127.0.0.1", f"--ray-client-server-port={client}",
        f"--dashboard-agent-listen-port={agent}", f"--runtime-env-agent-port={env_agent}",
        f"--temp-dir={temp_dir}", "--disable-usage-stats",
    )  # fmt: skip
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", PYTHONUNBUFFERED="1", **LOOPBACK_ENV)
    return LocalCluster(port, command, env, temp_dir)
