"""A dismissable message strip above the diagram."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class Banner(QWidget):
    """A dismissable message strip above the diagram (errors stay visible here).

    Hidden until :meth:`show_message`; the ✕ button hides it again. Styled
    through its object name ``banner`` in the application style sheet.

    Parameters
    ----------
    parent : QWidget, optional
        The parent widget.

    Attributes
    ----------
    label : QLabel
        The word-wrapped, selectable message.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str) -> None:
        """Show ``text`` in the strip, replacing any earlier message."""
        self.label.setText(text)
        self.show()

    @property
    def text(self) -> str:
        """The message shown now; ``""`` while the strip is hidden."""
        return "" if self.isHidden() else self.label.text()
