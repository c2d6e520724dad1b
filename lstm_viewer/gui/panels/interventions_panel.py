"""Toggles that switch gates off live: the interventions panel.

Each toggle is one engine intervention (see
:mod:`lstm_viewer.engine.interventions`); together with the unit picker and
the layer choice they make a list of spec strings, emitted as
``interventionsChanged(list)`` whenever it changes. The panel knows nothing
about the main window: whoever owns the worker connects the signal.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...engine.interventions import InterventionError, parse, parse_units

# (spec, label, tooltip) of the on/off interventions, in panel order.
SWITCHES = (
    ("update=1", "No update gate  Γ_u := 1 (NIG)",
     "Every candidate is written in full: the cell can no longer choose when to write."),
    ("forget=1", "No forget gate  Γ_f := 1 (NFG)",
     "c is never decayed: it only accumulates writes."),
    ("output=1", "No output gate  Γ_o := 1 (NOG)", "a = tanh(c): the whole state is always shown."),
    ("coupled", "Coupled  Γ_u := 1 − Γ_f (CIFG)",
     "Write exactly as much as is forgotten, as in the GRU."),
    ("no-candidate-tanh", "No candidate tanh (NIAF)", "The candidate is not squashed: candidate = z_c."),
    ("no-output-tanh", "No output tanh (NOAF)", "c is shown unsquashed: a = Γ_o ⊙ c."),
    ("freeze", "Freeze units", "The chosen units keep their state: no write, no forget."),
    ("no-peepholes", "No peepholes  p ⊙ c := 0 (NP)",
     "The gates stop seeing the cell state c (models with peepholes only)."),
)
_NEEDS_PEEPHOLES = "no-peepholes"
# (target, label, low, high, default) of the clamps.
CLAMPS = (
    ("update", "Clamp Γ_u to", 0.0, 1.0, 0.0),
    ("forget", "Clamp Γ_f to", 0.0, 1.0, 1.0),
    ("output", "Clamp Γ_o to", 0.0, 1.0, 1.0),
    ("candidate", "Clamp candidate to", -5.0, 5.0, 0.0),
)


class InterventionsPanel(QWidget):
    """Toggles, clamp values, a unit picker and a layer choice.

    Parameters
    ----------
    hidden_sizes : list of int, optional
        Hidden size of each layer; sets the layer choice and checks units.
        See :meth:`set_layers`.

    Signals
    -------
    interventionsChanged(list)
        The spec strings now in force (empty list: intact run).
    """

    interventionsChanged = Signal(list)

    def __init__(self, hidden_sizes=None, parent=None):
        super().__init__(parent)
        self.setObjectName("interventionsPanel")
        self._hidden_sizes: list[int] = []
        self._last: list[str] = []
        self._updating = False
        self._error = ""

        switches = QGroupBox("Switch off")
        grid = QVBoxLayout(switches)
        self.switches: dict[str, QCheckBox] = {}
        self._tips = {spec: f"{tip}  [{spec}]" for spec, _, tip in SWITCHES}
        for spec, label, _ in SWITCHES:
            box = QCheckBox(label)
            box.setToolTip(self._tips[spec])
            box.toggled.connect(self._changed)
            grid.addWidget(box)
            self.switches[spec] = box

        clamps = QGroupBox("Clamp to a value")
        cgrid = QGridLayout(clamps)
        self.clamps: dict[str, tuple[QCheckBox, QDoubleSpinBox]] = {}
        for row, (target, label, lo, hi, default) in enumerate(CLAMPS):
            box = QCheckBox(label)
            spin = QDoubleSpinBox()
            spin.setRange(lo, hi)
            spin.setDecimals(2)
            spin.setSingleStep(0.05)
            spin.setValue(default)
            spin.setEnabled(False)
            spin.setAccessibleName(f"{target} clamp value")
            spin.setMaximumWidth(90)
            box.toggled.connect(spin.setEnabled)
            box.toggled.connect(self._changed)
            spin.valueChanged.connect(self._changed)
            cgrid.addWidget(box, row, 0)
            cgrid.addWidget(spin, row, 1)
            self.clamps[target] = (box, spin)

        scope = QGroupBox("Where")
        form = QFormLayout(scope)
        self.unit_mode = QComboBox()
        self.unit_mode.addItems(["all units", "only units"])
        self.unit_mode.currentIndexChanged.connect(self._on_unit_mode)
        self.units_edit = QLineEdit()
        self.units_edit.setPlaceholderText("e.g. 0,3,5 or 2-6")
        self.units_edit.setEnabled(False)
        self.units_edit.textChanged.connect(self._changed)
        units_row = QHBoxLayout()
        units_row.addWidget(self.unit_mode)
        units_row.addWidget(self.units_edit, 1)
        form.addRow("Units", units_row)
        self.layer_box = QComboBox()
        self.layer_box.currentIndexChanged.connect(self._changed)
        form.addRow("Layer", self.layer_box)

        self.message = QLabel()
        self.message.setObjectName("interventionsMessage")
        self.message.setWordWrap(True)
        self.reset_button = QPushButton("Reset: intact run")
        self.reset_button.clicked.connect(self.clear)

        layout = QVBoxLayout(self)
        layout.addWidget(switches)
        layout.addWidget(clamps)
        layout.addWidget(scope)
        layout.addWidget(self.message)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)
        self.set_layers(hidden_sizes or [])

    # --- public API ---------------------------------------------------------------------

    def set_layers(self, hidden_sizes) -> None:
        """Tell the panel the model's layers (hidden size of each)."""
        self._hidden_sizes = [int(h) for h in hidden_sizes]
        self._updating = True
        current = self.layer_box.currentIndex()
        self.layer_box.clear()
        self.layer_box.addItem("all layers")
        for k, H in enumerate(self._hidden_sizes):
            self.layer_box.addItem(f"layer {k}  ({H} units)")
        self.layer_box.setCurrentIndex(current if 0 <= current < self.layer_box.count() else 0)
        self.layer_box.setEnabled(len(self._hidden_sizes) > 1)
        self._updating = False
        self._changed()

    def set_peepholes(self, present: bool) -> None:
        """Offer the no-peepholes switch only when the model has peepholes."""
        box = self.switches[_NEEDS_PEEPHOLES]
        if not present and box.isChecked():
            box.setChecked(False)
        box.setEnabled(bool(present))
        box.setToolTip(self._tips[_NEEDS_PEEPHOLES] if present else
                       "This model has no peepholes: its gates never see c.")

    def set_units(self, units) -> None:
        """Restrict the interventions to ``units`` (None or empty: all units)."""
        self._updating = True
        if units:
            self.units_edit.setText(",".join(str(int(u)) for u in units))
            self.unit_mode.setCurrentIndex(1)
        else:
            self.unit_mode.setCurrentIndex(0)
        self.units_edit.setEnabled(self.unit_mode.currentIndex() == 1)
        self._updating = False
        self._changed()

    def specs(self) -> list[str]:
        """The spec strings the toggles stand for now (invalid unit text: none)."""
        suffix = self._suffix()
        if suffix is None:
            return []
        out = [spec + suffix for spec, box in self.switches.items() if box.isChecked()]
        for target, (box, spin) in self.clamps.items():
            if box.isChecked():
                out.append(f"{target}={spin.value():g}{suffix}")
        return out

    def set_specs(self, specs) -> None:
        """Show ``specs`` (e.g. restored from the viewer state) without re-emitting them.

        Specs the toggles cannot show are ignored; units and layer are taken
        from the first spec that names them.
        """
        self._updating = True
        for box in self.switches.values():
            box.setChecked(False)
        for box, _ in self.clamps.values():
            box.setChecked(False)
        units, layer = None, None
        for text in specs:
            try:
                iv = parse(str(text))
            except InterventionError:
                continue
            units = units or iv.units
            layer = layer if layer is not None else iv.layer
            if iv.kind == "clamp":
                plain = f"{iv.target}={iv.value:g}"
                if plain in self.switches:
                    self.switches[plain].setChecked(True)
                else:
                    box, spin = self.clamps[iv.target]
                    box.setChecked(True)
                    spin.setValue(iv.value)
            elif iv.kind in self.switches:
                self.switches[iv.kind].setChecked(True)
        self.unit_mode.setCurrentIndex(1 if units else 0)
        self.units_edit.setEnabled(bool(units))
        if units:
            self.units_edit.setText(",".join(str(u) for u in units))
        if layer is not None and layer + 1 < self.layer_box.count():
            self.layer_box.setCurrentIndex(layer + 1)
        self._updating = False
        self._last = self.specs()
        self._show_summary()

    def clear(self) -> None:
        """Switch every intervention off (an intact run)."""
        self._updating = True
        for box in self.switches.values():
            box.setChecked(False)
        for box, _ in self.clamps.values():
            box.setChecked(False)
        self._updating = False
        self._changed()

    # --- internals ----------------------------------------------------------------------

    def _suffix(self) -> str | None:
        """``@UNITS#LAYER`` for the current scope; None while the unit text is invalid."""
        suffix = ""
        if self.unit_mode.currentIndex() == 1:
            try:
                units = parse_units(self.units_edit.text())
            except InterventionError as exc:
                self._error = str(exc)
                return None
            layer = self.layer_box.currentIndex() - 1
            sizes = self._hidden_sizes if layer < 0 else self._hidden_sizes[layer:layer + 1]
            if sizes and max(units) >= min(sizes):
                self._error = f"unit {max(units)} does not exist (hidden size {min(sizes)})"
                return None
            suffix += "@" + ",".join(str(u) for u in units)
        layer = self.layer_box.currentIndex() - 1
        if layer >= 0:
            suffix += f"#{layer}"
        self._error = ""
        return suffix

    def _on_unit_mode(self, index: int) -> None:
        self.units_edit.setEnabled(index == 1)
        self._changed()

    def _show_summary(self) -> None:
        specs = self.specs()
        if self._error:
            self.message.setText(f"⚠ {self._error}")
        elif specs:
            self.message.setText("In force: " + "; ".join(parse(s).label for s in specs))
        else:
            self.message.setText("No intervention: the intact run.")

    def _changed(self, *_args) -> None:
        if self._updating:
            return
        specs = self.specs()
        self._show_summary()
        if specs != self._last and not self._error:
            self._last = specs
            self.interventionsChanged.emit(specs)
