"""What a recording's JSON sidecar says about the session: model (with its prior heads),
settings, source and package versions. Shared by `analyze` and the desktop app's recorder."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from affect_live import __version__
from affect_live.model.bundle import LoadedBundle
from affect_live.model.engine import AffectEngine
from affect_live.pipeline import PipelineSettings
from affect_live.recording import CSV_COLUMNS, now_iso, package_versions
from affect_live.sources import SourceInfo


def model_summary(engine: AffectEngine) -> dict[str, Any]:
    """What the sidecar says about the model (each fused model too), including prior heads."""
    summary = bundle_summary(engine.bundle, engine.info.device)
    if len(engine.members) > 1:
        summary |= {
            "name": engine.info.name,
            "prior_heads": list(engine.info.prior_heads),
            "fusion": [bundle_summary(m.bundle, engine.info.device) for m in engine.members],
            "fusion_rule": "unweighted mean of the models' expression probabilities and of their valence/arousal",
        }
    return summary


def bundle_summary(bundle: LoadedBundle, device: str) -> dict[str, Any]:
    manifest = bundle.manifest
    return {
        "name": manifest.name,
        "version": manifest.version,
        "bundle": str(bundle.path),
        "sha256": bundle.sha256,
        "device": device,
        "prior_heads": list(manifest.prior_heads),
        "heads": {name: asdict(spec) for name, spec in manifest.heads.items()},
        "manifest": manifest.to_dict(),
    }


def session_settings(settings: PipelineSettings, engine: AffectEngine) -> dict[str, Any]:
    """The settings a sidecar records (a batch compares them to skip finished inputs)."""
    return {
        "max_faces": settings.max_faces,
        "min_score": settings.min_score,
        "max_missed": settings.max_missed,
        "window": engine.windows.window,
        "crop": engine.manifest.input.crop,
    }


def session_metadata(csv_name: str, source: SourceInfo, settings: PipelineSettings, engine: AffectEngine) -> dict[str, Any]:
    """The sidecar's content when a recording starts; the caller adds the outcome at the end."""
    return {
        "affect_live_version": __version__,
        "status": "running",
        "started_at": now_iso(),
        "csv": csv_name,
        "columns": list(CSV_COLUMNS),
        "source": asdict(source),
        "settings": session_settings(settings, engine),
        "model": model_summary(engine),
        "packages": package_versions(),
    }
