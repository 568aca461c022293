"""The results table of `reproduce`: what each variant scores here, beside what the paper reports
(docs/model-spec.md, "Reported results"), written as `table.md` and `table.json`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PAPER_SOURCE = 'Do, Nguyen-Quynh and Kim, ABAW 2020 (arXiv 2002.09120), as restated in docs/model-spec.md "Reported results"'
PAPER_EXPR_FORMULA = "the authors' formula, 0.66 x support-weighted F1 + 0.33 x accuracy: compare with expr_score_authors"
OFFICIAL_FORMULA = "0.67 x macro F1 + 0.33 x accuracy (ABAW 2020)"
AUTHORS_FORMULA = "0.66 x support-weighted F1 + 0.33 x accuracy (the authors' variant, not the official score)"
COLUMNS = ("variant", "va_score", "ccc_valence", "ccc_arousal", "expr_score_official", "expr_score_authors", "accuracy", "paper_va", "paper_expr")


@dataclass(frozen=True)
class PaperResult:
    """One row of the paper's table: Aff-Wild2 validation set, expression in the authors' formula."""

    model: str
    expr: float
    va: float


# Keyed by variant; frame_t8 and frame_t32 have no row in the paper.
PAPER_RESULTS: dict[str, PaperResult] = {
    "image": PaperResult("Emotion VA Image", 0.501, 0.484),
    "frame_t16": PaperResult("Emotion VA Frame (STAT, T=16)", 0.492, 0.534),
    "lstm": PaperResult("with LSTM", 0.432, 0.514),
    "fusion": PaperResult("fusion of 3 models", 0.543, 0.527),
}


@dataclass(frozen=True)
class TableRow:
    variant: str
    description: str
    va_score: float
    ccc_valence: float
    ccc_arousal: float
    expr_score_official: float
    expr_score_authors: float
    accuracy: float
    macro_f1: float
    paper_row: str | None  # the paper's model name, None where the paper has no such row
    paper_va: float | None
    paper_expr: float | None
    bundles: tuple[str, ...]  # file names in the output folder (the fusion: its members)
    trained_now: bool | None = None  # False: kept from an earlier run; None: nothing to train (fusion)
    settings_fingerprint: str | None = None
    best_epoch: int | None = None

    @classmethod
    def measured(cls, variant: str, description: str, results: dict[str, Any], bundles: tuple[str, ...], **run: Any) -> TableRow:
        """A row from `evaluate`'s results (which has both the expression and the VA part)."""
        expr, va = results["expression"], results["va"]
        paper = PAPER_RESULTS.get(variant)
        return cls(
            variant=variant,
            description=description,
            va_score=va["va_score"],
            ccc_valence=va["ccc_valence"],
            ccc_arousal=va["ccc_arousal"],
            expr_score_official=expr["abaw2020_expr_score"],
            expr_score_authors=expr["authors_variant_score"],
            accuracy=expr["accuracy"],
            macro_f1=expr["macro_f1"],
            paper_row=paper.model if paper else None,
            paper_va=paper.va if paper else None,
            paper_expr=paper.expr if paper else None,
            bundles=bundles,
            **run,
        )


@dataclass(frozen=True)
class ResultsTable:
    rows: tuple[TableRow, ...]
    quick: bool  # a smoke run: too few epochs for the numbers to mean anything
    split: str
    base_model: dict[str, str]  # name, sha256 and description of the per-frame model
    settings: dict[str, Any]  # the training settings every variant shares
    variant_settings: dict[str, dict[str, Any]]  # what each variant changes
    seeds: dict[str, int]
    data: dict[str, Any]  # training and evaluation frame and video counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "smoke_run": "--quick: too few epochs; these numbers only show that the pipeline runs" if self.quick else None,
            "split": self.split,
            "columns": list(COLUMNS),
            "rows": [asdict(row) for row in self.rows],
            "formulas": {"expr_score_official": OFFICIAL_FORMULA, "expr_score_authors": AUTHORS_FORMULA, "paper_expr": PAPER_EXPR_FORMULA},
            "paper_source": PAPER_SOURCE,
            "no_paper_row": [row.variant for row in self.rows if row.paper_row is None],
            "base_model": self.base_model,
            "settings": self.settings,
            "variant_settings": self.variant_settings,
            "seeds": self.seeds,
            "data": self.data,
            "bundles": {row.variant: list(row.bundles) for row in self.rows},
        }


