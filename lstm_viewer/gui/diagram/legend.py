"""The diagram's legend: colour bars for both maps with the value ranges in use."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPen

from .. import colormaps
from .vector_strip import _font, draw_label, theme_colors


class DiagramLegend(pg.GraphicsObject):
    """Colour bars for the two maps, with the value ranges in use.

    Its height is fixed (room for every row), so a new range never moves
    the rest of the diagram.

    Attributes
    ----------
    ROW_H : float
        Height of one colour-bar row, scene units.
    MAX_ROWS : int
        Rows the height is reserved for.
    WIDTH : float
        Width of the legend, scene units.
    """

    ROW_H = 27.0
    MAX_ROWS = 4        # height is reserved for the x⟨t⟩ row, which appears only when needed
    WIDTH = 330.0

    def __init__(self):
        super().__init__()
        self._dark = False
        self._colors = theme_colors(False)
        self._font = _font(12)
        self._title_font = _font(13, bold=True)
        self._rows: list[tuple[str, str, float, float]] = []
        self.set_ranges(1.0, 1.0)

    def set_ranges(self, state: float, x: float) -> None:
        """Ranges of the state (c) and input (x) families."""
        self._rows = [("gates Γ, ŷ", "sequential", 0.0, 1.0),
                      ("candidate, tanh c, a, write", "diverging", -1.0, 1.0),
                      ("cell state c, keep", "diverging", -state, state)]
        if x != 1.0:
            self._rows.append(("input x⟨t⟩", "diverging", -x, x))
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        self._colors = theme_colors(dark)
        self.update()

    def height(self) -> float:
        return 18.0 + self.ROW_H * self.MAX_ROWS

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.WIDTH, self.height())

    def paint(self, p, *args) -> None:
        c = self._colors
        p.setFont(self._title_font)
        p.setPen(c["fg"])
        p.drawText(QRectF(0, 0, self.WIDTH, 16), Qt.AlignLeft | Qt.AlignVCenter, "Legend")
        bar_x, bar_w, n = 185.0, 130.0, 48
        # What the hatched cell at the end of a strip means, on the title line.
        p.setPen(QPen(c["line"], 0.8))
        p.setBrush(QBrush(c["muted"], Qt.BDiagPattern))
        p.drawRect(QRectF(bar_x, 2, 14, 12))
        p.setPen(c["fg"])
        draw_label(p, QRectF(bar_x + 20, 1, self.WIDTH - bar_x - 20, 14), "units not shown",
                   Qt.AlignLeft | Qt.AlignVCenter, self._font)
        for row, (label, cmap, lo, hi) in enumerate(self._rows):
            y = 20.0 + self.ROW_H * row
            p.setFont(self._font)
            p.setPen(c["fg"])
            draw_label(p, QRectF(0, y, bar_x - 8, 14), label, Qt.AlignRight | Qt.AlignVCenter, self._font)
            brushes = colormaps.brushes(cmap, self._dark)
            w = bar_w / n
            for i in range(n):
                p.fillRect(QRectF(bar_x + i * w, y + 1, w + 0.3, 12),
                           brushes[int(round(i * (len(brushes) - 1) / (n - 1)))])
            p.setPen(QPen(c["line"], 0.8))
            p.setBrush(Qt.NoBrush)
            p.drawRect(QRectF(bar_x, y + 1, bar_w, 12))
            p.setPen(c["muted"])
            p.drawText(QRectF(bar_x - 20, y + 13, 40, 13), Qt.AlignCenter, f"{lo:g}")
            p.drawText(QRectF(bar_x + bar_w - 20, y + 13, 40, 13), Qt.AlignCenter, f"{hi:g}")
            if lo < 0:
                p.drawText(QRectF(bar_x + bar_w / 2 - 20, y + 13, 40, 13), Qt.AlignCenter, "0")
