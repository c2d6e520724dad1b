"""ŷ⟨t⟩ drawn as the top-k next tokens with probability bars."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen

from .style import TOPK, TOPK_W, visible_token
from .vector_strip import _font, draw_label, theme_colors


class TopKBars(pg.GraphicsObject):
    """ŷ⟨t⟩ as the top-k next tokens with probability bars.

    Stands in for the ŷ strip when the model has a vocabulary. Like a
    :class:`~.vector_strip.VectorStrip`, a frame is one ``set_values``.

    Parameters
    ----------
    k : int
        How many tokens to list.

    Signals
    -------
    clicked(str, int)
        ``("y_hat", -1)`` when the box is left-clicked.
    hovered(str, int)
        ``("y_hat", -1)`` when the pointer enters, ``("", -1)`` when it leaves.
    """

    clicked = Signal(str, int)
    hovered = Signal(str, int)

    def __init__(self, k: int = TOPK):
        super().__init__()
        self.name = "y_hat"
        self.k = k
        self._vocab: list[str] = []
        self._probs = np.zeros(0)
        self._order = np.empty(0, np.intp)
        self._colors = theme_colors(False)
        self._stroke = 1.0
        self.set_style(1.0, 1.0)
        self._bar = QColor("#21918C")

    def set_style(self, font_scale: float, stroke: float) -> None:
        """Font and stroke scale (presentation mode enlarges both)."""
        self._title_font = _font(16.5 * font_scale, bold=True)
        self._font = _font(16 * font_scale)
        self._stroke = stroke
        self.update()

    def set_k(self, k: int) -> None:
        """List ``k`` tokens (no more than the vocabulary has)."""
        self.prepareGeometryChange()
        self.k = max(1, int(k))
        self._order = np.arange(min(self.k, len(self._vocab)))
        self.update()

    def set_vocab(self, vocab: list[str]) -> None:
        self._vocab = [visible_token(str(v)) for v in vocab]
        self._probs = np.zeros(len(vocab))
        self._order = np.arange(min(self.k, len(vocab)))
        self.update()

    def set_dark(self, dark: bool) -> None:
        self._colors = theme_colors(dark)
        self._bar = QColor("#35B779") if dark else QColor("#21918C")
        self.update()

    def set_order_from(self, target: np.ndarray) -> None:
        """Which tokens to list: the top k of the step's final ŷ."""
        self._order = np.argsort(-target, kind="stable")[:self.k]

    def set_values(self, probs: np.ndarray) -> None:
        np.copyto(self._probs, probs)
        self.update()

    def values(self) -> np.ndarray:
        return self._probs.copy()

    def tokens(self) -> list[str]:
        return [self._vocab[i] for i in self._order]

    def height(self) -> float:
        return 24.0 + 20.0 * self.k

    def boundingRect(self) -> QRectF:
        return QRectF(0, -2, TOPK_W, self.height() + 4)

    def paint(self, p, *args) -> None:
        c = self._colors
        p.setPen(c["fg"])
        p.setFont(self._title_font)
        which = f"all {self.k}" if self.k >= len(self._vocab) else f"top {self.k}"
        draw_label(p, QRectF(-20, 0, TOPK_W + 40, 20), f"ŷ⟨t⟩ = softmax(W_y a⟨t⟩ + b_y)   {which}",
                   Qt.AlignHCenter | Qt.AlignVCenter, self._title_font)
        p.setFont(self._font)
        label_w, bar_x, bar_w = 70.0, 78.0, 190.0
        for row, idx in enumerate(self._order):
            y = 24.0 + 20.0 * row
            prob = float(self._probs[idx])
            p.setPen(c["fg"])
            p.drawText(QRectF(0, y, label_w, 19), Qt.AlignRight | Qt.AlignVCenter,
                       f"‘{self._vocab[idx]}’")
            p.setPen(QPen(c["line"], 0.8))
            p.setBrush(Qt.NoBrush)
            p.drawRect(QRectF(bar_x, y + 2, bar_w, 13))
            p.fillRect(QRectF(bar_x, y + 2, bar_w * min(max(prob, 0.0), 1.0), 13), self._bar)
            p.setPen(c["fg"])
            p.drawText(QRectF(bar_x + bar_w + 6, y, 62, 19), Qt.AlignLeft | Qt.AlignVCenter,
                       f"{prob:.3f}")

    def hoverEvent(self, ev) -> None:
        if ev.isExit():
            self.hovered.emit("", -1)
            return
        ev.acceptClicks(Qt.LeftButton)
        if ev.isEnter():
            self.hovered.emit(self.name, -1)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.LeftButton:
            ev.accept()
            self.clicked.emit(self.name, -1)
