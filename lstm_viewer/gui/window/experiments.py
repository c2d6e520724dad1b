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
* the why-update view opens on the unit where the gate does most of the
  switching and follows the unit selected elsewhere; its model-level figure
  (accuracy and loss intact and with Γ_u switched off) is computed on a
  :class:`FigureThread` while the view is shown, and its buttons apply their
  interventions through the panel;
* the variant lab's results feed the why view, and a variant it trained can
  be opened in the window.

The comparison and why docks share the right dock area with the inspector,
as tabs: the diagram keeps the window's full height.

Everything here is stopped when the main window closes.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QWidget

from ...engine.compare import compare, run_pair
from ...engine.interventions import InterventionError, parse, parse_all
from ...engine.why_update import GATE_OFF, GateOffFigure
from ..panels.comparison_view import ComparisonView
from ..panels.interventions_panel import InterventionsPanel
from ..panels.lab_view import LabView
from ..panels.why_update_view import WhyUpdateView
from ..worker import EngineWorker, Job


#: Width the why and comparison docks get when first opened beside the diagram (px).
WHY_MIN_WIDTH, WHY_MAX_WIDTH = 400, 480


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


def _switches_gate_off(specs) -> bool:
    """True when ``specs`` already remove Γ_u on every unit of every layer."""
    for text in specs:
        try:
            iv = parse(str(text))
        except InterventionError:
            continue
        if (iv.kind == "clamp" and iv.target == "update" and iv.value == 1.0
                and iv.units is None and iv.layer is None):
            return True
    return False


def gate_off_figure(model, inputs) -> GateOffFigure:
    """Accuracy and loss of ``model`` intact and with Γ_u switched off on every unit.

    For a model whose card names a known task: on the task's test set, with
    :func:`lstm_viewer.training.evaluation.evaluate` — the code behind
    ``lstm-viewer evaluate MODEL --intervene update=1``, so the figures are
    the same. For any other model: on ``inputs``, with
    :func:`lstm_viewer.engine.compare.compare`, scored by the task's rule
    when one applies, else against the intact run's own predictions.
    Slow (a second or more): call it off the GUI thread.
    """
    from ...training.evaluation import UnknownTaskError, evaluate, task_of

    already = _switches_gate_off((getattr(model, "card", None) or {}).get("interventions", []))
    try:
        task = task_of(model)
    except UnknownTaskError:
        task = None
    if task is not None:
        intact = evaluate(model, task)
        off = evaluate(model, task, interventions=[GATE_OFF])
        return GateOffFigure("task", intact.accuracy, off.accuracy, intact.loss, off.loss,
                             intact.positions, intact.sequences, task=task.name,
                             scored_on=task.scored_on, already_off=already)
    intact, off = run_pair(model, inputs, [GATE_OFF])
    targets = task_targets(model, inputs)
    agreement = targets is None and intact.y_hat is not None
    if agreement:
        targets = np.asarray(intact.y_hat).argmax(axis=1)
    result = compare(intact, off, targets)
    nan = float("nan")
    a, b = result.intact, result.intervened
    by_task = targets is not None and not agreement
    return GateOffFigure(
        "input", a.accuracy if a else nan, b.accuracy if b else nan, a.loss if a else nan,
        b.loss if b else nan, a.n_scored if a else intact.length, 1,
        task=(getattr(model, "card", None) or {}).get("task") if by_task else None,
        agreement=agreement, divergence=float(np.mean(result.div_c)), already_off=already)


