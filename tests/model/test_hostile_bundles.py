"""Weight files built to hurt (issue 19): zip bombs, deep JSON, mistyped manifest fields. Each is
refused in one line naming the file and the member or field, before it costs memory or time."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from affect_live.errors import BundleError
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, MAX_CARD_BYTES, MAX_MANIFEST_BYTES, MODEL_CARD, load_bundle, read_manifest
from tests.conftest import CLIPS, REPO

DEEP = 100_000  # far past Python's recursion limit


def _copy_with(dst: Path, replace: dict[str, bytes], stream: dict[str, int] | None = None) -> Path:
    """The default bundle with members replaced, plus members of `stream[name]` zero bytes
    written in 1 MiB pieces (a bomb: a few kB on disk, never whole in this test's memory)."""
    with zipfile.ZipFile(DEFAULT_BUNDLE) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            if name not in replace and name not in (stream or {}):
                new.writestr(name, old.read(name))
        for name, data in replace.items():
            new.writestr(name, data)
        for name, size in (stream or {}).items():
            with new.open(name, "w") as member:
                for start in range(0, size, 1 << 20):
                    member.write(bytes(min(1 << 20, size - start)))
    return dst


def _default_manifest() -> dict[str, Any]:
    with zipfile.ZipFile(DEFAULT_BUNDLE) as archive:
        return json.loads(archive.read("manifest.json"))


def _manifest_text(data: dict[str, Any], raw: dict[str, str] | None = None) -> bytes:
    """JSON of `data` where each string "@key@" stands for raw JSON text (`1e400` and 5000-digit
    integers cannot be written by json.dumps)."""
    text = json.dumps(data)
    for key, value in (raw or {}).items():
        text = text.replace(f'"@{key}@"', value)
    return text.encode()


def _refused(path: Path, *fragments: str, load=load_bundle) -> str:  # noqa: ANN001
    with pytest.raises(BundleError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_a_model_card_bomb_is_never_unpacked(tmp_path):
    # 64 MiB of zeros, 64 kB on disk: over the card's limit, so refused on its zip entry alone.
    bomb = _copy_with(tmp_path / "card_bomb.affect", {}, stream={MODEL_CARD: 64 << 20})
    assert bomb.stat().st_size < 2 << 20
    bundle = load_bundle(bomb)  # the card is not read to load the model ...
    _refused(bomb, MODEL_CARD, "1 MiB", load=lambda _: bundle.model_card)  # ... only when shown, bounded


def test_a_member_whose_zip_entry_lies_about_its_size_is_read_no_further(tmp_path):
    # The directory says 100 bytes; the data inflates to twice the card's limit.
    path = _copy_with(tmp_path / "lying.affect", {MODEL_CARD: bytes(2 * MAX_CARD_BYTES)})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(MODEL_CARD).header_offset
        central = archive.start_dir
    while data[central + 46 : central + 46 + len(MODEL_CARD)] != MODEL_CARD.encode():  # its directory entry
        name, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name + extra + comment
    struct.pack_into("<I", data, local + 22, 100)  # local header: uncompressed size
    struct.pack_into("<I", data, central + 24, 100)  # central directory: uncompressed size
    path.write_bytes(bytes(data))
    bundle = load_bundle(path)
    _refused(path, MODEL_CARD, load=lambda _: bundle.model_card)


def test_a_manifest_bomb_is_refused_before_it_is_parsed(tmp_path):
    manifest = _default_manifest() | {"description": " " * MAX_MANIFEST_BYTES}  # valid, but over the limit
    bomb = _copy_with(tmp_path / "manifest_bomb.affect", {"manifest.json": json.dumps(manifest).encode()})
    _refused(bomb, "manifest.json unpacks to more than 1 MiB")


def test_a_bundle_of_many_members_is_refused(tmp_path):
    many = _copy_with(tmp_path / "many.affect", {f"extra/{i}.txt": b"" for i in range(100)})
    _refused(many, "104 members")


def test_deeply_nested_manifest_json_is_refused_without_recursion(tmp_path):
    deep = _copy_with(tmp_path / "deep.affect", {"manifest.json": b"[" * DEEP + b"]" * DEEP})
    _refused(deep, "manifest.json nests 100000 levels deep")


def test_nesting_is_counted_outside_strings_only_and_utf16_cannot_hide_it(tmp_path):
    # Brackets and escaped quotes inside a string are text: such a manifest loads.
    manifest = _default_manifest() | {"description": '\\"' + "[{" * 1000}
    text = _copy_with(tmp_path / "text.affect", {"manifest.json": json.dumps(manifest).encode()})
    assert read_manifest(text).description.endswith("[{")
    # In UTF-16 a quote's bytes can hide among a character's; JSON files must be UTF-8.
    deep = b'["\\"",' + b"[" * DEEP
    utf16 = _copy_with(tmp_path / "utf16.affect", {"manifest.json": deep.decode().encode("utf-16")})
    _refused(utf16, "manifest.json is not valid JSON (not UTF-8 text)")


def test_deeply_nested_keras_config_is_refused_without_recursion(tmp_path):
    with zipfile.ZipFile(DEFAULT_BUNDLE) as archive:
        keras_bytes = archive.read("frame_model.keras")
    inner = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(keras_bytes)) as old, zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as new:
        for name in old.namelist():
            new.writestr(name, b'{"a": ' + b"[" * DEEP + b"]" * DEEP + b"}" if name == "config.json" else old.read(name))
    deep = _copy_with(tmp_path / "deep_keras.affect", {"frame_model.keras": inner.getvalue()})
    _refused(deep, "frame_model.keras: config.json nests 100001 levels deep")


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = _default_manifest()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


MISTYPED = {
    "format_version 1e400": (_with(("format_version",), "@x@"), {"x": "1e400"}, "format_version must be a finite number"),
    "width 1e400": (_with(("input", "width"), "@x@"), {"x": "1e400"}, "input.width must be a finite number"),
    "va_positions a list": (_with(("va_positions",), [[0.0, 0.0]] * 7), {}, "va_positions must be a JSON object, not a list"),
    "format-1 runtime.frame_model text": (
        _with(("runtime",), {"frame_model": "frame_model.tflite"}) | {"format_version": 1}, {},
        "runtime.frame_model must be a JSON object, not 'frame_model.tflite'",
    ),
    "5000-digit integer": (_with(("feature_dim",), "@x@"), {"x": "9" * 5000}, "feature_dim must be a finite number, not a 5000-digit integer"),
    "format_version text": (_with(("format_version",), "2"), {}, "format_version must be an integer, not '2'"),
    "window true": (_with(("window",), True), {}, "window must be an integer in 1..1024, not True"),
    "mean NaN": (_with(("input", "mean"), [float("nan")]), {}, "input.mean[0] must be a finite number, not nan"),
    "margin text": (_with(("input", "margin"), "0.1"), {}, "input.margin must be a finite number in 0..1, not '0.1'"),
}


@pytest.mark.parametrize("case", list(MISTYPED))
def test_each_mistyped_manifest_field_gets_one_line_naming_it(tmp_path, case):
    data, raw, fragment = MISTYPED[case]
    path = _copy_with(tmp_path / "mistyped.affect", {"manifest.json": _manifest_text(data, raw)})
    _refused(path, "invalid manifest", fragment)


def test_cli_analyze_with_a_nan_mean_bundle_exits_2_with_one_line(tmp_path):
    # Before: exit 0, "complete", every value nan and every expression "neutral".
    data, _, _ = MISTYPED["mean NaN"]
    bad = _copy_with(tmp_path / "nan_mean.affect", {"manifest.json": _manifest_text(data)})
    out = tmp_path / "x.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "affect_live", "analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--weights", str(bad), "--quiet"],
        capture_output=True, text=True, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("affect-live: error:") and "input.mean[0]" in lines[0] and str(bad) in lines[0]
    assert not out.exists()