def _number(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _trained(row: TableRow) -> str:
    return "" if row.trained_now is None else "this run" if row.trained_now else "earlier run, same settings (kept)"


def render_markdown(table: ResultsTable) -> str:
    settings = table.settings
    epochs = settings["epochs"]
    lines = [f"# The paper's results table, reproduced with affect-live (Aff-Wild2 {table.split})", ""]
    if table.quick:
        lines += [f"> **SMOKE RUN (`--quick`, {epochs} epochs per variant): these numbers only show that the pipeline runs. They are not results.**", ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in table.rows:
        cells = [row.variant, *(_number(getattr(row, c)) for c in COLUMNS[1:7]), _number(row.paper_va, 3), _number(row.paper_expr, 3)]
        lines.append("| " + " | ".join(cells) + " |")
    missing = [row.variant for row in table.rows if row.paper_row is None]
    mapping = ", ".join(f'{row.variant} = "{row.paper_row}"' for row in table.rows if row.paper_row)
    data = table.data
    lines += [
        "",
        f"- `expr_score_official`: {OFFICIAL_FORMULA}. `expr_score_authors`: {AUTHORS_FORMULA}.",
        f"- `paper_va`, `paper_expr`: the paper's reported numbers ({PAPER_SOURCE}). Its expression numbers use the "
        "authors' formula: compare `paper_expr` with `expr_score_authors`, not with `expr_score_official`.",
        f"- Paper rows: {mapping}."
        + (f" {' and '.join(missing)} {'has' if len(missing) == 1 else 'have'} no row in the paper: those cells are empty." if missing else ""),
        *(f"- {row.variant}: {row.description}." for row in table.rows),
        f"- Per-frame model: {table.base_model['name']} ({table.base_model['description'].rstrip('.')}); the paper's is a ResNet-50 "
        "fine-tuned on AffectNet and RAF-DB, so the numbers need not match the paper's.",
        f"- Evaluated like `affect-live evaluate`, each task on its own partition of {table.split}: expression on "
        f"{data['expression_frames']} frames of {data['expression_videos']} videos (EXPR_Set), valence/arousal on "
        f"{data['va_frames']} frames of {data['va_videos']} videos (VA_Set).",
        "",
        "## Settings",
        "",
        f"Training data: {data['train_frames']} multi-task frames of {data['train_videos']} videos (Training_Set); the best epoch "
        f"is chosen on {data['validation_frames']} multi-task frames of {data['validation_videos']} videos ({table.split}).",
        "",
        "| setting | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in settings.items()),
        "",
        "Per variant: " + "; ".join(f"{name}: " + ", ".join(f"{k}={v}" for k, v in changes.items()) for name, changes in table.variant_settings.items())
        + ". Seeds: " + ", ".join(f"{name} {seed}" for name, seed in table.seeds.items()) + ".",
        "",
        "## Bundles",
        "",
        "| variant | bundle(s) | trained | best epoch | settings fingerprint |",
        "|---|---|---|---|---|",
        *(
            f"| {row.variant} | {' + '.join(row.bundles)} | {_trained(row)} | {row.best_epoch or ''} | {row.settings_fingerprint or ''} |"
            for row in table.rows
        ),
        "",
        "Each bundle loads in `affect-live analyze clip.mp4 --weights BUNDLE` and in the app (Load weights...); "
        "a fusion row's bundles are loaded together (`--weights A B C`). Each bundle's settings fingerprint is in "
        "`<variant>.settings.json` next to it: a re-run with the same settings keeps the bundle instead of training again.",
    ]
    return "\n".join(lines) + "\n"


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_table(table: ResultsTable, folder: Path) -> tuple[Path, Path]:
    """`folder/table.md` and `folder/table.json`."""
    markdown, data = Path(folder) / "table.md", Path(folder) / "table.json"
    _write_atomically(data, json.dumps(table.to_dict(), indent=2))
    _write_atomically(markdown, render_markdown(table))
    return markdown, data
