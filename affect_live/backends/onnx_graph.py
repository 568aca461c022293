"""Checks on an ONNX per-frame model (at import and every time a bundle is loaded).

An ONNX file is untrusted input: it may name operators from custom domains (native code the
runtime would have to load), or point at external data files (which would be read from
anywhere on disk). Only the standard ONNX operator set is allowed, and all weights must be
inside the file. Parsing uses the `onnx` package (protobuf only, no execution).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from affect_live.errors import BundleError

STANDARD_DOMAINS = ("", "ai.onnx")
MAX_ONNX_BYTES = 2**31 - 1  # protobuf's limit; larger models need external data, refused
MISSING = "ONNX models need onnxruntime==1.32.0 and onnx==1.22.0 (requirements.txt; for a wheel: pip install affect-live[onnx])"


def require_onnx() -> None:
    """One line instead of an ImportError when the optional ONNX packages are missing."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise BundleError(MISSING) from None


@dataclass(frozen=True)
class OnnxInfo:
    input_name: str
    input_shape: tuple[int | str | None, ...]  # a str or None for a symbolic dimension
    outputs: tuple[str, ...]  # in the graph's order (the index `--outputs` uses)


def parse_onnx(data: bytes, where: str) -> Any:
    """The ModelProto, never touching external data."""
    require_onnx()
    import onnx
    from google.protobuf.message import DecodeError

    if len(data) > MAX_ONNX_BYTES:
        raise BundleError(f"{where}: ONNX model larger than 2 GiB")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)  # plain protobuf parsing: external data is never read
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError):
        raise BundleError(f"{where}: not an ONNX model") from None
    if not model.graph.node or model.ir_version <= 0:
        raise BundleError(f"{where}: not an ONNX model (no graph)")
    return model


def _graphs(graph: Any) -> Iterator[Any]:
    """A graph and every subgraph inside its nodes' attributes (If, Loop, Scan)."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _tensors(graph: Any) -> Iterator[Any]:
    yield from graph.initializer
    yield from (sparse.values for sparse in graph.sparse_initializer)
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors


def external_data(model: Any) -> list[tuple[Any, str]]:
    """(tensor, location) for every tensor whose data lies in another file."""
    import onnx

    found = []
    for graph in _graphs(model.graph):
        for tensor in _tensors(graph):
            if tensor.data_location == onnx.TensorProto.EXTERNAL:
                location = next((entry.value for entry in tensor.external_data if entry.key == "location"), "?")
                found.append((tensor, location))
    return found


def check_onnx(model: Any, where: str) -> OnnxInfo:
    """Standard operators only, no external data, one float image input."""
    import onnx

    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise BundleError(f"{where}: refusing custom operator domain {opset.domain!r} (only standard ONNX operators are allowed)")
    if model.functions:
        raise BundleError(f"{where}: refusing model-local functions (only standard ONNX operators are allowed)")
    for graph in _graphs(model.graph):
        for node in graph.node:
            if node.domain not in STANDARD_DOMAINS:
                raise BundleError(f"{where}: refusing operator {node.op_type!r} of custom domain {node.domain!r}")
    outside = external_data(model)
    if outside:
        raise BundleError(f"{where}: refusing external data file {outside[0][1]!r} (a bundle's model must hold all its weights)")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises ValidationError and others
        raise BundleError(f"{where}: invalid ONNX model ({str(exc).strip().splitlines()[0][:200]})") from None
    initialised = {tensor.name for tensor in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in initialised]
    if len(inputs) != 1:
        raise BundleError(f"{where}: expected one image input, the model has {len(inputs)}")
    tensor_type = inputs[0].type.tensor_type
    if tensor_type.elem_type != onnx.TensorProto.FLOAT or len(tensor_type.shape.dim) != 4:
        raise BundleError(f"{where}: the input must be a float32 image batch of rank 4")
    shape = tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor_type.shape.dim)
    return OnnxInfo(inputs[0].name, shape, tuple(value.name for value in model.graph.output))
