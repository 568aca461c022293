"""Who may reach affect-live's LSL streams, and how loud liblsl is: the one place that loads
liblsl (through mne-lsl) and hands it its configuration.

`machine` (the default): discovery and data stay on this machine. liblsl gets
affect_live/assets/lsl_machine_only.cfg (discovery on 127.0.0.1 only), and every port an outlet
opens is bound to the loopback device (lsl/loopback.py), because liblsl 1.17 binds its data and
time ports on all interfaces whatever its configuration says. `lab`: liblsl's own configuration
(a lab's lsl_api.cfg, else liblsl's defaults: discovery on the local network), for recorders on
other machines. A configuration named by LSLAPICFG is used as it is in both scopes.

liblsl reads its configuration once per process, when the first stream or query needs it, so
`configure` runs before that (the CLI calls it before anything opens a stream).
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from affect_live.resources import LSL_MACHINE_CONFIG

SCOPES = ("machine", "lab")
LIBLSL_QUIET, LIBLSL_ERRORS, LIBLSL_INFO = -3, -2, 0  # liblsl's [log] level: -3 fatal only ... 9
# liblsl's own search path after LSLAPICFG (api_config.cpp); in `lab` scope a lab's file wins.
LAB_CONFIG_FILES = (Path("lsl_api.cfg"), Path("~/lsl_api/lsl_api.cfg").expanduser(), Path("/etc/lsl_api/lsl_api.cfg"))


class LslError(RuntimeError):
    """LSL cannot be started (mne-lsl missing, liblsl failing); the message is one line."""


@dataclass(frozen=True)
class LslSetup:
    scope: str = "machine"
    log_level: int = LIBLSL_ERRORS  # liblsl's, from the CLI's verbosity and --quiet


_setup = LslSetup()
_loaded: ModuleType | None = None


def configure(scope: str = "machine", verbosity: int = 0, quiet: bool = False) -> None:
    """The scope and liblsl's log level (--quiet: fatal only; -v: liblsl's INFO; -vv: its debug)."""
    global _setup
    if scope not in SCOPES:
        raise ValueError(f"LSL scope must be one of {', '.join(SCOPES)}, got {scope!r}")
    level = LIBLSL_QUIET if quiet else (LIBLSL_ERRORS, LIBLSL_INFO, 1)[min(max(verbosity, 0), 2)]
    _setup = LslSetup(scope, level)


def setup() -> LslSetup:
    return _setup


def liblsl_config(chosen: LslSetup) -> str | None:
    """The configuration affect-live gives liblsl, or None where liblsl should find its own
    (LSLAPICFG, or a lab's lsl_api.cfg in `lab` scope)."""
    if os.environ.get("LSLAPICFG"):
        return None
    if chosen.scope == "machine":
        lines = LSL_MACHINE_CONFIG.read_text().splitlines()
        return "\n".join(f"level = {chosen.log_level}" if line.startswith("level =") else line for line in lines) + "\n"
    if any(path.is_file() for path in LAB_CONFIG_FILES):
        return None
    return f"[log]\nlevel = {chosen.log_level}\n"


def multicast_port() -> int:
    """The UDP port liblsl's discovery responders bind (ports.MulticastPort, 16571 by default)."""
    named = os.environ.get("LSLAPICFG")
    text = Path(named).read_text(errors="replace") if named and Path(named).is_file() else ""
    found = re.search(r"^\s*MulticastPort\s*=\s*(\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 16571


def load_lsl() -> ModuleType:
    """`mne_lsl.lsl`, configured for this process's scope on first use; unavailable LSL is LslError."""
    global _loaded
    if _loaded is not None:
        return _loaded
    try:
        from mne_lsl import lsl
        from mne_lsl.lsl.load_liblsl import lib
    except Exception as exc:  # ImportError, or liblsl failing to load
        raise LslError(f"LSL is not available ({exc}); install mne-lsl (requirements.txt)") from None
    content = liblsl_config(_setup)
    if content is not None:  # ignored by liblsl if something in this process already used it
        lib.lsl_set_config_content(ctypes.c_char_p(content.encode()))
    # mne-lsl's own logger writes to stdout and does not propagate: keep it at our level.
    logging.getLogger("mne_lsl").setLevel(logging.ERROR if _setup.log_level <= LIBLSL_QUIET else logging.WARNING)
    _loaded = lsl
    return lsl
