"""Wire the interventions panel, comparison, why-update and lab views into the main window.

:func:`install` is the only entry point: it adds three docks (Interventions,
Intact vs intervened, Why the update gate?) and an Experiments menu with the
variant lab, and connects them to the window's :class:`ViewerState`:

* the panel's specs go to ``state.set_interventions`` as parsed
  :class:`~lstm_viewer.engine.interventions.Intervention` objects, so the
  window's own worker re-runs the input and its diagram marks the clamped
  nodes;
* the intact run of the same input is computed on a second
  :class:`~lstm_viewer.gui.worker.EngineWorker` (cached per model and input),
  so the comparison view always has both traces without blocking the GUI;
* the why-update view follows the selected layer and unit.

Everything here is stopped when the main window closes.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QWidget

from ...engine.interventions import InterventionError, parse_all
from ..panels.comparison_view import ComparisonView
from ..panels.interventions_panel import InterventionsPanel
from ..panels.lab_view import LabView
from ..panels.why_update_view import WhyUpdateView
from ..worker import EngineWorker, Job


def task_targets(model, inputs):
    """Correct output per step for ``inputs`` (−1 where not scored), or None.

    The rule is the model's task's own (:meth:`Task.targets`), found from the
    model card; None when the model has no known task or another vocabulary,
    and the comparison then scores against the intact run's predictions.
    """
    ids = np.asarray(inputs)
    if ids.ndim != 1:
        return None
    name = (getattr(model, "card", None) or {}).get("task")
    if not name:
        return None
    from ...training.tasks import get_task

    try:
        task = get_task(name)
    except KeyError:
        return None
    if model.vocab is not None and list(model.vocab) != list(task.vocab):
        return None
    targets, scored = task.targets(ids)
    return np.where(scored, targets, -1)


class InterventionsController(QObject):
    """Keeps the docks in step with the main window's state (see module docstring)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.state = window.state
        self.panel = InterventionsPanel()
        self.comparison = ComparisonView()
        self.why = WhyUpdateView()
        self.lab: LabView | None = None
        self._intact = None
        # The (model, inputs) objects the intact trace belongs to, compared by identity.
        self._intact_key: tuple | None = None
        self._intact_job = 0
        self._comparison_shown = False
        self._intact_worker = EngineWorker()
        queued = Qt.QueuedConnection
        self._intact_worker.finished.connect(self._on_intact, queued)
        self._intact_worker.errored.connect(self._on_intact_error, queued)

        self.panel.interventionsChanged.connect(self._on_specs)
        self.comparison.stepClicked.connect(self._on_step_clicked)
        s = self.state
        s.events.model.connect(self._on_model)
        s.events.trace.connect(self._on_trace)
        s.events.layer.connect(self._on_layer_or_unit)
        s.events.unit.connect(self._on_layer_or_unit)
        s.events.step.connect(self._on_step)
        s.events.dark.connect(self._on_dark)
        window.installEventFilter(self)
        self._on_model(None)
        self._on_dark(None)

    # --- state events -------------------------------------------------------------------

    def _on_model(self, event) -> None:
        model = self.state.model
        self._intact, self._intact_key = None, None
        self.panel.set_layers([] if model is None else [layer.hidden_size for layer in model.layers])
        self.panel.set_peepholes(model is not None and model.has_peepholes)
        self.panel.set_specs([])
        self.comparison.set_traces(None, None)
        self.why.set_trace(None)

    def _on_specs(self, specs: list) -> None:
        try:
            interventions = parse_all(specs)
        except InterventionError as exc:
            self.window.show_error(str(exc))
            return
        if interventions and not self._comparison_shown and hasattr(self, "comparison_dock"):
            # The first intervention opens the comparison under the diagram, once;
            # after that the user decides whether it stays open.
            self._comparison_shown = True
            self.comparison_dock.show()
            self.comparison_dock.raise_()
            QTimer.singleShot(0, self.fit_docks)
        self.state.set_interventions(interventions)

    def _key(self) -> tuple:
        return (self.state.model, self.state.inputs)

    def _intact_matches(self) -> bool:
        key = self._intact_key
        return (self._intact is not None and key is not None and key[0] is self.state.model
                and key[1] is self.state.inputs)

    def _on_trace(self, event) -> None:
        trace = self.state.trace
        self._show_why()
        if trace is None or not trace.interventions:
            # The intact run is the one on screen: remember it for later comparisons.
            if trace is not None:
                self._intact, self._intact_key = trace, self._key()
            self.comparison.set_traces(None, None)
            return
        if self._intact_matches():
            self._show_comparison()
            return
        s = self.state
        self._intact_job = self._intact_worker.submit(Job(s.model, s.inputs, []))

    @Slot(int, object)
    def _on_intact(self, job_id: int, result) -> None:
        if job_id != self._intact_job:
            return
        self._intact, self._intact_key = result.trace, self._key()
        self._show_comparison()
        self._show_why()

    @Slot(int, str)
    def _on_intact_error(self, job_id: int, message: str) -> None:
        if job_id == self._intact_job:
            self.window.show_error(f"The intact run failed: {message}")

    def _show_comparison(self) -> None:
        trace = self.state.trace
        if trace is None or self._intact is None or self._intact.length != trace.length:
            return
        targets = task_targets(self.state.model, self.state.inputs)
        self.comparison.set_traces(self._intact, trace, targets, layer=self.state.layer)
        if self.state.unit is not None:
            self.comparison.set_unit(self.state.unit, self.state.layer)
        self.comparison.set_step(self.state.t)

    def _show_why(self) -> None:
        # The question is about the trained gate, so the intact run is shown
        # whenever it is at hand; the comparison shows what the intervention breaks.
        s = self.state
        trace = self._intact if self._intact_matches() else s.trace
        if trace is None:
            self.why.set_trace(None)
            return
        self.why.set_trace(trace, s.layer, s.unit or 0, s.direction)
        self.why.set_step(s.t)

    def _on_layer_or_unit(self, event) -> None:
        self._show_why()
        if self.comparison.comparison is not None and self.state.unit is not None:
            self.comparison.set_unit(self.state.unit, self.state.layer)

    def _on_step(self, event) -> None:
        self.comparison.set_step(self.state.t)
        self.why.set_step(self.state.t)

    def _on_step_clicked(self, t: int) -> None:
        self.state.set_step(t)

    def _on_dark(self, event) -> None:
        dark = bool(self.state.dark)
        self.comparison.set_dark(dark)
        self.why.set_dark(dark)
        if self.lab is not None:
            self.lab.set_dark(dark)

    # --- lab and shutdown ---------------------------------------------------------------

    def show_lab(self) -> LabView:
        """Open (or raise) the variant lab window."""
        if self.lab is None:
            self.lab = LabView(self.window, task=self._lab_task())
            self.lab.setWindowFlag(Qt.Window, True)
            self.lab.setWindowTitle("Variant lab — lstm-viewer")
            self.lab.resize(1000, 760)
            self.lab.set_dark(bool(self.state.dark))
        self.lab.show()
        self.lab.raise_()
        return self.lab

    def _lab_task(self) -> str:
        task = ((self.state.model and self.state.model.card) or {}).get("task")
        return task if task in ("latch", "counting") else "latch"

    def fit_docks(self) -> None:
        """Give the bottom docks under a third of the window's height."""
        docks = [d for d in (self.comparison_dock, self.why_dock) if d.isVisible() and not d.isFloating()]
        if docks:
            height = max(250, int(self.window.height() * 0.3))
            self.window.resizeDocks(docks, [height] * len(docks), Qt.Vertical)

    def _on_bottom_dock_visible(self, visible: bool) -> None:
        # However a bottom dock is opened (menu, tab, first intervention), the
        # diagram above it keeps two thirds of the height.
        if visible:
            QTimer.singleShot(0, self.fit_docks)

    def shutdown(self) -> None:
        """Stop the lab and the intact-run worker (idempotent)."""
        if self.lab is not None:
            self.lab.stop()
            # Its own top-level window: it must not outlive the main window.
            self.lab.close()
        self._intact_worker.stop()

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Close:
            self.shutdown()
        return False


