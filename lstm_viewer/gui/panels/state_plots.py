"""c⟨t⟩ and a⟨t⟩ over the whole sequence, with a cursor on the current step.

Two heatmaps (units × time) and a line plot of the selected unit (or of the
busiest units when none is selected). The data come from the overview the
worker prepares off the GUI thread, so a 100,000-step trace is never copied
here. Clicking any plot moves to the clicked time.

Every plot puts step t at x = t: heatmap column t is centred on t (it spans
t − ½ … t + ½), unit u's row is centred on u, and ticks are whole numbers, so
they sit on column centres. The heatmaps use the diagram's diverging colour
map (:mod:`lstm_viewer.gui.colormaps`, Tol BuRd, with its dark-theme variant)
over a range fixed for the whole trace, shown on a colour bar beside each.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import colormaps
from ..diagram.ranges import robust_half_width
from ..theme import CURSOR_COLOUR, plot_colours, style_plots
from ..viewer_state import ViewerState

def c_colour_limit(c) -> float:
    """Half-width L of the c heatmap's symmetric colour range −L…L.

    The diagram's own rule (:func:`~lstm_viewer.gui.diagram.ranges.robust_half_width`):
    a high percentile of |c| over the whole trace, rounded up to a round
    number and at least 1, so a few drifting units do not wash out the others
    and the heatmap and the diagram give a value the same colour.
    """
    return robust_half_width(np.asarray(c, float))


def colour_map(dark: bool) -> pg.ColorMap:
    """The diagram's diverging map (Tol BuRd) as a pyqtgraph colour map."""
    table = colormaps.lut("diverging", dark)
    return pg.ColorMap(np.linspace(0.0, 1.0, len(table)), np.array(table))


class IntegerAxis(pg.AxisItem):
    """An axis whose ticks are whole numbers only (steps and units).

    Whole numbers are the centres of heatmap columns and rows; a tick at
    2.5 would name the edge between two steps, which is no step at all.
    """

    def tickSpacing(self, minVal, maxVal, size):
        levels = [(spacing, offset) for spacing, offset in super().tickSpacing(minVal, maxVal, size)
                  if spacing >= 1]
        return levels or [(1.0, 0.0)]


def new_plot(title: str, integer_left: bool = False) -> pg.PlotItem:
    """A plot over time: whole-number step ticks (and unit ticks), no context menu.

    The custom axes are parented to the plot, so the plot owns them: added
    only to its layout they would also be owned by their Python wrappers, and
    a plot deleted with its children would leave wrappers that delete them a
    second time. The menu is refused when the plot is made, since
    ``setMenuEnabled(False)`` afterwards leaves the view box's menu as an
    orphan top-level widget.
    """
    axes = {"bottom": IntegerAxis("bottom")}
    if integer_left:
        axes["left"] = IntegerAxis("left")
    plot = pg.PlotItem(title=title, axisItems=axes, enableMenu=False)
    for axis in axes.values():
        axis.setParentItem(plot)
    return plot


#: Width in pixels of a heatmap's colour bar with its scale, and of every left axis.
_BAR_WIDTH = 46
_LEFT_AXIS_WIDTH = 50


def _beside(plot: pg.PlotItem, item) -> None:
    """Put ``item`` to the right of ``plot``'s view box, in the plot's own grid."""
    # Parented first, so the plot owns it: the layout alone would leave it owned
    # by its Python wrapper as well, and a plot deleted with its children would
    # delete it twice.
    item.setParentItem(plot)
    plot.layout.addItem(item, 2, 5)
    plot.layout.setColumnFixedWidth(4, 4)


