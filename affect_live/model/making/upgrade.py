"""`python -m affect_live.model.making.upgrade BUNDLE FOLDER`: the TFLite files of a format-1 bundle.

Run by `affect_live.model.bundle.legacy` in a child process so that TensorFlow never loads into the
run time. Loads the bundle's Keras models in safe mode, validates them, converts and checks them
(`affect_live.model.making.convert`) and writes the flatbuffers and `runtime.json` into FOLDER
atomically (a half-written cache is never read). Errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from affect_live.backends.native_logs import quiet_native_logs
from affect_live.errors import BundleError


def upgrade(bundle_path: Path, folder: Path) -> None:
    from affect_live.backends.safe_keras import load_keras_bytes
    from affect_live.model.bundle.reading import parse_manifest, read_members
    from affect_live.model.making.convert import runtime_files, validate_frame_model, validate_heads_model

    members = read_members(bundle_path)
    manifest = parse_manifest(members, bundle_path)
    frame_model = load_keras_bytes(members["frame_model.keras"], f"{bundle_path}: frame_model.keras")
    heads_model = None
    if manifest.has_learned_heads:
        heads_model = load_keras_bytes(members["heads.keras"], f"{bundle_path}: heads.keras")
    try:
        validate_frame_model(frame_model, manifest)
        if heads_model is not None:
            validate_heads_model(heads_model, manifest)
    except BundleError as exc:
        raise BundleError(f"{bundle_path}: {exc}") from None
    files, runtime = runtime_files(manifest, frame_model, heads_model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    for name, content in files.items():
        (staging / name).write_bytes(content)
    (staging / "runtime.json").write_text(json.dumps(runtime, indent=2))
    try:
        os.replace(staging, folder)  # atomic; another process may have won the race meanwhile
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / "runtime.json").is_file():
            raise


def main(argv: list[str]) -> int:
    quiet_native_logs()
    if len(argv) != 2:
        print("usage: python -m affect_live.model.making.upgrade BUNDLE FOLDER", file=sys.stderr)
        return 2
    try:
        upgrade(Path(argv[0]), Path(argv[1]))
    except (BundleError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
