"""c⟨t⟩ and a⟨t⟩ over the whole sequence, with a cursor on the current step.

Two heatmaps (units × time) and a line plot of the selected unit (or of the
busiest units when none is selected). The data come from the overview the
worker prepares off the GUI thread, so a 100,000-step trace is never copied
here. Clicking any plot moves to the clicked time.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..theme import style_plots
from ..viewer_state import ViewerState

_DIVERGING = "CET-D1"
_LINE_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")


class StatePlots(QWidget):
    """Heatmaps of c and a (units × time) and line plots of selected units.

    Parameters
    ----------
    state : ViewerState
        Reads ``overview``, ``t``, ``unit``, ``layer``; writes ``t`` on click.
    """

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("statePlots")
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(140)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        cmap = pg.colormap.get(_DIVERGING)
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.cursors: list[pg.InfiniteLine] = []
        self.unit_marks: list[pg.InfiniteLine] = []
        for name in ("c", "a"):
            plot = pg.PlotItem(title=f"{name}⟨t⟩  (units × t)")
            plot.setLabel("bottom", "t")
            plot.setLabel("left", "unit")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=True, y=False)
            image = pg.ImageItem(axisOrder="row-major")
            image.setColorMap(cmap)
            plot.addItem(image)
            self.plots[name] = plot
            self.images[name] = image
        lines = pg.PlotItem(title="selected units")
        lines.setLabel("bottom", "t")
        lines.setMenuEnabled(False)
        lines.setMouseEnabled(x=True, y=False)
        self.plots["lines"] = lines
        self.plots["a"].setXLink(self.plots["c"])
        lines.setXLink(self.plots["c"])
        for plot in self.plots.values():
            # Steps and unit numbers are integers: never "t (x0.001)". pyqtgraph
            # fixes the scale from the range current when the prefix is
            # switched off, so a range needing no prefix is set first.
            plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).enableAutoSIPrefix(False)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#ff9f1c", width=2))
            cursor.setZValue(10)
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        for name in ("c", "a"):
            mark = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen("#ff9f1c", width=1, style=Qt.DashLine))
            mark.setVisible(False)
            self.plots[name].addItem(mark, ignoreBounds=True)
            self.unit_marks.append(mark)
        # Three curves made once and refilled: creating plot items costs ~10 ms
        # each. Width 1 without antialiasing: the curves are redrawn whenever
        # the cursor moves, and wide antialiased paths cost ~7 ms each.
        self._curves = [lines.plot(pen=pg.mkPen(colour, width=1), antialias=False)
                        for colour in _LINE_COLOURS[:3]]
        self._vertical: bool | None = None
        self._arrange(vertical=True)
        self.view.scene().sigMouseClicked.connect(self._on_click)
        # A new trace is drawn on the next pass of the event loop, so the
        # diagram and the plots are painted in two short frames, not one long one.
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.setInterval(0)
        self._pending.timeout.connect(self.redraw)
        state.events.trace.connect(self._on_trace)
        state.events.layer.connect(self._on_trace)
        state.events.step.connect(self._on_step)
        state.events.unit.connect(self._on_unit)
        state.events.dark.connect(self._on_dark)
        self._on_dark(None)
        self.redraw()

    # -- layout ------------------------------------------------------------
    def _arrange(self, vertical: bool) -> None:
        """Stack the three plots in a column (side dock) or a row (bottom dock)."""
        if vertical == self._vertical:
            return
        self._vertical = vertical
        layout = self.view.ci
        for plot in self.plots.values():
            if plot in layout.items:
                layout.removeItem(plot)
        for k, name in enumerate(("c", "a", "lines")):
            layout.addItem(self.plots[name], row=k if vertical else 0, col=0 if vertical else k)

    def resizeEvent(self, event) -> None:
        size = event.size()
        self._arrange(vertical=size.height() > 0.6 * size.width())
        super().resizeEvent(event)

    # -- data --------------------------------------------------------------
    def _data(self) -> dict | None:
        ov = self.state.overview
        if ov is None:
            return None
        return ov.get((self.state.layer, self.state.direction))

    def _on_trace(self, event) -> None:
        self._pending.start()

    def redraw(self) -> None:
        """Draw the heatmaps and lines of the current trace and layer now."""
        self._pending.stop()
        data = self._data()
        T = self.state.length
        for name in ("c", "a"):
            image = self.images[name]
            if data is None or T == 0:
                image.clear()
                self.plots[name].setLimits(xMin=None, xMax=None, yMin=None, yMax=None)
                self.plots[name].setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
                continue
            values = data[name]
            # c is unbounded: scale it symmetrically so 0 stays the middle colour.
            # The 98th percentile, not the maximum, so that one drifting unit
            # does not wash out the others.
            limit = 1.0 if name == "a" else max(1.0, float(np.percentile(np.abs(values), 98)))
            image.setImage(values, levels=(-limit, limit), autoLevels=False)
            image.setRect(QRectF(0, 0, T, values.shape[0]))
            self.plots[name].setLimits(xMin=0, xMax=T, yMin=0, yMax=values.shape[0])
            self.plots[name].setRange(xRange=(0, T), yRange=(0, values.shape[0]), padding=0)
        self._draw_lines()
        self.plots["lines"].enableAutoRange(axis=pg.ViewBox.YAxis)
        self._on_step(None)
        self._on_unit(None)

    def _draw_lines(self) -> None:
        plot = self.plots["lines"]
        data = self._data()
        series = []
        if data is not None:
            unit = self.state.unit
            if unit is not None and unit < data["c"].shape[0]:
                series = [(f"c[{unit}]", data["c"][unit]), (f"a[{unit}]", data["a"][unit])]
            else:
                series = [(f"c[{u}]", data["c"][u]) for u in data["busiest"]]
        times = None if data is None else self.state.overview["times"] + 0.5
        for k, curve in enumerate(self._curves):
            if k < len(series):
                curve.setData(times, series[k][1])
                curve.show()
            else:
                curve.setData([], [])
                curve.hide()
        # The title doubles as the legend (a legend box would cover a narrow plot).
        names = "  ".join(f"<span style='color:{_LINE_COLOURS[k]}'>{label}</span>"
                          for k, (label, _) in enumerate(series))
        plot.setTitle(names or "selected units")
        self.view.setToolTip("Lines: c and a of the selected unit, or c of the three units whose c "
                             "varies most when no unit is selected. Click a plot to move to that step.")

    # -- events ------------------------------------------------------------
    def _on_step(self, event) -> None:
        x = self.state.t + 0.5
        for cursor in self.cursors:
            cursor.setValue(x)

    def _on_unit(self, event) -> None:
        unit = self.state.unit
        for mark in self.unit_marks:
            mark.setVisible(unit is not None)
            if unit is not None:
                mark.setValue(unit + 0.5)
        if event is not None:
            self._draw_lines()

    def _on_dark(self, event) -> None:
        style_plots(self.view, self.plots.values(), self.state.dark)
        self._draw_lines()

    def _on_click(self, event) -> None:
        if self.state.length == 0:
            return
        pos = event.scenePos()
        for plot in self.plots.values():
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                self.state.set_step(int(np.floor(x)))
                event.accept()
                return

    def time_to_scene(self, name: str, t: float, y: float = 0.5):
        """Scene position of time ``t`` in plot ``name`` (used by tests)."""
        from PySide6.QtCore import QPointF

        return self.plots[name].vb.mapViewToScene(QPointF(t, y))
