"""Reading members and JSON from untrusted zip archives (weight bundles, Keras archives) with
their cost bounded before anything is unpacked or parsed.

A member's inflated size is checked against its limit in the zip's directory, then it is read
no further than the limit (a directory entry that lies cannot make it read more). JSON is
size-checked, then its nesting depth is counted on the raw text before `json.loads` sees it
(Python's parser recurses once per level and would end in a RecursionError).
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from affect_live.errors import BundleError

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30
MAX_MEMBERS = 64  # a bundle has at most 6 members, a Keras archive 3
MAX_ARCHIVE_BYTES = 2 * GiB  # all members of one archive, inflated
MAX_INT_DIGITS = 30  # longer integers in a JSON file are kept as `OversizedInt`, never parsed
_CHUNK = 1 << 22  # bytes of JSON counted at a time
# What reading a damaged or hostile archive can raise besides BundleError (an unsupported
# compression method is a NotImplementedError).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)


@dataclass(frozen=True)
class OversizedInt:
    """An integer literal too long to be any real value (Python refuses to parse those above
    4300 digits with a ValueError); the field checks refuse it by name."""

    digits: int

    def __str__(self) -> str:
        return f"a {self.digits}-digit integer"


def check_archive(archive: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, once their count and total inflated size are checked."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise BundleError(f"{where}: {len(infos)} members in the archive (at most {MAX_MEMBERS})")
    if sum(info.file_size for info in infos) > MAX_ARCHIVE_BYTES:
        raise BundleError(f"{where}: archive unpacks to more than {MAX_ARCHIVE_BYTES // GiB} GiB")
    return {info.filename: info for info in infos}


def read_member(archive: zipfile.ZipFile, name: str, limit: int, where: str) -> bytes:
    """Member `name`, refused (BundleError) when it inflates to more than `limit` bytes: first
    by its directory entry, then by reading at most `limit + 1` bytes (zlib inflates no further
    than asked), so an entry that under-declares its size cannot make it read more. One read,
    not a loop of chunks: a large model file is not held twice while its pieces are joined."""
    too_big = f"{where}: {name} unpacks to more than {_size(limit)} (the limit for it)"
    if archive.getinfo(name).file_size > limit:
        raise BundleError(too_big)
    with archive.open(name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise BundleError(too_big)
    return data


def load_json(data: bytes, what: str, max_depth: int) -> Any:
    """Parse untrusted JSON (UTF-8, as RFC 8259 requires) whose size is already bounded;
    BundleError when it is not valid JSON or nests deeper than `max_depth`. Numbers are left as
    Python parses them (NaN and 1e400 become floats for the caller to refuse), except overlong
    integers (`OversizedInt`)."""
    try:
        text = data.decode("utf-8")  # no byte of a multi-byte UTF-8 character is a quote or bracket
    except UnicodeDecodeError:
        raise BundleError(f"{what} is not valid JSON (not UTF-8 text)") from None
    depth = nesting_depth(data)
    if depth > max_depth:
        raise BundleError(f"{what} nests {depth} levels deep (at most {max_depth})")
    try:
        return json.loads(text, parse_int=_parse_int)
    except json.JSONDecodeError:
        raise BundleError(f"{what} is not valid JSON") from None


def nesting_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in UTF-8 JSON text, without recursion and in
    linear time. Escaped backslashes and quotes are dropped first; then a bracket counts when an
    even number of quotes precede it (it is not in a string). Where the text is invalid the
    count may be off past that point, which a parser never reaches."""
    plain = np.frombuffer(data.replace(b"\\\\", b"").replace(b'\\"', b""), np.uint8)
    in_string = np.bitwise_xor.accumulate((plain == ord('"')).view(np.uint8)) if len(plain) else plain
    steps = _STEPS[plain]
    steps[in_string.view(bool)] = 0
    deepest = level = 0
    for start in range(0, len(steps), _CHUNK):  # bounded temporary memory for a large file
        running = level + np.cumsum(steps[start : start + _CHUNK], dtype=np.int64)
        deepest, level = max(deepest, int(running.max())), int(running[-1])
    return deepest


_STEPS = np.zeros(256, np.int8)  # per byte: +1 opens an array or object, -1 closes one
_STEPS[[ord("["), ord("{")]], _STEPS[[ord("]"), ord("}")]] = 1, -1


def _parse_int(text: str) -> int | OversizedInt:
    digits = len(text.lstrip("-"))
    return OversizedInt(digits) if digits > MAX_INT_DIGITS else int(text)


def _size(limit: int) -> str:
    return f"{limit // GiB} GiB" if limit >= GiB else f"{limit // MiB} MiB" if limit >= MiB else f"{limit // KiB} kB"
