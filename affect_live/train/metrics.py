"""Aff-Wild2 / ABAW 2020 metrics in pure numpy (docs/model-spec.md, "Metrics").

- CCC with population (ddof=0) moments, over all evaluated frames concatenated.
- VA score = mean of the valence and arousal CCCs.
- Official expression score = 0.67 * macro F1 (all 7 classes, unweighted) + 0.33 * accuracy.
- The authors' tables used 0.66 * support-weighted F1 + 0.33 * accuracy; it is returned, but
  only ever under its own label, never as the score.

Ignore labels (-1 for expression, -5 for VA) must be removed by the caller: out-of-range class
labels raise instead of being silently counted.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from affect_live.types import EXPRESSIONS

log = logging.getLogger(__name__)

ArrayLike = Sequence[float] | np.ndarray

AUTHORS_VARIANT_LABEL = "authors' variant (support-weighted F1, 0.66/0.33; not the official score)"
OFFICIAL_EXPR_LABEL = "ABAW 2020 expression score (0.67 * macro F1 + 0.33 * accuracy)"


def _pair(a: Any, b: Any, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Both inputs as 1-D arrays of equal, non-zero length."""
    x, y = np.ravel(np.asarray(a)), np.ravel(np.asarray(b))
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} has {x.size} values but {names[1]} has {y.size}")
    if x.size == 0:
        raise ValueError(f"{names[0]} and {names[1]} are empty: nothing to evaluate")
    return x, y


def _labels(a: Any, b: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class-label pair as int64, every value in [0, n_classes)."""
    t, p = _pair(a, b, ("y_true", "y_pred"))
    out = []
    for name, arr in (("y_true", t), ("y_pred", p)):
        integral = np.issubdtype(arr.dtype, np.integer) or (
            np.issubdtype(arr.dtype, np.number) and bool(np.all(np.mod(arr, 1) == 0))
        )
        if not integral:
            raise ValueError(f"{name} must hold integer class labels")
        arr = arr.astype(np.int64)
        if arr.min() < 0 or arr.max() >= n_classes:
            raise ValueError(
                f"{name} has labels outside 0..{n_classes - 1} "
                f"(min {arr.min()}, max {arr.max()}); drop ignored frames (-1) first"
            )
        out.append(arr)
    return out[0], out[1]


def ccc(x: ArrayLike, y: ArrayLike) -> float:
    """Concordance correlation coefficient with population (ddof=0) moments.

    The denominator var(x) + var(y) + (mean(x) - mean(y))^2 is 0 only when both inputs are
    constant with the same value. CCC is undefined there; we return 1.0 when the arrays are
    identical (perfect agreement, which is what CCC measures) and 0.0 otherwise (only reachable
    through float underflow of the variances). One constant input gives cov = 0 and so CCC = 0
    without any special case.
    """
    a, b = _pair(x, y, ("x", "y"))
    a, b = a.astype(np.float64), b.astype(np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("ccc inputs contain NaN or inf")
    ma, mb = a.mean(), b.mean()
    da, db = a - ma, b - mb
    cov = float(np.mean(da * db))
    denom = float(np.mean(da * da) + np.mean(db * db) + (ma - mb) ** 2)
    if denom == 0.0:
        identical = bool(np.array_equal(a, b))
        log.debug("ccc: both inputs constant and equal in mean; identical=%s", identical)
        return 1.0 if identical else 0.0
    return 2.0 * cov / denom


def va_score(
    valence_true: ArrayLike,
    valence_pred: ArrayLike,
    arousal_true: ArrayLike,
    arousal_pred: ArrayLike,
) -> dict[str, float]:
    """CCC per dimension and their mean (the ABAW VA score)."""
    cv = ccc(valence_true, valence_pred)
    ca = ccc(arousal_true, arousal_pred)
    return {"ccc_valence": cv, "ccc_arousal": ca, "va_score": (cv + ca) / 2.0}


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int = 7) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class, int64."""
    t, p = _labels(y_true, y_pred, n_classes)
    flat = np.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    t, p = _pair(y_true, y_pred, ("y_true", "y_pred"))
    return float(np.mean(t == p))


def f1_per_class(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int = 7) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN) per class.

    A class with no true and no predicted samples (0/0) gets F1 = 0, like sklearn's
    f1_score(..., labels=range(7), zero_division=0). Note the ABAW 2020 script called
    f1_score(average='macro') without `labels`, which drops such a class from the mean instead;
    on the full validation set every class occurs, so the two agree there.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2.0 * tp + fp + fn
    return np.divide(2.0 * tp, denom, out=np.zeros(n_classes), where=denom > 0)


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int = 7) -> float:
    """Unweighted mean of F1 over all n_classes classes (absent classes count as 0)."""
    return float(np.mean(f1_per_class(y_true, y_pred, n_classes)))


