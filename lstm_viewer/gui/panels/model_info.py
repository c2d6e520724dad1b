"""What was loaded: format, layers, sizes, vocabulary, gate reordering, model card.

Also the layer selector for stacked (and bidirectional) models.
"""

from __future__ import annotations

import html
import json

from PySide6.QtWidgets import QComboBox, QFormLayout, QTextBrowser, QVBoxLayout, QWidget

from ..viewer_state import ViewerState


class ModelInfo(QWidget):
    """Read-only description of the model and the layer/direction to show.

    Parameters
    ----------
    state : ViewerState
        Reads ``model``; writes ``layer``/``direction`` from the selector.
    """

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.setObjectName("modelInfo")
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("Which layer (and direction) the diagram and plots show")
        self.text = QTextBrowser()
        self.text.setOpenExternalLinks(False)
        form = QFormLayout()
        form.addRow("Show layer:", self.layer_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(form)
        layout.addWidget(self.text, 1)
        self.layer_box.currentIndexChanged.connect(self._on_box)
        state.events.model.connect(self._on_model)
        state.events.layer.connect(self._on_layer)
        self._on_model(None)

    def _on_model(self, event) -> None:
        model = self.state.model
        self.layer_box.blockSignals(True)
        self.layer_box.clear()
        if model is None:
            self.layer_box.blockSignals(False)
            self.layer_box.setEnabled(False)
            self.text.setHtml("<p>No model loaded. Use <b>File ▸ Open</b> (Ctrl+O) or drop a weights file here.</p>")
            return
        for k, layer in enumerate(model.layers):
            for d, cell in enumerate(layer.cells):
                name = f"layer {k}" + ((" backward" if cell.reverse else " forward") if layer.bidirectional else "")
                self.layer_box.addItem(f"{name} (H = {cell.hidden_size})", (k, d))
        self.layer_box.blockSignals(False)
        self.layer_box.setEnabled(self.layer_box.count() > 1)
        self._on_layer(None)
        self.text.setHtml(self.describe(model, self.state.source))

    def _on_layer(self, event) -> None:
        index = self.layer_box.findData((self.state.layer, self.state.direction))
        if index >= 0 and index != self.layer_box.currentIndex():
            self.layer_box.blockSignals(True)
            self.layer_box.setCurrentIndex(index)
            self.layer_box.blockSignals(False)

    def _on_box(self, index: int) -> None:
        data = self.layer_box.itemData(index)
        if data is not None:
            self.state.set_layer(*data)

    @staticmethod
    def describe(model, source: str = "") -> str:
        """HTML: the engine's summary lines, then the model card."""
        esc = html.escape
        rows = []
        if source:
            rows.append(("source", source))
        for line in model.summary():
            key, _, value = line.partition(": ")
            rows.append((key, value))
        parts = ["<table cellspacing='0' cellpadding='2'>"]
        for key, value in rows:
            parts.append(f"<tr><td valign='top'><b>{esc(key)}</b></td><td>{esc(value)}</td></tr>")
        parts.append("</table>")
        card = model.card or {}
        if card:
            parts.append("<h4>Model card</h4><table cellspacing='0' cellpadding='2'>")
            for key, value in card.items():
                shown = _card_value(value)
                if len(shown) > 400:
                    shown = shown[:397] + "…"
                parts.append(f"<tr><td valign='top'><b>{esc(str(key))}</b></td><td>{esc(shown)}</td></tr>")
            parts.append("</table>")
        return "".join(parts)


def _card_value(value) -> str:
    """A model-card value as read in a narrow panel: 0.0081144… → 0.008114, [] → none."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple, dict)) and not value:
        return "none"
    return json.dumps(value, ensure_ascii=False)
