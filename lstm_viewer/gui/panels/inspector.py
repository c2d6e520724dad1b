"""Side panel: the inspected node in the seed's notation, its equation and its vector.

For a gate or the candidate it also shows the split of the pre-activation
into W·x, W·a (and the peephole term) and bias. Selecting a row selects that
unit everywhere. The table is a model/view pair so a 1024-unit vector costs
no more than the rows in sight.

Names and equations are shown as rich text in the seed's notation: Γ_f is
drawn Γ with a subscript f, and the step ⟨t⟩ as a superscript, as on the
slides. The step shown is always inside the trace, even in the moment a
shorter trace arrives while the current step is beyond its end.
"""

from __future__ import annotations

import html
import re

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ..viewer_state import ViewerState, display_token

#: node name -> (notation, equation, equation with peepholes or None)
NODES = {
    "x": ("x⟨t⟩", "x⟨t⟩: the input vector of token t (its embedding or one-hot)", None),
    "concat": ("[a⟨t−1⟩, x⟨t⟩]", "[a⟨t−1⟩, x⟨t⟩]: previous hidden state stacked on the input", None),
    "forget": ("Γ_f⟨t⟩", "Γ_f = σ(W_f·[a⟨t−1⟩, x⟨t⟩] + b_f)",
               "Γ_f = σ(W_f·[a⟨t−1⟩, x⟨t⟩] + p_f⊙c⟨t−1⟩ + b_f)"),
    "update": ("Γ_u⟨t⟩", "Γ_u = σ(W_u·[a⟨t−1⟩, x⟨t⟩] + b_u)",
               "Γ_u = σ(W_u·[a⟨t−1⟩, x⟨t⟩] + p_u⊙c⟨t−1⟩ + b_u)"),
    "candidate": ("c̃⟨t⟩", "c̃ = tanh(W_c·[a⟨t−1⟩, x⟨t⟩] + b_c)", None),
    "output": ("Γ_o⟨t⟩", "Γ_o = σ(W_o·[a⟨t−1⟩, x⟨t⟩] + b_o)",
               "Γ_o = σ(W_o·[a⟨t−1⟩, x⟨t⟩] + p_o⊙c⟨t⟩ + b_o)"),
    "write": ("Γ_u⊙c̃⟨t⟩", "Γ_u ⊙ c̃: what the update gate lets into the cell", None),
    "keep": ("Γ_f⊙c⟨t−1⟩", "Γ_f ⊙ c⟨t−1⟩: what the forget gate keeps", None),
    "c_prev": ("c⟨t−1⟩", "c⟨t−1⟩: the cell state carried from the previous step", None),
    "c": ("c⟨t⟩", "c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃⟨t⟩", None),
    "tanh_c": ("tanh(c⟨t⟩)", "tanh(c⟨t⟩): the cell state squashed to (−1, 1)", None),
    "a_prev": ("a⟨t−1⟩", "a⟨t−1⟩: the hidden state carried from the previous step", None),
    "a": ("a⟨t⟩", "a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)", None),
    "y_hat": ("ŷ⟨t⟩", "ŷ⟨t⟩ = softmax(W_y·a⟨t⟩ + b_y)", None),
}
#: Nodes whose rows are hidden units (selecting a row selects that unit).
UNIT_NODES = {"forget", "update", "candidate", "output", "write", "keep", "c_prev", "c",
              "tanh_c", "a_prev", "a"}
GATE_NODES = ("update", "forget", "candidate", "output")
#: Header tooltips: the short column names spelled out.
HEADER_TIPS = {
    "unit": "unit index (select a row to highlight the unit everywhere)",
    "token": "token id and token, likeliest first",
    "value": "the node's value at step t",
    "W·x": "input part of the pre-activation: this gate's rows of W_x times x⟨t⟩",
    "W·a": "recurrent part: this gate's rows of W_a times a⟨t−1⟩",
    "p⊙c": "peephole part: p ⊙ c (c⟨t−1⟩, or c⟨t⟩ for the output gate)",
    "b": "bias",
    "z": "pre-activation z = W·x + W·a (+ p⊙c) + b; value = σ(z), or tanh(z) for c̃",
    "p": "probability of the token",
}
PLAYING_REFRESH_MS = 150

_SUBSCRIPT = re.compile(r"_([A-Za-z0-9])")
_STEP = re.compile(r"⟨[^⟩]*⟩")