class ColourBar(pg.PlotItem):
    """A vertical colour scale: the map's gradient beside an axis of the values it stands for.

    Drawn as a narrow plot holding a one-column image, so its scale is an
    ordinary axis (ticks at round values) and nothing can be dragged.
    """

    def __init__(self, width: int):
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.showAxis("right")
        #: The value axis beside the gradient.
        self.axis = self.getAxis("right")
        self.axis.setWidth(width - 12)
        self.setFixedWidth(width)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setImage(np.linspace(-1.0, 1.0, colormaps.LUT_SIZE).reshape(-1, 1),
                            levels=(-1.0, 1.0), autoLevels=False)
        self.addItem(self.image)
        self.vb.setBorder(None)
        self.values = (-1.0, 1.0)
        self.set_limit(1.0)

    def set_colour_map(self, cmap: pg.ColorMap) -> None:
        self.image.setColorMap(cmap)

    def set_limit(self, limit: float) -> None:
        """Show the range −limit…limit."""
        self.values = (-float(limit), float(limit))
        self.image.setRect(QRectF(0.0, -limit, 1.0, 2.0 * limit))
        self.setRange(xRange=(0.0, 1.0), yRange=self.values, padding=0)


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
        self.plots: dict[str, pg.PlotItem] = {}
        self.images: dict[str, pg.ImageItem] = {}
        #: Colour bars of the heatmaps: the range each colour stands for.
        self.colour_bars: dict[str, ColourBar] = {}
        #: Half-width L of each heatmap's colour range −L…L for the current trace.
        self.limits: dict[str, float] = {"c": 1.0, "a": 1.0}
        self.cursors: list[pg.InfiniteLine] = []
        self.unit_marks: list[pg.InfiniteLine] = []
        for name in ("c", "a"):
            plot = new_plot(f"{name}⟨t⟩  (units × t)", integer_left=True)
            plot.setLabel("bottom", "t")
            plot.setLabel("left", "unit")
            plot.setMouseEnabled(x=True, y=False)
            for axis in ("left", "bottom"):
                # Ticks point outwards: inside they would cover the cells.
                plot.getAxis(axis).setStyle(tickLength=5)
            image = pg.ImageItem(axisOrder="row-major")
            plot.addItem(image)
            # The colour bar sits inside the plot's own grid, right of the
            # heatmap, so it is exactly as tall as the heatmap.
            bar = ColourBar(_BAR_WIDTH)
            _beside(plot, bar)
            self.plots[name] = plot
            self.images[name] = image
            self.colour_bars[name] = bar
        lines = new_plot("selected units")
        lines.setLabel("bottom", "t")
        lines.setMouseEnabled(x=True, y=False)
        # An empty column as wide as the colour bars keeps the three time axes aligned.
        # Kept referenced: the layout does not own a Python-made item.
        self._spacer = pg.GraphicsWidget()
        self._spacer.setFixedWidth(_BAR_WIDTH)
        _beside(lines, self._spacer)
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
            # One width for every left axis: the plots' time axes line up.
            plot.getAxis("left").setWidth(_LEFT_AXIS_WIDTH)
            cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=2))
            cursor.setZValue(10)
            plot.addItem(cursor, ignoreBounds=True)
            self.cursors.append(cursor)
        for name in ("c", "a"):
            mark = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(CURSOR_COLOUR, width=1, style=Qt.DashLine))
            mark.setVisible(False)
            self.plots[name].addItem(mark, ignoreBounds=True)
            self.unit_marks.append(mark)
        # Three curves made once and refilled: creating plot items costs ~10 ms
        # each. Width 1 without antialiasing: the curves are redrawn whenever
        # the cursor moves, and wide antialiased paths cost ~7 ms each.
        self._curves = [lines.plot(pen=pg.mkPen("#888888", width=1), antialias=False) for _ in range(3)]
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
        if hasattr(state.events, "colour_mode"):
            state.events.colour_mode.connect(self._on_colour_mode)
        #: c's half-width kept while the colour mode is "locked" (as the diagram keeps its own).
        self._locked_limit: float | None = None
        self._on_dark(None)
        self.redraw()

    # -- layout ------------------------------------------------------------
    def _arrange(self, vertical: bool) -> None:
        """Stack the three plots in a column (tall dock) or a row (wide, short dock)."""
        if vertical == self._vertical:
            return
        self._vertical = vertical
        layout = self.view.ci
        for plot in self.plots.values():
            if plot in layout.items:
                layout.removeItem(plot)
        for k, name in enumerate(("c", "a", "lines")):
            layout.addItem(self.plots[name], row=k if vertical else 0, col=0 if vertical else k)
            # In a column the three plots share the bottom one's "t" label.
            self.plots[name].getAxis("bottom").showLabel(not vertical or name == "lines")

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
            plot = self.plots[name]
            if data is None or T == 0 or data[name].size == 0:
                image.clear()
                plot.setLimits(xMin=None, xMax=None, yMin=None, yMax=None)
                plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0)
                continue
            values = data[name]
            # a is in −1…1 by construction; c is unbounded, so its range is
            # symmetric (0 stays the middle colour) and fixed for the trace.
            limit = 1.0 if name == "a" else self._c_limit(data)
            self.limits[name] = limit
            image.setImage(values, levels=(-limit, limit), autoLevels=False)
            self.colour_bars[name].set_limit(limit)
            # Column k of the overview is step k·stride: it spans the stride
            # steps it stands for, so with stride 1 column t is centred on t.
            stride = int(self.state.overview.get("stride", 1))
            H = values.shape[0]
            width = values.shape[1] * stride
            image.setRect(QRectF(-0.5, -0.5, width, H))
            plot.setLimits(xMin=-0.5, xMax=width - 0.5, yMin=-0.5, yMax=H - 0.5)
            plot.setRange(xRange=(-0.5, width - 0.5), yRange=(-0.5, H - 0.5), padding=0)
        self._draw_lines()
        self.plots["lines"].enableAutoRange(axis=pg.ViewBox.YAxis)
        self._on_step(None)
        self._on_unit(None)

    def _c_limit(self, data: dict) -> float:
        """The c range of this trace, or the one kept since the colours were locked.

        The worker puts the diagram's ranges, computed over every step, in the
        overview; without them the (possibly subsampled) overview is used. A
        heatmap shows the whole trace, so the diagram's per-step mode uses the
        trace's range here too.
        """
        ranges = data.get("ranges")
        limit = float(ranges[0]) if ranges else c_colour_limit(data["c"])
        if getattr(self.state, "colour_mode", "trace") == "locked":
            if self._locked_limit is None:
                self._locked_limit = limit
            return self._locked_limit
        return limit

    def _on_colour_mode(self, event) -> None:
        # Locking keeps the range of the trace on screen now.
        self._locked_limit = self.limits["c"] if self.state.colour_mode == "locked" else None
        self._pending.start()

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
        # Step t at x = t, as in the heatmaps (a point per step, not per interval).
        times = None if data is None else self.state.overview["times"]
        colours = plot_colours(self.state.dark)["lines"]
        for k, curve in enumerate(self._curves):
            if k < len(series):
                curve.setPen(pg.mkPen(colours[k], width=1))
                curve.setData(times, series[k][1])
                curve.show()
            else:
                curve.setData([], [])
                curve.hide()
        # The title doubles as the legend: a legend box would cover the curves.
        names = "  ".join(f"<span style='color:{colours[k]}'>{label}</span>"
                          for k, (label, _) in enumerate(series))
        plot.setTitle(names or "selected units")
        self.view.setToolTip("Lines: c and a of the selected unit, or c of the three units whose c "
                             "varies most when no unit is selected. Click a plot to move to that step.")

    # -- events ------------------------------------------------------------
    def _on_step(self, event) -> None:
        for cursor in self.cursors:
            cursor.setValue(self.state.t)

    def _on_unit(self, event) -> None:
        unit = self.state.unit
        for mark in self.unit_marks:
            mark.setVisible(unit is not None)
            if unit is not None:
                mark.setValue(unit)
        if event is not None:
            self._draw_lines()

    def _on_dark(self, event) -> None:
        dark = bool(self.state.dark)
        style_plots(self.view, [*self.plots.values(), *self.colour_bars.values()], dark)
        cmap = colour_map(dark)
        for name, image in self.images.items():
            image.setColorMap(cmap)
            bar = self.colour_bars[name]
            bar.set_colour_map(cmap)
        self._draw_lines()

    def _on_click(self, event) -> None:
        if self.state.length == 0:
            return
        pos = event.scenePos()
        for plot in self.plots.values():
            if plot.vb.sceneBoundingRect().contains(pos):
                x = plot.vb.mapSceneToView(pos).x()
                # Step t owns t − ½ … t + ½: the nearest step, not the one to the left.
                self.state.set_step(int(math.floor(x + 0.5)))
                event.accept()
                return

    def time_to_scene(self, name: str, t: float, y: float = 0.0) -> QPointF:
        """Scene position of time ``t`` (and ``y``) in plot ``name``."""
        return self.plots[name].vb.mapViewToScene(QPointF(t, y))