class FigureThread(QThread):
    """Computes :func:`gate_off_figure` once and reports through signals (job id first)."""

    done = Signal(int, object)
    failed = Signal(int, str)

    def __init__(self, job: int, model, inputs, parent=None):
        super().__init__(parent)
        self.setObjectName("whyUpdateFigure")
        self.job, self.model, self.inputs = job, model, inputs

    def run(self) -> None:
        from ...engine.blas import single_thread

        try:
            # One BLAS thread: the other core stays with the GUI and the engine worker.
            with single_thread():
                figure = gate_off_figure(self.model, self.inputs)
        except Exception as exc:  # noqa: BLE001 - shown in the view, never lost in a thread
            self.failed.emit(self.job, str(exc) or type(exc).__name__)
            return
        self.done.emit(self.job, figure)


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
        self._lab_result = None
        # The model-level figure: (key, figure) of the last one computed, the job
        # wanted now and the threads still running (waited for at shutdown).
        self._figure: tuple | None = None
        self._figure_job = 0
        self._figure_wanted: tuple | None = None
        self._figure_threads: list[FigureThread] = []
        self._figure_inputs = None
        self._figure_started = 0
        self._closing = False
        self.why_dock = None
        self._intact_worker = EngineWorker()
        queued = Qt.QueuedConnection
        self._intact_worker.finished.connect(self._on_intact, queued)
        self._intact_worker.errored.connect(self._on_intact_error, queued)

        self.panel.interventionsChanged.connect(self._on_specs)
        self.comparison.stepClicked.connect(self._on_step_clicked)
        self.why.switchOffRequested.connect(self._on_switch_off)
        self.why.resetRequested.connect(self._on_reset)
        self.why.unitPicked.connect(self._on_unit_picked)
        s = self.state
        s.events.model.connect(self._on_model)
        s.events.trace.connect(self._on_trace)
        s.events.layer.connect(self._on_layer)
        s.events.unit.connect(self._on_unit)
        s.events.step.connect(self._on_step)
        s.events.dark.connect(self._on_dark)
        s.events.interventions.connect(self._on_interventions)
        window.installEventFilter(self)
        self._on_model(None)
        self._on_dark(None)

    # --- state events -------------------------------------------------------------------

    def _on_model(self, event) -> None:
        model = self.state.model
        self._intact, self._intact_key = None, None
        self._figure = None
        self.panel.set_layers([] if model is None else [layer.hidden_size for layer in model.layers])
        self.panel.set_peepholes(model is not None and model.has_peepholes)
        self.panel.set_specs([])
        self.comparison.set_traces(None, None)
        self.why.set_trace(None)
        self._request_figure()

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
            self.show_comparison_dock()
        self.state.set_interventions(interventions)

    def show_comparison_dock(self) -> None:
        """Open the "Intact vs intervened" dock and bring its tab to the front."""
        if hasattr(self, "comparison_dock"):
            self.comparison_dock.show()
            self.comparison_dock.raise_()

    def _on_switch_off(self, specs: list) -> None:
        # The why view's buttons: the panel shows the switch, the state runs it,
        # and the comparison comes to the front, whatever was open before.
        self.panel.set_specs(specs)
        # The comparison's unit plots then show the unit the why view is about.
        if self.why.trace is not None:
            self.state.set_unit(self.why.unit)
        self._comparison_shown = True
        self.show_comparison_dock()
        self._on_specs(list(specs))

    def _on_reset(self) -> None:
        self.panel.clear()
        # The panel emits only when its own specs change; the state must be intact either way.
        self._on_specs([])

    def _on_unit_picked(self, unit: int) -> None:
        # A unit chosen in the picker is selected everywhere (diagram, comparison).
        self.state.set_unit(unit)

    def _on_interventions(self, event) -> None:
        self.why.set_interventions([iv.spec for iv in self.state.interventions])

    def _key(self) -> tuple:
        return (self.state.model, self.state.inputs)

    def _intact_matches(self) -> bool:
        key = self._intact_key
        return (self._intact is not None and key is not None and key[0] is self.state.model
                and key[1] is self.state.inputs)

    def _on_trace(self, event) -> None:
        trace = self.state.trace
        self._show_why()
        self._request_figure()
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
        # A new trace opens on the unit where the gate does most of the switching;
        # the same trace keeps the unit shown (the view decides which is which).
        self.why.set_trace(trace, s.layer, None, s.direction)
        self.why.set_step(s.t)

    def _on_layer(self, event) -> None:
        self._show_why()
        self._comparison_unit()

    def _on_unit(self, event) -> None:
        # The why view follows a unit selected elsewhere (diagram, plots, picker).
        s = self.state
        if s.unit is not None and s.unit != self.why.unit and self.why.trace is not None:
            self.why.set_unit(s.unit, s.layer)
        self._comparison_unit()

    def _comparison_unit(self) -> None:
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

    # --- the model-level figure ---------------------------------------------------------

    def _figure_key(self) -> tuple | None:
        """What the figure depends on: the model (a task's test set) or the model and input."""
        from ...training.tasks import TASKS

        s = self.state
        if s.model is None:
            return None
        if (s.model.card or {}).get("task") in TASKS:
            return (s.model, None)
        return None if s.inputs is None else (s.model, s.inputs)

    @staticmethod
    def _same_key(a, b) -> bool:
        return a is not None and b is not None and a[0] is b[0] and a[1] is b[1]

    def _request_figure(self) -> None:
        """Show the figure for the model (and input) on screen, computing it when the view is shown."""
        key = self._figure_key()
        if key is None:
            self._figure_wanted = None
            self.why.set_model_figure(None)
            return
        if self._figure is not None and self._same_key(self._figure[0], key):
            self.why.set_model_figure(self._figure[1])
            return
        if self._same_key(self._figure_wanted, key):
            return  # already computing
        if self.why_dock is None or not self.why_dock.isVisible():
            # Nothing is spent on a figure nobody looks at: it is computed when the view opens.
            self.why.set_model_figure(None, "Computed when this view is open.")
            return
        self._figure_wanted = key
        self._figure_inputs = self.state.inputs
        self._figure_job += 1
        task = key[1] is None
        self.why.set_model_figure(
            None, "computing… (the task's test set, intact and with Γ_u switched off, as "
                  "lstm-viewer evaluate does)" if task else
                  "computing… (this input, intact and with Γ_u switched off)")
        self._start_figure()

    def _start_figure(self) -> None:
        # One figure at a time: a figure asked for while another runs (typing a new
        # input) starts when that one ends, so threads never pile up on the two cores.
        if self._figure_wanted is None or any(t.isRunning() for t in self._figure_threads):
            return
        if self._figure_started == self._figure_job:
            return
        self._figure_started = self._figure_job
        thread = FigureThread(self._figure_job, self._figure_wanted[0], self._figure_inputs, self)
        thread.done.connect(self._on_figure)
        thread.failed.connect(self._on_figure_failed)
        thread.finished.connect(self._on_figure_thread_finished)
        self._figure_threads.append(thread)
        thread.start()

    @Slot(int, object)
    def _on_figure(self, job: int, figure) -> None:
        if job != self._figure_job or self._figure_wanted is None:
            return  # asked for a model or input no longer shown
        key = self._figure_wanted
        self._figure_wanted = None
        self._figure = (key, figure)
        self.why.set_model_figure(figure)

    @Slot(int, str)
    def _on_figure_failed(self, job: int, message: str) -> None:
        if job != self._figure_job:
            return
        self._figure_wanted = None
        self.why.set_model_figure(None, f"The model-level figure could not be computed: {message}")

    @Slot()
    def _on_figure_thread_finished(self) -> None:
        for thread in [t for t in self._figure_threads if t.isFinished()]:
            self._figure_threads.remove(thread)
            thread.deleteLater()
        if not self._closing:
            self._start_figure()

    def _on_why_visible(self, visible: bool) -> None:
        if visible:
            self._widen_once(self.why_dock)
            self._request_figure()

    def _on_comparison_visible(self, visible: bool) -> None:
        if visible:
            self._widen_once(self.comparison_dock)

    def _widen_once(self, dock) -> None:
        """The first time a dock opens beside the diagram, give it room for its plots.

        Only once: after that the width is the user's (and the saved layout's).
        """
        if dock.isFloating() or dock.property("widened"):
            return
        dock.setProperty("widened", True)
        target = int(max(WHY_MIN_WIDTH, min(WHY_MAX_WIDTH, 0.36 * self.window.width())))
        if dock.width() < target:
            self.window.resizeDocks([dock], [target], Qt.Horizontal)

    # --- lab and shutdown ---------------------------------------------------------------

    def show_lab(self) -> LabView:
        """Open (or raise) the variant lab window."""
        if self.lab is None:
            self.lab = LabView(self.window, task=self._lab_task())
            self.lab.setWindowFlag(Qt.Window, True)
            self.lab.setWindowTitle("Variant lab — lstm-viewer")
            self.lab.resize(1000, 760)
            self.lab.set_dark(bool(self.state.dark))
            self.lab.labFinished.connect(self._on_lab_finished)
            if hasattr(self.lab, "openRequested"):  # the lab's "open this variant" (newer LabView)
                self.lab.openRequested.connect(self._on_open_variant)
        self.lab.show()
        self.lab.raise_()
        return self.lab

    def _on_lab_finished(self, result) -> None:
        self._lab_result = result
        self.why.set_lab_result(result)

    def _on_open_variant(self, model, name: str) -> None:
        if hasattr(self.window, "open_model"):
            self.window.open_model(model, name)
        else:
            self.window.set_model(model, name)

    def _lab_task(self) -> str:
        task = ((self.state.model and self.state.model.card) or {}).get("task")
        return task if task in ("latch", "counting") else "latch"

    def shutdown(self) -> None:
        """Stop the lab, the intact-run worker and the why view's threads (idempotent)."""
        if self.lab is not None:
            self.lab.stop()
            # Its own top-level window: it must not outlive the main window.
            self.lab.close()
        self._intact_worker.stop()
        self._closing = True
        self._figure_job += 1  # a figure still running is no longer wanted
        self._figure_wanted = None
        for thread in list(self._figure_threads):
            thread.wait()
        self.why.stop()

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
    # Tabs beside the inspector, not docks under the diagram: the cell is drawn
    # bottom to top and needs the window's full height.
    inspector = getattr(w, "inspector_dock", None)
    ctl.comparison_dock = w.add_panel(ctl.comparison, "Intact vs intervened", Qt.RightDockWidgetArea,
                                      tabify_with=inspector)
    ctl.why_dock = w.add_panel(ctl.why, "Why the update gate", Qt.RightDockWidgetArea,
                               tabify_with=inspector)
    # Hidden until an intervention is switched on (or opened from the menu).
    ctl.comparison_dock.hide()
    ctl.why_dock.hide()
    # The model-level figure is computed when the why view is first shown.
    ctl.why_dock.visibilityChanged.connect(ctl._on_why_visible)
    ctl.comparison_dock.visibilityChanged.connect(ctl._on_comparison_visible)
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
