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

    ROW_H = 21.0
    MAX_ROWS = 4        # height is reserved for the x⟨t⟩ row, which appears only when needed
    WIDTH = 460.0

    def __init__(self):
        super().__init__()
        self._dark = False
        self._colors = theme_colors(False)
        self._rows: list[tuple[str, str, float, float]] = []
        self._mode = ""
        self.set_style(1.0, 1.0)
        self.set_ranges(1.0, 1.0)

    def set_style(self, font_scale: float, stroke: float) -> None:
        """Font scale (presentation mode enlarges it)."""
        self._font = _font(16 * font_scale)
        self._title_font = _font(16 * font_scale, bold=True)
        self.update()

    def set_mode(self, text: str) -> None:
        """How the ranges were chosen, shown after the title ("range: whole trace")."""
        self._mode = text
        self.update()

    def set_ranges(self, state: float, x: float, unit: float = 1.0) -> None:
        """Ranges of the state (c), input (x) and bounded (c̃, tanh c, a, write) families."""
        self._rows = [("gates Γ, ŷ", "sequential", 0.0, 1.0),
                      ("candidate, tanh c, a, write", "diverging", -unit, unit),
                      ("cell state c, keep", "diverging", -state, state)]
        if x != 1.0:
            self._rows.append(("input x⟨t⟩", "diverging", -x, x))
        self.update()

    def ranges(self) -> list[tuple[str, float, float]]:
        """(row label, low, high) of every colour bar shown."""
        return [(label, lo, hi) for label, _cmap, lo, hi in self._rows]

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        self._colors = theme_colors(dark)
        self.update()

    def height(self) -> float:
        return 24.0 + self.ROW_H * self.MAX_ROWS + 20.0

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self.WIDTH, self.height())

    def paint(self, p, *args) -> None:
        c = self._colors
        p.setFont(self._title_font)
        p.setPen(c["fg"])
        title = "Colour scale" + (f" ({self._mode})" if self._mode else "")
        p.drawText(QRectF(0, 0, self.WIDTH, 20), Qt.AlignLeft | Qt.AlignVCenter, title)
        bar_x, bar_w, n = 282.0, 118.0, 48
        for row, (label, cmap, lo, hi) in enumerate(self._rows):
            y = 24.0 + self.ROW_H * row
            p.setFont(self._font)
            p.setPen(c["fg"])
            draw_label(p, QRectF(0, y, bar_x - 46, 18), label, Qt.AlignRight | Qt.AlignVCenter, self._font)
            brushes = colormaps.brushes(cmap, self._dark)
            w = bar_w / n
            for i in range(n):
                p.fillRect(QRectF(bar_x + i * w, y + 2, w + 0.3, 14),
                           brushes[int(round(i * (len(brushes) - 1) / (n - 1)))])
            p.setPen(QPen(c["line"], 0.8))
            p.setBrush(Qt.NoBrush)
            p.drawRect(QRectF(bar_x, y + 2, bar_w, 14))
            p.setPen(c["muted"])
            p.drawText(QRectF(bar_x - 44, y, 40, 18), Qt.AlignRight | Qt.AlignVCenter, f"{lo:g}")
            p.drawText(QRectF(bar_x + bar_w + 4, y, 50, 18), Qt.AlignLeft | Qt.AlignVCenter, f"{hi:g}")
        # What the hatched cell at the end of a strip means, under the bars.
        y = 24.0 + self.ROW_H * len(self._rows)
        p.setPen(QPen(c["line"], 0.8))
        p.setBrush(QBrush(c["muted"], Qt.BDiagPattern))
        p.drawRect(QRectF(bar_x, y + 2, 14, 13))
        p.setPen(c["fg"])
        draw_label(p, QRectF(bar_x + 20, y, self.WIDTH - bar_x - 20, 18), "units not shown",
                   Qt.AlignLeft | Qt.AlignVCenter, self._font)