def weighted_f1(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int = 7) -> float:
    """F1 averaged with weights = true-class support (what the authors reported)."""
    f1 = f1_per_class(y_true, y_pred, n_classes)
    support = confusion_matrix(y_true, y_pred, n_classes).sum(axis=1)
    return float(np.sum(f1 * support) / np.sum(support))


def expression_score(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, Any]:
    """Every expression number the reports need, in EXPRESSIONS order."""
    n = len(EXPRESSIONS)
    cm = confusion_matrix(y_true, y_pred, n)
    f1 = f1_per_class(y_true, y_pred, n)
    acc = accuracy(y_true, y_pred)
    mf1 = float(np.mean(f1))
    wf1 = weighted_f1(y_true, y_pred, n)
    return {
        "accuracy": acc,
        "macro_f1": mf1,
        "abaw2020_expr_score": 0.67 * mf1 + 0.33 * acc,
        "authors_variant_score": 0.66 * wf1 + 0.33 * acc,
        "weighted_f1": wf1,
        "f1_per_class": {name: float(v) for name, v in zip(EXPRESSIONS, f1)},
        "confusion_matrix": cm.tolist(),
        "support": {name: int(s) for name, s in zip(EXPRESSIONS, cm.sum(axis=1))},
    }


def _row(label: str, value: float, width: int = 66) -> str:
    return f"  {label:<{width}} {value:7.4f}"


def _format_expression(expr: dict[str, Any]) -> list[str]:
    names = list(EXPRESSIONS)
    support = expr.get("support", {})
    total = sum(int(v) for v in support.values())
    lines = [f"Expression ({total} frames)"]
    lines.append(_row(OFFICIAL_EXPR_LABEL, expr["abaw2020_expr_score"]))
    lines.append(_row("macro F1 (unweighted, 7 classes)", expr["macro_f1"]))
    lines.append(_row("accuracy", expr["accuracy"]))
    lines.append("")
    lines.append(f"  {'class':<12} {'F1':>7} {'support':>9}")
    for name in names:
        f1 = expr.get("f1_per_class", {}).get(name, 0.0)
        lines.append(f"  {name:<12} {f1:7.4f} {int(support.get(name, 0)):9d}")
    cm = expr.get("confusion_matrix")
    if cm is not None:
        width = max(len(n) for n in names) + 1
        lines.append("")
        lines.append("  confusion matrix (rows = true, columns = predicted)")
        lines.append("  " + " " * width + "".join(f"{n:>{width}}" for n in names))
        for name, row in zip(names, cm):
            lines.append(f"  {name:<{width}}" + "".join(f"{int(c):>{width}d}" for c in row))
    # The authors' formula inflates the score: kept apart, under a label that says what it is.
    if "authors_variant_score" in expr:
        lines.append("")
        lines.append(_row(AUTHORS_VARIANT_LABEL, expr["authors_variant_score"], width=78))
        lines.append(_row("  support-weighted F1 used by that variant", expr["weighted_f1"], 78))
    return lines


def _format_va(va: dict[str, float]) -> list[str]:
    return [
        "Valence / arousal",
        _row("CCC valence", va["ccc_valence"]),
        _row("CCC arousal", va["ccc_arousal"]),
        _row("VA score (mean of the two CCCs)", va["va_score"]),
    ]


def format_table(results: dict[str, Any]) -> str:
    """Plain-text report of {"model", "split", "expression"?, "va"?}."""
    header = [f"{key}: {results[key]}" for key in ("model", "split") if key in results]
    blocks: list[list[str]] = []
    if header:
        blocks.append(["  ".join(header)])
    if results.get("expression") is not None:
        blocks.append(_format_expression(results["expression"]))
    if results.get("va") is not None:
        blocks.append(_format_va(results["va"]))
    if len(blocks) == len(header[:1]):
        blocks.append(["(no expression or VA results)"])
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"
