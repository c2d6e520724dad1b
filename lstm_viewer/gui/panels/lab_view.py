"""The variant lab in the GUI: train gate variants on a worker thread, watch them learn, open one.

:class:`LabView` runs :func:`lstm_viewer.training.lab.run_lab` on a
:class:`QThread`. While it trains, the progress bar moves with every
learning-curve point, the curves are drawn and the results table fills as
runs finish; when the lab ends the text compares the variants with Greff et
al. (ranking nothing from fewer than three seeds). An error is one line in
the window, never only a traceback in the terminal. Each finished run can be
opened in the viewer as a model of its own ("Open in viewer" emits
:attr:`LabView.openRequested`); its variant is built into its weights, so
the viewer runs it as it was trained. Cancel stops at the next progress
point; closing the view stops the thread and waits for it.

Threading: the lab thread only emits signals; every receiver is a bound
method of this widget, so Qt delivers them queued on the GUI thread. The
cancel flag is a :class:`threading.Event`, safe to set from the GUI thread.
"""

from __future__ import annotations

import threading

import pyqtgraph as pg
from PySide6.QtCore import Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...training.lab import (
    ALL_VARIANTS,
    DEFAULT_SEEDS,
    DEFAULT_STEPS,
    LAB_TASKS,
    MIN_SEEDS,
    VARIANT_NAMES,
    LabResult,
    run_lab,
)
from ..theme import style_plots

# One colour per variant (from Tol's "bright" and "vibrant" schemes, colour-blind
# safe; the bright yellow is replaced by orange, which reads on white too).
VARIANT_COLOURS = {"standard": "#4477AA", "nig": "#EE6677", "nfg": "#228833",
                   "nog": "#EE7733", "cifg": "#AA3377"}
# The same hues lifted for the dark background (the light ones sink into it).
VARIANT_COLOURS_DARK = {"standard": "#77AADD", "nig": "#FF8899", "nfg": "#55CC66",
                        "nog": "#FFAA66", "cifg": "#DD77BB"}
TABLE_COLUMNS = ("variant", "removes", "seeds", "test accuracy (mean ± sd)", "min – max",
                 "test loss (mean ± sd)")
ERROR_COLOURS = {False: "#b00020", True: "#ff8a80"}
# Progress-bar resolution: per mille, so a 25-step point of a 75 000-step lab still moves it.
BAR_MAX = 1000
# An error is shown on one line; the full text goes to the tooltip.
ERROR_CHARS = 140


