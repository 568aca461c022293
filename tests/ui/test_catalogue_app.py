"""The app's model catalogue, driven for real under pytest-qt: the offer shown while valence and
arousal are a prior, the download dialog (what, from where, size, licence) fetching from a server
on loopback, the live swap to the installed model, a cancelled download, and the model picker."""

from __future__ import annotations

import os

import numpy as np
import pytest
from tests.helpers.app_window import TWO_FACES, WAIT_MS, open_and_wait, open_window, store, wait_for_frames  # noqa: F401 (fixtures)
from tests.catalogue.test_catalogue import NAME, UPSTREAM, entry, lab, nothing_installed, write_catalogue  # noqa: F401 (fixture)

from PyQt5.QtCore import Qt  # noqa: E402  (test_app prepared the Qt environment)
from PyQt5.QtWidgets import QMessageBox, QPushButton  # noqa: E402

from affect_live.catalogue.store import installed_path  # noqa: E402
from affect_live.model.bundle.reading import DEFAULT_BUNDLE  # noqa: E402
from affect_live.ui.model_picker import model_choices  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture()
def mirrored(lab, monkeypatch):
    """The lab's loopback server as the app's mirror (as a lab would set AFFECT_LIVE_MIRROR)."""
    server, data, tmp_path = lab
    monkeypatch.setenv("AFFECT_LIVE_MIRROR", server.url + "/onnx")
    return server, data, tmp_path


def click(qtbot, button) -> None:  # noqa: ANN001
    qtbot.mouseClick(button, Qt.LeftButton)


def test_the_offer_downloads_on_confirmation_only_and_the_model_is_swapped_in_live(qtbot, open_window, mirrored):
    server, data, _ = mirrored
    window = open_window()
    open_and_wait(qtbot, window, TWO_FACES, loop=True)  # looped: the swap may outlast the 3 s clip
    wait_for_frames(qtbot, window, faces=1)
    window.refresh_status()
    # Valence/arousal are a prior: the offer names the recommended model, and says so.
    assert not window.offer.isHidden() and "prior" in window.offer.text.text()
    assert "hsemotion-mbf-va" in window.offer.text.text() and "4.8 MB" in window.offer.get_button.text()
    assert "Prior (never fitted to labels): valence, arousal" in window.faces.note.text()
    click(qtbot, window.offer.get_button)
    box = window.models.confirm_dialog
    assert box is not None and box.isVisible()
    said = box.text()
    assert "hsemotion-mbf-va" in said and f"{server.url}/onnx/mbf_va_mtl.onnx" in said and "4.8 MB" in said and "Apache-2.0" in said
    click(qtbot, box.button(QMessageBox.Cancel))  # declined: nothing is requested
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=WAIT_MS)
    assert server.requests == [] and window.models.progress_dialog is None

    # The picker lists the default, and the catalogue models with what they cost.
    choices = model_choices(window.models.entries())
    assert choices[0].path == DEFAULT_BUNDLE and {c.catalogue_name for c in choices[1:]} >= {"hsemotion-mbf-va", NAME}
    wanted = next(c for c in choices if c.catalogue_name == NAME)
    assert wanted.path is None and "download" in wanted.label
    window.choose_model(wanted)
    box = window.models.confirm_dialog
    assert f"{server.url}/onnx/{UPSTREAM}" in box.text()
    click(qtbot, box.button(QMessageBox.Yes))
    qtbot.waitUntil(lambda: window.session.stats().model_name == NAME, timeout=WAIT_MS)
    assert server.requests == [(f"/onnx/{UPSTREAM}", None)]
    assert installed_path(NAME).is_file() and window.models.progress_dialog is None
    qtbot.waitUntil(lambda: window.settings.weights == str(installed_path(NAME)), timeout=WAIT_MS)  # the next start too
    qtbot.waitUntil(lambda: window.session.stats().prior_heads == (), timeout=WAIT_MS)
    window.refresh_status()
    # The prior marks are gone: the plots say learned per frame and the offer is withdrawn.
    assert window.offer.isHidden()
    assert "prior" not in window.faces.note.text().lower() and "learned per frame" in window.faces.note.text().lower()
    assert "(prior)" not in window.status_panel.model.text()
    wait_for_frames(qtbot, window, n=5, faces=1)
    faces = window.video.predictions
    assert all(np.isclose(sum(p.probabilities), 1.0, atol=1e-4) and -1 <= p.valence <= 1 for p in faces)
    # An installed model is in the picker as such and loads without asking.
    chosen = next(c for c in model_choices(window.models.entries()) if c.catalogue_name == NAME)
    assert chosen.path == installed_path(NAME) and "installed" in chosen.label


def test_a_download_cancelled_half_way_installs_nothing_and_keeps_the_model(qtbot, open_window, mirrored, monkeypatch):
    server, _, tmp_path = mirrored
    big = os.urandom(400_000)  # several chunks, so the progress shows before the hold
    (tmp_path / "served" / "onnx" / "big.onnx").write_bytes(big)
    catalogue = write_catalogue(tmp_path / "big.json", entry(big, name="test-big", path="onnx/big.onnx", url="https://models.example.invalid/big.onnx"))
    monkeypatch.setenv("AFFECT_LIVE_CATALOGUE", str(catalogue))
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    server.hold_after = 200_000
    window.models.offer("test-big")
    click(qtbot, window.models.confirm_dialog.button(QMessageBox.Yes))
    qtbot.waitUntil(lambda: window.models.progress_dialog is not None and "kB of 400.0 kB" in window.models.progress_dialog.labelText(), timeout=WAIT_MS)
    assert window.models.busy
    click(qtbot, window.models.progress_dialog.findChild(QPushButton))  # the dialog's Cancel button
    server.release.set()
    qtbot.waitUntil(lambda: not window.models.busy and "cancelled" in window.banner.text(), timeout=WAIT_MS)
    assert nothing_installed() and window.models.progress_dialog is None
    assert window.session.stats().model_name == "faceapi-expression"
    wait_for_frames(qtbot, window, n=5, faces=1)  # still analysing
