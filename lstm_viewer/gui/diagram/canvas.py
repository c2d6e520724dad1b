"""The widget that shows a :class:`~.scene.DiagramScene`: fit, zoom and pan.

The scene is vector graphics in scene units; the canvas maps it onto the
widget through a pyqtgraph ``ViewBox`` with a locked aspect ratio, so text
and strokes scale with the picture. Until the user zooms or pans, the canvas
re-fits the whole cell whenever the widget or the scene changes size;
:meth:`DiagramCanvas.fit` (Ctrl+0) returns to that.

Ctrl+wheel zooms about the pointer, the wheel alone scrolls, a drag pans;
clicks and hovers reach the scene's items as before.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .scene import DiagramScene

#: Zoom factor of one Ctrl+= / Ctrl+− step.
ZOOM_STEP = 1.25
#: Zoom limits relative to the fitted view.
MIN_ZOOM, MAX_ZOOM = 0.5, 12.0


class _ZoomViewBox(pg.ViewBox):
    """A view box that zooms only with Ctrl held (the wheel alone scrolls)."""

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & Qt.ControlModifier:
            super().wheelEvent(ev, axis)
            return
        # Scroll: one notch moves a tenth of the visible height.
        delta = ev.delta() if hasattr(ev, "delta") else ev.angleDelta().y()
        rect = self.viewRect()
        self.translateBy(y=-delta / 120.0 * rect.height() / 10.0)
        self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
        ev.accept()


class DiagramCanvas(QWidget):
    """Shows the cell diagram and lets the user zoom and pan it.

    The scene's API (``show_step``, ``set_structure`` …) is reached through
    :attr:`scene`; the most used calls are repeated here so the window reads
    as ``window.diagram.show_step(...)``.

    Signals
    -------
    zoomChanged(float)
        The zoom relative to the fitted view (1.0: fitted).
    """

    zoomChanged = Signal(float)

    def __init__(self, scene: DiagramScene | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.scene = scene or DiagramScene()
        self._view = pg.GraphicsView(background="w")
        self._vb = _ZoomViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self._vb.disableAutoRange()
        self._view.setCentralItem(self._vb)
        self._vb.addItem(self.scene)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._view)
        self._fitted = True
        self._fitting = False
        self._vb.sigRangeChangedManually.connect(self._on_manual_range)
        self.scene.boundsChanged.connect(self._on_bounds)
        # Scene signals, repeated for the window.
        self.nodeClicked = self.scene.nodeClicked
        self.nodeHovered = self.scene.nodeHovered
        self.unitClicked = self.scene.unitClicked
        self.animationFinished = self.scene.animationFinished
        self.NODE_NAMES = self.scene.NODE_NAMES
        self.set_dark(False)
        self.fit()

    # ------------------------------------------------------------ zoom and pan
    def fit(self) -> None:
        """Show the whole cell, as large as the widget allows (Ctrl+0)."""
        self._fitted = True
        self._fitting = True
        try:
            self._vb.setRange(self.scene.boundingRect(), padding=0.01)
        finally:
            self._fitting = False
        self.zoomChanged.emit(1.0)

    def zoom_by(self, factor: float, center: QPointF | None = None) -> None:
        """Zoom in (factor > 1) or out about ``center`` (scene units; default: the view's centre)."""
        current = self.zoom()
        factor = min(max(factor, MIN_ZOOM / current), MAX_ZOOM / current)
        self._vb.scaleBy(s=(1.0 / factor, 1.0 / factor), center=center)
        self._fitted = False
        self.zoomChanged.emit(self.zoom())

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1.0 / ZOOM_STEP)

    def zoom(self) -> float:
        """Magnification relative to the fitted view (1.0 when fitted)."""
        if self._fitted:
            return 1.0
        fitted = self._fit_scale()
        return self.scale() / fitted if fitted > 0 else 1.0

    def is_fitted(self) -> bool:
        return self._fitted

    def scale(self) -> float:
        """Screen pixels per scene unit (device-independent pixels)."""
        self._vb.prepareForPaint()
        rect = self._vb.viewRect()
        width = self._vb.width()
        return width / rect.width() if rect.width() > 0 else 1.0

    def visible_scene_rect(self) -> QRectF:
        """The part of the scene in view (scene units)."""
        self._vb.prepareForPaint()
        return self._vb.viewRect()

    def _fit_scale(self) -> float:
        bounds = self.scene.boundingRect()
        w, h = self._vb.width(), self._vb.height()
        if bounds.width() <= 0 or bounds.height() <= 0 or w <= 0 or h <= 0:
            return 1.0
        return min(w / (bounds.width() * 1.02), h / (bounds.height() * 1.02))

    def _on_manual_range(self, *_args) -> None:
        if not self._fitting:
            self._fitted = False
            self.zoomChanged.emit(self.zoom())

    def _on_bounds(self) -> None:
        if self._fitted:
            self.fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    # -------------------------------------------------------------- theme
    def set_dark(self, dark: bool) -> None:
        """Switch the scene and the canvas background between the themes."""
        self.scene.set_dark(dark)
        self._view.setBackground(self.scene.background())

    # ------------------------------------------------------ pixels (tests, overlays)
    def node_view_pos(self, name: str, unit: int | None = None):
        """Widget-viewport pixel position of node ``name`` (or of one unit's cell)."""
        item = self.scene.node_item(name)
        self._vb.prepareForPaint()     # the view box defers its transform until the next paint
        if unit is not None:
            local = item.cell_center(unit)
            if local is None:
                raise ValueError(f"unit {unit} is not shown in {name}")
        else:
            rect = item.boundingRect()
            local = QPointF(rect.center().x(), rect.top() + (30 if name != "y_hat" else 40))
        return self._view.mapFromScene(item.mapToScene(local))

    def operator_view_pos(self, key: str):
        """Viewport pixel position of an operator node ("forget", "plus", "out" ...)."""
        self._vb.prepareForPaint()
        op = self.scene.operator_item(key)
        return self._view.mapFromScene(op.mapToScene(QPointF(0, 0)))

    def scene_rect_in_view(self, rect: QRectF) -> QRectF:
        """A rectangle in diagram-scene units mapped to viewport pixels."""
        self._vb.prepareForPaint()
        return self._view.mapFromScene(self.scene.mapToScene(rect)).boundingRect().toRectF()

    @property
    def viewport(self) -> QWidget:
        """The widget that receives mouse events (for tests)."""
        return self._view.viewport()

    def grab_image(self) -> QImage:
        """The diagram as it is drawn now."""
        return self.grab().toImage()

    # ---------------------------------------------------- the scene's API, repeated
    def set_structure(self, **kwargs) -> None:
        self.scene.set_structure(**kwargs)

    def show_step(self, values, **kwargs) -> None:
        self.scene.show_step(values, **kwargs)

    def node_values(self, name: str):
        return self.scene.node_values(name)

    def displayed_values(self, name: str):
        return self.scene.displayed_values(name)

    def shown_units(self, name: str = "a"):
        return self.scene.shown_units(name)

    def node_summary(self, name: str):
        return self.scene.node_summary(name)

    def node_marker(self, name: str):
        return self.scene.node_marker(name)

    def peephole_values(self, gate: str):
        return self.scene.peephole_values(gate)

    def top_tokens(self):
        return self.scene.top_tokens()

    def set_clamped(self, nodes) -> None:
        self.scene.set_clamped(nodes)

    def highlight_unit(self, unit) -> None:
        self.scene.highlight_unit(unit)

    def set_unit_selection(self, mode: str, units=None) -> None:
        self.scene.set_unit_selection(mode, units)

    def set_max_units(self, n: int) -> None:
        self.scene.set_max_units(n)

    def set_animation_duration(self, ms: int) -> None:
        self.scene.set_animation_duration(ms)

    @property
    def animation(self):
        return self.scene.animation


#: The name the first version of the app used for the diagram widget.
CellDiagram = DiagramCanvas
