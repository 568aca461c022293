"""The user-facing error type and the CLI's exit statuses.

A leaf module (standard library only, nothing from affect_live) so that the CLI, the commands
and the training commands can all import it without importing each other.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_BAD_INPUT = 1
EXIT_BAD_WEIGHTS = 2
EXIT_MISSING_EXTRA = 2  # an optional dependency set (extra) is not installed
# The outputs cannot be written as planned (one would overwrite an input or another output, or
# another run is writing them): refused before anything is written, like argparse's usage errors.
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


class UserError(Exception):
    """An error whose message is all the user needs; `status` is the exit code."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


class BundleError(ValueError):
    """A weight bundle that cannot be used; the message is one line for the user."""


class RecordingError(OSError):
    """Writing the recording failed (disk full, permissions); the message is one line."""
