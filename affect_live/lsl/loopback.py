"""Keep an LSL outlet's ports on this machine.

liblsl 1.17 binds an outlet's TCP data port and UDP time port, and its discovery responders, on
every interface (tcp_server.cpp and udp_server.cpp bind INADDR_ANY; its configuration moves only
the responders, with ListenAddress). Linux can restrict a socket bound that way to one device
after the fact (SO_BINDTODEVICE, allowed without privileges since Linux 5.7): bound to `lo`, the
socket takes only packets that arrive over loopback, that is from this machine. `ss` then shows
the socket as 0.0.0.0%lo:PORT.

Only the sockets the outlet's constructor opened on the outlet's own ports are touched (another
thread may open sockets of its own meanwhile, an RTSP source's for instance).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable

from affect_live.lsl.scope import LslError

LOOPBACK_DEVICE = b"lo"
WILDCARDS = ("0.0.0.0", "::")


def socket_fds() -> dict[int, str]:
    """This process's socket file descriptors -> their kernel identity ('socket:[inode]')."""
    fds = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:"):
            fds[int(name)] = target
    return fds


def bind_to_loopback(before: dict[int, str], ports: Iterable[int]) -> int:
    """Bind to `lo` every socket opened since `before` (socket_fds()) that listens on all
    interfaces on one of `ports`; returns how many. Fails (LslError) rather than leave one open."""
    wanted = set(ports)
    bound = 0
    for fd, identity in socket_fds().items():
        if before.get(fd) == identity:
            continue
        try:
            sock = socket.socket(fileno=fd)
        except OSError:  # closed or reused meanwhile
            continue
        try:
            if sock.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            address, port = sock.getsockname()[:2]
            if address not in WILDCARDS or port not in wanted:
                continue
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, LOOPBACK_DEVICE)
            except (AttributeError, OSError) as exc:  # not Linux, or a kernel before 5.7
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "SO_BINDTODEVICE is Linux's"
                raise LslError(f"cannot keep LSL on this machine ({reason}); --lsl-scope lab streams to the network") from None
            bound += 1
        finally:
            sock.detach()  # the descriptor stays liblsl's
    return bound