def install(main_window) -> InterventionsController:
    """Add the interventions docks and the Experiments menu to ``main_window``.

    Parameters
    ----------
    main_window : MainWindow
        Needs ``state`` (ViewerState), ``add_panel(widget, title, area,
        tabify_with)``, ``show_error(str)`` and ``inspector_dock``.

    Returns
    -------
    InterventionsController
        Also kept as ``main_window.interventions``.
    """
    ctl = InterventionsController(main_window)
    w = main_window
    ctl.panel_dock = w.add_panel(_scrolled(ctl.panel), "Interventions", Qt.RightDockWidgetArea,
                                 tabify_with=getattr(w, "inspector_dock", None))
    ctl.comparison_dock = w.add_panel(ctl.comparison, "Intact vs intervened", Qt.BottomDockWidgetArea)
    ctl.why_dock = w.add_panel(ctl.why, "Why the update gate", Qt.BottomDockWidgetArea,
                               tabify_with=ctl.comparison_dock)
    # Hidden until an intervention is switched on (or opened from the menu),
    # so the diagram keeps the window's height until there is something to compare.
    ctl.comparison_dock.hide()
    ctl.why_dock.hide()
    ctl.comparison_dock.visibilityChanged.connect(ctl._on_bottom_dock_visible)
    ctl.why_dock.visibilityChanged.connect(ctl._on_bottom_dock_visible)
    for dock in (ctl.panel_dock, ctl.comparison_dock, ctl.why_dock):
        # Tabified docks: opening one from the menu brings its tab to the front.
        dock.toggleViewAction().triggered.connect(partial(_raise_when_opened, dock))
    menu = w.menuBar().addMenu("E&xperiments")
    menu.addAction(ctl.panel_dock.toggleViewAction())
    menu.addAction(ctl.comparison_dock.toggleViewAction())
    menu.addAction(ctl.why_dock.toggleViewAction())
    menu.addSeparator()
    ctl.lab_action = menu.addAction("Variant &Lab…")
    ctl.lab_action.setStatusTip("Train the standard cell and the NIG, NFG, NOG and CIFG variants from scratch")
    ctl.lab_action.triggered.connect(ctl.show_lab)
    w.interventions = ctl
    return ctl


def _raise_when_opened(dock) -> None:
    # Called after the action toggled the dock; its check state says which way.
    if dock.toggleViewAction().isChecked():
        dock.raise_()


def _scrolled(widget: QWidget) -> QWidget:
    from PySide6.QtWidgets import QScrollArea

    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    return area
