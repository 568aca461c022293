"""Writing bundles (format 2), atomically: the Keras parts converted to checked LiteRT files, or a
brought-in model kept as given with learned heads converted beside it."""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import FORMAT_VERSION, RUNTIME_FILES, Manifest


def write_bundle(
    path: Path,
    manifest: Manifest,
    frame_model: Any,
    heads_model: Any | None = None,
    model_card: str | None = None,
) -> Manifest:
    """Validate the Keras parts, convert them to checked TFLite flatbuffers, then write the
    bundle (format 2) atomically: a reader never sees half a file. Needs TensorFlow."""
    from affect_live.backends.safe_keras import keras_to_bytes
    from affect_live.model.making.convert import runtime_files, validate_frame_model, validate_heads_model

    validate_frame_model(frame_model, manifest)
    if manifest.has_learned_heads:
        if heads_model is None:
            raise BundleError("a manifest with learned heads needs a heads model")
        validate_heads_model(heads_model, manifest)
    else:
        heads_model = None  # prior heads: nothing to run
    flatbuffers, runtime = runtime_files(manifest, frame_model, heads_model)
    manifest = dataclasses.replace(manifest, runtime=runtime, format_version=FORMAT_VERSION)
    Manifest.from_dict(manifest.to_dict())  # the same validation a reader applies
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest.to_dict(), indent=2))
        archive.writestr("frame_model.keras", keras_to_bytes(frame_model))
        if heads_model is not None:
            archive.writestr("heads.keras", keras_to_bytes(heads_model))
        for name, content in flatbuffers.items():
            archive.writestr(name, content)
        if model_card:
            archive.writestr("MODEL_CARD.md", model_card)
    os.replace(tmp, path)
    return manifest


def write_brought_in_bundle(path: Path, manifest: Manifest, frame_file: bytes, model_card: str, heads_model: Any | None = None) -> Manifest:
    """A bundle around a brought-in per-frame model (ONNX or TFLite, already checked by
    `brought_in.check_on_faces`), kept as given. Learned heads (training on such a bundle) are
    converted and checked on the model's outputs on real faces, as `write_bundle` does."""
    heads_files: dict[str, bytes] = {}
    if manifest.has_learned_heads:
        from affect_live.backends.safe_keras import keras_to_bytes
        from affect_live.model.bundle.brought_in import run_mapped
        from affect_live.model.bundle.classes import aff_wild2_order
        from affect_live.model.bundle.input_batch import check_inputs
        from affect_live.model.making.convert import heads_runtime, validate_heads_model

        if heads_model is None:
            raise BundleError("a manifest with learned heads needs a heads model")
        validate_heads_model(heads_model, manifest)
        _, mapped = run_mapped(manifest, frame_file, check_inputs(manifest), manifest.frame_file)
        probabilities = mapped["probabilities"][:, aff_wild2_order(manifest.classes)]
        heads_bytes, section = heads_runtime(manifest, heads_model, probabilities, mapped["features"])
        manifest = dataclasses.replace(manifest, runtime={**manifest.runtime, "heads": section})
        heads_files = {RUNTIME_FILES["heads"]: heads_bytes, "heads.keras": keras_to_bytes(heads_model)}
    Manifest.from_dict(manifest.to_dict())  # the same validation a reader applies
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest.to_dict(), indent=2))
        archive.writestr(manifest.frame_file, frame_file)
        for name, content in heads_files.items():
            archive.writestr(name, content)
        archive.writestr("MODEL_CARD.md", model_card)
    os.replace(tmp, path)
    return manifest
