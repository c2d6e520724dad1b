""""Why the update gate?" — the guided answer to the seed's question, on the loaded model.

Opens on the unit where the gate does most of the switching
(:func:`lstm_viewer.engine.why_update.rank_units`; a picker lists the top
units), draws what :func:`~lstm_viewer.engine.why_update.analyse` computes
for it — the gate Γ_u, the candidate c̃ and the write Γ_u ⊙ c̃ over the
sequence, how often each is near zero, c̃ against Γ_u by input token — and
words it in a resizable text area beside the model-level figure (accuracy
intact and with Γ_u switched off, computed by the window in the background)
and the variant lab's answer to the different question of a cell *trained*
without the gate. Two buttons ask for Γ_u to be switched off on the unit or
on every unit; the window applies them (the view runs nothing itself, except
ranking the units of a very long run on a thread of its own).
"""

from __future__ import annotations

import html
import re

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...engine.why_update import (
    DEFAULT_EPS,
    GATE_OFF,
    GateOffFigure,
    UnitRank,
    WhyUpdate,
    analyse,
    rank_units,
)
from ...training.lab import MIN_DIFFERENCE
from ..theme import CURSOR_COLOUR, style_plots

GATE_COLOUR = "#2ca02c"
CANDIDATE_COLOUR = "#1f77b4"
WRITE_COLOUR = "#d62728"
# Paul Tol's "muted" qualitative scheme: distinguishable for colour-blind readers.
TOKEN_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                 "#CC6677", "#882255", "#AA4499", "#AAAAAA")
# On a dark background the indigo is lifted and the grey of "other tokens" lightened.
TOKEN_COLOURS_DARK = ("#7A6FD6",) + TOKEN_COLOURS[1:-1] + ("#DDDDDD",)
# Γ_u, Γ_f, W_c, b_c, z_c, z_u: written with subscripts in the rich text.
_SUBSCRIPT = re.compile(r"(?<![A-Za-z])([ΓWbz])_([a-z])\b")


def _rich(text: str) -> str:
    """``text`` escaped for rich text, with Γ_u, W_c, z_c … as subscripts, not underscores."""
    return _SUBSCRIPT.sub(r"\1<sub>\2</sub>", html.escape(text))


#: Plot titles: small enough that the plots fit a dock beside the diagram.
TITLE_SIZE = "9pt"
#: A bar at least this tall carries its label inside (white), so no label leaves the plot.
INSIDE_BAR = 0.35
#: Units listed in the picker (those where the gate shuts the write at all).
TOP_UNITS = 8
#: Runs with more (steps × units) than this are ranked on a thread: ~30 ms of NumPy.
RANK_ON_THREAD = 2_000_000

PICKER_TIP = ("Units where the update gate alone shuts the write on the steps that write nothing, most "
              "convincing first (the share, discounted when it rests on few steps). Select a unit in the "
              "diagram to look at any other.")
QUESTION = ("Could W_c and b_c not switch the write off by themselves, making the candidate "
            "c̃ = tanh(z_c) zero where nothing should be stored? Then why multiply by a separate "
            "gate Γ_u?")


class RankThread(QThread):
    """Ranks the units of a long run off the GUI thread; reports through ``ranked``."""

    ranked = Signal(object, object)   # (key, list of UnitRank)
    failed = Signal(object, str)

    def __init__(self, key, trace, layer: int, direction: int, eps: float, parent=None):
        super().__init__(parent)
        self.setObjectName("whyUpdateRanking")
        self.key, self.args = key, (trace, layer, direction, eps)

    def run(self) -> None:
        try:
            ranks = rank_units(*self.args)
        except Exception as exc:  # noqa: BLE001 - shown in the view, never lost in a thread
            self.failed.emit(self.key, str(exc) or type(exc).__name__)
            return
        self.ranked.emit(self.key, ranks)


