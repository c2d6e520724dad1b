"""Every arrow of the cell diagram, drawn by one cached graphics item."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPen, QPolygonF

from .style import SCENE_W
from .pulses import Pulses
from .vector_strip import _font, theme_colors


class DiagramEdges(pg.GraphicsObject):
    """Every arrow of the diagram in one item, plus the travelling pulses.

    The arrows are built into cached paths once per layout; a frame only
    moves the pulse dots (``set_progress``), which live in a child
    :class:`~.pulses.Pulses` item so the cached arrows are not repainted.

    Notes
    -----
    An edge is ``(points, stage, kind)``: a polyline in scene units ending
    in an arrowhead, the animation stage that carries a pulse along it, and
    its style, one of ``"main"`` (plain line), ``"loop"`` (the recurrent
    c and a loops) or ``"peep"`` (dashed peephole buses).
    """

    def __init__(self):
        super().__init__()
        self._edges: list[tuple[list[QPointF], int, str]] = []
        self._labels: list[tuple[QRectF, str, int]] = []
        self._paths: dict[str, QPainterPath] = {}
        self._heads: dict[str, list[QPolygonF]] = {}
        self._lengths: list[np.ndarray] = []
        self._pulses: list[QPointF] = []
        self._colors = theme_colors(False)
        self._stroke = 1.0
        self._label_font = _font(16)
        self._bounds = QRectF(0, 0, SCENE_W, 900)
        # The arrows are static (and cached); only the small pulse item repaints per frame.
        self._pulse_item = Pulses(self)
        self.setCacheMode(self.CacheMode.DeviceCoordinateCache)

    def set_style(self, font_scale: float, stroke: float) -> None:
        """Font and stroke scale (presentation mode enlarges both)."""
        self._label_font = _font(16 * font_scale)
        self._stroke = stroke
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._colors = theme_colors(dark)
        self._pulse_item.set_dark(dark)
        self.update()

    def set_edges(self, edges, labels, bounds: QRectF) -> None:
        """``edges``: [(points, stage, kind)], kind in main/loop/peep; ``labels``: [(rect, text, align)]."""
        self.prepareGeometryChange()
        self._edges = edges
        self._labels = labels
        self._bounds = bounds
        self._paths = {k: QPainterPath() for k in ("main", "loop", "peep")}
        self._heads = {k: [] for k in ("main", "loop", "peep")}
        self._lengths = []
        for pts, _stage, kind in edges:
            path = self._paths[kind]
            path.moveTo(pts[0])
            for q in pts[1:]:
                path.lineTo(q)
            self._heads[kind].append(self._arrowhead(pts[-2], pts[-1]))
            seg = [np.hypot(b.x() - a.x(), b.y() - a.y()) for a, b in zip(pts[:-1], pts[1:], strict=True)]
            self._lengths.append(np.concatenate([[0.0], np.cumsum(seg)]))
        self._pulses = []
        self.update()

    @staticmethod
    def _arrowhead(a: QPointF, b: QPointF) -> QPolygonF:
        d = np.array([b.x() - a.x(), b.y() - a.y()])
        d /= max(np.hypot(*d), 1e-9)
        n = np.array([-d[1], d[0]])
        tip = np.array([b.x(), b.y()])
        base = tip - 9.0 * d
        left, right = base + 4.2 * n, base - 4.2 * n
        return QPolygonF([QPointF(*tip), QPointF(*left), QPointF(*right)])

    def set_progress(self, local: np.ndarray | None) -> None:
        """Place a pulse on each edge whose stage is blending (local progress in (0, 1))."""
        self._pulses.clear()
        if local is not None:
            for (pts, stage, _kind), cum in zip(self._edges, self._lengths, strict=True):
                q = local[stage]
                if 0.0 < q < 1.0:
                    self._pulses.append(self._point_at(pts, cum, q))
        self._pulse_item.set_points(self._pulses)

    @staticmethod
    def _point_at(pts, cum: np.ndarray, q: float) -> QPointF:
        d = q * cum[-1]
        i = int(min(np.searchsorted(cum, d, side="right") - 1, len(pts) - 2))
        span = cum[i + 1] - cum[i]
        f = 0.0 if span <= 0 else (d - cum[i]) / span
        a, b = pts[i], pts[i + 1]
        return QPointF(a.x() + f * (b.x() - a.x()), a.y() + f * (b.y() - a.y()))

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, p, *args) -> None:
        c = self._colors
        k = self._stroke
        styles = {"main": QPen(c["line"], 1.6 * k), "loop": QPen(c["accent"], 2.0 * k),
                  "peep": QPen(c["accent"], 1.4 * k, Qt.DashLine)}
        for kind, pen in styles.items():
            p.setPen(pen)
            p.setBrush(Qt.NoBrush)
            p.drawPath(self._paths.get(kind, QPainterPath()))
            p.setPen(Qt.NoPen)
            p.setBrush(pen.color())
            for head in self._heads.get(kind, []):
                p.drawPolygon(head)
        p.setFont(self._label_font)
        p.setPen(c["accent"])
        for rect, text, align in self._labels:
            p.drawText(rect, align, text)
