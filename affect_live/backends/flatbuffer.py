"""Checks on a TFLite flatbuffer read from a weight bundle, before any interpreter sees it.

A flatbuffer holds no Python code, but it is still untrusted input: it may name custom
operators (native code the runtime would have to supply), or have other inputs and outputs than
its manifest promises. This module reads its structure with LiteRT's generated schema (pure
Python, no interpreter) and raises `BundleError` with one line for anything unexpected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from affect_live.errors import BundleError

TFLITE_IDENTIFIER = b"TFL3"
FLOAT32 = 0  # TensorType.FLOAT32 in the schema


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple[int, ...]  # -1 for a dimension of any size (the batch)
    dtype: int  # TensorType code


@dataclass(frozen=True)
class FlatbufferInfo:
    """The one signature of a converted model: named inputs and outputs, and its operators."""

    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    operators: tuple[str, ...]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_") and isinstance(value, int)}


def _tensor(subgraph: object, index: int, name: str) -> TensorSpec:
    tensor = subgraph.Tensors(index)  # type: ignore[attr-defined]
    signature = tensor.ShapeSignatureAsNumpy() if not tensor.ShapeSignatureIsNone() else tensor.ShapeAsNumpy()
    shape = tuple(int(v) for v in (signature if not isinstance(signature, int) else ()))
    return TensorSpec(name, shape, int(tensor.Type()))


def inspect_flatbuffer(data: bytes, where: str) -> FlatbufferInfo:
    """Structure of a TFLite model; refuses anything but builtin operators and one signature."""
    model = _root(data, where)
    try:
        operators = _builtin_operators(model, where)
        if model.SignatureDefsLength() != 1:
            raise BundleError(f"{where}: expected one signature, found {model.SignatureDefsLength()}")
        signature = model.SignatureDefs(0)
        subgraph = model.Subgraphs(signature.SubgraphIndex())
        inputs = {}
        for j in range(signature.InputsLength()):
            entry = signature.Inputs(j)
            name = entry.Name().decode("utf-8", "replace")
            inputs[name] = _tensor(subgraph, entry.TensorIndex(), name)
        outputs = {}
        for j in range(signature.OutputsLength()):
            entry = signature.Outputs(j)
            name = entry.Name().decode("utf-8", "replace")
            outputs[name] = _tensor(subgraph, entry.TensorIndex(), name)
    except BundleError:
        raise
    except Exception:  # a damaged buffer makes the generated reader fail in many ways
        raise BundleError(f"{where}: damaged TFLite flatbuffer") from None
    return FlatbufferInfo(inputs, outputs, operators)


def _root(data: bytes, where: str):  # noqa: ANN202 (the generated schema's Model)
    from ai_edge_litert import schema_py_generated as schema

    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise BundleError(f"{where}: not a TFLite flatbuffer")
    try:
        return schema.Model.GetRootAs(data, 0)
    except Exception:
        raise BundleError(f"{where}: damaged TFLite flatbuffer") from None


def _builtin_operators(model: object, where: str) -> tuple[str, ...]:
    """The model's operator names; raises for a custom or unknown operator."""
    from ai_edge_litert import schema_py_generated as schema

    names = _builtin_names()
    operators = []
    for i in range(model.OperatorCodesLength()):  # type: ignore[attr-defined]
        code = model.OperatorCodes(i)  # type: ignore[attr-defined]
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin == schema.BuiltinOperator.CUSTOM or code.CustomCode() is not None:
            custom = (code.CustomCode() or b"?").decode("utf-8", "replace")
            raise BundleError(f"{where}: refusing custom operator {custom!r} (only builtin TFLite operators are allowed)")
        if builtin not in names:
            raise BundleError(f"{where}: unknown operator code {builtin}")
        operators.append(names[builtin])
    return tuple(sorted(set(operators)))


def check_graph(data: bytes, sha256: str, inputs: list[tuple[int, ...]], outputs: list[tuple[int, ...]], where: str) -> tuple[str, ...]:
    """For a model without a signature (as MediaPipe ships them): the pinned digest, builtin
    operators only, and exactly these float32 input and output shapes of its main graph, in
    order. Returns the operator names."""
    if sha256_hex(data) != sha256:
        raise BundleError(f"{where}: sha256 does not match the pinned value (the file was changed)")
    model = _root(data, where)
    try:
        operators = _builtin_operators(model, where)
        graph = model.Subgraphs(0)
        found = [[_tensor(graph, int(graph.Inputs(i)), "") for i in range(graph.InputsLength())],
                 [_tensor(graph, int(graph.Outputs(i)), "") for i in range(graph.OutputsLength())]]
    except BundleError:
        raise
    except Exception:
        raise BundleError(f"{where}: damaged TFLite flatbuffer") from None
    for kind, specs, expected in (("inputs", found[0], inputs), ("outputs", found[1], outputs)):
        shapes = [spec.shape for spec in specs]
        if shapes != [tuple(e) for e in expected] or any(spec.dtype != FLOAT32 for spec in specs):
            raise BundleError(f"{where}: {kind} have shapes {shapes}, expected {[tuple(e) for e in expected]} float32")
    return operators


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join("N" if v == -1 else str(v) for v in shape) + ")"


def _expect(info: FlatbufferInfo, kind: str, expected: dict[str, tuple[int, ...]], where: str) -> None:
    """Every expected tensor must exist with this shape after the batch dimension, in float32.

    Names match exactly or by prefix: the converter may suffix Keras input names, and a
    single-input model may name its input anything (expected name "")."""
    tensors = info.inputs if kind == "input" else info.outputs
    matched = {next((n for n in tensors if n == name or n.startswith(name)), None): tail for name, tail in expected.items()}
    if len(tensors) != len(expected) or None in matched:
        raise BundleError(f"{where}: {kind}s are {', '.join(sorted(tensors)) or 'none'}; expected {', '.join(sorted(expected))}")
    for name, tail in matched.items():
        spec = tensors[name]
        if len(spec.shape) != len(tail) + 1 or spec.shape[1:] != tail or spec.dtype != FLOAT32:
            raise BundleError(f"{where}: {kind} {name} has shape {_shape_text(spec.shape)}, expected {_shape_text((-1, *tail))} float32")


def check_flatbuffer(
    data: bytes, sha256: str, inputs: dict[str, tuple[int, ...]], outputs: dict[str, tuple[int, ...]], where: str
) -> FlatbufferInfo:
    """The manifest's digest, builtin operators only, and exactly these inputs and outputs."""
    if sha256_hex(data) != sha256:
        raise BundleError(f"{where}: sha256 does not match the manifest (the file was changed)")
    info = inspect_flatbuffer(data, where)
    _expect(info, "input", inputs, where)
    _expect(info, "output", outputs, where)
    return info
