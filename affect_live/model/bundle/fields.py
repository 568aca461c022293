"""Type and range checks for the fields of an untrusted manifest (JSON already parsed by
`backends.safe_archive.load_json`, so its depth is bounded). Each failure is one BundleError
line naming the field by its path, e.g. `input.mean[1] must be a finite number, not nan`.

Numbers are strict: a bool, a string or a non-finite value is never taken for a number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

from affect_live.backends.safe_archive import OversizedInt
from affect_live.errors import BundleError

T = TypeVar("T")
MISSING: Any = object()  # no default: the field is required
MAX_ITEMS = 4096  # no list in a manifest comes near this (the longest, classes, has 7 or so)


def fail(path: str, wanted: str, value: Any) -> NoReturn:
    raise BundleError(f"invalid manifest: {path} must be {wanted}, not {show(value)}")


def show(value: Any) -> str:
    """A short rendering of a bad value for the error line."""
    if isinstance(value, OversizedInt):
        return str(value)
    if isinstance(value, (dict, list, tuple)):
        return "an object" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_finite(node: Any, path: str) -> None:
    """Refuse NaN, infinities and overlong integers anywhere under `node` (free-form sections
    such as provenance and metrics included). The depth is bounded by the JSON reader."""
    if isinstance(node, float) and not math.isfinite(node) or isinstance(node, OversizedInt):
        fail(path, "a finite number", node)
    if isinstance(node, dict):
        for key, value in node.items():
            check_finite(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            check_finite(value, f"{path}[{index}]")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, path: str, low: float = -math.inf, high: float = math.inf) -> float:
    if not is_number(value) or not low <= value <= high:
        fail(path, "a finite number" + _range(low, high), value)
    return float(value)


def integer(value: Any, path: str, low: int | None = None, high: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or (low is not None and value < low) or (high is not None and value > high):
        fail(path, "an integer" + ("" if low is None or high is None else f" in {low}..{high}"), value)
    return value


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        fail(path, "text", value)
    return value


def flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        fail(path, "true or false", value)
    return value


def items(value: Any, path: str, item: Callable[[Any, str], T], lengths: tuple[int, ...] | None = None) -> tuple[T, ...]:
    """A JSON list, each item checked by `item(value, path)`."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_ITEMS:  # tuples: a manifest made in memory
        fail(path, "a list", value)
    if lengths is not None and len(value) not in lengths:
        raise BundleError(f"invalid manifest: {path} must be a list of {' or '.join(map(str, lengths))} values, not {len(value)}")
    return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))


class Fields:
    """One JSON object of the manifest, read field by field with checks; `path` names it in
    errors ("" for the manifest itself)."""

    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            fail(path or "the manifest", "a JSON object", data)
        self.data: dict[str, Any] = data
        self.path = path

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = MISSING) -> Any:
        if key in self.data:
            return self.data[key]
        if default is MISSING:
            raise BundleError(f"invalid manifest: missing field {self.name(key)!r}")
        return default

    def number(self, key: str, low: float = -math.inf, high: float = math.inf, default: Any = MISSING) -> float:
        return number(self.get(key, default), self.name(key), low, high)

    def integer(self, key: str, low: int | None = None, high: int | None = None) -> int:
        return integer(self.get(key), self.name(key), low, high)

    def text(self, key: str, default: Any = MISSING) -> str:
        return text(self.get(key, default), self.name(key))

    def optional_text(self, key: str) -> str | None:
        value = self.get(key, None)
        return None if value is None else text(value, self.name(key))

    def choice(self, key: str, options: tuple[str, ...], default: Any = MISSING) -> str:
        value = self.text(key, default)
        if value not in options:
            raise BundleError(f"invalid manifest: {self.name(key)} {show(value)} is not one of {', '.join(options)}")
        return value

    def flag(self, key: str) -> bool:
        return flag(self.get(key), self.name(key))

    def numbers(self, key: str, low: float = -math.inf, high: float = math.inf) -> tuple[float, ...]:
        return items(self.get(key), self.name(key), lambda v, p: number(v, p, low, high))

    def texts(self, key: str, default: Any = MISSING) -> tuple[str, ...]:
        return items(self.get(key, default), self.name(key), text)

    def object(self, key: str, default: Any = MISSING) -> Fields:
        return Fields(self.get(key, default), self.name(key))

    def entries(self) -> Iterator[tuple[str, Any, str]]:
        """(key, value, path of the value) of each field."""
        for key, value in self.data.items():
            yield key, value, self.name(key)


def _range(low: float, high: float) -> str:
    if math.isinf(low) and math.isinf(high):
        return ""
    if math.isinf(high):
        return f" >= {low:g}"
    return f" <= {high:g}" if math.isinf(low) else f" in {low:g}..{high:g}"
