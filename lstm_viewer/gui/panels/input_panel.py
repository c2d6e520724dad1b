"""Where the input comes from: the input field, or a sequence file.

What the field takes depends on the model (:func:`input_kind`):

``"text"``
    A vocabulary: the user types text; characters missing from the
    vocabulary are skipped, marked and listed (never fatal).
``"ids"``
    An embedding but no vocabulary: the user types token ids ("3 17 4" or
    "3, 17, 4"); out-of-range and non-integer ids are skipped, marked and
    listed the same way.
``"vectors"``
    Neither: the model reads vectors of n_x numbers, which only a file can
    give, so the field is disabled and says so.

"Load sequence" reads ``.txt`` (text, or token ids for an id model),
``.npy`` (1-D integer ids or 2-D (T, n_x) vectors) and ``.csv`` (one vector
per row). A bad file is reported in one line and the current input stays.
Typing re-runs the engine after a short pause (debounced) so every keystroke
does not start a job; Return runs it at once.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QTimer, Signal
from PySide6.QtGui import QColor, QInputMethodEvent, QPalette, QTextCharFormat
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from ..viewer_state import ViewerState

DEBOUNCE_MS = 250

#: File-dialog filters; the first is the one a model of that kind most likely wants.
SEQUENCE_FILTERS = {
    "text": "Sequences (*.txt *.npy *.csv);;Text (*.txt);;NumPy token ids or vectors (*.npy);;"
            "CSV vectors (*.csv);;All files (*)",
    "ids": "Sequences (*.txt *.npy *.csv);;Token ids as text (*.txt);;NumPy token ids or vectors (*.npy);;"
           "CSV vectors (*.csv);;All files (*)",
    "vectors": "Vectors (*.npy *.csv);;NumPy arrays (*.npy);;CSV vectors (*.csv);;All files (*)",
}

#: Longest input the field holds (QLineEdit's own default is 32767, which
#: would cut a long text file silently). Longer files are run without being
#: shown in the field.
MAX_FIELD_CHARS = 1_000_000

#: Length of the opening input taken from a bundled task's test set.
EXAMPLE_LENGTH = 48

#: Length of the example ids and demo vectors a model without a vocabulary opens with.
DEMO_LENGTH = 24

#: What separates typed token ids: white space, commas, semicolons, and the
#: brackets of a pasted Python or NumPy list.
_ID_TOKEN = re.compile(r"[^\s,;\[\]()]+")

_MARK_COLOUR = {False: "#c62828", True: "#ff6b6b"}  # light, dark theme
#: An empty field whose placeholder labels the input (vectors, a long file) draws
#: it in text colour, not the faint grey of a hint.
_LABEL_COLOUR = {False: "#303030", True: "#e0e0e0"}


class SequenceError(ValueError):
    """A sequence file that cannot be used; ``str()`` is one clear line."""


def input_kind(model) -> str:
    """``"text"``, ``"ids"`` or ``"vectors"``: what the input field takes for ``model``."""
    if model is None or model.vocab is not None:
        return "text"
    if model.embedding is not None:
        return "ids"
    return "vectors"


def id_limit(model) -> int:
    """Number of token ids ``model`` takes: ids run 0 … id_limit − 1.

    The embedding's rows, else the vocabulary, else the width of the one-hot
    input (the engine one-hot encodes ids for a model without an embedding).
    """
    if model.embedding is not None:
        return int(model.embedding.shape[0])
    if model.vocab is not None:
        return len(model.vocab)
    return int(model.input_size)


@dataclass
class Skipped:
    """A stretch of typed input that was skipped: where it is and why."""

    start: int
    length: int
    token: str
    reason: str


def parse_ids(text: str, limit: int) -> tuple[np.ndarray, list[Skipped]]:
    """Token ids typed in ``text``, and what was skipped.

    Ids are separated by white space or commas (semicolons and the brackets
    of a pasted list are accepted too). A token that is not an integer, or
    an id outside ``0 … limit − 1``, is skipped, never fatal, like a
    character missing from a vocabulary.
    """
    ids: list[int] = []
    skipped: list[Skipped] = []
    for match in _ID_TOKEN.finditer(text):
        token = match.group()
        try:
            value = int(token)
        except ValueError:
            skipped.append(Skipped(match.start(), len(token), token, "not an integer"))
            continue
        if 0 <= value < limit:
            ids.append(value)
        else:
            skipped.append(Skipped(match.start(), len(token), token, f"outside 0–{limit - 1}"))
    return np.asarray(ids, dtype=np.int64), skipped


def ids_text(ids) -> str:
    """Token ids as the field shows them: ``"3 17 4"``."""
    return " ".join(str(int(i)) for i in ids)


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
    """The input a model opens with.

    Returns ``(inputs, text)``: ``text`` (for the field) for a vocabulary
    model (its card's example or task data, else a short demo) and for an
    id model (the ids 0, 1, 2, … typed out, editable); ``inputs`` — random
    demo vectors, which the panel labels as such — for a vector model.
    """
    card = model.card or {}
    kind = input_kind(model)
    if kind == "text":
        for key in ("example", "example_input", "sample", "demo_input"):
            value = card.get(key)
            if isinstance(value, str) and value:
                return None, value
        example = task_example(model)
        if example:
            return None, example
        tokens = [t for t in model.vocab if len(t) == 1 and t.isprintable()] or model.vocab
        return None, "".join((tokens * DEMO_LENGTH)[:DEMO_LENGTH])
    if kind == "ids":
        limit = id_limit(model)
        return None, ids_text((list(range(limit)) * DEMO_LENGTH)[:DEMO_LENGTH])
    rng = np.random.default_rng(0)
    return rng.standard_normal((DEMO_LENGTH, model.input_size)).astype(np.float32), None


def demo_description(model) -> str:
    """How the field labels a vector model's demo input: made up, and what to load instead."""
    return (f"{DEMO_LENGTH} random demo vectors, not from a file: "
            f"load yours (T × {model.input_size}, .npy or .csv)")


@dataclass
class LoadedSequence:
    """What a sequence file gives.

    Attributes
    ----------
    text : str or None
        For the field, when the file is something the user could have typed
        (text for a vocabulary model, token ids for an id model); the field
        then encodes it as if typed.
    inputs : ndarray or None
        Ready inputs (vectors, or ids that the field cannot show).
    description : str
        File name and shape, to label ``inputs``.
    """

    text: str | None = None
    inputs: np.ndarray | None = None
    description: str = ""


def _check_ids(arr: np.ndarray, name: str, model) -> np.ndarray:
    """1-D array → int64 ids in range, or a one-line SequenceError."""
    if not np.issubdtype(arr.dtype, np.integer):
        integral = (np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr))
                    and np.all(arr == np.round(arr)))
        if not integral:
            raise SequenceError(f"{name}: a 1-D array must hold integer token ids, got {arr.dtype} values")
    ids = arr.astype(np.int64)
    limit = id_limit(model)
    bad = np.flatnonzero((ids < 0) | (ids >= limit))
    if bad.size:
        raise SequenceError(f"{name}: token id {int(ids[bad[0]])} at position {int(bad[0])} is outside "
                            f"0–{limit - 1}" + (f" ({bad.size} such ids)" if bad.size > 1 else ""))
    return ids


