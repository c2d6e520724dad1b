"""An operator node of the cell diagram: σ, tanh, ⊙ or + in a circle."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainterPath, QPen

from .style import OP_R
from .vector_strip import _font, draw_label, theme_colors


class OpNode(pg.GraphicsObject):
    """A small operator node (σ, tanh, ⊙, +) with an optional side label.

    Clicking it reports the node it produces (``clicked(name, -1)``); its
    tooltip is that node's equation. Its position is the circle's centre.

    Parameters
    ----------
    symbol : str
        The operator drawn in the circle; symbols of three or more
        characters ("tanh") get a wider ellipse and a smaller font.
    label : str, optional
        Muted text beside the circle, e.g. the gate's weights "W_f, b_f".
    label_side : {"right", "left"}
        Which side of the circle the label sits on (may be changed later
        through the ``label_side`` attribute).
    produces : str, optional
        Name of the diagram node this operator makes; clicks are reported
        only when it is set.
    equation : str, optional
        The tooltip.

    Signals
    -------
    clicked(str, int)
        ``(produces, -1)`` when the circle is left-clicked.
    """

    clicked = Signal(str, int)

    def __init__(self, symbol: str, label: str = "", label_side: str = "right",
                 produces: str = "", equation: str = ""):
        super().__init__()
        self.symbol, self.label, self.label_side = symbol, label, label_side
        self.produces = produces
        self.setToolTip(equation)
        self.rx = OP_R + (8.0 if len(symbol) > 2 else 0.0)
        self._colors = theme_colors(False)
        self._stroke = 1.0
        self.set_style(1.0, 1.0)

    def set_style(self, font_scale: float, stroke: float) -> None:
        """Font and stroke scale (presentation mode enlarges both)."""
        self._font = _font((17 if len(self.symbol) < 3 else 16) * font_scale, bold=True)
        self._label_font = _font(16 * font_scale)
        self._stroke = stroke
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._colors = theme_colors(dark)
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-self.rx - 96, -OP_R - 2, 2 * self.rx + 192, 2 * OP_R + 4)

    def shape(self) -> QPainterPath:
        # Only the circle is clickable, not the label area beside it.
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), self.rx, OP_R)
        return path

    def hoverEvent(self, ev) -> None:
        if not ev.isExit():
            ev.acceptClicks(Qt.LeftButton)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton and self.produces:
            ev.accept()
            self.clicked.emit(self.produces, -1)

    def paint(self, p, *args) -> None:
        c = self._colors
        p.setPen(QPen(c["fg"], 1.4 * self._stroke))
        p.setBrush(c["bg"])
        p.drawEllipse(QPointF(0, 0), self.rx, OP_R)
        p.setFont(self._font)
        p.drawText(QRectF(-self.rx, -OP_R, 2 * self.rx, 2 * OP_R), Qt.AlignCenter, self.symbol)
        if self.label:
            p.setFont(self._label_font)
            p.setPen(c["muted"])
            if self.label_side == "right":
                draw_label(p, QRectF(self.rx + 4, -OP_R, 90, 2 * OP_R),
                           self.label, Qt.AlignLeft | Qt.AlignVCenter, self._label_font)
            else:
                draw_label(p, QRectF(-self.rx - 94, -OP_R, 90, 2 * OP_R),
                           self.label, Qt.AlignRight | Qt.AlignVCenter, self._label_font)