class WhyUpdateView(QWidget):
    """The guided answer: unit picker, the write taken apart, the figures and the words.

    Use :meth:`set_trace` with a trace (and a unit, or None for the unit
    where the gate does most of the switching); :meth:`set_model_figure`,
    :meth:`set_lab_result` and :meth:`set_interventions` feed the rest of the
    text. ``eps`` (what "near zero" means) can be changed in the view.

    Signals
    -------
    switchOffRequested(list)
        Spec strings to run with: Γ_u switched off on the unit shown, or on
        every unit.
    resetRequested()
        Back to the intact run.
    unitPicked(int)
        The user chose a unit in the picker.
    """

    switchOffRequested = Signal(list)
    resetRequested = Signal()
    unitPicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("whyUpdateView")
        self.trace = None
        self.layer = 0
        self.unit = 0
        self.direction = 0
        self.result: WhyUpdate | None = None
        self.vocab = None
        self.ranks: list[UnitRank] | None = None
        self._rank_for: tuple | None = None     # (trace, layer, direction, eps) ranked
        self._rank_thread: RankThread | None = None
        self._auto = False                      # jump to the top unit when the ranking lands
        self._specs: list[str] = []
        self._figure_html = ""
        self._lab_result = None
        self._unit_message = ""
        self._split_once = False
        self._inside = [False, False, False]

        self.title = QLabel("<b>Why the update gate?</b>")
        self.title.setObjectName("whyUpdateTitle")
        self.title.setWordWrap(True)

        self.picker = QComboBox()
        self.picker.setObjectName("whyUpdateUnitPicker")
        self.picker.setAccessibleName("unit to look at")
        self.picker.setToolTip(PICKER_TIP)
        self.picker.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.picker.setMinimumContentsLength(16)
        self.picker.currentIndexChanged.connect(self._on_pick)
        self.eps_spin = QDoubleSpinBox()
        self.eps_spin.setRange(0.005, 0.45)
        self.eps_spin.setDecimals(3)
        self.eps_spin.setSingleStep(0.01)
        self.eps_spin.setValue(DEFAULT_EPS)
        self.eps_spin.setAccessibleName("near zero threshold")
        self.eps_spin.setToolTip("What “near zero” means for Γᵤ, the candidate and the write.")
        self.eps_spin.valueChanged.connect(self._on_eps)
        pick_row = QHBoxLayout()
        pick_row.addWidget(QLabel("Unit"))
        pick_row.addWidget(self.picker, 1)
        eps_row = QHBoxLayout()
        eps_row.addWidget(QLabel("near zero means below"))
        eps_row.addWidget(self.eps_spin)
        eps_row.addStretch(1)

        self.unit_off_button = QPushButton("Γᵤ off: unit")
        self.unit_off_button.setObjectName("whyUnitOff")
        self.unit_off_button.clicked.connect(self._request_unit_off)
        self.all_off_button = QPushButton("Γᵤ off: all")
        self.all_off_button.setObjectName("whyAllOff")
        self.all_off_button.setToolTip(
            f"Switch the update gate off on every unit ({GATE_OFF}, Γᵤ := 1: every candidate is written "
            "in full, the NIG cell) and show the intact and intervened runs side by side.")
        self.all_off_button.clicked.connect(self._request_all_off)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("whyReset")
        self.reset_button.setToolTip("Back to the intact run: every intervention switched off.")
        self.reset_button.setEnabled(False)
        self.reset_button.clicked.connect(self._request_reset)
        buttons = QHBoxLayout()
        for button in (self.unit_off_button, self.all_off_button, self.reset_button):
            button.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)
            buttons.addWidget(button)
        buttons.addStretch(1)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(150)
        # Placed by _arrange: one row in a wide, short area, two rows otherwise.
        self._wide: bool | None = None
        # The title names the curves in their colours: a legend would cover them,
        # and short titles keep the plots' minimum width within a narrow dock.
        self.factors = pg.PlotItem()
        self.factors.setTitle(f"<span style='color:{GATE_COLOUR}'>Γ<sub>u</sub></span> × "
                              f"<span style='color:{CANDIDATE_COLOUR}'>candidate</span> = "
                              f"<span style='color:{WRITE_COLOUR}'>write</span> (dashed)", size=TITLE_SIZE)
        self.factors.setLabel("bottom", "t (step)")
        self.factors.setLabel("left", "value")
        self.factors.setMenuEnabled(False)
        self.factors.setMouseEnabled(x=True, y=False)
        self.factors.setYRange(-1.05, 1.05, padding=0)
        self.factors.showGrid(y=True, alpha=0.2)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1.5))
        self.cursor.setVisible(False)
        self.factors.addItem(self.cursor, ignoreBounds=True)

        self.bars_plot = pg.PlotItem()
        self.bars_plot.setTitle("share near zero", size=TITLE_SIZE)
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        # No value axis: every bar carries its share, inside a tall bar, above a short one.
        self.bars_plot.setYRange(0, 1.12, padding=0)
        self.bars_plot.hideAxis("left")
        # Short ticks: the bars plot is narrow when the view is laid out in one row.
        self.bars_plot.getAxis("bottom").setTicks([[(0, "Γᵤ"), (1, "cand."), (2, "write")]])
        self.bars_plot.setXRange(-0.6, 2.6, padding=0)
        self.bars = pg.BarGraphItem(x=[0, 1, 2], height=[0, 0, 0], width=0.6,
                                    brushes=[GATE_COLOUR, CANDIDATE_COLOUR, WRITE_COLOUR])
        self.bars_plot.addItem(self.bars)
        self.bar_labels = [pg.TextItem("", anchor=(0.5, 1.0), color="#333333") for _ in range(3)]
        for k, label in enumerate(self.bar_labels):
            label.setPos(k, 0)
            self.bars_plot.addItem(label)

        self.scatter_plot = pg.PlotItem()
        self.scatter_plot.setTitle("candidate ↑ vs Γ<sub>u</sub> →", size=TITLE_SIZE)
        self.scatter_plot.setMenuEnabled(False)
        self.scatter_plot.setXRange(0, 1, padding=0.04)
        self.scatter_plot.setYRange(-1, 1, padding=0.04)
        self._arrange(False)

        # The token key is a label under the plots, so it never covers a dot.
        self.token_key = QLabel()
        self.token_key.setObjectName("whyUpdateTokenKey")
        self.token_key.setTextFormat(Qt.RichText)
        self.token_key.setWordWrap(True)
        self._key: list[tuple[str, str]] = []

        # The answer is read, so it gets a browser that the splitter can make as
        # tall as the reader wants, not a few scrolling lines under the plots.
        self.explanation = QTextBrowser()
        self.explanation.setObjectName("whyUpdateExplanation")
        self.explanation.setOpenLinks(False)
        self.explanation.setMinimumHeight(4 * self.explanation.fontMetrics().lineSpacing())

        plots = QWidget()
        plots_layout = QVBoxLayout(plots)
        plots_layout.setContentsMargins(0, 0, 0, 0)
        plots_layout.addWidget(self.view, 1)
        plots_layout.addWidget(self.token_key)
        plots_layout.addLayout(eps_row)
        self.splitter = QSplitter(Qt.Vertical)
        self.splitter.setObjectName("whyUpdateSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.explanation)
        self.splitter.addWidget(plots)
        # The answer first and a little taller than the plots; the reader drags the handle.
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(pick_row)
        layout.addLayout(buttons)
        layout.addWidget(self.splitter, 1)
        self._dark = False
        self.set_dark(False)
        self._recompute()

    # --- public API ---------------------------------------------------------------------

    def set_trace(self, trace, layer: int = 0, unit: int | None = None, direction: int = 0) -> None:
        """Show ``trace`` (None clears the view).

        With ``unit`` None the view opens on the unit where the gate does most
        of the switching — unless it already shows this same trace and layer,
        when it stays on its unit.
        """
        same = (trace is not None and trace is self.trace and int(layer) == self.layer
                and int(direction) == self.direction)
        self.trace = trace
        self.layer, self.direction = int(layer), int(direction)
        self.vocab = None if trace is None else trace.model.vocab
        if unit is not None:
            self.unit, self._auto = int(unit), False
        elif not same:
            self._auto = True
        self._rank()
        self._recompute()

    def set_unit(self, unit: int, layer: int | None = None) -> None:
        """Look at another unit of the same trace."""
        if layer is not None and int(layer) != self.layer:
            self.set_trace(self.trace, layer, unit, self.direction)
            return
        self.unit, self._auto = int(unit), False
        self._fill_picker()
        self._recompute()

    def set_step(self, t: int) -> None:
        """Move the time cursor to step ``t``."""
        self.cursor.setValue(t)
        self.cursor.setVisible(self.result is not None)

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        style_plots(self.view, (self.factors, self.bars_plot, self.scatter_plot), self._dark)
        for k, label in enumerate(self.bar_labels):
            label.setColor(self._label_colour(k))
        if self.result is not None:
            self._recompute()  # the scatter's colours follow the theme

    def _label_colour(self, k: int) -> str:
        if self._inside[k]:
            return "#ffffff"
        return "#d0d0d0" if self._dark else "#333333"

    def set_model_figure(self, figure: GateOffFigure | None, message: str = "") -> None:
        """The model-level figure, or ``message`` (e.g. "computing…") in its place."""
        if figure is not None:
            self._figure_html = _rich(figure.text())
        else:
            self._figure_html = f"<i>{_rich(message)}</i>" if message else ""
        self._render_text()

    def set_lab_result(self, result) -> None:
        """The variant lab's last :class:`~lstm_viewer.training.lab.LabResult` (None: no run)."""
        self._lab_result = result
        self._render_text()

    def set_interventions(self, specs) -> None:
        """The interventions now applied in the window (for the Reset button and the text)."""
        self._specs = [str(s) for s in specs]
        self.reset_button.setEnabled(bool(self._specs))
        self._render_text()

    def unit_spec(self) -> str:
        """Spec that switches Γ_u off on the unit shown (its layer named when there are several)."""
        spec = f"{GATE_OFF}@{self.unit}"
        if self.trace is not None and len(self.trace.layers) > 1:
            spec += f"#{self.layer}"
        return spec

    def explanation_text(self) -> str:
        return self.explanation.toPlainText()

    def sizeHint(self) -> QSize:
        return QSize(460, 640)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._split_once:
            # Half the height for the words, half for the plots, once; then the reader decides.
            self._split_once = True
            total = max(2, sum(self.splitter.sizes()))
            self.splitter.setSizes([total // 2, total - total // 2])

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        size = self.view.size()
        self._arrange(size.width() > 3.0 * max(1, size.height()))

    def stop(self) -> None:
        """Wait for a ranking thread, if one runs (the window calls this on close)."""
        if self._rank_thread is not None:
            self._rank_thread.wait()

    # --- layout -------------------------------------------------------------------------

    def _arrange(self, wide: bool) -> None:
        """Factors, bars and scatter in one row (wide) or the factors above the other two."""
        if wide == self._wide:
            return
        layout = self.view.ci
        plots = (self.factors, self.bars_plot, self.scatter_plot)
        for plot in plots:
            if plot in layout.items:
                layout.removeItem(plot)
        grid = layout.layout
        if wide:
            for k, plot in enumerate(plots):
                layout.addItem(plot, row=0, col=k)
            stretches, rows = (3, 1, 2), (1, 0)
        else:
            layout.addItem(self.factors, row=0, col=0, colspan=2)
            layout.addItem(self.bars_plot, row=1, col=0)
            layout.addItem(self.scatter_plot, row=1, col=1)
            stretches, rows = (2, 3, 0), (1, 1)
        for col, stretch in enumerate(stretches):
            grid.setColumnStretchFactor(col, stretch)
        for row, stretch in enumerate(rows):
            grid.setRowStretchFactor(row, stretch)
        self._wide = wide

    # --- ranking and the picker -----------------------------------------------------------

    def _rank(self) -> None:
        """Rank the units of the trace shown, here or (a very long run) on a thread."""
        trace, eps = self.trace, float(self.eps_spin.value())
        if trace is None:
            self.ranks, self._rank_for = None, None
            self._fill_picker()
            return
        wanted = (trace, self.layer, self.direction, eps)
        done = self._rank_for
        if (done is not None and done[0] is trace and done[1:] == wanted[1:]
                and self.ranks is not None):
            return
        self._rank_for, self.ranks = wanted, None
        try:
            d = trace.layers[self.layer][self.direction]
        except IndexError:
            self._fill_picker()
            return
        if trace.length * d.hidden_size <= RANK_ON_THREAD:
            self._apply_ranks(rank_units(trace, self.layer, self.direction, eps))
            return
        self._fill_picker()
        self.stop()  # at most one ranking at a time; the previous one is short-lived anyway
        thread = RankThread(wanted, trace, self.layer, self.direction, eps, self)
        thread.ranked.connect(self._on_ranked)
        thread.failed.connect(self._on_rank_failed)
        thread.finished.connect(thread.deleteLater)
        self._rank_thread = thread
        thread.start()

    @Slot(object, object)
    def _on_ranked(self, key, ranks) -> None:
        self._rank_thread = None
        if self._rank_for is None or key[0] is not self._rank_for[0] or key[1:] != self._rank_for[1:]:
            return  # the trace or threshold changed meanwhile
        unit = self.unit
        self._apply_ranks(ranks)
        if self.unit != unit:
            self._recompute()

    @Slot(object, str)
    def _on_rank_failed(self, key, message: str) -> None:
        self._rank_thread = None
        self.picker.setToolTip(f"The units could not be ranked: {message}")

    def _apply_ranks(self, ranks: list[UnitRank]) -> None:
        self.ranks = ranks
        if self._auto and ranks:
            self.unit, self._auto = ranks[0].unit, False
        self._fill_picker()

    def top_ranks(self) -> list[UnitRank]:
        """The units the picker lists: those whose gate shuts the write at all, best first."""
        if not self.ranks:
            return []
        shown = [r for r in self.ranks if r.gate_alone > 0 and r.gate_fixed is None][:TOP_UNITS]
        return shown or self.ranks[:TOP_UNITS]

    def _fill_picker(self) -> None:
        self.picker.blockSignals(True)
        self.picker.clear()
        if self.trace is not None and self.ranks is None:
            self.picker.addItem(f"unit {self.unit} (ranking the units…)", self.unit)
        entries = self.top_ranks()
        for r in entries:
            self.picker.addItem(r.label(), r.unit)
        if self.ranks and all(r.unit != self.unit for r in entries):
            # A unit chosen elsewhere (the diagram) is listed too, after the top units.
            mine = next((r for r in self.ranks if r.unit == self.unit), None)
            if mine is not None:
                self.picker.addItem(mine.label(), mine.unit)
        index = self.picker.findData(self.unit)
        self.picker.setCurrentIndex(max(index, 0))
        # The list opens as wide as its longest line, even when the dock is narrow.
        self.picker.view().setMinimumWidth(self.picker.view().sizeHintForColumn(0) + 24)
        self.picker.setToolTip(self.picker.currentText() + "\n\n" + PICKER_TIP)
        self.picker.setEnabled(self.picker.count() > 1)
        self.picker.blockSignals(False)

    def _on_pick(self, index: int) -> None:
        unit = self.picker.itemData(index)
        if unit is None or int(unit) == self.unit:
            return
        self.unit, self._auto = int(unit), False
        self.picker.setToolTip(self.picker.currentText() + "\n\n" + PICKER_TIP)
        self._recompute()
        self.unitPicked.emit(self.unit)

    def _on_eps(self, *_args) -> None:
        self._auto = False
        self._rank()
        self._recompute()

    # --- the buttons --------------------------------------------------------------------

    def _request_unit_off(self, _checked: bool = False) -> None:
        self.switchOffRequested.emit([self.unit_spec()])

    def _request_all_off(self, _checked: bool = False) -> None:
        self.switchOffRequested.emit([GATE_OFF])

    def _request_reset(self, _checked: bool = False) -> None:
        self.resetRequested.emit()

    # --- drawing ------------------------------------------------------------------------

    def _token_name(self, token: int) -> str:
        if self.vocab is not None and 0 <= token < len(self.vocab):
            text = self.vocab[token]
            return repr(text)[1:-1] if text.strip() == "" else text
        return str(token)

    def _recompute(self, *_args) -> None:
        for plot in (self.factors, self.scatter_plot):
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        self._key = []
        self.result = None
        self._unit_message = ""
        has_trace = self.trace is not None
        for button in (self.unit_off_button, self.all_off_button):
            button.setEnabled(has_trace)
        if not has_trace:
            self.bars.setOpts(height=[0, 0, 0])
            for label in self.bar_labels:
                label.setText("")
            self.title.setText("<b>Why the update gate?</b>")
            self.token_key.setText("")
            self._unit_message = "Open a model to see how its write is switched on and off."
            self._render_text()
            return
        try:
            r = analyse(self.trace, self.layer, self.unit, self.direction, eps=self.eps_spin.value())
        except ValueError as exc:
            self._unit_message = str(exc)
            self._render_text()
            return
        self.result = r
        run = ("intervened run: " + ", ".join(iv.spec for iv in self.trace.interventions)
               if self.trace.interventions else "intact run")
        layer = f", layer {r.layer}" if len(self.trace.layers) > 1 else ""
        self.title.setText(f"<b>Why the update gate?</b> unit {r.unit}{layer}"
                           + (" (reverse)" if r.direction else "") + f" — {run}")
        self.unit_off_button.setText(f"Γᵤ off: unit {r.unit}")
        self.unit_off_button.setToolTip(
            f"Switch the update gate off on unit {r.unit} only ({self.unit_spec()}, Γᵤ := 1: every "
            "candidate is written in full) and show the intact and intervened runs side by side.")
        t = np.arange(r.steps)
        self.factors.plot(t, r.update, pen=pg.mkPen(GATE_COLOUR, width=1.6), name="Γ_u (gate)")
        self.factors.plot(t, r.candidate, pen=pg.mkPen(CANDIDATE_COLOUR, width=1.6),
                          name="candidate (tanh z_c)")
        self.factors.plot(t, r.write, pen=pg.mkPen(WRITE_COLOUR, width=2.2, style=Qt.DashLine),
                          name="write Γ_u × candidate")
        lo = min(-1.05, float(r.write.min()), float(r.candidate.min()))
        hi = max(1.05, float(r.write.max()), float(r.candidate.max()))
        self.factors.setYRange(lo, hi, padding=0)
        self.factors.setXRange(0, max(1, r.steps - 1), padding=0.01)
        fractions = [r.frac_gate_closed, r.frac_candidate_zero, r.frac_write_off]
        self.bars.setOpts(height=fractions)
        for k, (label, value) in enumerate(zip(self.bar_labels, fractions, strict=True)):
            label.setText(f"{value:.0%}")
            inside = value >= INSIDE_BAR
            label.setPos(k, value - 0.02 if inside else value + 0.01)
            label.setAnchor((0.5, 0.0) if inside else (0.5, 1.0))
            self._inside[k] = inside
            label.setColor(self._label_colour(k))
        self.bars_plot.setTitle(f"share below {r.eps:g}", size=TITLE_SIZE)
        self._draw_scatter(r)
        self._draw_scatter_key()
        self._render_text()

    def _draw_scatter_key(self) -> None:
        dots = " &nbsp;".join(f"<span style='color:{colour}; font-size:12pt'>●</span>{html.escape(name)}"
                              for colour, name in self._key)
        self.token_key.setText(f"Dots by input token: {dots}" if dots else "")

    def _draw_scatter(self, r: WhyUpdate) -> None:
        plot = self.scatter_plot
        colours = TOKEN_COLOURS_DARK if self._dark else TOKEN_COLOURS
        if r.tokens is None:
            plot.plot(r.update, r.candidate, pen=None, symbol="o", symbolSize=6,
                      symbolBrush=colours[0], symbolPen=None)
            self._key.append((colours[0], "step"))
            return
        tokens = np.unique(r.tokens)
        # More tokens than colours: the most frequent get their own, the rest share grey.
        counts = np.array([np.sum(r.tokens == tok) for tok in tokens])
        order = tokens[np.argsort(-counts, kind="stable")]
        own = list(order[:len(colours) - 1]) if len(tokens) > len(colours) else list(order)
        for k, tok in enumerate(own):
            keep = r.tokens == tok
            plot.plot(r.update[keep], r.candidate[keep], pen=None, symbol="o", symbolSize=7,
                      symbolBrush=colours[k], symbolPen=pg.mkPen("#00000040"))
            self._key.append((colours[k], f"'{self._token_name(int(tok))}'"))
        rest = ~np.isin(r.tokens, own)
        if rest.any():
            plot.plot(r.update[rest], r.candidate[rest], pen=None, symbol="o", symbolSize=5,
                      symbolBrush=colours[-1], symbolPen=None)
            self._key.append((colours[-1], "other tokens"))

    # --- the text -----------------------------------------------------------------------

    def lab_text(self) -> str:
        """The nuance the variant lab measures, with its numbers when a lab has run."""
        out = [
            "Switching Γ_u off in this trained cell asks whether this cell uses its gate: its W_c and "
            "b_c were trained with the gate beside them, so taking it away can break the cell (the "
            "whole-model figure says how much). That is not the same question as whether a cell "
            "needs a gate at all. A cell trained without "
            "one (NIG, Γ_u := 1 from the first step) can learn an easy task by loading W_c and b_c "
            "with both jobs — carrying the value where something must be stored, and keeping z_c in "
            "the thin band around 0 where nothing should be. The variant lab measures that question: "
            "it trains the standard cell and NIG from scratch with the same size, seeds and budget."
        ]
        lab = self._lab_result
        if lab is None:
            out.append("No lab has run in this session: Experiments ▸ Variant Lab… trains them.")
            return " ".join(out)
        std, nig = lab.summary("standard"), lab.summary("nig")
        where = (f"on {lab.task}, {lab.hidden_size} units, {lab.steps} training steps"
                 + (", cancelled: partial results" if lab.cancelled else ""))
        if std is None or nig is None:
            missing = " and ".join(name for name, s in (("the standard cell", std), ("NIG", nig))
                                   if s is None)
            out.append(f"The last lab run ({where}) has no finished run of {missing}, "
                       "so it cannot answer it.")
            return " ".join(out)

        def figure(s) -> str:
            spread = f" ± {s.acc_std:.1%}" if s.n > 1 else ""
            seeds = "1 seed" if s.n == 1 else f"{s.n} seeds"
            return f"{s.acc_mean:.1%}{spread} test accuracy (loss {s.loss_mean:.3f}, {seeds})"

        out.append(f"The last lab run ({where}): standard {figure(std)}; NIG {figure(nig)}.")
        if min(std.n, nig.n) < 3:
            out.append("With fewer than 3 seeds no ranking can be concluded from it.")
        else:
            gap = nig.acc_mean - std.acc_mean
            se = float(np.hypot(std.acc_std / np.sqrt(std.n), nig.acc_std / np.sqrt(nig.n)))
            if abs(gap) <= max(MIN_DIFFERENCE, 2 * se):  # the lab's own rule for a clear gap
                out.append("Trained without the gate, the cell does about as well here: the gap is "
                           "within the noise of the seeds.")
            elif gap < 0:
                out.append(f"Trained without the gate, the cell does clearly worse here ({gap:+.1%}).")
            else:
                out.append(f"Trained without the gate, the cell does clearly better here ({gap:+.1%}).")
        if getattr(lab, "setting", ""):
            out.append("These figures are on the lab's own configuration of the task, not the bundled "
                       "model's test set.")
        return " ".join(out)

    def _render_text(self) -> None:
        esc = _rich
        parts = [f"<p><i>{esc(QUESTION)}</i></p>"]
        if self._figure_html:
            parts.append(f"<p><b>The whole model.</b> {self._figure_html}</p>")
        r = self.result
        if r is not None:
            parts.append(f"<p><b>Unit {r.unit} on this input.</b> {esc(r.explanation())}</p>")
        elif self._unit_message:
            parts.append(f"<p>{esc(self._unit_message)}</p>")
        if self._specs:
            parts.append(f"<p><b>Now running with</b> {esc(', '.join(self._specs))}: the "
                         "“Intact vs intervened” tab shows what changes. Reset returns to the intact run.</p>")
        parts.append(f"<p><b>Removed, or never there?</b> {esc(self.lab_text())}</p>")
        bar = self.explanation.verticalScrollBar()
        keep = bar.value()
        self.explanation.setHtml("".join(parts))
        bar.setValue(keep)