def _check_vectors(arr: np.ndarray, name: str, model) -> np.ndarray:
    """2-D array → float vectors of the model's width, or a one-line SequenceError."""
    n_x = model.input_size
    if arr.shape[1] != n_x:
        raise SequenceError(f"{name}: vectors have width {arr.shape[1]} but the model takes {n_x}")
    if arr.dtype.kind not in "iuf" or not np.all(np.isfinite(arr)):
        raise SequenceError(f"{name}: vectors must be finite numbers")
    return arr


def _from_ids(ids: np.ndarray, name: str, model) -> LoadedSequence:
    """Ids from a file: shown in the field when the field can show them."""
    kind = input_kind(model)
    if kind == "ids":
        text = ids_text(ids)
        if len(text) <= MAX_FIELD_CHARS:
            return LoadedSequence(text=text)
    elif kind == "text" and all(len(model.vocab[int(i)]) == 1 for i in np.unique(ids)):
        if ids.size <= MAX_FIELD_CHARS:
            return LoadedSequence(text="".join(model.vocab[int(i)] for i in ids))
    what = "one-hot token ids" if kind == "vectors" else "token ids"
    return LoadedSequence(inputs=ids, description=f"{name}: {ids.size:,} {what}")


def read_sequence(path: str | Path, model) -> LoadedSequence:
    """Read a sequence file for ``model``.

    ``.npy``: 1-D integer token ids or 2-D (T, n_x) vectors. ``.csv``: one
    vector per row. Anything else is text: for a vocabulary model, text to
    encode (its final line break is the file's, not input, unless the
    vocabulary has a line break); otherwise token ids separated by white
    space or commas.

    Raises
    ------
    SequenceError
        With a one-line reason (unreadable, empty, wrong shape, bad numbers).
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            with warnings.catch_warnings():  # an empty file is reported below, not warned about
                warnings.simplefilter("ignore", UserWarning)
                arr = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        else:
            text = path.read_text(encoding="utf-8-sig")  # universal newlines: \r\n reads as \n
            arr = None
    except (OSError, ValueError, UnicodeDecodeError, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SequenceError(f"{name}: cannot be read ({reason})") from None

    if arr is not None:
        if arr.size == 0:
            raise SequenceError(f"{name}: the sequence is empty")
        if arr.ndim == 1 and suffix == ".npy":
            return _from_ids(_check_ids(arr, name, model), name, model)
        if arr.ndim == 2:
            vectors = _check_vectors(arr, name, model)
            return LoadedSequence(inputs=vectors,
                                  description=f"{name}: {vectors.shape[0]:,} × {vectors.shape[1]} vectors")
        raise SequenceError(f"{name}: expected 1-D token ids or 2-D (T, n_x) vectors, got shape {arr.shape}")

    kind = input_kind(model)
    if kind == "text":
        if "\n" not in model.vocab:
            text = text.rstrip("\n")
        if not text:
            raise SequenceError(f"{name}: the file is empty")
        if len(text) <= MAX_FIELD_CHARS:
            return LoadedSequence(text=text)
        ids, unknown = model.encode(text)
        if ids.size == 0:
            raise SequenceError(f"{name}: holds no character of the model's vocabulary")
        skipped = f", {len(unknown):,} skipped (not in the vocabulary)" if unknown else ""
        return LoadedSequence(inputs=ids, description=f"{name}: {len(text):,} characters{skipped}")
    ids, skipped = parse_ids(text, id_limit(model))
    if ids.size == 0:
        raise SequenceError(f"{name}: holds no token id in 0–{id_limit(model) - 1} "
                            "(this model has no vocabulary: a text file must hold token ids)")
    if kind == "ids" and len(text) <= MAX_FIELD_CHARS:
        return LoadedSequence(text=text.strip())
    if skipped:
        first = skipped[0]
        raise SequenceError(f"{name}: '{first.token}' is {first.reason}: a text file for this model must "
                            "hold token ids")
    return _from_ids(ids, name, model)


class InputPanel(QWidget):
    """The input line: field (text or token ids), problem notice, sequence-file button.

    Parameters
    ----------
    state : ViewerState
        Writes ``inputs`` (through :meth:`ViewerState.set_inputs`).

    Attributes
    ----------
    marked : list of (int, int)
        ``(start, length)`` of the stretches of the field marked as skipped.
    description : str or None
        The label of an input the field does not show (vectors, or a file too
        long for the field); None when the field shows the input.
    """

    #: A one-line problem with the input, for the status bar.
    problem = Signal(str)

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        # Created first: changeEvent uses it. A child, so it dies with the panel.
        self._recolour = QTimer(self)
        self._recolour.setSingleShot(True)
        self._recolour.setInterval(0)
        self._recolour.timeout.connect(self._colour_placeholder)
        self.marked: list[tuple[int, int]] = []
        self.description: str | None = None
        self._last_dir = ""
        self._field_tip = ""
        self._notice_text = self._notice_short = ""
        self.setObjectName("inputPanel")
        self.label = QLabel("Input:")
        self.field = QLineEdit()
        self.field.setMaxLength(MAX_FIELD_CHARS)
        self.field.setClearButtonEnabled(True)
        self.notice = QLabel()
        self.notice.setObjectName("warning")
        self.notice.setVisible(False)
        self.open_button = QPushButton("Load sequence…")
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
        self.open_button.clicked.connect(self._on_open_clicked)
        state.events.model.connect(self._on_model)
        state.events.dark.connect(self._on_dark)
        self._on_dark(None)
        self._on_model(None)

    @property
    def kind(self) -> str:
        """What the field takes for the current model: see :func:`input_kind`."""
        return input_kind(self.state.model)

    # -- model ---------------------------------------------------------------
    def _on_model(self, event) -> None:
        model = self.state.model
        kind = self.kind
        self._debounce.stop()
        self.description = None
        self.notice.setVisible(False)
        self.field.clear()
        self.open_button.setEnabled(model is not None)
        self.field.setEnabled(model is not None and kind != "vectors")
        self._set_hints(kind)
        self._colour_placeholder()
        if model is None:
            return
        inputs, text = default_input(model)
        if text is not None:
            self.set_text(text)
        else:
            self._set_described(inputs, demo_description(model))

    def _set_hints(self, kind: str) -> None:
        """Label, placeholder and tooltips that say what the field takes."""
        model = self.state.model
        if kind == "text":
            self.label.setText("Input:")
            placeholder = "type text for the model to read"
            self._field_tip = ("Text for the model to read. Characters not in the model's vocabulary "
                               "are skipped, underlined and listed. Return runs it at once.")
            self.open_button.setToolTip("Load a sequence file: text (.txt), token ids (.npy), "
                                        "vectors (.npy, .csv)")
        elif kind == "ids":
            limit = id_limit(model)
            self.label.setText(f"Token ids 0–{limit - 1}:")
            placeholder = f"token ids 0–{limit - 1}, separated by spaces"
            self._field_tip = (f"This model has an embedding but no vocabulary: type token ids "
                               f"0–{limit - 1}, separated by spaces or commas (\"3 17 4\"). Ids out of "
                               "range or not integers are skipped, underlined and listed. "
                               "Return runs it at once.")
            self.open_button.setToolTip(f"Load a sequence file: token ids (.txt, .npy) or vectors "
                                        f"(.npy, .csv, T × {model.input_size})")
        else:
            n_x = model.input_size if model is not None else "n_x"
            self.label.setText("Vectors:")
            placeholder = f"this model reads vectors of {n_x}: load them from a file"
            self._field_tip = (f"This model has neither a vocabulary nor an embedding: its input is "
                               f"vectors of {n_x} numbers per step. Load them with “Load sequence…” "
                               f"from a .npy (T × {n_x}) or .csv file (one vector per row).")
            self.open_button.setToolTip(f"Load vectors (T × {n_x}) from a .npy or .csv file")
        self.field.setPlaceholderText(placeholder)
        self.field.setToolTip(self._field_tip)

    def _on_dark(self, event) -> None:
        self.notice.setStyleSheet(f"color: {_MARK_COLOUR[bool(self.state.dark)]};")
        self._colour_placeholder()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.PaletteChange:
            # The theme's new application palette reaches the field after this
            # event and replaces its colours: colour it once that is done.
            self._recolour.start()

    def _colour_placeholder(self) -> None:
        """While the placeholder labels the input (vectors, or a file the field does
        not show) it is drawn in text colour; otherwise it is the usual faint hint."""
        palette = self.field.palette()
        if self.description is not None:
            colour = QColor(_LABEL_COLOUR[bool(self.state.dark)])
        else:
            colour = self.palette().color(QPalette.Active, QPalette.PlaceholderText)
        for group in (QPalette.Active, QPalette.Inactive, QPalette.Disabled):
            palette.setColor(group, QPalette.PlaceholderText, colour)
        self.field.setPalette(palette)

    # -- typed input ---------------------------------------------------------
    def set_text(self, text: str) -> bool:
        """Show ``text`` in the field and run it now (no debounce).

        ``text`` is text for a vocabulary model, token ids for an id model.
        Returns False (with a :attr:`problem`) when the field cannot take it.
        """
        if self.kind == "vectors" or self.state.model is None:
            self.problem.emit("this model reads vectors: load them from a file")
            return False
        self.field.setText(text)
        self.field.setCursorPosition(0)  # show the start, where the timeline starts
        return self.apply_text(force=True)

    def _on_edited(self, text: str) -> None:
        if not text.strip():
            # Emptied to type anew: not a problem to report while typing
            # (Return on an empty field still says why nothing runs).
            self._debounce.stop()
            self._show_skipped([])
            return
        self._debounce.start()

    def apply_text(self, force: bool = False) -> bool:
        """Encode the field's text and hand it to the state.

        Skipped characters or ids are marked and listed. When nothing is left
        to run, a :attr:`problem` is reported and the current input stays.
        Unless ``force``, an input the state already has is not run again
        (Return after the debounce has run it).
        """
        self._debounce.stop()
        model = self.state.model
        kind = self.kind
        if model is None or kind == "vectors":
            return False
        text = self.field.text()
        if kind == "text":
            ids, unknown = model.encode(text)
            skipped = [Skipped(p, 1, text[p], "not in the vocabulary") for p in unknown]
        else:
            ids, skipped = parse_ids(text, id_limit(model))
        self._show_skipped(skipped)
        if ids.size == 0:
            self.problem.emit("the input holds no character of the model's vocabulary" if kind == "text"
                              else f"the input holds no token id in 0–{id_limit(model) - 1}")
            return False
        if (not force and self.description is None and text == self.state.text
                and self.state.inputs is not None and np.array_equal(self.state.inputs, ids)):
            return True
        self._clear_description()
        self.state.set_inputs(ids, text=text, unknown=[s.start for s in skipped])
        return True

    def _mark(self, stretches: list[tuple[int, int]]) -> None:
        """Underline ``(start, length)`` stretches of the field in red (QLineEdit
        has no rich text, but it draws input-method formats, which can be set
        for any range)."""
        self.marked = list(stretches)
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.WaveUnderline)
        colour = QColor(_MARK_COLOUR[bool(self.state.dark)])
        fmt.setUnderlineColor(colour)
        fmt.setForeground(colour)
        cursor = self.field.cursorPosition()
        attrs = [QInputMethodEvent.Attribute(QInputMethodEvent.TextFormat, start - cursor, length, fmt)
                 for start, length in stretches[:500]]
        QCoreApplication.sendEvent(self.field, QInputMethodEvent("", attrs))

    def _show_skipped(self, skipped: list[Skipped]) -> None:
        """Mark the skipped stretches and say in one line what was skipped."""
        self._mark([(s.start, s.length) for s in skipped])
        if not skipped:
            self._notice_text = ""
            self.notice.setVisible(False)
            return
        tokens = list(dict.fromkeys(s.token for s in skipped))  # distinct, in order of appearance
        if self.kind == "text":
            tokens = sorted(tokens)
            shown = " ".join(repr(t) for t in tokens[:6])
        else:
            shown = ", ".join(tokens[:4])
        more = " …" if len(tokens) > (6 if self.kind == "text" else 4) else ""
        self._notice_text = f"⚠ {len(skipped)} skipped: {shown}{more}"
        self._notice_short = f"⚠ {len(skipped)} skipped"
        self._fit_notice()
        detail = "; ".join(f"{s.token!r} at {s.start} ({s.reason})" for s in skipped[:12])
        self.notice.setToolTip(f"Skipped, not run: {detail}" + (" …" if len(skipped) > 12 else ""))
        self.notice.setVisible(True)

    def _fit_notice(self) -> None:
        """On a narrow bar the notice gives only the count, so the field keeps its
        room (the tooltip lists what was skipped)."""
        fits = self.notice.fontMetrics().horizontalAdvance(self._notice_text) <= max(90, self.width() // 4)
        self.notice.setText(self._notice_text if fits else self._notice_short)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._notice_text:
            self._fit_notice()

    # -- inputs the field does not show ---------------------------------------
    def _set_described(self, inputs: np.ndarray, description: str) -> None:
        """Run ``inputs`` that the field cannot show, labelled by ``description``."""
        self._debounce.stop()
        self.description = description
        self.field.clear()
        self._show_skipped([])
        # The empty field's placeholder is the label: it stays visible,
        # disabled or not, and typing (id and text models) replaces it.
        self.field.setPlaceholderText(description)
        self.field.setToolTip(f"{description}\n\n{self._field_tip}")
        self._colour_placeholder()
        self.state.set_inputs(inputs)

    def _clear_description(self) -> None:
        if self.description is not None:
            self.description = None
            self._set_hints(self.kind)
            self._colour_placeholder()

    # -- files -----------------------------------------------------------------
    def _on_open_clicked(self) -> None:
        # clicked(bool) would pass `checked`; this slot takes nothing.
        self.choose_file()

    def choose_file(self) -> None:
        """Ask for a sequence file (Load sequence…, File ▸ Load Sequence) and load it."""
        if self.state.model is None:
            self.problem.emit("open a model first: the input depends on the model")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Load a sequence", self._last_dir,
                                              SEQUENCE_FILTERS[self.kind])
        if path:
            self._last_dir = str(Path(path).parent)
            self.load_file(path)

    # File ▸ Load Sequence is wired to this name.
    _choose_file = choose_file

    def load_file(self, path: str) -> bool:
        """Load a sequence file; a bad one is reported in one line and the input kept."""
        model = self.state.model
        if model is None:
            return False
        try:
            loaded = read_sequence(path, model)
            if loaded.text is not None and self.kind == "text" and model.encode(loaded.text)[0].size == 0:
                raise SequenceError(f"{Path(path).name}: holds no character of the model's vocabulary")
        except SequenceError as exc:
            self.problem.emit(str(exc))
            return False
        if loaded.text is not None:
            return self.set_text(loaded.text)
        self._set_described(loaded.inputs, loaded.description)
        return True
