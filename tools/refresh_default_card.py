"""Rewrite the text inside the shipped default bundle: its manifest's head descriptions (from
`affect_live.model.bundle.priors.prior_heads`) and its MODEL_CARD.md (from
models/faceapi-expression/MODEL_CARD.md). The model members are copied byte for byte, so the
numbers cannot change; `tools/convert_faceapi.py` remains what makes the model itself.

Run from the repository root::

    python tools/refresh_default_card.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from affect_live.model.bundle.manifest import Manifest  # noqa: E402
from affect_live.model.bundle.priors import prior_heads  # noqa: E402

BUNDLE = REPO_ROOT / "models" / "faceapi-expression" / "faceapi-expression.affect"
CARD = REPO_ROOT / "models" / "faceapi-expression" / "MODEL_CARD.md"


def refresh(bundle: Path = BUNDLE, card: Path = CARD) -> bool:
    """True when the bundle changed."""
    with zipfile.ZipFile(bundle) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    raw = json.loads(dict((i.filename, d) for i, d in members)["manifest.json"])
    raw["heads"] = {name: dataclasses.asdict(spec) for name, spec in prior_heads().items()}  # only the heads' text changes
    Manifest.from_dict(raw)  # the same validation a reader applies
    text = {"manifest.json": json.dumps(raw, indent=2).encode(), "MODEL_CARD.md": card.read_bytes()}
    if all(text.get(info.filename, data) == data for info, data in members):
        return False
    partial = bundle.with_name(bundle.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, text.get(info.filename, data))  # same name, date and compression
    os.replace(partial, bundle)
    return True


if __name__ == "__main__":
    print(f"{BUNDLE}: {'refreshed' if refresh() else 'already up to date'}")
