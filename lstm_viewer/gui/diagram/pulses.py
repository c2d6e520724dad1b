"""The travelling dots that show a step moving along the diagram's arrows."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QPen

from .vector_strip import theme_colors


class Pulses(pg.GraphicsObject):
    """The travelling dots of an animation.

    Its bounds hug the dots, so a frame repaints only the neighbourhood of
    the pulses.

    Parameters
    ----------
    parent : QGraphicsItem
        The item whose coordinates the dots are given in (the
        :class:`~.diagram_edges.DiagramEdges` that owns them).

    Attributes
    ----------
    R : float
        Radius of a dot, scene units.
    """

    R = 5.5

    def __init__(self, parent):
        super().__init__(parent)
        self._points: list[QPointF] = []
        self._rect = QRectF()
        self._edge = theme_colors(False)["bg"]
        self._fill = QColor("#E69F00")
        self.setZValue(5)

    def set_dark(self, dark: bool) -> None:
        self._edge = theme_colors(dark)["bg"]
        self.update()

    def set_points(self, points: list[QPointF]) -> None:
        if not points and not self._points:
            return
        self.prepareGeometryChange()
        self._points = list(points)
        if points:
            xs = [q.x() for q in points]
            ys = [q.y() for q in points]
            r = self.R + 2
            self._rect = QRectF(min(xs) - r, min(ys) - r, max(xs) - min(xs) + 2 * r,
                                max(ys) - min(ys) + 2 * r)
        else:
            self._rect = QRectF()
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, p, *args) -> None:
        p.setPen(QPen(self._edge, 1.5))
        p.setBrush(self._fill)
        for q in self._points:
            p.drawEllipse(q, self.R, self.R)
