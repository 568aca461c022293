"""A catalogue model's file becomes an installed bundle: pins checked, the features of its last
layer exposed as a second output, imported with the same checks as `import-weights`, written
atomically into the user's models folder. Nothing is installed when any step fails."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from affect_live.catalogue.entries import CatalogueEntry
from affect_live.catalogue.store import installed_path, models_folder
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import Manifest

log = logging.getLogger(__name__)

FEATURES_OUTPUT = "features"


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a file's content (what a repository tree lists for it)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def check_pins(entry: CatalogueEntry, data: bytes, origin: str) -> None:
    if entry.git_blob_sha1 and git_blob_sha1(data) != entry.git_blob_sha1:
        raise BundleError(f"{origin}: git blob SHA-1 {git_blob_sha1(data)} is not the pinned {entry.git_blob_sha1} of {entry.name} (a different or damaged file)")
    if entry.sha256 and hashlib.sha256(data).hexdigest() != entry.sha256:
        raise BundleError(f"{origin}: sha256 {hashlib.sha256(data).hexdigest()} is not the pinned {entry.sha256} of {entry.name} (a different or damaged file)")


def expose_features(data: bytes, entry: CatalogueEntry, origin: str) -> bytes:
    """The model with the input of its final Gemm (the feature vector the paper's STAT heads
    take) added as a second graph output named "features"; the first output is unchanged."""
    from onnx import TensorProto, helper

    from affect_live.backends.onnx_graph import check_onnx, parse_onnx

    model = parse_onnx(data, origin)
    check_onnx(model, origin)  # standard operators only, no external data, before any edit
    graph = model.graph
    last = graph.node[len(graph.node) - 1] if len(graph.node) else None
    if last is None or last.op_type != "Gemm" or len(graph.output) != 1 or last.output[0] != graph.output[0].name:
        raise BundleError(f"{origin}: its last layer is not one Gemm giving its only output, so its features cannot be exposed")
    weights = next((t for t in graph.initializer if t.name == last.input[1]), None)
    trans_b = next((a.i for a in last.attribute if a.name == "transB"), 0)
    width = None if weights is None or len(weights.dims) != 2 else int(weights.dims[1] if trans_b else weights.dims[0])
    if width != entry.spec.feature_dim:
        raise BundleError(f"{origin}: its last layer takes {width or 'an unknown number of'} features, the catalogue says {entry.spec.feature_dim}")
    graph.node.add().CopyFrom(helper.make_node("Identity", [last.input[0]], [FEATURES_OUTPUT], name="affect_live_features"))
    graph.output.append(helper.make_tensor_value_info(FEATURES_OUTPUT, TensorProto.FLOAT, ["batch", width]))
    return model.SerializeToString()


def _options(entry: CatalogueEntry, provenance: dict[str, Any]) -> Any:
    from affect_live.model.making.byo_import import ImportOptions
    from affect_live.model.making.keras_import import pixel_mean_std

    spec = entry.spec
    mean, std = pixel_mean_std(spec.scale, spec.mean, spec.std)
    return ImportOptions(
        width=spec.width, height=spec.height, color=spec.color, mean=mean, std=std, classes=spec.classes, crop=spec.crop,
        margin=spec.margin, name=entry.name, license=entry.license, trained_on=entry.trained_on, source=entry.repository,
        window=spec.window, layout=spec.layout, outputs=spec.outputs, logits=spec.logits,
        provenance=tuple(provenance.items()), card_notes=catalogue_card(entry, provenance),
    )  # fmt: skip


def catalogue_card(entry: CatalogueEntry, provenance: dict[str, Any]) -> str:
    """What the catalogue knows of the model, for its model card."""
    lines = [
        "## From the affect-live model catalogue",
        "",
        f"- {entry.title}: {entry.measures}",
        f"- Source: {entry.repository}, commit `{entry.commit}`, file `{entry.path}`",
        f"- Pins: git blob SHA-1 `{entry.git_blob_sha1 or '-'}`, sha256 `{entry.sha256 or '-'}`; installed file sha256 "
        f"`{provenance['downloaded_sha256']}` (as downloaded; the bundle's ONNX adds a `features` output)",
        f"- Licence: {entry.license}. Trained on: {entry.trained_on}",
        "- Valence and arousal come from one linear layer with the expressions and are not bounded: "
        "affect-live clips them to [-1, 1] (their AffectNet scale) after the window mean.",
        f"- Reported: {entry.reported or 'no figure'}",
        f"- Speed: {entry.speed}" + (f"; about {entry.cpu_ms_per_face:g} ms per face on one CPU core (docs/catalogue.md)" if entry.cpu_ms_per_face else ""),
        "",
        "Cite:",
        *(f"- {citation}" for citation in entry.citations),
    ]
    return "\n".join(lines)


def install(entry: CatalogueEntry, data: bytes, origin: str) -> tuple[Path, Manifest]:
    """Check, convert and install `data` as `entry`; returns the bundle's path and manifest."""
    from affect_live.model.bundle.reading import load_bundle
    from affect_live.model.making.byo_import import import_model

    check_pins(entry, data, origin)
    model = expose_features(data, entry, origin) if entry.spec.features == "last_layer_input" else data
    provenance = {
        "catalogue": entry.name,
        "repository": entry.repository,
        "commit": entry.commit,
        "license": entry.license,
        "path": entry.path,
        "git_blob_sha1": entry.git_blob_sha1,
        "downloaded_sha256": hashlib.sha256(data).hexdigest(),
        "fetched_from": origin,
    }
    folder = models_folder()
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.name}-", dir=folder))
    try:
        source = staging / entry.upstream_file
        source.write_bytes(model)
        bundle = staging / f"{entry.name}.affect"
        manifest = import_model(source, bundle, _options(entry, provenance))
        load_bundle(bundle)  # read back exactly as --weights will
        os.replace(bundle, installed_path(entry.name))
    except OSError as exc:
        raise BundleError(f"cannot install {entry.name} into {folder}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return installed_path(entry.name), manifest
