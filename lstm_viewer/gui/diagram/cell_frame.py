"""The cell boundary of the diagram: a rounded box titled "LSTM cell"."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPen

from .vector_strip import _font, theme_colors


class CellFrame(pg.GraphicsObject):
    """The cell boundary: a rounded box behind everything inside the cell.

    Empty until :meth:`set_rect` gives it the box, in scene units.
    """

    def __init__(self):
        super().__init__()
        self._rect = QRectF()
        self._colors = theme_colors(False)
        self._title = "LSTM cell"
        self._stroke = 1.0
        self._font = _font(16, bold=True)

    def set_title(self, text: str) -> None:
        """The frame's caption, e.g. "LSTM cell · layer 1 of 2, forward"."""
        self._title = text
        self.update()

    def title(self) -> str:
        return self._title

    def set_style(self, font_scale: float, stroke: float) -> None:
        """Font and stroke scale (presentation mode enlarges both)."""
        self._font = _font(16 * font_scale, bold=True)
        self._stroke = stroke
        self.update()

    def set_rect(self, rect: QRectF) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(rect)
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._colors = theme_colors(dark)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def paint(self, p, *args) -> None:
        c = self._colors
        p.setPen(QPen(c["line"], 1.8 * self._stroke))
        p.setBrush(c["frame"])
        p.drawRoundedRect(self._rect, 14, 14)
        p.setFont(self._font)
        p.setPen(c["muted"])
        p.drawText(self._rect.adjusted(12, 6, -12, -6), Qt.AlignLeft | Qt.AlignTop, self._title)
