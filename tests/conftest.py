"""Shared fixtures. Qt runs offscreen; a test that leaves a QThread running fails."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _no_thread_left_running(request):
    """Fail any Qt test that leaves a QThread alive (napari does the same)."""
    yield
    if "qtbot" not in request.fixturenames:
        return
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        return
    alive = [t for t in app.findChildren(QThread) if t.isRunning()]
    for obj in app.topLevelWidgets():
        alive += [t for t in obj.findChildren(QThread) if t.isRunning()]
    if alive:
        pytest.fail(f"{len(alive)} QThread(s) still running after the test")