def notation_html(text: str) -> str:
    """Plain notation → Qt rich text: ``Γ_f`` → Γ<sub>f</sub>, ``c⟨t−1⟩`` → c<sup>⟨t−1⟩</sup>.

    Parameters
    ----------
    text : str
        A name or equation written with ``_x`` for a one-character subscript.

    Returns
    -------
    str
        HTML with every other character escaped.
    """
    out = html.escape(text, quote=False)
    out = _SUBSCRIPT.sub(r"<sub>\1</sub>", out)
    return _STEP.sub(lambda m: f"<sup>{m.group(0)}</sup>", out)



_ROOT = QModelIndex()


def _fmt(value: float) -> str:
    """Six characters at most below 1000, so every column has one fixed width."""
    size = abs(value)
    if size < 10:
        return f"{value:+.3f}"
    if size < 100:
        return f"{value:+.2f}"
    if size < 1000:
        return f"{value:+.1f}"
    return f"{value:+.2g}"


class VectorTableModel(QAbstractTableModel):
    """Rows: index label and one column per array, all of the same length."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels: list[str] = []
        self._headers: list[str] = []
        self._columns: list[np.ndarray] = []
        self._index_name = "unit"

    def set_data(self, labels: list[str], headers: list[str], columns: list[np.ndarray],
                 index_name: str = "unit") -> None:
        """Replace the contents; same shape means only values changed (cheap).

        ``index_name`` heads the label column ("unit", or "token" for ŷ).
        """
        if index_name != self._index_name:
            self._index_name = index_name
            self.headerDataChanged.emit(Qt.Horizontal, 0, 0)
        same_shape = (len(labels) == len(self._labels) and headers == self._headers)
        self._columns = columns
        if same_shape:
            self._labels = labels
            if labels:
                self.dataChanged.emit(self.index(0, 0), self.index(len(labels) - 1, len(headers)))
            return
        self.beginResetModel()
        self._labels, self._headers = labels, headers
        self.endResetModel()

    def rowCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._labels)

    def columnCount(self, parent=_ROOT) -> int:
        return 0 if parent.isValid() else len(self._headers) + 1

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.DisplayRole:
            if c == 0:
                return self._labels[r]
            return _fmt(float(self._columns[c - 1][r]))
        if role == Qt.TextAlignmentRole:
            return int(Qt.AlignRight | Qt.AlignVCenter) if c else int(Qt.AlignLeft | Qt.AlignVCenter)
        return None

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation != Qt.Horizontal:
            return None
        name = self._index_name if section == 0 else self._headers[section - 1]
        if role == Qt.DisplayRole:
            return name
        if role == Qt.ToolTipRole:
            return HEADER_TIPS.get(name)
        return None


class Inspector(QWidget):
    """Name, equation and values of the inspected node at the current step.

    Parameters
    ----------
    state : ViewerState
        Reads ``node``, ``t``, ``trace``; writes ``unit`` when a row is picked.
    """

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("inspector")
        self.title = QLabel()
        self.title.setTextFormat(Qt.RichText)
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.5)
        big.setBold(True)
        self.title.setFont(big)
        self.equation = QLabel()
        self.equation.setTextFormat(Qt.RichText)
        self.equation.setWordWrap(True)
        self.equation.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.equation.setObjectName("equation")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setObjectName("muted")
        self.model = VectorTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 4)
        header = self.table.horizontalHeader()
        # Fixed widths that fit "-00.000": computed once, so a 1024-row
        # table is never measured row by row.
        header.setSectionResizeMode(QHeaderView.Fixed)
        header.setStretchLastSection(True)
        small = QFont(self.table.font())
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.table.setFont(small)
        self._number_width = QFontMetrics(small).horizontalAdvance("+0.000") + 8
        self.model.modelReset.connect(self._size_columns)
        self.table.setAlternatingRowColors(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for w in (self.title, self.equation, self.summary):
            layout.addWidget(w)
        layout.addWidget(self.table, 1)
        self._syncing = False
        self._dirty = False
        # While playing, the table refreshes at most this often: numbers that
        # change 30 times a second cannot be read, and each refresh costs a frame.
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(PLAYING_REFRESH_MS)
        self._throttle.timeout.connect(self.refresh)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        for name in ("node", "step", "trace", "layer", "model"):
            getattr(state.events, name).connect(self._on_change)
        state.events.unit.connect(self._on_unit)
        self.refresh()

    def _size_columns(self) -> None:
        header = self.table.horizontalHeader()
        rows = self.model.rowCount()
        # The longest labels are among the first rows (ŷ tokens) or the last (unit numbers).
        labels = [self.model.data(self.model.index(r, 0)) for r in {*range(min(rows, 50)), rows - 1} if r >= 0]
        fm = QFontMetrics(self.table.font())
        unit_width = max([fm.horizontalAdvance(t or "") for t in labels + ["unit"]]) + 8
        header.resizeSection(0, unit_width)
        for col in range(1, self.model.columnCount()):
            header.resizeSection(col, self._number_width)

    # -- content -----------------------------------------------------------
    def _on_change(self, event) -> None:
        if not self.isVisible():
            self._dirty = True      # refreshed when shown again
        elif self.state.playing:
            if not self._throttle.isActive():
                self._throttle.start()
        else:
            self.refresh()

    def showEvent(self, event) -> None:
        if self._dirty:
            self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        """Show the inspected node at the current step now."""
        self._dirty = False
        self._throttle.stop()
        state = self.state
        node = state.node or "c"
        notation, equation, with_peep = NODES.get(node, (node, "", None))
        model = state.model
        if with_peep and model is not None and model.has_peepholes:
            equation = with_peep
        self.title.setText(notation_html(notation))
        self.equation.setText(notation_html(equation))
        t = self.step()
        values = None if t is None else state.step_values(t)
        if values is None:
            self.summary.setText("no trace yet" if model is not None else "no model loaded")
            self.model.set_data([], [], [])
            return
        labels, headers, columns = self._table_for(node, values, t)
        self.model.set_data(labels, headers, columns, "token" if node == "y_hat" else "unit")
        main = columns[0] if columns else np.zeros(0)
        where = f"step t = {t}, token {state.token_label(t)!r}"
        if main.size:
            self.summary.setText(f"{where} · {main.size} values, min {main.min():+.3f}, "
                                 f"max {main.max():+.3f}, mean {main.mean():+.3f}")
        else:
            self.summary.setText(where)
        self._on_unit(None)

    def step(self) -> int | None:
        """The step shown: the current one, clamped to the trace (None without one).

        The state announces a new trace before it moves a step that is now
        past the end back inside; whatever refreshes the inspector in that
        moment (the trace itself, a node clicked) must not read past the end.
        """
        length = self.state.length
        if length == 0:
            return None
        return int(min(max(self.state.t, 0), length - 1))

    def _table_for(self, node: str, values: dict, t: int):
        state = self.state
        H = state.hidden_size
        if node == "y_hat":
            y = state.y_hat(t)
            if y is None:
                return [], [], []
            vocab = state.model.vocab
            order = np.argsort(-y)
            labels = [f"{i}: {display_token(vocab[i])}" if vocab and i < len(vocab) else str(i)
                      for i in order]
            return labels, ["p"], [y[order]]
        if node not in values:
            return [], [], []
        vec = np.asarray(values[node])
        if node == "concat":
            labels = [f"a⟨t−1⟩[{i}]" for i in range(H)] + [f"x[{j}]" for j in range(vec.size - H)]
        else:
            labels = [str(i) for i in range(vec.size)]
        headers, columns = ["value"], [vec]
        if node in GATE_NODES:
            parts = state.direction_trace.preactivation(node, t)
            for key, short in (("W_x·x", "W·x"), ("W_a·a", "W·a"), ("p⊙c", "p⊙c"), ("bias", "b")):
                if key in parts:
                    headers.append(short)
                    columns.append(np.asarray(parts[key]))
            headers.append("z")
            columns.append(np.asarray(parts["total"]))
        return labels, headers, columns

    # -- unit selection ----------------------------------------------------
    def _on_row(self, current, previous) -> None:
        if self._syncing or not current.isValid():
            return
        if (self.state.node or "c") in UNIT_NODES:
            self.state.set_unit(current.row())

    def _on_unit(self, event) -> None:
        unit = self.state.unit
        if (self.state.node or "c") not in UNIT_NODES:
            return
        self._syncing = True
        try:
            sel = self.table.selectionModel()
            if unit is None or unit >= self.model.rowCount():
                sel.clearSelection()
            else:
                index = self.model.index(unit, 0)
                sel.setCurrentIndex(index, QItemSelectionModel.ClearAndSelect | QItemSelectionModel.Rows)
                self.table.scrollTo(index)
        finally:
            self._syncing = False
