"""Shared fixtures. Qt runs offscreen; a test that leaves a QThread running fails."""

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _running_qthreads() -> list:
    """Running engine-worker threads plus any QThread parented in the Qt object tree."""
    alive = []
    worker = sys.modules.get("lstm_viewer.gui.worker")
    if worker is not None:
        alive += worker.running_threads()
    from PySide6.QtCore import QThread
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        candidates = app.findChildren(QThread)
        for obj in app.topLevelWidgets():
            candidates += obj.findChildren(QThread)
        alive += [t for t in candidates if t.isRunning() and t not in alive]
    return alive


@pytest.fixture(autouse=True)
def _no_thread_left_running(request):
    """Fail any Qt test that leaves a QThread alive (napari does the same).

    Engine workers register their threads in ``lstm_viewer.gui.worker``, so
    a thread without a Qt parent is found too.
    """
    yield
    if "PySide6.QtCore" not in sys.modules:
        return
    alive = _running_qthreads()
    if alive:
        for thread in alive:  # stop them so one leak does not fail every later test
            thread.quit()
            thread.wait(2000)
        names = ", ".join(t.objectName() or "unnamed" for t in alive)
        pytest.fail(f"{len(alive)} QThread(s) still running after the test: {names}")
