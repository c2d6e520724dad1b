"""Intact versus intervened, step by step: what switching a gate off breaks.

Four plots sharing the time axis — c⟨t⟩ and a⟨t⟩ of one unit in both runs,
the probability each run gives the correct next token, and the divergence
‖c_int − c_abl‖ (and ‖a_int − a_abl‖) per step — under a heading with the
accuracy and loss of both runs. The numbers come from
:func:`lstm_viewer.engine.compare.compare`; this module only draws them.
Step t is drawn at x = t. The plots carry no legend box (it would cover the
curves): the heading and the plot titles are the key. With nothing switched
off the view says so instead of showing empty axes.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QBoxLayout, QComboBox, QHBoxLayout, QLabel, QSizePolicy, QSpinBox,
                               QVBoxLayout, QWidget)

from ...engine.compare import Comparison, compare
from ..theme import CURSOR_COLOUR, plot_colours, style_plots
from .state_plots import new_plot

#: Shown instead of empty axes while there is nothing to compare.
EMPTY_MESSAGE = ("Switch something off in Interventions to compare the intact run "
                 "with the intervened one.")
#: Below this width the controls go under the heading and the plots in one column.
NARROW = 620


def run_colours(dark: bool) -> dict[str, str]:
    """Line colours of the intact and intervened runs and of the two divergences."""
    lines = plot_colours(dark)["lines"]
    return {"intact": lines[0], "intervened": lines[1], "div_c": lines[3], "div_a": lines[2]}


class ComparisonView(QWidget):
    """Intact vs intervened c, a, p(correct) and divergence, with both scores.

    Use :meth:`set_traces`; :meth:`set_unit` picks the unit whose c and a are
    drawn (by default the one that diverges most), :meth:`set_step` moves the
    time cursor.

    Signals
    -------
    stepClicked(int)
        A click on a plot at time t.
    """

    stepClicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("comparisonView")
        self.intact = None
        self.intervened = None
        self.targets = None
        self.targets_are_intact = False
        self.comparison: Comparison | None = None
        self.unit = 0
        self.layer = 0
        # Until someone picks a unit, show the one that diverges most.
        self._unit_chosen = False

        self._dark = False
        self.heading = QLabel()
        self.heading.setObjectName("comparisonHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.RichText)
        self.heading.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # A long heading wraps instead of widening the dock.
        self.heading.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.empty = QLabel(EMPTY_MESSAGE)
        self.empty.setObjectName("comparisonEmpty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignCenter)
        self.empty.setMargin(12)

        self.layer_box = QComboBox()
        self.layer_box.setAccessibleName("layer")
        self.layer_box.currentIndexChanged.connect(self._on_layer_box)
        self.unit_spin = QSpinBox()
        self.unit_spin.setAccessibleName("unit")
        self.unit_spin.valueChanged.connect(self._on_unit_spin)
        self.controls = QWidget()
        controls = QHBoxLayout(self.controls)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("c and a of"))
        controls.addWidget(self.layer_box)
        controls.addWidget(QLabel("unit"))
        controls.addWidget(self.unit_spin)
        controls.addStretch(1)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(170)
        self.plots: dict[str, pg.PlotItem] = {}
        specs = (("c", "c⟨t⟩ of the unit", "c"), ("a", "a⟨t⟩ of the unit", "a"),
                 ("p", "p(correct output)", "p"),
                 ("div", "divergence per step", "‖Δ‖"))
        # Placed by _arrange: one row of four in a wide, short dock, one
        # column in a narrow one, 2×2 otherwise.
        self._columns = 0
        for k, (name, title, ylabel) in enumerate(specs):
            plot = new_plot(title)
            plot.setLabel("left", ylabel)
            plot.setMouseEnabled(x=True, y=False)
            plot.showGrid(x=False, y=True, alpha=0.2)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(48)
            plot.setLabel("bottom", "t (step)")
            if k:
                plot.setXLink(self.plots["c"])
            self.plots[name] = plot
        self.plots["p"].setYRange(0, 1, padding=0.05)
        # A probability: ticks at 0, ½ and 1 (the automatic ones leave out both ends).
        self.plots["p"].getAxis("left").setTicks([[(0.0, "0"), (0.5, "0.5"), (1.0, "1")]])
        self._arrange(2)
        self.cursors = []
        for plot in self.plots.values():
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1.5))
            cursor.setZValue(10)
            cursor.setVisible(False)
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        self.view.scene().sigMouseClicked.connect(self._on_click)
        self.curves: dict[str, pg.PlotDataItem] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(2)
        # Heading and controls side by side when wide, stacked when narrow.
        self.top = QBoxLayout(QBoxLayout.LeftToRight)
        self.top.addWidget(self.heading, 1)
        self.top.addWidget(self.controls, 0, Qt.AlignTop)
        layout.addLayout(self.top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty, 1)
        self.set_dark(False)
        self._clear()

    # --- public API ---------------------------------------------------------------------

    def set_traces(self, intact, intervened, targets=None, layer: int | None = None) -> None:
        """Show two runs of the same model on the same inputs.

        Parameters
        ----------
        intact, intervened : Trace
        targets : array_like of int, optional
            Correct output per step (negative: not scored). Without them
            the intact run's own prediction is used, so "correct" then means
            "what the intact cell said".
        layer : int, optional
            Layer whose units are drawn (keeps the current one when None).
        """
        self.intact, self.intervened = intact, intervened
        if intact is None or intervened is None:
            self.comparison = None
            self._clear()
            return
        self.targets_are_intact = targets is None and intact.y_hat is not None
        if self.targets_are_intact:
            targets = np.asarray(intact.y_hat).argmax(axis=1)
        self.targets = None if targets is None else np.asarray(targets)
        self.comparison = compare(intact, intervened, self.targets)
        n_layers = len(intact.layers)
        self.layer_box.blockSignals(True)
        if self.layer_box.count() != n_layers:
            self.layer_box.clear()
            self.layer_box.addItems([f"layer {k}" for k in range(n_layers)])
        if layer is not None:
            self.layer = int(layer)
        self.layer = min(self.layer, n_layers - 1)
        self.layer_box.setCurrentIndex(self.layer)
        self.layer_box.blockSignals(False)
        self._set_unit_range()
        if self.unit >= self._hidden_width() or not self._unit_chosen:
            self.unit = self.most_divergent_unit()
        self._sync_unit_spin()
        self._redraw()

    def set_unit(self, unit: int, layer: int | None = None) -> None:
        """Draw c and a of ``unit`` (of ``layer``, if given)."""
        if layer is not None and self.intact is not None and 0 <= layer < len(self.intact.layers):
            self.layer = int(layer)
            self.layer_box.blockSignals(True)
            self.layer_box.setCurrentIndex(self.layer)
            self.layer_box.blockSignals(False)
            self._set_unit_range()
        self.unit = int(unit)
        self._unit_chosen = True
        self._sync_unit_spin()
        self._redraw()

    def set_step(self, t: int) -> None:
        """Move the time cursor to step ``t``."""
        for cursor in self.cursors:
            cursor.setValue(t)
            cursor.setVisible(self.comparison is not None)

    def set_dark(self, dark: bool) -> None:
        """Follow the light or dark theme (plots, curves and heading)."""
        self._dark = bool(dark)
        style_plots(self.view, self.plots.values(), self._dark)
        if self.comparison is not None:
            self._redraw()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        width = self.width()
        narrow = width < NARROW
        self.top.setDirection(QBoxLayout.TopToBottom if narrow else QBoxLayout.LeftToRight)
        height = max(1, self.view.height() if self.view.isVisible() else self.height())
        if narrow:
            columns = 1
        elif width > 3.2 * height:
            columns = 4
        else:
            columns = 2
        self._arrange(columns)

    def _arrange(self, columns: int) -> None:
        """Lay the four plots out in ``columns`` columns (4, 2 or 1)."""
        if columns == self._columns:
            return
        layout = self.view.ci
        for plot in self.plots.values():
            if plot in layout.items:
                layout.removeItem(plot)
        for k, plot in enumerate(self.plots.values()):
            layout.addItem(plot, row=k // columns, col=k % columns)
            # In one column the plots share the bottom one's time label.
            plot.getAxis("bottom").showLabel(columns > 1 or k == len(self.plots) - 1)
        self._columns = columns

    def sizeHint(self) -> QSize:
        # Docked under the diagram it should take a strip, not the window.
        return QSize(900, 300)

    def most_divergent_unit(self) -> int:
        """The unit of the current layer whose c differs most between the runs."""
        if self.intact is None:
            return 0
        diff = np.abs(self._states(self.intact, "c") - self._states(self.intervened, "c")).max(axis=0)
        return int(diff.argmax())

    # --- internals ----------------------------------------------------------------------

    def _states(self, trace, name):
        return np.concatenate([getattr(d, name) for d in trace.layers[self.layer]], axis=1)

    def _hidden_width(self) -> int:
        return sum(d.hidden_size for d in self.intact.layers[self.layer])

    def _set_unit_range(self) -> None:
        self.unit_spin.blockSignals(True)
        self.unit_spin.setRange(0, max(0, self._hidden_width() - 1))
        self.unit_spin.blockSignals(False)

    def _sync_unit_spin(self) -> None:
        self.unit_spin.blockSignals(True)
        self.unit_spin.setValue(self.unit)
        self.unit_spin.blockSignals(False)

    def _on_layer_box(self, index: int) -> None:
        if index < 0 or self.intact is None:
            return
        self.layer = index
        self._set_unit_range()
        self.unit = self.most_divergent_unit()
        self._sync_unit_spin()
        self._redraw()

    def _on_unit_spin(self, value: int) -> None:
        self.unit = value
        self._unit_chosen = True
        self._redraw()

    def _remove_curves(self) -> None:
        for plot in self.plots.values():
            for item in list(plot.listDataItems()):
                plot.removeItem(item)
        self.curves = {}

    def _show_plots(self, shown: bool) -> None:
        """The plots and controls, or the message saying what to do to fill them."""
        for widget in (self.heading, self.controls, self.view):
            widget.setVisible(shown)
        self.empty.setVisible(not shown)

    def _clear(self) -> None:
        self._remove_curves()
        self.heading.setText("")
        self._show_plots(False)

    def _plot(self, name: str, key: str, x, y, colour: str, label: str, dashed=False, symbol=None):
        pen = pg.mkPen(colour, width=1.6, style=Qt.DashLine if dashed else Qt.SolidLine)
        kwargs = dict(pen=pen, name=label, connect="finite")
        if symbol:
            kwargs.update(symbol=symbol, symbolSize=5, symbolBrush=colour, symbolPen=None)
        self.curves[key] = self.plots[name].plot(x, y, **kwargs)

    def _redraw(self) -> None:
        if self.comparison is None:
            return
        self._remove_curves()
        self._show_plots(True)
        colours = run_colours(self._dark)
        cmp = self.comparison
        T = cmp.length
        t = np.arange(T)
        u = self.unit
        for name in ("c", "a"):
            self._plot(name, f"{name}_intact", t, self._states(self.intact, name)[:, u],
                       colours["intact"], "intact")
            self._plot(name, f"{name}_intervened", t, self._states(self.intervened, name)[:, u],
                       colours["intervened"], "intervened", dashed=True)
        where = f"layer {self.layer}, " if len(self.intact.layers) > 1 else ""
        self.plots["c"].setTitle(f"c⟨t⟩ of {where}unit {u}")
        self.plots["a"].setTitle(f"a⟨t⟩ of {where}unit {u}")
        if cmp.intact is not None:
            # Only scored steps have a target; sparse ones read better as dots.
            sparse = cmp.intact.n_scored < 0.5 * T
            symbol = "o" if sparse else None
            for key, run_score, colour, label, dashed in (
                    ("p_intact", cmp.intact, colours["intact"], "intact", False),
                    ("p_intervened", cmp.intervened, colours["intervened"], "intervened", True)):
                p = run_score.p_correct
                if sparse:
                    keep = np.isfinite(p)
                    self._plot("p", key, t[keep], p[keep], colour, label, dashed, symbol)
                else:
                    self._plot("p", key, t, p, colour, label, dashed)
            self.plots["p"].setTitle("p(intact run's prediction)" if self.targets_are_intact
                                     else "p(correct output)")
        else:
            self.plots["p"].setTitle("p(correct): the model has no softmax head")
        self._plot("div", "div_c", t, cmp.div_c, colours["div_c"], "‖c_int − c_abl‖")
        self._plot("div", "div_a", t, cmp.div_a, colours["div_a"], "‖a_int − a_abl‖", dashed=True)
        # The title is the key: a legend box would sit on the curves.
        self.plots["div"].setTitle(
            f"divergence: <span style='color:{colours['div_c']}'>━ ‖Δc‖</span> "
            f"<span style='color:{colours['div_a']}'>╍ ‖Δa‖</span>")
        top = float(max(cmp.div_c.max(), cmp.div_a.max(), 1e-6))
        self.plots["div"].setYRange(0, top * 1.05, padding=0)
        self.plots["c"].setXRange(-0.5, max(1, T - 1) + 0.5, padding=0)
        self.heading.setText(self._heading_html())

    def _heading_html(self) -> str:
        cmp = self.comparison
        what = ", ".join(html.escape(s) for s in cmp.interventions) or "nothing"
        first = cmp.first_divergence()
        drift = ("the runs never diverge" if first is None else
                 f"c diverges from step {first}; largest ‖Δc‖ {cmp.div_c.max():.3g} at step "
                 f"{int(cmp.div_c.argmax())}")
        colours = run_colours(self._dark)
        intact, intervened = colours["intact"], colours["intervened"]
        key = (f"<span style='color:{intact}'>━━ intact</span> &nbsp; "
               f"<span style='color:{intervened}'>╍╍ intervened</span>")
        lines = [f"<b>Intervention:</b> {what} &nbsp;&nbsp; {key}"]
        if cmp.intact is not None:
            what_right = "agreement with the intact run" if self.targets_are_intact else "accuracy"
            lines.append(
                f"<b>{what_right}</b>: <span style='color:{intact}'>intact "
                f"{cmp.intact.accuracy:.1%}</span> → <span style='color:{intervened}'>intervened "
                f"{cmp.intervened.accuracy:.1%}</span> &nbsp;&nbsp; <b>loss</b>: "
                f"<span style='color:{intact}'>{cmp.intact.loss:.4f}</span> → "
                f"<span style='color:{intervened}'>{cmp.intervened.loss:.4f}</span> "
                f"&nbsp; ({cmp.intact.n_scored} scored steps)"
            )
        lines.append(drift)
        return "<br>".join(lines)

    def _on_click(self, event) -> None:
        if self.comparison is None:
            return
        pos = event.scenePos()
        for plot in self.plots.values():
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                # Step t owns t − ½ … t + ½ (round() would send 2.5 to 2 and 3.5 to 4).
                step = int(np.floor(x + 0.5))
                self.stepClicked.emit(int(np.clip(step, 0, self.comparison.length - 1)))
                event.accept()
                return
