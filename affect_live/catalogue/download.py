"""Download one file over HTTPS: resumable, with a timeout, a progress callback and a cancel
switch; nothing is left behind when it fails.

urllib honours the usual proxy variables (https_proxy, HTTPS_PROXY, no_proxy). A connection
that breaks mid-file is resumed with a Range request from what has arrived (up to
`RESUME_ATTEMPTS` times); a server that ignores the range sends the whole file again.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from affect_live import __version__

log = logging.getLogger(__name__)

CHUNK = 1 << 16
TIMEOUT_S = 30.0
RESUME_ATTEMPTS = 3
MAX_BYTES = 1 << 30  # no catalogue model comes near 1 GiB


# What a connection that breaks mid-file raises: resumed from where it stopped.
_BROKEN = (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError, http.client.HTTPException)


class DownloadError(Exception):
    """The download failed; the message is one line for the user."""


class DownloadCancelled(DownloadError):
    pass


@dataclass(frozen=True)
class Progress:
    """Crosses from the download thread to whoever shows it."""

    done: int
    total: int | None
    bytes_per_s: float


def check_url(url: str, allow_http: bool) -> str:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "https" or (allow_http and scheme == "http"):
        return url
    raise DownloadError(f"{url}: only https:// downloads are allowed" + ("" if allow_http else " (http:// only for a --mirror you name)"))


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _open(url: str, start: int, timeout: float):  # noqa: ANN202 (an HTTP response)
    headers = {"User-Agent": f"affect-live/{__version__}"} | ({"Range": f"bytes={start}-"} if start else {})
    # A new opener each time: its ProxyHandler reads the proxy variables as they are now.
    return urllib.request.build_opener().open(urllib.request.Request(url, headers=headers), timeout=timeout)


def _total(response, start: int) -> int | None:  # noqa: ANN001
    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        total = content_range.rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def download(
    url: str,
    dest: Path,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    timeout: float = TIMEOUT_S,
    allow_http: bool = False,
) -> bytes:
    """The file's bytes, downloaded through `dest` (a partial file, removed when done or failed)."""
    check_url(url, allow_http)
    dest.parent.mkdir(parents=True, exist_ok=True)
    started, attempts = time.monotonic(), 0
    try:
        with open(dest, "wb") as handle:
            while True:
                try:
                    _transfer(url, handle, progress, cancel, timeout, allow_http, started)
                    break
                except _BROKEN as exc:
                    if isinstance(exc, urllib.error.HTTPError) or handle.tell() == 0 or attempts >= RESUME_ATTEMPTS:
                        raise
                    attempts += 1
                    log.info("connection to %s broke at %d bytes (%s): resuming", _host(url), handle.tell(), exc)
        return dest.read_bytes()
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"{_host(url)} answered {exc.code} {exc.reason} for {url}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
        raise DownloadError(f"cannot reach {_host(url)}: {reason}") from None
    except (TimeoutError, socket.timeout):
        raise DownloadError(f"{_host(url)} did not answer within {timeout:g} s") from None
    except (ConnectionError, http.client.HTTPException) as exc:
        raise DownloadError(f"the connection to {_host(url)} broke: {getattr(exc, 'strerror', None) or exc}") from None
    except OSError as exc:
        raise DownloadError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        dest.unlink(missing_ok=True)


def _transfer(url, handle, progress, cancel, timeout, allow_http, started) -> None:  # noqa: ANN001
    """Append to `handle` from where it is until the whole file has arrived."""
    start = handle.tell()
    with _open(url, start, timeout) as response:
        check_url(response.geturl(), allow_http)  # a redirect may not leave https
        if start and response.status != 206:
            handle.seek(0)
            handle.truncate()
            start = 0
        total = _total(response, start)
        if total is not None and total > MAX_BYTES:
            raise DownloadError(f"{url} is {total} bytes, more than any model this catalogue holds")
        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("download cancelled")
            chunk = response.read(CHUNK)
            if not chunk:
                break
            handle.write(chunk)
            if handle.tell() > MAX_BYTES:
                raise DownloadError(f"{url} sends more than {MAX_BYTES} bytes, more than any model this catalogue holds")
            if progress is not None:
                progress(Progress(handle.tell(), total, handle.tell() / max(time.monotonic() - started, 1e-6)))
    if total is not None and handle.tell() < total:
        raise ConnectionError(f"{handle.tell()} of {total} bytes arrived")
    handle.flush()
