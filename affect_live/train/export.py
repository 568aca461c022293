"""A trained model as a weight bundle: the base bundle's per-frame model plus the learned heads,
with the training data and validation metrics in its manifest and model card."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from affect_live.model.bundle.manifest import HEAD_NAMES, HeadSpec, Manifest
from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.making.writing import write_brought_in_bundle, write_bundle
from affect_live.recording.sidecar import now_iso
from affect_live.train.heads_training import TrainOutcome, TrainSettings


def trained_manifest(base: LoadedBundle, name: str, outcome: TrainOutcome, settings: TrainSettings, data: dict[str, Any]) -> Manifest:
    reads = (
        "the current frame's features and probabilities only (no window statistics)"
        if settings.heads_input == "current_frame"
        else f"causal windows T={settings.window}"
    )
    trained_on = (
        f"Aff-Wild2 multi-task training frames ({data['train_frames']} frames of {data['train_videos']} videos with both "
        f"an expression and a valence/arousal label), {reads}"
        + (f", with a 2-layer BiLSTM ({settings.lstm_units} units each way) over the window" if settings.lstm else "")
        + (" (random T in 4/8/16/32 during training)" if settings.random_window else "")
        + (
            ", plus the window's max/min/mean of head pose and the 52 Face Landmarker blendshapes (measured on the 112x112 "
            "face crops, which is less accurate than on full frames)"
            if settings.with_actions
            else ""
        )
        + f", trained with affect-live on the cached outputs of {base.manifest.name}"
    )
    best = outcome.best_metrics
    metrics = {
        "split": "Validation_Set (multi-task frames)",
        "best_epoch": outcome.best_epoch,
        "abaw2020_expr_score": best["expression"]["abaw2020_expr_score"],
        "expr_accuracy": best["expression"]["accuracy"],
        "expr_macro_f1": best["expression"]["macro_f1"],
        "va_score": best["va"]["va_score"],
        "ccc_valence": best["va"]["ccc_valence"],
        "ccc_arousal": best["va"]["ccc_arousal"],
    }
    return dataclasses.replace(
        base.manifest,
        name=name,
        version=now_iso()[:10],
        description=f"{base.manifest.name}'s per-frame model with multi-task heads learned on Aff-Wild2",
        license=f"heads: trained on Aff-Wild2 (licensed to researchers; check its terms before sharing); per-frame model: {base.manifest.license}",
        window=settings.window,
        temporal=settings.temporal,
        heads_input=settings.heads_input,
        heads_extra_inputs=settings.extra_inputs,
        heads={head: HeadSpec(kind="learned", description=trained_on) for head in HEAD_NAMES},
        metrics=metrics,
        provenance=base.manifest.provenance
        | {
            "base_bundle": {"name": base.manifest.name, "sha256": base.sha256},
            "training": dataclasses.asdict(settings) | data | {"history": outcome.history, "trained_at": now_iso()},
        },
    )


def model_card(manifest: Manifest, base: LoadedBundle) -> str:
    m = manifest.metrics
    return f"""# {manifest.name}

Per-frame model: {base.manifest.name} ({base.manifest.frame_model}).

Heads (expression, valence, arousal): **learned**. {manifest.heads['valence'].description}.

## Validation ({m['split']}, best epoch {m['best_epoch']})
| metric | value |
| --- | --- |
| ABAW 2020 expression score (0.67 macro F1 + 0.33 accuracy) | {m['abaw2020_expr_score']:.4f} |
| expression accuracy / macro F1 | {m['expr_accuracy']:.4f} / {m['expr_macro_f1']:.4f} |
| VA score (mean CCC) | {m['va_score']:.4f} |
| CCC valence / arousal | {m['ccc_valence']:.4f} / {m['ccc_arousal']:.4f} |

Licence: {manifest.license}.
"""


def export_bundle(path: Path, base: LoadedBundle, heads_model: Any, outcome: TrainOutcome, settings: TrainSettings, data: dict[str, Any], name: str) -> Manifest:
    manifest = trained_manifest(base, name, outcome, settings, data)
    if base.manifest.outputs:  # a brought-in per-frame model stays as it was given
        return write_brought_in_bundle(path, manifest, base.frame_onnx or base.frame_tflite, model_card(manifest, base), heads_model)
    write_bundle(path, manifest, base.frame_model, heads_model, model_card(manifest, base))
    return manifest
