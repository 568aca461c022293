"""Metrics and submission files against hand-computed values (arithmetic in the comments)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from affect_live.train import metrics as M
from affect_live.train import submission as S

# ---------------------------------------------------------------- CCC


def test_ccc_identical_is_one() -> None:
    x = [0.1, 0.5, -0.3, 0.9]
    assert M.ccc(x, x) == pytest.approx(1.0)


def test_ccc_negated_symmetric_is_minus_one() -> None:
    # x = [-1, 0, 1], y = -x: both means 0, var = 2/3 each, cov = -2/3
    # CCC = 2(-2/3) / (2/3 + 2/3 + 0) = -1
    x = np.array([-1.0, 0.0, 1.0])
    assert M.ccc(x, -x) == pytest.approx(-1.0)


def test_ccc_hand_example_population_moments() -> None:
    # x = [1, 2, 3], y = [2, 2, 5]; mean x = 2, mean y = 3
    # deviations x: -1, 0, 1; y: -1, -1, 2
    # var x = (1 + 0 + 1)/3 = 2/3; var y = (1 + 1 + 4)/3 = 2; cov = (1 + 0 + 2)/3 = 1
    # CCC = 2*1 / (2/3 + 2 + (2 - 3)^2) = 2 / (11/3) = 6/11
    assert M.ccc([1, 2, 3], [2, 2, 5]) == pytest.approx(6 / 11)
    # With sample (ddof=1) moments: var x = 1, var y = 3, cov = 3/2
    # -> 2*1.5 / (1 + 3 + 1) = 3/5 = 0.6, a different number: ddof matters.
    assert M.ccc([1, 2, 3], [2, 2, 5]) != pytest.approx(0.6)


def test_ccc_penalises_bias() -> None:
    # y = x + 1 (Pearson r = 1): var 2/3 each, cov 2/3, bias^2 = 1
    # CCC = (4/3) / (2/3 + 2/3 + 1) = (4/3) / (7/3) = 4/7
    assert M.ccc([1, 2, 3], [2, 3, 4]) == pytest.approx(4 / 7)


def test_ccc_constant_inputs() -> None:
    # both constant and equal: denominator 0, identical -> 1.0 by our rule
    assert M.ccc([0.2, 0.2, 0.2], [0.2, 0.2, 0.2]) == 1.0
    # one constant: cov = 0 -> 0 / (2/3 + 0 + (2 - 2)^2) = 0
    assert M.ccc([1, 2, 3], [2, 2, 2]) == 0.0
    # both constant, different: 0 / (0 + 0 + (1 - 2)^2) = 0
    assert M.ccc([1, 1], [2, 2]) == 0.0


def test_ccc_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="empty"):
        M.ccc([], [])
    with pytest.raises(ValueError, match="3 values"):
        M.ccc([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="NaN"):
        M.ccc([1.0, np.nan], [1.0, 2.0])


def test_va_score() -> None:
    # valence: 6/11 (hand example above); arousal: 4/7 (bias example)
    # VA = (6/11 + 4/7)/2 = (42/77 + 44/77)/2 = 43/77
    r = M.va_score([1, 2, 3], [2, 2, 5], np.array([1, 2, 3]), np.array([2, 3, 4]))
    assert r["ccc_valence"] == pytest.approx(6 / 11)
    assert r["ccc_arousal"] == pytest.approx(4 / 7)
    assert r["va_score"] == pytest.approx(43 / 77)


# ---------------------------------------------------------------- expression
# Classes 0, 1, 4, 6 occur; 2 (disgust), 3 (fear), 5 (sadness) never occur.
Y_TRUE = [0, 0, 0, 1, 1, 4, 4, 4, 4, 6]
Y_PRED = [0, 0, 1, 1, 4, 4, 4, 4, 0, 6]
# pairs: (0,0)x2 (0,1) (1,1) (1,4) (4,4)x3 (4,0) (6,6)
CM = np.zeros((7, 7), dtype=np.int64)
CM[0, 0], CM[0, 1] = 2, 1
CM[1, 1], CM[1, 4] = 1, 1
CM[4, 4], CM[4, 0] = 3, 1
CM[6, 6] = 1
# F1 = 2TP / (2TP + FP + FN):
#   class 0: TP 2, FP 1 (a 4 predicted 0), FN 1 -> 4/6 = 2/3
#   class 1: TP 1, FP 1, FN 1 -> 2/4 = 1/2
#   class 4: TP 3, FP 1, FN 1 -> 6/8 = 3/4
#   class 6: TP 1, FP 0, FN 0 -> 1
#   classes 2, 3, 5: no samples at all -> 0
F1 = [2 / 3, 1 / 2, 0, 0, 3 / 4, 0, 1]
# macro over 7 = (2/3 + 1/2 + 3/4 + 1)/7 = (35/12)/7 = 5/12
# (sklearn's average='macro' WITHOUT labels= would average the 4 present classes: 35/48)
MACRO = 5 / 12
ACC = 7 / 10  # correct: 2 + 1 + 3 + 1 = 7 of 10
# supports 3, 2, 4, 1: (3*2/3 + 2*1/2 + 4*3/4 + 1*1)/10 = (2 + 1 + 3 + 1)/10 = 0.7
WEIGHTED = 0.7
OFFICIAL = 0.67 * 5 / 12 + 0.33 * 0.7  # 0.2791667 + 0.231 = 0.5101667
AUTHORS = 0.66 * 0.7 + 0.33 * 0.7  # 0.462 + 0.231 = 0.693


def test_confusion_matrix() -> None:
    cm = M.confusion_matrix(Y_TRUE, np.array(Y_PRED))
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, CM)


def test_confusion_matrix_rejects_ignore_label() -> None:
    with pytest.raises(ValueError, match="outside"):
        M.confusion_matrix([0, -1], [0, 0])
    with pytest.raises(ValueError, match="2 values"):
        M.confusion_matrix([0, 1], [0])


def test_f1_accuracy_macro_weighted() -> None:
    np.testing.assert_allclose(M.f1_per_class(Y_TRUE, Y_PRED), F1)
    assert M.accuracy(Y_TRUE, Y_PRED) == pytest.approx(ACC)
    assert M.macro_f1(Y_TRUE, Y_PRED) == pytest.approx(MACRO)
    assert M.weighted_f1(Y_TRUE, Y_PRED) == pytest.approx(WEIGHTED)


def test_f1_class_only_true_or_only_predicted_is_zero() -> None:
    # true [0, 1], pred [0, 0]: class 1 never predicted -> TP 0, FN 1 -> 0;
    # class 0: TP 1, FP 1, FN 0 -> 2/3; macro = (2/3 + 0)/7 = 2/21
    np.testing.assert_allclose(M.f1_per_class([0, 1], [0, 0])[:2], [2 / 3, 0])
    assert M.macro_f1([0, 1], [0, 0]) == pytest.approx(2 / 21)


def test_expression_score() -> None:
    r = M.expression_score(Y_TRUE, Y_PRED)
    assert r["accuracy"] == pytest.approx(ACC)
    assert r["macro_f1"] == pytest.approx(MACRO)
    assert r["weighted_f1"] == pytest.approx(WEIGHTED)
    assert r["abaw2020_expr_score"] == pytest.approx(0.5101666667)
    assert r["abaw2020_expr_score"] == pytest.approx(OFFICIAL)
    assert r["authors_variant_score"] == pytest.approx(AUTHORS)
    assert r["authors_variant_score"] != pytest.approx(r["abaw2020_expr_score"])
    assert list(r["f1_per_class"]) == list(M.EXPRESSIONS)
    assert r["f1_per_class"]["disgust"] == 0.0
    assert r["support"] == {
        "neutral": 3, "anger": 2, "disgust": 0, "fear": 0,
        "happiness": 4, "sadness": 0, "surprise": 1,
    }
    assert r["confusion_matrix"] == CM.tolist()


def test_format_table_labels_and_authors_variant_apart() -> None:
    r = {
        "model": "stat_t16",
        "split": "validation",
        "expression": M.expression_score(Y_TRUE, Y_PRED),
        "va": M.va_score([1, 2, 3], [2, 2, 5], [1, 2, 3], [2, 3, 4]),
    }
    text = M.format_table(r)
    assert "stat_t16" in text and "validation" in text
    for name in M.EXPRESSIONS:
        assert name in text
    assert "CCC valence" in text and "CCC arousal" in text and "VA score" in text
    lines = text.splitlines()
    official = [ln for ln in lines if "ABAW 2020 expression score" in ln]
    assert len(official) == 1 and "0.5102" in official[0]
    authors_value = f"{AUTHORS:.4f}"  # 0.6930
    holding = [ln for ln in lines if authors_value in ln]
    assert len(holding) == 1
    assert M.AUTHORS_VARIANT_LABEL in holding[0] and "not the official score" in holding[0]
    assert "0.66" not in official[0] and "weighted" not in official[0].lower()


def test_format_table_partial() -> None:
    text = M.format_table({"va": M.va_score([1, 2, 3], [2, 2, 5], [1, 2, 3], [2, 3, 4])})
    assert "VA score" in text and "Expression" not in text


# ---------------------------------------------------------------- submission


def test_fill_expression_edges_and_forward_fill() -> None:
    # predictions at frames 3, 4, 7 of 8:
    # 1, 2 copy the first (2); 3 -> 2; 4 -> 5; 5, 6 forward-fill 5; 7 -> 1; 8 copies the last (1)
    out = S.fill_expression(8, np.array([3, 4, 7]), np.array([2, 5, 1]))
    np.testing.assert_array_equal(out, [2, 2, 2, 5, 5, 5, 1, 1])
    assert np.issubdtype(out.dtype, np.integer)


def test_fill_va_edges_and_linear() -> None:
    # frames 2, 4, 6 of 7 with (0, .5), (.4, -.5), (1, 1)
    # 1 copies the first; 3 = midpoint (0.2, 0.0); 5 = midpoint (0.7, 0.25); 7 copies the last
    v = np.array([[0.0, 0.5], [0.4, -0.5], [1.0, 1.0]])
    out = S.fill_va(7, np.array([2, 4, 6]), v)
    expected = [[0, 0.5], [0, 0.5], [0.2, 0.0], [0.4, -0.5], [0.7, 0.25], [1, 1], [1, 1]]
    np.testing.assert_allclose(out, expected)


def test_fill_va_clips() -> None:
    # (3, -3) clips to (1, -1) first; frame 2 is the midpoint of (1,-1) and (0,0) = (.5, -.5)
    out = S.fill_va(3, np.array([1, 3]), np.array([[3.0, -3.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[1, -1], [0.5, -0.5], [0, 0]])


def test_fill_no_gaps_is_identity() -> None:
    v = np.array([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]])
    np.testing.assert_allclose(S.fill_va(3, np.array([1, 2, 3]), v), v)
    np.testing.assert_array_equal(S.fill_expression(3, [1, 2, 3], [6, 0, 3]), [6, 0, 3])


def test_fill_errors() -> None:
    with pytest.raises(ValueError, match="no predictions"):
        S.fill_expression(5, np.array([], dtype=int), np.array([], dtype=int))
    with pytest.raises(ValueError, match="no predictions"):
        S.fill_va(5, np.array([], dtype=int), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="increasing"):
        S.fill_expression(5, [3, 2], [0, 1])
    with pytest.raises(ValueError, match="1..5"):
        S.fill_expression(5, [1, 6], [0, 1])
    with pytest.raises(ValueError, match="1..5"):
        S.fill_va(5, [0, 2], [[0, 0], [0, 0]])
    with pytest.raises(ValueError, match="2 frame numbers but 1"):
        S.fill_va(5, [1, 2], [[0, 0]])
    with pytest.raises(ValueError, match="0..6"):
        S.fill_expression(5, [1], [7])


def test_write_expression_file(tmp_path: Path) -> None:
    path = tmp_path / "video1.txt"
    S.write_expression_file(path, np.array([0, 6, 3]))
    assert path.read_bytes() == b"Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise\n0\n6\n3\n"
    assert [p.name for p in tmp_path.iterdir()] == ["video1.txt"]  # no temporary left behind


def test_write_va_file(tmp_path: Path) -> None:
    path = tmp_path / "video1_left.txt"
    values = np.array([[0.12345, -0.5], [1.5, -1.2], [-0.0001, 0.0], [0.9996, -0.0004]])
    S.write_va_file(path, values)
    # 0.12345 -> 0.123; clipped 1.5 -> 1.000, -1.2 -> -1.000; -0.0001 -> 0.000 (no "-0.000");
    # 0.9996 -> 1.000
    assert path.read_bytes() == (
        b"valence,arousal\n0.123,-0.500\n1.000,-1.000\n0.000,0.000\n1.000,0.000\n"
    )
    S.write_va_file(path, np.array([[0.25, 0.75]]))  # overwrite in place
    assert path.read_text() == "valence,arousal\n0.250,0.750\n"
    assert [p.name for p in tmp_path.iterdir()] == ["video1_left.txt"]
