"""The variant lab in the GUI: train gate variants on a worker thread, watch them learn.

:class:`LabView` runs :func:`lstm_viewer.training.lab.run_lab` on a
:class:`QThread`, draws each run's learning curve while it trains, fills the
results table as runs finish and shows the comparison with Greff et al. when
the lab ends. Cancel stops after the current progress point; closing the
view stops the thread and waits for it.

Threading: the lab thread only emits signals; every receiver is a bound
method of this widget, so Qt delivers them queued on the GUI thread. The cancel flag
is a :class:`threading.Event`, safe to set from the GUI thread.
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
    VARIANT_NAMES,
    LabResult,
    run_lab,
)
from ..theme import style_plots

# One colour per variant (from Tol's "bright" and "vibrant" schemes, colour-blind
# safe; the bright yellow is replaced by orange, which reads on white too).
VARIANT_COLOURS = {"standard": "#4477AA", "nig": "#EE6677", "nfg": "#228833",
                   "nog": "#EE7733", "cifg": "#AA3377"}
TABLE_COLUMNS = ("variant", "removes", "seeds", "test accuracy (mean ± sd)", "min – max",
                 "test loss (mean ± sd)")


class LabThread(QThread):
    """Runs one lab in :meth:`run` and reports only through signals.

    No event loop is needed: the thread ends when the lab returns, which a
    cancel makes happen at the next progress point.
    """

    progress = Signal(str, int, int, float, int)   # variant, seed, step, train loss, steps
    runDone = Signal(object)                         # RunResult
    done = Signal(object)                            # LabResult
    failed = Signal(str)

    def __init__(self, task: str, variants, seeds: int, steps: int, parent=None):
        super().__init__(parent)
        self.setObjectName("labThread")
        self.task, self.variants, self.seeds, self.steps = task, list(variants), seeds, steps
        self.cancel_event = threading.Event()

    def run(self) -> None:
        try:
            result = run_lab(self.task, self.variants, self.seeds, self.steps,
                             progress=self._progress, on_run=self.runDone.emit,
                             should_stop=self.cancel_event.is_set)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never lost in a thread
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        self.done.emit(result)

    def _progress(self, variant, seed, step, loss, steps) -> bool:
        self.progress.emit(variant, seed, step, loss, steps)
        return not self.cancel_event.is_set()


class LabView(QWidget):
    """Controls, live learning curves, a results table and the results text.

    Signals
    -------
    labFinished(object)
        The :class:`~lstm_viewer.training.lab.LabResult` (also when cancelled).
    """

    labFinished = Signal(object)

    def __init__(self, parent=None, task: str = "latch"):
        super().__init__(parent)
        self.setObjectName("labView")
        self._thread: LabThread | None = None
        self.result: LabResult | None = None
        self._runs = []
        self._curves: dict[tuple[str, int], pg.PlotDataItem] = {}
        self._data: dict[tuple[str, int], tuple[list, list]] = {}
        self._total_steps = 1
        self._done_steps: dict[tuple[str, int], int] = {}

        self.task_box = QComboBox()
        self.task_box.addItems(list(LAB_TASKS))
        self.task_box.setCurrentText(task)
        self.task_box.currentTextChanged.connect(self._on_task)
        self.variant_boxes: dict[str, QCheckBox] = {}
        variants_row = QHBoxLayout()
        for v in ALL_VARIANTS:
            box = QCheckBox(VARIANT_NAMES[v][0])
            box.setChecked(True)
            box.setToolTip(VARIANT_NAMES[v][1])
            variants_row.addWidget(box)
            self.variant_boxes[v] = box
        self.seeds_spin = QSpinBox()
        self.seeds_spin.setRange(1, 20)
        self.seeds_spin.setValue(3)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 20000)
        self.steps_spin.setSingleStep(100)
        self.run_button = QPushButton("Train variants")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setValue(0)
        self.status = QLabel("Trains every variant from scratch with the same size, seeds and budget.")
        self.status.setWordWrap(True)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Task"))
        controls.addWidget(self.task_box)
        controls.addSpacing(8)
        controls.addLayout(variants_row)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Seeds"))
        controls.addWidget(self.seeds_spin)
        controls.addWidget(QLabel("Steps"))
        controls.addWidget(self.steps_spin)
        controls.addStretch(1)
        controls.addWidget(self.run_button)
        controls.addWidget(self.cancel_button)

        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(220)
        self.curve_plot = self.view.addPlot(title="learning curves (training loss, one line per seed)")
        self.curve_plot.setLabel("bottom", "training step")
        self.curve_plot.setLabel("left", "training loss")
        self.curve_plot.setMenuEnabled(False)
        self.curve_plot.showGrid(x=True, y=True, alpha=0.2)
        self.curve_plot.addLegend(offset=(-4, 4), labelTextSize="8pt",
                                  brush=pg.mkBrush(255, 255, 255, 210), pen=pg.mkPen("#bbbbbb"))

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.NoSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        self.table.setMinimumHeight(7 * 26)

        # A read-only browser, not a label: the text is long and must scroll
        # rather than spill over the table when the window is small.
        self.text = QTextBrowser()
        self.text.setObjectName("labResultsText")
        self.text.setMinimumHeight(90)

        lower = QWidget()
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.addWidget(self.table)
        lower_layout.addWidget(self.text, 1)
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.view)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        layout.addLayout(progress_row)
        layout.addWidget(self.status)
        layout.addWidget(splitter, 1)
        self._on_task(self.task_box.currentText())
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
        style_plots(self.view, [self.curve_plot], dark)

    def start(self, task: str | None = None, variants=None, seeds: int | None = None,
              steps: int | None = None) -> bool:
        """Start a lab with the given settings (the controls' values where None).

        Returns False, doing nothing, while a lab is already running or when
        no variant is selected.
        """
        if self.running:
            return False
        if task is not None:
            self.task_box.setCurrentText(task)
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
            self.status.setText("Choose at least one variant.")
            return False
        self._reset(chosen)
        thread = LabThread(self.task_box.currentText(), chosen, self.seeds_spin.value(),
                           self.steps_spin.value(), self)
        thread.progress.connect(self._on_progress)
        thread.runDone.connect(self._on_run_done)
        thread.done.connect(self._on_done)
        thread.failed.connect(self._on_failed)
        thread.finished.connect(self._on_thread_finished)
        self._thread = thread
        self._set_running(True)
        self.status.setText(f"Training {len(chosen)} variants × {self.seeds_spin.value()} seeds on "
                            f"{self.task_box.currentText()}, {self.steps_spin.value()} steps each…")
        self._thread.start()
        return True

    def cancel(self) -> None:
        """Ask the lab to stop at its next progress point (finished runs are kept)."""
        if self._thread is not None:
            self._thread.cancel_event.set()
            self.status.setText("Cancelling…")

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the thread to end; True when no thread is left running."""
        thread = self._thread
        if thread is None:
            return True
        self.cancel()
        stopped = thread.wait(timeout_ms)
        if stopped:
            self._on_thread_finished()
        return stopped

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)

    # --- slots (GUI thread) -------------------------------------------------------------

    def _on_task(self, task: str) -> None:
        self.steps_spin.setValue(DEFAULT_STEPS.get(task, 500))
        self.seeds_spin.setValue(DEFAULT_SEEDS.get(task, 3))

    def _reset(self, variants) -> None:
        self.curve_plot.clear()
        if self.curve_plot.legend is not None:
            self.curve_plot.legend.clear()
        self._curves, self._data, self._done_steps, self._runs = {}, {}, {}, []
        self.result = None
        self._total_steps = len(variants) * self.seeds_spin.value() * self.steps_spin.value()
        self.progress_bar.setValue(0)
        self.text.setPlainText("")
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
            curve = self.curve_plot.plot(pen=pg.mkPen(VARIANT_COLOURS.get(variant, "#888888"), width=1.4),
                                         name=VARIANT_NAMES[variant][0] if first else None)
            self._curves[key] = curve
        curve.setData(xs, ys)
        self._done_steps[key] = step
        done = sum(self._done_steps.values())
        self.progress_bar.setValue(int(1000 * done / max(1, self._total_steps)))

    @Slot(object)
    def _on_run_done(self, run) -> None:
        self._runs.append(run)
        partial = LabResult(self.task_box.currentText(), self.selected_variants(), [], 0, 0, runs=self._runs)
        self._fill_table(partial)
        self.status.setText(f"{VARIANT_NAMES[run.variant][0]} seed {run.seed}: test accuracy "
                            f"{run.accuracy:.1%}, loss {run.loss:.3f}")

    @Slot(object)
    def _on_done(self, result) -> None:
        self.result = result
        self._fill_table(result)
        self.text.setPlainText(result.results_text())
        what = "Cancelled" if result.cancelled else "Finished"
        self.status.setText(f"{what}: {len(result.runs)} runs in {result.seconds:.0f} s.")
        if not result.cancelled:
            self.progress_bar.setValue(1000)
        # The thread ends right after this signal; the controls need not wait for it.
        self._set_running(False)
        self.labFinished.emit(result)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.status.setText(f"The lab stopped with an error: {message}")
        self._set_running(False)

    @Slot()
    def _on_thread_finished(self) -> None:
        # Called by the thread's finished signal, or directly by stop(): once is enough.
        if self._thread is None or self._thread.isRunning():
            return
        self._set_running(False)
        self._thread.deleteLater()
        self._thread = None

    def _fill_table(self, result: LabResult) -> None:
        self.table.setRowCount(len(result.variants))
        for row, v in enumerate(result.variants):
            s = result.summary(v)
            name, removes = VARIANT_NAMES[v]
            if s is None:
                cells = (name, removes, "0", "—", "—", "—")
            else:
                cells = (name, removes, str(s.n), f"{s.acc_mean:.1%} ± {s.acc_std:.1%}",
                         f"{s.acc_min:.1%} – {s.acc_max:.1%}", f"{s.loss_mean:.3f} ± {s.loss_std:.3f}")
            for col, value in enumerate(cells):
                item = QTableWidgetItem(value)
                if col >= 2:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if col == 0:
                    item.setForeground(pg.mkColor(VARIANT_COLOURS.get(v, "#888888")))
                self.table.setItem(row, col, item)

    def table_text(self) -> list[list[str]]:
        """The table's cells as text, row by row (for tests and export)."""
        return [[self.table.item(r, c).text() if self.table.item(r, c) else ""
                 for c in range(self.table.columnCount())] for r in range(self.table.rowCount())]
