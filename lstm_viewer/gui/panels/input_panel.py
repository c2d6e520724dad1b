"""Where the input comes from: a text field, or a sequence file.

With a vocabulary the user types; characters missing from it are skipped and
listed (never fatal). Without one, a sequence file is loaded: text, ``.npy``
token ids or vectors, ``.csv`` vectors. Typing re-runs the engine after a
short pause (debounced) so every keystroke does not start a job.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QTimer, Signal
from PySide6.QtGui import QColor, QInputMethodEvent, QTextCharFormat
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from ..viewer_state import ViewerState

SEQUENCE_FILTER = "Sequences (*.txt *.npy *.csv);;Text (*.txt);;NumPy arrays (*.npy);;CSV vectors (*.csv);;All files (*)"
DEBOUNCE_MS = 250


class SequenceError(ValueError):
    """A sequence file that cannot be used; ``str()`` is one clear line."""


#: Length of the opening input taken from a bundled task's test set.
EXAMPLE_LENGTH = 48


def task_example(model, length: int = EXAMPLE_LENGTH) -> str | None:
    """A stretch of the model's own task's test data, as text, or None.

    The window of ``length`` steps holding the most scored positions is
    taken (for the latch task: the most recalls), so the opening input shows
    what the model was trained to do.
    """
    task_name = (model.card or {}).get("task")
    if not task_name or model.vocab is None:
        return None
    try:
        from ...training.tasks import get_task

        ids, _, scored = get_task(task_name).examples("test")[0]
    except Exception:  # an unknown or changed task must not stop the app opening
        return None
    ids, scored = np.asarray(ids), np.asarray(scored, dtype=float)
    if ids.size > length:
        counts = np.convolve(scored, np.ones(length), mode="valid")
        start = int(np.argmax(counts))
        ids = ids[start:start + length]
    if np.any(ids >= len(model.vocab)):
        return None
    return "".join(model.vocab[int(i)] for i in ids)


def default_input(model):
    """The input a model opens with: its card's example or task data, else a short demo.

    Returns ``(inputs, text)``; ``text`` is None for vector inputs.
    """
    card = model.card or {}
    for key in ("example", "example_input", "sample", "demo_input"):
        value = card.get(key)
        if isinstance(value, str) and value and model.vocab is not None:
            return None, value
    example = task_example(model)
    if example:
        return None, example
    if model.vocab is not None:
        tokens = [t for t in model.vocab if len(t) == 1 and t.isprintable()] or model.vocab
        text = "".join((tokens * 4)[:24])
        return None, text
    rng = np.random.default_rng(0)
    return rng.standard_normal((24, model.input_size)).astype(np.float32), None


def read_sequence(path: str | Path, model):
    """Read a sequence file for ``model``; returns ``(inputs, text)``.

    ``.npy``: 1-D integer token ids or 2-D (T, n_x) vectors. ``.csv``: one
    vector per row. Anything else is text: encoded with the vocabulary, or,
    without one, read as whitespace-separated token ids.

    Raises
    ------
    SequenceError
        With a one-line reason (unreadable, wrong shape, bad numbers).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            if arr.ndim not in (1, 2):
                raise SequenceError(f"{path.name}: expected 1-D token ids or 2-D vectors, got shape {arr.shape}")
            return arr, None
        if suffix == ".csv":
            arr = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
            return arr, None
        text = path.read_text(encoding="utf-8")
    except SequenceError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise SequenceError(f"{path.name}: {exc}") from None
    if model.vocab is not None:
        return None, text
    try:
        ids = np.array([int(tok) for tok in text.split()], dtype=np.int64)
    except ValueError:
        raise SequenceError(f"{path.name}: this model has no vocabulary, so a text file must hold "
                            "whitespace-separated token ids") from None
    return ids, None