class LabThread(QThread):
    """Runs one lab in :meth:`run` and reports only through signals.

    No event loop is needed: the thread ends when the lab returns, which a
    cancel makes happen at the next progress point.
    """

    progress = Signal(str, int, int, float, int)   # variant, seed, step, train loss, steps
    runDone = Signal(object)                         # RunResult (with its model)
    done = Signal(object)                            # LabResult
    failed = Signal(str)

    def __init__(self, task: str, variants, seeds: int, steps: int, parent=None):
        super().__init__(parent)
        self.setObjectName("labThread")
        self.task, self.variants, self.seeds, self.steps = task, list(variants), seeds, steps
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            # About 40 curve points a run: the bar moves smoothly however short the budget.
            result = run_lab(self.task, self.variants, self.seeds, self.steps,
                             progress=self._progress, on_run=self.runDone.emit,
                             should_stop=self.cancel_event.is_set,
                             callback_every=max(1, min(25, self.steps // 40)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never lost in a thread
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(result)

    def _progress(self, variant, seed, step, loss, steps) -> bool:
        self.progress.emit(variant, seed, step, loss, steps)
        return not self.cancel_event.is_set()


class LabView(QWidget):
    """Controls, progress, live learning curves, a results table, the text, and "Open in viewer".

    Signals
    -------
    labFinished(object)
        The :class:`~lstm_viewer.training.lab.LabResult` (also when cancelled).
    openRequested(object, str)
        A finished run's :class:`~lstm_viewer.engine.model.LSTMModel` (its
        variant built into the weights, its card filled in) and its display
        name, e.g. ``"latch · NIG · seed 0"``.
    """

    labFinished = Signal(object)
    openRequested = Signal(object, str)

    def __init__(self, parent=None, task: str = "latch"):
        super().__init__(parent)
        self.setObjectName("labView")
        self._thread: LabThread | None = None
        self._finishing = False
        self._dark = False
        self.result: LabResult | None = None
        self._runs = []
        self._curves: dict[tuple[str, int], pg.PlotDataItem] = {}
        self._data: dict[tuple[str, int], tuple[list, list]] = {}
        self._total_steps = 1
        self._total_runs = 0
        self._done_steps: dict[tuple[str, int], int] = {}

        self.task_box = QComboBox()
        self.task_box.addItems(list(LAB_TASKS))
        self.task_box.setCurrentText(task)
        self.task_box.setToolTip("The task every variant is trained and tested on")
        self.task_box.currentTextChanged.connect(self._on_task)
        self.variant_boxes: dict[str, QCheckBox] = {}
        variants_row = QHBoxLayout()
        variants_row.setSpacing(10)
        for v in ALL_VARIANTS:
            box = QCheckBox(VARIANT_NAMES[v][0])
            box.setChecked(True)
            box.setToolTip(VARIANT_NAMES[v][1])
            box.toggled.connect(self._on_variant_toggled)
            variants_row.addWidget(box)
            self.variant_boxes[v] = box
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setRange(1, 20)
        self.seeds_spin.setValue(3)
        self.seeds_spin.setToolTip(f"Seeds per variant; fewer than {MIN_SEEDS} rank nothing")
        self.seeds_spin.valueChanged.connect(self._on_seeds)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 20000)
        self.steps_spin.setSingleStep(100)
        self.steps_spin.setToolTip("Training steps per run, the same for every variant and seed")
        self.seeds_hint = QLabel(f"fewer than {MIN_SEEDS} seeds: no ranking")
        self.seeds_hint.setObjectName("warning")
        self.run_button = QPushButton("Train variants")
        self.run_button.setDefault(True)
        # clicked(bool) would hand its `checked` to start()'s first argument.
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, BAR_MAX)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%p%")
        self.status = QLabel("Trains every variant from scratch with the same size, seeds and budget.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.error_label = QLabel()
        self.error_label.setObjectName("labError")
        self.error_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        # One line that never widens the window: long messages are cut, the tooltip has them whole.
        self.error_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.error_label.hide()

        first = QHBoxLayout()
        first.addWidget(QLabel("Task"))
        first.addWidget(self.task_box)
        first.addSpacing(12)
        first.addWidget(QLabel("Variants"))
        first.addLayout(variants_row)
        first.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(QLabel("Seeds"))
        second.addWidget(self.seeds_spin)
        second.addSpacing(8)
        second.addWidget(QLabel("Steps"))
        second.addWidget(self.steps_spin)
        second.addSpacing(8)
        second.addWidget(self.seeds_hint)
        second.addStretch(1)
        second.addWidget(self.run_button)
        second.addWidget(self.cancel_button)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(200)
        self.curve_plot = self.view.addPlot(title="learning curves (training loss, one line per seed)")
        self.curve_plot.setLabel("bottom", "training step")
        self.curve_plot.setLabel("left", "training loss")
        self.curve_plot.setMenuEnabled(False)
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        for axis in ("left", "bottom"):
            # Losses and step counts read as they are, never as "(x0.001)".
            self.curve_plot.getAxis(axis).enableAutoSIPrefix(False)
        self.curve_plot.addLegend(offset=(-4, 4), labelTextSize="9pt",
                                  brush=pg.mkBrush(255, 255, 255, 210), pen=pg.mkPen("#bbbbbb"))
        # An empty legend is a stray box: it shows with the first curve.
        self.curve_plot.legend.setVisible(False)
        self.empty_note = pg.TextItem("The curves are drawn here while the variants train.",
                                      anchor=(0.5, 0.5), color="#888888")
        self.empty_note.setPos(0.5, 0.5)
        self.curve_plot.addItem(self.empty_note)

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        self.table.setFocusPolicy(Qt.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        # Every variant's row in view without scrolling, and no taller: the text below gets the rest.
        rows = self.table.verticalHeader()
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        height = (rows.defaultSectionSize() * len(ALL_VARIANTS) + header.sizeHint().height()
                  + 2 * self.table.frameWidth() + 2)
        self.table.setMinimumHeight(height)
        self.table.setMaximumHeight(height)

        self.run_box = QComboBox()
        self.run_box.setObjectName("labRunBox")
        self.run_box.setToolTip("A finished run: its trained network opens in the viewer as a model of its own")
        self.run_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.run_box.setMinimumContentsLength(24)
        self.run_box.setEnabled(False)
        self.open_button = QPushButton("Open in viewer")
        self.open_button.setToolTip("Open the chosen run's trained network in the main window, "
                                    "run with its variant exactly as it was trained")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self._on_open_clicked)
        open_row = QHBoxLayout()
        open_row.setContentsMargins(0, 0, 0, 0)
        open_row.addWidget(QLabel("Trained run"))
        open_row.addWidget(self.run_box)
        open_row.addWidget(self.open_button)
        open_row.addStretch(1)

        # A read-only browser, not a label: the text is long and must scroll
        # rather than spill over the table when the window is small.
        self.text = QTextBrowser()
        self.text.setObjectName("labResultsText")
        self.text.setMinimumHeight(90)
        self.text.setPlaceholderText("What the runs show, set against Greff et al. 2017, appears here "
                                     "when the lab ends.")

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.table)
        lower_layout.addLayout(open_row)
        lower_layout.addWidget(self.text, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.view)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.error_label)
        layout.addWidget(splitter, 1)
        self._on_task(self.task_box.currentText())
        self._fill_table(LabResult(self.task_box.currentText(), self.selected_variants(), [], 0, 0))
        self.set_dark(False)

    # --- public API ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.isRunning()

    def thread_handle(self) -> QThread | None:
        """The worker thread while a lab runs (for tests and shutdown)."""
        return self._thread

    def selected_variants(self) -> list[str]:
        return [v for v, box in self.variant_boxes.items() if box.isChecked()]

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        style_plots(self.view, [self.curve_plot], self._dark)
        self.error_label.setStyleSheet(f"color: {ERROR_COLOURS[self._dark]}; font-weight: bold;")
        for (variant, _), curve in self._curves.items():
            curve.setPen(self._pen(variant))
        for row in range(self.table.rowCount()):
            item = self.table.item(row, 0)
            variant = item.data(Qt.UserRole) if item is not None else None
            if variant:
                item.setForeground(pg.mkColor(self._colour(variant)))

    def start(self, task: str | None = None, variants=None, seeds: int | None = None,
              steps: int | None = None) -> bool:
        """Start a lab with the given settings (the controls' values where None).

        Returns False, doing nothing but saying why in the window, while a
        lab is already running or when no variant is selected.
        """
        if self.running and self._finishing:
            # The last lab has reported and its thread is returning: a moment's wait.
            self._thread.wait(5000)
        if self.running:
            self._show_error("A lab is already running: cancel it first.")
            return False
        if task is not None:
            self.task_box.setCurrentText(str(task))
        if variants is not None:
            for v, box in self.variant_boxes.items():
                box.setChecked(v in variants)
        if seeds is not None:
            self.seeds_spin.setValue(int(seeds))
        if steps is not None:
            self.steps_spin.setValue(int(steps))
        if self._thread is not None:
            # The previous lab's thread has ended but its finished signal is still queued.
            self._thread.deleteLater()
            self._thread = None
        chosen = self.selected_variants()
        if not chosen:
            self._show_error("Choose at least one variant.")
            return False
        self._clear_error()
        self._reset(chosen)
        seeds_n, steps_n, task_name = self.seeds_spin.value(), self.steps_spin.value(), self.task_box.currentText()
        thread = LabThread(task_name, chosen, seeds_n, steps_n, self)
        thread.progress.connect(self._on_progress)
        thread.runDone.connect(self._on_run_done)
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._finishing = False
        self._set_running(True)
        caveat = f" With fewer than {MIN_SEEDS} seeds no ranking can be concluded." if seeds_n < MIN_SEEDS else ""
        self.status.setText(f"Training {len(chosen)} variant{'s' if len(chosen) != 1 else ''} × {seeds_n} "
                            f"seed{'s' if seeds_n != 1 else ''} on {task_name}, {steps_n} steps each…{caveat}")
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Ask the lab to stop at its next progress point (finished runs are kept)."""
        if self.running:
            self._thread.cancel_event.set()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling: the lab stops at its next progress point…")

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the thread to end; True when no thread is left running."""
        thread = self._thread
        if thread is None:
            return True
        if thread.isRunning():
            thread.cancel_event.set()
        stopped = thread.wait(timeout_ms)
        if stopped:
            self._on_thread_finished()
        return stopped

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    def showEvent(self, event) -> None:
        # As its own window the lab must fit the screen, title bar included (1024×768 too).
        if self.isWindow() and self.screen() is not None:
            room = self.screen().availableGeometry()
            width, height = min(self.width(), room.width() - 16), min(self.height(), room.height() - 40)
            if (width, height) != (self.width(), self.height()):
                self.resize(max(width, self.minimumSizeHint().width()), max(height, 560))
            frame = self.frameGeometry()
            if not room.contains(frame.topLeft()) or frame.bottom() > room.bottom():
                self.move(room.left() + max(0, (room.width() - frame.width()) // 2), room.top())
        super().showEvent(event)

    def open_selected(self) -> bool:
        """Emit :attr:`openRequested` for the run chosen in the run box; False when there is none."""
        index = self.run_box.currentData()
        if index is None or not 0 <= index < len(self._runs) or self._runs[index].model is None:
            return False
        run = self._runs[index]
        self.status.setText(f"Opened {run.name} in the viewer.")
        self.openRequested.emit(run.model, run.name)
        return True

    # --- slots (GUI thread) -------------------------------------------------------------

    @Slot()
    def _on_run_clicked(self) -> None:
        self.start()

    @Slot()
    def _on_cancel_clicked(self) -> None:
        self.cancel()

    @Slot()
    def _on_open_clicked(self) -> None:
        self.open_selected()

    def _on_task(self, task: str) -> None:
        self.steps_spin.setValue(DEFAULT_STEPS.get(task, 500))
        self.seeds_spin.setValue(DEFAULT_SEEDS.get(task, 3))
        self._on_seeds(self.seeds_spin.value())

    def _on_seeds(self, seeds: int) -> None:
        self.seeds_hint.setVisible(seeds < MIN_SEEDS)

    def _show_error(self, message: str) -> None:
        line = " ".join(message.split())
        self.error_label.setText(line if len(line) <= ERROR_CHARS else line[:ERROR_CHARS - 1] + "…")
        self.error_label.setToolTip(message)
        self.error_label.show()

    @Slot(bool)
    def _on_variant_toggled(self, _checked: bool) -> None:
        self._clear_error()
        if self.result is None and not self._runs and not self.running:
            # Before the first lab the table lists what Train will train.
            self._fill_table(LabResult(self.task_box.currentText(), self.selected_variants(), [], 0, 0))

    @Slot()
    def _clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.setToolTip("")
        self.error_label.hide()

    def _colour(self, variant: str) -> str:
        return (VARIANT_COLOURS_DARK if self._dark else VARIANT_COLOURS).get(variant, "#888888")

    def _pen(self, variant: str):
        return pg.mkPen(self._colour(variant), width=1.6)

    def _reset(self, variants) -> None:
        self.curve_plot.clear()  # the empty-plot note goes too
        self.curve_plot.enableAutoRange()
        if self.curve_plot.legend is not None:
            self.curve_plot.legend.clear()
            self.curve_plot.legend.setVisible(False)
        self._curves, self._data, self._done_steps, self._runs = {}, {}, {}, []
        self.result = None
        self._total_runs = len(variants) * self.seeds_spin.value()
        self._total_steps = self._total_runs * self.steps_spin.value()
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(f"%p% · 0 of {self._total_runs} runs done")
        self.text.setPlainText("")
        self.run_box.clear()
        self.run_box.setEnabled(False)
        self.open_button.setEnabled(False)
        self._fill_table(LabResult(self.task_box.currentText(), list(variants), [], 0, 0))

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.task_box, self.seeds_spin, self.steps_spin, *self.variant_boxes.values()):
            widget.setEnabled(not running)

    @Slot(str, int, int, float, int)
    def _on_progress(self, variant: str, seed: int, step: int, loss: float, steps: int) -> None:
        key = (variant, seed)
        xs, ys = self._data.setdefault(key, ([], []))
        xs.append(step)
        ys.append(loss)
        curve = self._curves.get(key)
        if curve is None:
            # The legend names each variant once, on its first seed's curve.
            first = not any(v == variant for v, _ in self._curves)
            curve = self.curve_plot.plot(pen=self._pen(variant), name=VARIANT_NAMES[variant][0] if first else None)
            self._curves[key] = curve
            self.curve_plot.legend.setVisible(True)
        curve.setData(xs, ys)
        self._done_steps[key] = step
        done = sum(self._done_steps.values())
        self.progress_bar.setValue(int(BAR_MAX * done / max(1, self._total_steps)))

    @Slot(object)
    def _on_run_done(self, run) -> None:
        self._runs.append(run)
        partial = LabResult(self.task_box.currentText(), self.selected_variants(), [], 0, 0, runs=self._runs)
        self._fill_table(partial)
        self.progress_bar.setFormat(f"%p% · {len(self._runs)} of {self._total_runs} runs done")
        if run.model is not None:
            self.run_box.addItem(f"{VARIANT_NAMES[run.variant][0]} · seed {run.seed} — {run.accuracy:.1%}",
                                 len(self._runs) - 1)
            self.run_box.setEnabled(True)
            self.open_button.setEnabled(True)
        self.status.setText(f"{VARIANT_NAMES[run.variant][0]} seed {run.seed}: test accuracy "
                            f"{run.accuracy:.1%}, loss {run.loss:.3f}")

    @Slot(object)
    def _on_done(self, result) -> None:
        self._finishing = True
        self.result = result
        self._fill_table(result)
        self.text.setPlainText(result.results_text())
        what = "Cancelled" if result.cancelled else "Finished"
        runs = len(result.runs)
        self.status.setText(f"{what}: {runs} run{'s' if runs != 1 else ''} in {result.seconds:.0f} s."
                            + (" Choose a trained run below to open it in the viewer." if runs else ""))
        if not result.cancelled:
            self.progress_bar.setValue(BAR_MAX)
        # The thread ends right after this signal; the controls need not wait for it.
        self._set_running(False)
        self.labFinished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._finishing = True
        self.status.setText(f"The lab stopped after {len(self._runs)} finished run(s).")
        self._show_error(f"The lab stopped with an error: {message}")
        self._set_running(False)

    @Slot()
    def _on_thread_finished(self) -> None:
        # Called by the thread's finished signal, or directly by stop(): once is enough.
        if self._thread is None or self._thread.isRunning():
            return
        self._set_running(False)
        self._thread.deleteLater()
        self._thread = None
        self._finishing = False

    def _fill_table(self, result: LabResult) -> None:
        self.table.setRowCount(len(result.variants))
        for row, v in enumerate(result.variants):
            s = result.summary(v)
            name, removes = VARIANT_NAMES[v]
            if s is None:
                cells = (name, removes, "0", "—", "—", "—")
            elif s.n < 2:
                # One seed has no spread: "± 0.0%" would read as a measured one.
                cells = (name, removes, "1", f"{s.acc_mean:.1%}", "—", f"{s.loss_mean:.3f}")
            else:
                cells = (name, removes, str(s.n), f"{s.acc_mean:.1%} ± {s.acc_std:.1%}",
                         f"{s.acc_min:.1%} – {s.acc_max:.1%}", f"{s.loss_mean:.3f} ± {s.loss_std:.3f}")
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if col >= 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if col == 0:
                    item.setData(Qt.UserRole, v)
                    item.setForeground(pg.mkColor(self._colour(v)))
                self.table.setItem(row, col, item)

    def table_text(self) -> list[list[str]]:
        """The table's cells as text, row by row (for tests and export)."""
        return [[self.table.item(r, c).text() if self.table.item(r, c) else ""
                 for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]
