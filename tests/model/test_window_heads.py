"""STAT maths: ring buffers equal a plain recomputation; heads follow the spec."""

from __future__ import annotations

import numpy as np
import pytest

from affect_live.model.inference.heads import Heads, build_heads_model
from affect_live.backends.keras_runner import KerasRunner
from affect_live.model.bundle.manifest import HeadSpec
from affect_live.model.bundle.priors import VA_POSITIONS
from affect_live.model.inference.window import FaceWindows
from affect_live.types import EXPRESSIONS


def _plain_stats(history: list[np.ndarray], window: int) -> np.ndarray:
    """The paper's definition, written the slow obvious way: causal window, first frame repeated."""
    padded = [history[0]] * max(0, window - len(history)) + history[-window:]
    block = np.stack(padded)
    return np.concatenate([block.max(0), block.min(0), block.mean(0)])


@pytest.mark.parametrize("window", [1, 4, 16, 32])
def test_ring_buffer_equals_plain_recomputation(window):
    rng = np.random.default_rng(window)
    windows = FaceWindows(window)
    histories: dict[int, list[np.ndarray]] = {1: [], 2: []}
    for step in range(3 * window + 5):
        ids = [1, 2] if step % 3 else [1]  # face 2 is missing every third frame: skipped, not zero-filled
        probs = rng.dirichlet(np.ones(7), size=len(ids)).astype(np.float32)
        windows.push(ids, probs, [False] * len(ids))
        for face_id, row in zip(ids, probs):
            histories[face_id].append(row)
        got = windows.stats(ids)
        sequences = windows.sequences(ids)  # what LSTM heads read: the window in time order
        for i, face_id in enumerate(ids):
            np.testing.assert_allclose(got[i], _plain_stats(histories[face_id], window), rtol=1e-6, atol=1e-7)
            history = histories[face_id]
            expected = np.stack([history[0]] * max(0, window - len(history)) + history[-window:])
            np.testing.assert_array_equal(sequences[i], expected)


def test_restart_and_drop_forget_the_past():
    windows = FaceWindows(4)
    old = np.eye(7, dtype=np.float32)[[0]]
    new = np.eye(7, dtype=np.float32)[[4]]
    windows.push([7], old, [False])
    windows.push([7], new, [True])  # a new track for id 7: the old frames must not count
    np.testing.assert_allclose(windows.stats([7])[0], _plain_stats([new[0]], 4))
    windows.drop([7])
    assert 7 not in windows and len(windows) == 0


def _manifest_with(heads, default_bundle):
    from dataclasses import replace

    return replace(default_bundle.manifest, heads=heads)


def test_prior_heads_are_window_mean_and_class_positions(default_bundle):
    heads = Heads(default_bundle.manifest, None)
    rng = np.random.default_rng(0)
    stats = rng.random((3, 21)).astype(np.float32)
    out = heads(stats, rng.random((3, 256)).astype(np.float32), rng.random((3, 7)).astype(np.float32))
    mean = stats[:, 14:21]
    positions = np.array([VA_POSITIONS[name] for name in EXPRESSIONS])
    np.testing.assert_allclose(out.expression, mean)
    np.testing.assert_allclose(out.valence, np.clip(mean @ positions[:, 0], -1, 1), rtol=1e-6)
    np.testing.assert_allclose(out.arousal, np.clip(mean @ positions[:, 1], -1, 1), rtol=1e-6)


def test_pure_happiness_lands_on_its_published_position(default_bundle):
    heads = Heads(default_bundle.manifest, None)
    happy = np.zeros((1, 7), np.float32)
    happy[0, EXPRESSIONS.index("happiness")] = 1
    out = heads(np.tile(happy, 3), np.zeros((1, 256), np.float32), happy)
    assert (out.valence[0], out.arousal[0]) == pytest.approx(VA_POSITIONS["happiness"])


def test_learned_heads_have_the_papers_shape_and_ranges(default_bundle):
    model = build_heads_model(feature_dim=256)
    assert model.input_shape == (None, 21 + 256 + 7)
    dense = {layer.name: layer for layer in model.layers if layer.__class__.__name__ == "Dense"}
    assert dense["expression_dense1"].units == 1024 and dense["expression"].units == 7
    assert [dense[f"valence_dense{i}"].units for i in (1, 2)] == [1024, 1024] and dense["valence"].units == 1
    learned = {name: HeadSpec("learned", "test") for name in ("expression", "valence", "arousal")}
    heads = Heads(_manifest_with(learned, default_bundle), KerasRunner(model))
    rng = np.random.default_rng(1)
    out = heads(rng.random((5, 21), np.float32), rng.random((5, 256), np.float32), rng.random((5, 7), np.float32))
    np.testing.assert_allclose(out.expression.sum(axis=1), 1.0, rtol=1e-5)
    assert out.valence.shape == out.arousal.shape == (5,)
    assert np.all(np.abs(out.valence) <= 1) and np.all(np.abs(out.arousal) <= 1)
