"""`reproduce` on the miniature Aff-Wild2 set (conftest's `mini` and `cache_dir`): every variant
trained and evaluated, the paper's numbers beside them, the fusion row equal to `evaluate
--weights a b c`, and a re-run that keeps the finished variants."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from affect_live.cli.parser import main as cli_main
from affect_live.model.bundle.reading import load_bundle
from affect_live.train import runs
from affect_live.train.arguments import QUICK_EPOCHS
from affect_live.train.paper_table import COLUMNS, PAPER_RESULTS
from affect_live.train.reproduce import FUSION, LSTM, VARIANTS
from tests.conftest import REPO

pytestmark = pytest.mark.slow

# Tiny heads: the test checks the pipeline, not what it learns.
SMALL = ["--hidden", "32", "--batch-size", "64", "--quiet"]
TRAINED = ["image", "frame_t8", "frame_t16", "frame_t32"]


@dataclass(frozen=True)
class Run:
    status: int
    trainings: list  # the TrainSettings of each training, in order
    stdout: str
    table: dict


def reproduce(mini, cache_dir, out: Path, *extra: str) -> Run:
    """`reproduce --quick` with every training counted (train_heads is wrapped, not replaced)."""
    trainings, original = [], runs.train_heads

    def counted(train, validation, settings, verbose=1):  # noqa: ANN001, ANN202
        trainings.append(settings)
        return original(train, validation, settings, verbose)

    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(stdout):
        patch.setattr(runs, "train_heads", counted)
        status = cli_main(["reproduce", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out), "--quick", *SMALL, *extra])
    table = json.loads((out / "table.json").read_text()) if status == 0 else {}
    return Run(status, trainings, stdout.getvalue(), table)


@pytest.fixture(scope="module")
def first(mini, cache_dir, tmp_path_factory) -> tuple[Path, Run]:
    out = tmp_path_factory.mktemp("paper") / "runs"
    return out, reproduce(mini, cache_dir, out)


def _rows(table: dict) -> dict[str, dict]:
    return {row["variant"]: row for row in table["rows"]}


def test_quick_run_trains_every_variant_and_writes_the_table(first, mini):
    out, run = first
    assert run.status == 0, run.stdout
    assert [s.epochs for s in run.trainings] == [QUICK_EPOCHS] * 4
    assert [(s.heads_input, s.window, s.lstm) for s in run.trainings] == [
        ("current_frame", 16, False), ("window_stats", 8, False), ("window_stats", 16, False), ("window_stats", 32, False),
    ]  # fmt: skip
    table = run.table
    assert table["quick"] is True and table["smoke_run"] and table["split"] == "Validation_Set"
    assert [row["variant"] for row in table["rows"]] == [*TRAINED, "fusion"]
    for row in table["rows"]:
        assert set(COLUMNS) <= set(row), row
        for column in COLUMNS[1:7]:
            assert isinstance(row[column], float) and math.isfinite(row[column]), (row["variant"], column)
        paper = PAPER_RESULTS.get(row["variant"])
        assert (row["paper_va"], row["paper_expr"]) == ((paper.va, paper.expr) if paper else (None, None))
    rows = _rows(table)
    assert (rows["image"]["paper_va"], rows["image"]["paper_expr"]) == (0.484, 0.501)
    assert (rows["frame_t16"]["paper_va"], rows["frame_t16"]["paper_expr"]) == (0.534, 0.492)
    assert (rows["fusion"]["paper_va"], rows["fusion"]["paper_expr"]) == (0.527, 0.543)
    assert table["no_paper_row"] == ["frame_t8", "frame_t32"]
    assert "authors' formula" in table["formulas"]["paper_expr"] and "0.67" in table["formulas"]["expr_score_official"]
    # Settings, seeds, data counts and the bundles, each loadable as `analyze` loads it.
    assert table["settings"]["epochs"] == QUICK_EPOCHS and table["settings"]["hidden"] == 32 and table["settings"]["balance_classes"]
    assert table["seeds"] == {name: 0 for name in TRAINED}
    assert table["data"]["train_videos"] == len(mini.train_videos) and table["data"]["validation_videos"] == len(mini.val_videos)
    assert table["data"]["train_frames"] == sum(len(mini.expected_frames(v, "MTL")) for v in mini.train_videos)
    assert table["bundles"]["fusion"] == [f"{name}.affect" for name in FUSION]
    for name in TRAINED:
        assert rows[name]["trained_now"] is True and len(rows[name]["settings_fingerprint"]) == 16
        bundle = load_bundle(out / f"{name}.affect")
        assert bundle.manifest.prior_heads == () and bundle.manifest.name == f"paper-{name}"
        sidecar = json.loads((out / f"{name}.settings.json").read_text())
        assert sidecar["fingerprint"] == rows[name]["settings_fingerprint"] and sidecar["bundle_sha256"] == bundle.sha256
    assert load_bundle(out / "image.affect").manifest.heads_input == "current_frame"
    assert [load_bundle(out / f"{n}.affect").manifest.window for n in FUSION] == [8, 16, 32]


def test_table_md_says_smoke_run_and_shows_every_row(first):
    out, run = first
    markdown = (out / "table.md").read_text()
    first_lines = [line for line in markdown.splitlines() if line.strip()][:2]
    assert "SMOKE RUN" in first_lines[1] and "--quick" in first_lines[1]
    assert "| " + " | ".join(COLUMNS) + " |" in markdown
    for row in run.table["rows"]:
        line = next(line for line in markdown.splitlines() if line.startswith(f"| {row['variant']} | "))
        assert f"{row['va_score']:.4f}" in line and f"{row['expr_score_authors']:.4f}" in line
    assert re.search(r"\| frame_t8 \|( [-0-9.]+ \|){6}  \|  \|", markdown)  # no paper row: empty cells
    assert "frame_t8 and frame_t32 have no row in the paper" in markdown
    assert "compare `paper_expr` with `expr_score_authors`" in markdown
    assert markdown in run.stdout  # the command prints the table too


def test_fusion_row_equals_evaluate_with_the_three_bundles(first, mini, cache_dir, tmp_path):
    out, run = first
    result = tmp_path / "fusion.json"
    weights = [str(out / f"{name}.affect") for name in FUSION]
    assert cli_main(["evaluate", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", *weights, "--json", str(result), "--quiet"]) == 0
    evaluated = json.loads(result.read_text())
    fusion = _rows(run.table)["fusion"]
    assert evaluated["fusion"] and evaluated["split"] == "Validation_Set"
    assert fusion["va_score"] == evaluated["va"]["va_score"]
    assert fusion["ccc_valence"] == evaluated["va"]["ccc_valence"] and fusion["ccc_arousal"] == evaluated["va"]["ccc_arousal"]
    assert fusion["expr_score_official"] == evaluated["expression"]["abaw2020_expr_score"]
    assert fusion["expr_score_authors"] == evaluated["expression"]["authors_variant_score"]
    assert fusion["accuracy"] == evaluated["expression"]["accuracy"]
    assert run.table["data"]["expression_frames"] == evaluated["expression"]["frames"]


def _stamps(out: Path) -> dict[str, int]:
    return {p.name: os.stat(p).st_mtime_ns for p in sorted(out.iterdir()) if p.suffix == ".affect" or p.name.endswith(".settings.json")}


def test_second_run_keeps_the_finished_variants(first, mini, cache_dir):
    out, run = first
    before = _stamps(out)
    assert len(before) == 2 * len(TRAINED)
    again = reproduce(mini, cache_dir, out)
    assert again.status == 0 and again.trainings == []
    assert _stamps(out) == before
    assert [_rows(again.table)[name]["trained_now"] for name in TRAINED] == [False] * len(TRAINED)
    for name in TRAINED:
        assert f"{name}: kept" in again.stdout
    assert "0 variant(s) trained, 4 kept" in again.stdout
    same = ("va_score", "expr_score_official", "expr_score_authors", "accuracy")
    assert [[row[c] for c in same] for row in again.table["rows"]] == [[row[c] for c in same] for row in run.table["rows"]]


def test_the_plan_and_the_papers_numbers():
    """The variants' settings, and the paper's numbers as docs/model-spec.md states them."""
    assert [v.name for v in VARIANTS] == TRAINED and LSTM.name == "lstm"
    assert LSTM.changes == {"window": 16, "lstm": True}
    spec = (REPO / "docs" / "model-spec.md").read_text()
    section = spec.split("## Reported results", 1)[1].split("\n## ", 1)[0]
    reported = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and re.match(r"0\.\d+", cells[1]):
            reported[cells[0]] = (float(cells[1]), float(cells[2].split()[0]))
    rows = {"image": "Emotion VA Image", "frame_t16": "Emotion VA Frame (STAT", "lstm": "Emotion VA Frame with LSTM", "fusion": "fusion of 3 models"}
    for variant, prefix in rows.items():
        expr, va = next(value for name, value in reported.items() if name.startswith(prefix))
        assert (PAPER_RESULTS[variant].expr, PAPER_RESULTS[variant].va) == (expr, va), variant


def test_bad_options_are_one_line(mini, cache_dir, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert cli_main(["reproduce", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(tmp_path / "file"), "--quick"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a file" in err[0]
    assert cli_main(["reproduce", "--affwild2", str(tmp_path / "none"), "--cache", str(cache_dir), "--out", str(tmp_path / "o"), "--quick"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("affect-live: error:")