class InputPanel(QWidget):
    """The input line: text field (vocabulary models) and a sequence-file button.

    Parameters
    ----------
    state : ViewerState
        Writes ``inputs`` (through :meth:`ViewerState.set_inputs`).
    """

    #: A one-line problem with the input, for the status bar.
    problem = Signal(str)

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("inputPanel")
        self.label = QLabel("Input:")
        self.field = QLineEdit()
        self.field.setPlaceholderText("type text for the model to read")
        self.field.setClearButtonEnabled(True)
        self.field.setToolTip("Characters not in the model's vocabulary are skipped and listed")
        self.notice = QLabel()
        self.notice.setObjectName("warning")
        self.notice.setVisible(False)
        self.open_button = QPushButton("Load sequence…")
        self.open_button.setToolTip("Load a sequence file: text, .npy token ids or vectors, .csv vectors")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.addWidget(self.label)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.notice)
        layout.addWidget(self.open_button)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.apply_text)
        self.field.textEdited.connect(self._on_edited)
        self.field.returnPressed.connect(self.apply_text)
        self.open_button.clicked.connect(self._choose_file)
        state.events.model.connect(self._on_model)
        self._on_model(None)

    # -- model ---------------------------------------------------------------
    def _on_model(self, event) -> None:
        model = self.state.model
        has_vocab = model is not None and model.vocab is not None
        self.field.setVisible(model is None or has_vocab)
        self.field.setEnabled(has_vocab)
        self.label.setText("Input:" if has_vocab or model is None else "Input: vectors from a file")
        self.notice.setVisible(False)
        self.open_button.setEnabled(model is not None)
        if model is None:
            return
        inputs, text = default_input(model)
        if text is not None:
            self.set_text(text)
        else:
            self.state.set_inputs(inputs)

    # -- text ----------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Show ``text`` in the field and run it now (no debounce)."""
        self.field.setText(text)
        self.apply_text()

    def _on_edited(self, text: str) -> None:
        self._debounce.start()

    def apply_text(self) -> None:
        """Encode the field's text and hand it to the state."""
        self._debounce.stop()
        model = self.state.model
        if model is None or model.vocab is None:
            return
        text = self.field.text()
        ids, unknown = model.encode(text)
        self._show_unknown(text, unknown)
        if ids.size == 0:
            self.problem.emit("the input holds no character of the model's vocabulary")
            return
        self.state.set_inputs(ids, text=text, unknown=unknown)

    def _mark(self, positions: list[int]) -> None:
        """Underline ``positions`` of the field in red (QLineEdit has no rich text,
        but it draws input-method formats, which can be set for any range)."""
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.WaveUnderline)
        fmt.setUnderlineColor(QColor("#d62728"))
        fmt.setForeground(QColor("#d62728"))
        cursor = self.field.cursorPosition()
        attrs = [QInputMethodEvent.Attribute(QInputMethodEvent.TextFormat, pos - cursor, 1, fmt)
                 for pos in positions[:500]]
        QCoreApplication.sendEvent(self.field, QInputMethodEvent("", attrs))

    def _show_unknown(self, text: str, unknown: list[int]) -> None:
        self._mark(unknown)
        if not unknown:
            self.notice.setVisible(False)
            return
        chars = sorted({text[i] for i in unknown})
        shown = " ".join(repr(c) for c in chars[:6]) + (" …" if len(chars) > 6 else "")
        self.notice.setText(f"⚠ {len(unknown)} skipped: {shown}")
        positions = ", ".join(str(i) for i in unknown[:20]) + (" …" if len(unknown) > 20 else "")
        self.notice.setToolTip(f"Not in the vocabulary, skipped at positions {positions}")
        self.notice.setVisible(True)

    # -- files -----------------------------------------------------------------
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a sequence", "", SEQUENCE_FILTER)
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> bool:
        """Load a sequence file; a bad one is reported and the input kept."""
        model = self.state.model
        if model is None:
            return False
        try:
            inputs, text = read_sequence(path, model)
        except SequenceError as exc:
            self.problem.emit(str(exc))
            return False
        if text is not None:
            self.set_text(text)
        else:
            self.state.set_inputs(inputs)
        return True
