"""Fixtures for the GUI tests: a small model, private settings, a window."""

import numpy as np
import pytest

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel


def make_model(hidden=8, vocab="abcdefgh .", layers=1, peephole=False, seed=0, head=True, name="tiny"):
    """A random character model: one-hot input over ``vocab``, softmax head."""
    rng = np.random.default_rng(seed)
    vocab = list(vocab)
    n_in, stack = len(vocab), []
    for _ in range(layers):
        stack.append(Layer([CellWeights(
            rng.standard_normal((4 * hidden, n_in)).astype(np.float32) * 0.8,
            rng.standard_normal((4 * hidden, hidden)).astype(np.float32) * 0.5,
            rng.standard_normal(4 * hidden).astype(np.float32) * 0.3,
            rng.standard_normal((3, hidden)).astype(np.float32) * 0.5 if peephole else None)]))
        n_in = hidden
    h = Head(rng.standard_normal((len(vocab), hidden)).astype(np.float32),
             np.zeros(len(vocab), np.float32)) if head else None
    return LSTMModel(stack, head=h, vocab=vocab, name=name, source_format="in-memory (test)").validate()


@pytest.fixture
def tiny_model():
    return make_model()


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """The main window on the default model (or, before it is bundled, a tiny one)."""
    from lstm_viewer.gui.launch import make_app
    from lstm_viewer.gui.window.main_window import DEFAULT_MODEL, MainWindow

    make_app()
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        if not win.open_source(DEFAULT_MODEL, remember=False):
            win.banner.hide()
            win.set_model(make_model(), "tiny")
    yield win
    win.close()
