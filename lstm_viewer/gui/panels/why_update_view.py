""""Why the update gate?" for one unit: the write taken apart, and what it shows.

Draws what :func:`lstm_viewer.engine.why_update.analyse` computes: the gate
Γ_u, the candidate c̃ and their product, the write, over the sequence; how
often each factor is near zero; a scatter of c̃ against Γ_u coloured by
input token; and the generated explanation, which describes these numbers.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...engine.why_update import DEFAULT_EPS, WhyUpdate, analyse
from ..theme import CURSOR_COLOUR, style_plots

GATE_COLOUR = "#2ca02c"
CANDIDATE_COLOUR = "#1f77b4"
WRITE_COLOUR = "#d62728"
# Paul Tol's "muted" qualitative scheme: distinguishable for colour-blind readers.
TOKEN_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77",
                 "#CC6677", "#882255", "#AA4499", "#DDDDDD")


class WhyUpdateView(QWidget):
    """The two factors of one unit's write, their near-zero fractions and the explanation.

    Use :meth:`set_trace` with a trace and the unit to look at; ``eps`` (what
    "near zero" means) can be changed in the view.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("whyUpdateView")
        self.trace = None
        self.layer = 0
        self.unit = 0
        self.direction = 0
        self.result: WhyUpdate | None = None
        self.vocab = None

        self.title = QLabel("Why the update gate?")
        self.title.setObjectName("whyUpdateTitle")
        self.eps_spin = QDoubleSpinBox()
        self.eps_spin.setRange(0.005, 0.45)
        self.eps_spin.setDecimals(3)
        self.eps_spin.setSingleStep(0.01)
        self.eps_spin.setValue(DEFAULT_EPS)
        self.eps_spin.setAccessibleName("near zero threshold")
        self.eps_spin.valueChanged.connect(self._recompute)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(QLabel("near zero means below"))
        top.addWidget(self.eps_spin)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(170)
        # Placed by _arrange: one row in a wide, short dock, two rows otherwise.
        self._wide: bool | None = None
        self.factors = pg.PlotItem(title="the write Γ_u × candidate and its two factors")
        self.factors.setLabel("bottom", "t (step)")
        self.factors.setLabel("left", "value")
        self.factors.addLegend(offset=(-4, 2), labelTextSize="8pt", colCount=3,
                               brush=pg.mkBrush(255, 255, 255, 210), pen=pg.mkPen("#bbbbbb"))
        self.factors.setMenuEnabled(False)
        self.factors.setMouseEnabled(x=True, y=False)
        self.factors.setYRange(-1.05, 1.05, padding=0)
        self.factors.showGrid(y=True, alpha=0.2)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1.5))
        self.cursor.setVisible(False)
        self.factors.addItem(self.cursor, ignoreBounds=True)

        self.bars_plot = pg.PlotItem(title="share of steps near zero")
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setYRange(0, 1.0, padding=0.02)
        self.bars_plot.setLabel("left", "fraction of steps")
        # Short ticks: the bars plot is narrow when the view is laid out in one row.
        self.bars_plot.getAxis("bottom").setTicks([[(0, "Γ_u"), (1, "|cand.|"), (2, "|write|")]])
        self.bars_plot.setXRange(-0.6, 2.6, padding=0)
        self.bars = pg.BarGraphItem(x=[0, 1, 2], height=[0, 0, 0], width=0.6,
                                    brushes=[GATE_COLOUR, CANDIDATE_COLOUR, WRITE_COLOUR])
        self.bars_plot.addItem(self.bars)
        self.bar_labels = [pg.TextItem("", anchor=(0.5, 1.0), color="#333333") for _ in range(3)]
        for k, label in enumerate(self.bar_labels):
            label.setPos(k, 0)
            self.bars_plot.addItem(label)

        self.scatter_plot = pg.PlotItem(title="candidate against Γ_u, by token")
        self.scatter_plot.setLabel("bottom", "Γ_u (update gate)")
        self.scatter_plot.setLabel("left", "candidate")
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

        # A scrolling box, not a word-wrapped label: a label's minimum height is
        # taken at its minimum width, which made the dock claim half the window.
        self.explanation = QPlainTextEdit("Pick a unit to see how its write is switched on and off.")
        self.explanation.setObjectName("whyUpdateExplanation")
        self.explanation.setReadOnly(True)
        self.explanation.setFrameShape(QFrame.NoFrame)
        lines = self.explanation.fontMetrics().lineSpacing()
        self.explanation.setMinimumHeight(int(2.5 * lines))
        self.explanation.setMaximumHeight(int(5.5 * lines))
        self.explanation.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.token_key)
        layout.addWidget(self.explanation)
        self._dark = False
        self.set_dark(False)

    # --- public API ---------------------------------------------------------------------

    def set_trace(self, trace, layer: int = 0, unit: int = 0, direction: int = 0) -> None:
        """Analyse ``unit`` of ``layer`` in ``trace`` and show it (None clears the view)."""
        self.trace = trace
        self.layer, self.unit, self.direction = int(layer), int(unit), int(direction)
        self.vocab = None if trace is None else trace.model.vocab
        self._recompute()

    def set_unit(self, unit: int, layer: int | None = None) -> None:
        """Look at another unit of the same trace."""
        self.set_trace(self.trace, self.layer if layer is None else layer, unit, self.direction)

    def set_step(self, t: int) -> None:
        """Move the time cursor to step ``t``."""
        self.cursor.setValue(t)
        self.cursor.setVisible(self.result is not None)

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        style_plots(self.view, (self.factors, self.bars_plot, self.scatter_plot), self._dark)
        for label in self.bar_labels:
            label.setColor("#d0d0d0" if dark else "#333333")


    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        size = self.view.size()
        self._arrange(size.width() > 3.0 * max(1, size.height()))

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

    def sizeHint(self) -> QSize:
        return QSize(900, 320)

    def explanation_text(self) -> str:
        return self.explanation.toPlainText()

    # --- internals ----------------------------------------------------------------------

    def _token_name(self, token: int) -> str:
        if self.vocab is not None and 0 <= token < len(self.vocab):
            text = self.vocab[token]
            return repr(text)[1:-1] if text.strip() == "" else text
        return str(token)

    def _recompute(self, *_args) -> None:
        for plot in (self.factors, self.scatter_plot):
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        self.factors.legend.clear()
        self._key = []
        if self.trace is None:
            self.result = None
            self.bars.setOpts(height=[0, 0, 0])
            self.explanation.setPlainText("Pick a unit to see how its write is switched on and off.")
            return
        try:
            r = analyse(self.trace, self.layer, self.unit, self.direction, eps=self.eps_spin.value())
        except ValueError as exc:
            self.result = None
            self.explanation.setPlainText(str(exc))
            return
        self.result = r
        run = ("intervened run: " + ", ".join(iv.spec for iv in self.trace.interventions)
               if self.trace.interventions else "intact run")
        self.title.setText(f"<b>Why the update gate?</b> unit {r.unit}, layer {r.layer}"
                           + (" (reverse)" if r.direction else "") + f" — {run}")
        t = np.arange(r.steps)
        self.factors.plot(t, r.update, pen=pg.mkPen(GATE_COLOUR, width=1.6), name="Γ_u (gate)")
        self.factors.plot(t, r.candidate, pen=pg.mkPen(CANDIDATE_COLOUR, width=1.6), name="candidate (tanh z_c)")
        self.factors.plot(t, r.write, pen=pg.mkPen(WRITE_COLOUR, width=2.2, style=Qt.DashLine),
                          name="write Γ_u × candidate")
        lo = min(-1.05, float(r.write.min()), float(r.candidate.min()))
        # Head-room above the gate's ceiling of 1 keeps the legend off the curves.
        hi = max(1.05, float(r.write.max()), float(r.candidate.max())) + 0.45
        self.factors.setYRange(lo, hi, padding=0)
        self.factors.setXRange(0, max(1, r.steps - 1), padding=0.01)
        fractions = [r.frac_gate_closed, r.frac_candidate_zero, r.frac_write_off]
        self.bars.setOpts(height=fractions)
        for k, (label, value) in enumerate(zip(self.bar_labels, fractions, strict=True)):
            label.setText(f"{value:.0%}")
            label.setPos(k, value + 0.01)
            label.setAnchor((0.5, 1.0))
        eps = r.eps
        self.bars_plot.setTitle(f"share of steps below ε = {eps:g}")
        self._draw_scatter(r)
        dots = " &nbsp; ".join(f"<span style='color:{colour}; font-size:14pt'>●</span> {html.escape(name)}"
                               for colour, name in self._key)
        self.token_key.setText(f"Scatter colours by input token: {dots}")
        self.explanation.setPlainText(r.explanation())

    def _draw_scatter(self, r: WhyUpdate) -> None:
        plot = self.scatter_plot
        if r.tokens is None:
            plot.plot(r.update, r.candidate, pen=None, symbol="o", symbolSize=6,
                      symbolBrush=TOKEN_COLOURS[0], symbolPen=None)
            self._key.append((TOKEN_COLOURS[0], "step"))
            return
        tokens = np.unique(r.tokens)
        # More tokens than colours: the most frequent get their own, the rest share grey.
        counts = np.array([np.sum(r.tokens == tok) for tok in tokens])
        order = tokens[np.argsort(-counts, kind="stable")]
        own = list(order[:len(TOKEN_COLOURS) - 1]) if len(tokens) > len(TOKEN_COLOURS) else list(order)
        for k, tok in enumerate(own):
            keep = r.tokens == tok
            plot.plot(r.update[keep], r.candidate[keep], pen=None, symbol="o", symbolSize=7,
                      symbolBrush=TOKEN_COLOURS[k], symbolPen=pg.mkPen("#00000040"))
            self._key.append((TOKEN_COLOURS[k], f"'{self._token_name(int(tok))}'"))
        rest = ~np.isin(r.tokens, own)
        if rest.any():
            plot.plot(r.update[rest], r.candidate[rest], pen=None, symbol="o", symbolSize=5,
                      symbolBrush=TOKEN_COLOURS[-1], symbolPen=None)
            self._key.append((TOKEN_COLOURS[-1], "other tokens"))
