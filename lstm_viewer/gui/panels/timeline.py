"""The strip of input tokens: click or drag to move, the current one highlighted.

Painted, not built from widgets, so a 100,000-token sequence costs no more
than ten tokens: only the cells in view are drawn, and the view follows the
current step.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ..viewer_state import ViewerState, display_token


class Timeline(QWidget):
    """Tokens of the input in a row; the current step is highlighted.

    Parameters
    ----------
    state : ViewerState
        Reads ``trace``/``t``; writes ``t`` on click, drag and wheel.
    """

    CELL_MIN = 22

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("timeline")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.NoFocus)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setToolTip("Input tokens: click or drag to move to a step; wheel steps")
        self._first = 0          # first token index drawn at the left edge
        self._dragging = False
        self._cell = self.CELL_MIN
        self._font = QFont(self.font())
        self._font.setPointSizeF(max(9.0, self._font.pointSizeF() + 1))
        state.events.trace.connect(self._on_trace)
        state.events.step.connect(self._on_step)
        state.events.dark.connect(self._on_dark)

    # -- geometry --------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(600, QFontMetrics(self._font).height() * 2 + 14)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.sizeHint().height())

    def _cell_width(self) -> int:
        return self._cell

    def _visible_count(self) -> int:
        return max(1, self.width() // self._cell_width())

    def index_at(self, x: float) -> int:
        """Token index under horizontal position ``x`` (clamped to the sequence)."""
        n = self.state.length
        return int(min(max(self._first + int(x // self._cell_width()), 0), max(n - 1, 0)))

    # -- state events ----------------------------------------------------
    def _on_trace(self, event) -> None:
        # Labels are made while painting, for the cells in view only; the
        # cell width follows the widest token of the vocabulary.
        fm = QFontMetrics(self._font)
        model = self.state.model
        if self.state.trace is not None and self.state.trace.tokens is not None and model and model.vocab:
            samples = [display_token(tok) for tok in model.vocab[:5000]]
        else:
            samples = [str(max(self.state.length - 1, 0))]
        widest = max((fm.horizontalAdvance(s) for s in samples), default=8)
        self._cell = max(self.CELL_MIN, min(widest + 10, 80))
        self._first = 0
        self._follow()
        self.update()

    def _on_step(self, event) -> None:
        self._follow()
        self.update()

    def _on_dark(self, event) -> None:
        self.update()

    def _follow(self) -> None:
        """Scroll so that the current step stays in view with some context."""
        visible = self._visible_count()
        t = self.state.t
        margin = min(3, visible // 4)
        if t < self._first + margin:
            self._first = max(0, t - margin)
        elif t >= self._first + visible - margin:
            self._first = max(0, t - visible + margin + 1)

    def resizeEvent(self, event) -> None:
        self._follow()
        super().resizeEvent(event)

    # -- painting --------------------------------------------------------
    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        base, text = pal.base().color(), pal.text().color()
        highlight, on_highlight = pal.highlight().color(), pal.highlightedText().color()
        p.fillRect(self.rect(), base)
        n = self.state.length
        if n == 0:
            p.setPen(pal.placeholderText().color())
            p.drawText(self.rect(), Qt.AlignCenter, "no input")
            return
        w = self._cell_width()
        h = self.height()
        fm = QFontMetrics(self._font)
        small = QFont(self._font)
        small.setPointSizeF(self._font.pointSizeF() * 0.72)
        top_h = fm.height() + 6
        grid = QColor(text)
        grid.setAlpha(50)
        last = min(n, self._first + self._visible_count() + 1)
        for i, t in enumerate(range(self._first, last)):
            rect = QRectF(i * w, 2, w - 2, top_h)
            current = t == self.state.t
            if current:
                p.fillRect(rect, highlight)
            else:
                p.setPen(QPen(grid))
                p.drawRect(rect)
            p.setFont(self._font)
            p.setPen(on_highlight if current else text)
            label = self.state.token_label(t)
            p.drawText(rect, Qt.AlignCenter, fm.elidedText(label, Qt.ElideRight, w - 4))
            # Step numbers every few cells keep the position readable.
            if current or t % 5 == 0:
                p.setFont(small)
                p.setPen(highlight if current else pal.placeholderText().color())
                p.drawText(QRectF(i * w - 10, top_h + 2, w + 20, h - top_h - 2),
                           Qt.AlignHCenter | Qt.AlignTop, str(t))
        p.end()

    # -- mouse -----------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton and self.state.length:
            self._dragging = True
            self.state.set_step(self.index_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if self._dragging:
            self.state.set_step(self.index_at(event.position().x()))
        elif self.state.length:
            t = self.index_at(event.position().x())
            self.setToolTip(f"step {t}: {self.state.token_label(t)}")

    def mouseReleaseEvent(self, event) -> None:
        self._dragging = False

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta and self.state.length:
            self.state.set_step(self.state.t + (-1 if delta > 0 else 1))
