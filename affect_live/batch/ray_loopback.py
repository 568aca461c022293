"""Ray on loopback only, for a cluster on this machine (no Ray import here).

Ray turns 127.0.0.1 into the machine's network address wherever it is given (`ray start
--node-ip-address`, `ray.init(_node_ip_address=...)`), and then every process of it (GCS,
raylet, client server, workers, the driver) listens on all interfaces. With
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 Ray runs as it does on macOS and Windows, single-node: the
node's address stays 127.0.0.1 and every one of those processes binds there (checked with
`ss -ltnp` on Ray 2.60: none left on `*`). The variable is read when Ray is imported, so the
driver's is set before `ray_runner` is; the workers inherit the raylet's.

A driver with that setting cannot join a cluster that was started without it (its node then
has the network address), so the driver sets it only when the cluster at a loopback address
does not answer on the machine's network address, i.e. when the cluster itself is loopback-only.
"""

from __future__ import annotations

import os
import socket

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def host_port(address: str) -> tuple[str, int | None]:
    host, _, port = address.split("://")[-1].rpartition(":")
    return host, int(port) if port.isdigit() else None


def network_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing), as Ray picks it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("8.8.8.8", 53))  # Ray's own probe: only the routing table is consulted
            return probe.getsockname()[0]
        except OSError:  # no route at all: Ray stays on loopback anyway
            return None


def answers(host: str, port: int, timeout_s: float = 2.0) -> bool:
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
        return True
    except OSError:
        return False


def keep_driver_on_loopback(address: str) -> bool:
    """Before Ray is imported: for a loopback-only cluster at a loopback `host:port`, make this
    driver (and what it starts) bind to 127.0.0.1 too. Returns whether it did."""
    host, port = host_port(address)
    if address.startswith("ray://") or host not in LOOPBACK_HOSTS or port is None:
        return False
    outward = network_address()
    if outward is not None and not outward.startswith("127.") and answers(outward, port):
        return False  # a cluster on the network: its driver must be reachable there
    os.environ.update(LOOPBACK_ENV)
    return True
