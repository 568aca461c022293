"""What a recording's JSON sidecar says about the session: model (with its prior heads),
settings, source and package versions. Shared by `analyze` and the desktop app's recorder."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from affect_live import __version__
from affect_live.model.bundle.manifest import HEAD_WORDS, head_words
from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.sources import SourceInfo
from affect_live.pipeline.threads import PipelineSettings
from affect_live.recording.recording import landmarks_path
from affect_live.recording.rows import csv_columns
from affect_live.recording.sidecar import now_iso, package_versions


def reid_summary(settings: PipelineSettings) -> dict[str, Any]:
    """Whether faces that return get their id back, and by which model and threshold."""
    if not settings.reid:
        return {"enabled": False}
    from affect_live.errors import BundleError
    from affect_live.faces.descriptor import read_info
    from affect_live.faces.identity import DEFAULT_THRESHOLD

    summary: dict[str, Any] = {"enabled": True, "threshold": DEFAULT_THRESHOLD, "metric": "Euclidean distance of 128-d descriptors"}
    try:
        info = read_info()
        summary["model"] = {"name": "face-api FaceRecognitionNet (dlib ResNet)", "sha256": info.sha256, **info.provenance}
    except BundleError as exc:  # FaceStage turned re-identification off for the same reason
        return {"enabled": False, "error": str(exc)}
    return summary


def model_summary(engine: AffectEngine) -> dict[str, Any]:
    """What the sidecar says about the model (each fused model too), including prior heads."""
    summary = bundle_summary(engine.bundle, engine.info.device)
    if len(engine.members) > 1:
        summary |= {
            "name": engine.info.name,
            "prior_heads": list(engine.info.prior_heads),
            "per_frame_heads": list(engine.info.per_frame_heads),
            "head_labels": head_words(engine.info.prior_heads, engine.info.per_frame_heads),
            "fusion": [bundle_summary(m.bundle, engine.info.device) for m in engine.members],
            "fusion_rule": "unweighted mean of the models' expression probabilities and of their valence/arousal",
        }
    return summary


def stream_model_description(engine: AffectEngine) -> dict[str, Any]:
    """What LSL metadata (desc/model) says about the running model: its label, each output's
    word (learned, learned per frame, prior) and, per bundle, where it came from (catalogue
    models: repository, commit, file, pins and licence)."""
    info = engine.info
    return {
        "label": info.label,
        "name": info.name,
        "heads": head_words(info.prior_heads, info.per_frame_heads),
        "head_labels_meaning": HEAD_WORDS,
        "members": [
            {"name": m.bundle.manifest.name, "sha256": m.bundle.sha256, "source": {k: str(v) for k, v in m.bundle.manifest.provenance.items()}}
            for m in engine.members
        ],
    }


def bundle_summary(bundle: LoadedBundle, device: str) -> dict[str, Any]:
    manifest = bundle.manifest
    return {
        "name": manifest.name,
        "version": manifest.version,
        "bundle": str(bundle.path),
        "sha256": bundle.sha256,
        "device": device,
        "prior_heads": list(manifest.prior_heads),
        "per_frame_heads": list(manifest.per_frame_heads),
        "head_labels": head_words(manifest.prior_heads, manifest.per_frame_heads),
        "head_labels_meaning": HEAD_WORDS,
        "heads": {name: asdict(spec) for name, spec in manifest.heads.items()},
        "manifest": manifest.to_dict(),
    }


def session_settings(settings: PipelineSettings, engine: AffectEngine) -> dict[str, Any]:
    """The settings a sidecar records (a batch compares them to skip finished inputs)."""
    return {
        "max_faces": settings.max_faces,
        "min_score": settings.min_score,
        "max_missed": settings.max_missed,
        "reidentification": reid_summary(settings),
        "window": engine.windows.window,
        "crop": engine.manifest.input.crop,
        "actions": settings.actions,
        "detect_every": settings.detect_every if settings.actions else 1,
        "landmarks": settings.landmarks,
    }


def session_metadata(csv_name: str, source: SourceInfo, settings: PipelineSettings, engine: AffectEngine) -> dict[str, Any]:
    """The sidecar's content when a recording starts; the caller adds the outcome at the end."""
    return {
        "affect_live_version": __version__,
        "status": "running",
        "started_at": now_iso(),
        "csv": csv_name,
        "columns": list(csv_columns(settings.actions)),
        "outputs": action_outputs(csv_name, settings),
        "source": asdict(source),
        "settings": session_settings(settings, engine),
        "model": model_summary(engine),
        "packages": package_versions(),
    }


def action_outputs(csv_name: str, settings: PipelineSettings) -> dict[str, Any]:
    """Which outputs besides affect the recording holds, and which model computed each."""
    if not settings.actions:
        return {"actions": False, "landmarks_csv": None, "note": "--no-actions: no mesh, head pose, gaze or blendshapes; the detector runs on every frame"}
    from affect_live.faces.model_files import BLENDSHAPE_MODEL, CANONICAL_FACE, LANDMARKER_DIR, MESH_MODEL, SHIPPED_SHA256

    def model(name: str) -> dict[str, str]:
        # Named within the shipped models (the same on every machine of a batch), not by path.
        return {"file": f"{LANDMARKER_DIR.name}/{name}", "sha256": SHIPPED_SHA256[name]}

    source = "Google MediaPipe Face Landmarker (face_landmarker.task of 2023-05-03, Apache-2.0), run on LiteRT; see models/face-landmarker/MODEL_CARD.md"
    return {
        "actions": True,
        "source": source,
        "mesh": model(MESH_MODEL) | {"what": "478 face points (468 mesh + 10 iris) and face presence; also tracks faces between detector runs"},
        "blendshapes": model(BLENDSHAPE_MODEL) | {"what": "52 blendshape scores in [0, 1] (ARKit-style names, MediaPipe's order)"},
        "head_pose": model(CANONICAL_FACE) | {"what": "yaw, pitch, roll in degrees: weighted similarity fit of the canonical face onto the mesh (docs/actions.md)"},
        "gaze": {"what": "gaze_yaw, gaze_pitch in degrees from the iris centres relative to the eye contours, eyeball radius 1.2 cm, uncalibrated (docs/actions.md)"},
        "landmarks_csv": landmarks_path(Path(csv_name)).name if settings.landmarks else None,
    }
