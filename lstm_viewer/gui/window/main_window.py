"""The main window: the cell diagram in the centre, panels in dock widgets.

Layout: input line and token timeline above the diagram; inspector and model
info docked right (tabbed); c/a plots docked at the bottom. Later panels
(interventions, comparison) are added with :meth:`MainWindow.add_panel`.

The window wires the Qt-free :class:`ViewerState` to the views and to the
one :class:`EngineWorker`; all worker signals go to bound methods of this
GUI-thread object.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QColor, QIcon, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QTabBar,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QStyle,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ...engine import InterventionError, ModelError, parse_intervention
from ...engine.interventions import parse_units
from ...formats import LoadError, bundled_cards, bundled_models, load
from ...formats.detect import FORMAT_NAMES
from .. import theme
from ..panels.banner import Banner
from ..diagram.canvas import DiagramCanvas
from ..panels.input_panel import InputPanel
from ..panels.inspector import Inspector
from ..panels.model_info import ModelInfo
from .playback import Playback
from ..panels.state_plots import StatePlots
from ..panels.timeline import Timeline
from ..diagram.ranges import trace_ranges
from ..viewer_state import COLOUR_MODES, ViewerState
from ..worker import EngineWorker, Job

DEFAULT_MODEL = "latch"
MAX_RECENT = 8
#: Bumped when the dock layout changes, so an old saved layout is not restored.
LAYOUT_VERSION = 3
#: Default width of the tabbed panel area (px); the diagram takes the rest.
PANEL_WIDTH = 330
#: Show the progress bar only for jobs longer than this (ms), to avoid flicker.
PROGRESS_DELAY_MS = 150
#: Speeds offered by the slider, in steps per second.
SPEEDS = (0.5, 1, 2, 4, 8, 15, 30, 60)

#: File-dialog patterns per format id of ``lstm_viewer.formats.detect.FORMAT_NAMES``.
FORMAT_PATTERNS = {
    "torch": ("*.pt", "*.pth", "*.bin"),
    "safetensors": ("*.safetensors",),
    "keras": ("*.keras",),
    "keras-h5": ("*.h5", "*.hdf5"),
    "onnx": ("*.onnx",),
    "npz": ("*.npz",),
}


def load_model(source: str):
    """Load a weights file or a bundled model name into an ``LSTMModel``.

    Raises
    ------
    LoadError
        With a one-line reason for a file that cannot be used.
    """
    try:
        return load(source)
    except (LoadError, ModelError):
        raise
    except FileNotFoundError:
        raise LoadError("no such file or bundled model", str(source)) from None
    except OSError as exc:
        raise LoadError(exc.strerror or str(exc), str(source)) from None


def open_filter() -> str:
    """File-dialog filter naming every supported weights format."""
    formats = [(FORMAT_NAMES[key], FORMAT_PATTERNS.get(key, ("*",))) for key in FORMAT_NAMES]
    patterns = sorted({p for _, pats in formats for p in pats})
    lines = [f"All supported weights ({' '.join(patterns)})"]
    lines += [f"{name.split(' (')[0]} ({' '.join(pats)})" for name, pats in formats]
    lines.append("All files (*)")
    return ";;".join(lines)


class MainWindow(QMainWindow):
    """The lstm-viewer window.

    Parameters
    ----------
    state : ViewerState, optional
        A fresh one when not given.
    settings : QSettings, optional
        Where layout, speed, theme and recent files persist (tests pass a
        temporary one).
    """

    #: Emitted after a trace has been installed in the state (job id).
    traceReady = Signal(int)
    #: Emitted with every error message shown to the user.
    errorShown = Signal(str)

    def __init__(self, state: ViewerState | None = None, settings: QSettings | None = None):
        super().__init__()
        self.state = state or ViewerState()
        self.settings = settings or QSettings()
        self.setWindowTitle("lstm-viewer")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._job_id = 0
        self._pinned_node = "c"
        self._closing = False

        self.playback = Playback(self.state, self)

        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()
        # The thread starts last, so a failure above never leaves it running.
        self.worker = EngineWorker()
        # Explicitly queued: these slots must run on the GUI thread.
        queued = Qt.QueuedConnection
        self.worker.started.connect(self._on_job_started, queued)
        self.worker.progress.connect(self._on_job_progress, queued)
        self.worker.finished.connect(self._on_job_finished, queued)
        self.worker.errored.connect(self._on_job_errored, queued)
        self.worker.aborted.connect(self._on_job_aborted, queued)

        s = self.state
        s.events.model.connect(self._on_model)
        s.events.layer.connect(self._on_layer)
        s.events.inputs.connect(self._on_inputs)
        s.events.interventions.connect(self._on_interventions)
        s.events.step.connect(self._on_step)
        s.events.unit.connect(self._on_unit)
        s.events.playing.connect(self._on_playing)
        s.events.speed.connect(self._on_speed)
        s.events.dark.connect(self._on_dark)
        s.events.trace.connect(self._on_trace)
        s.events.colour_mode.connect(self._on_colour_mode)
        self._presentation_state = None
        self._restoring_layout = False
        self._hidden_size_shown = 0
        self._locked_ranges: tuple[float, float] | None = None
        self.diagram.scene.set_describer(self._describe_cell)
        self._restore_settings()

    # ------------------------------------------------------------------ build
    def _build_central(self) -> None:
        s = self.state
        self.input_panel = InputPanel(s)
        self.input_panel.problem.connect(self.show_error)
        self.timeline = Timeline(s)
        self.banner = Banner()
        self.diagram = DiagramCanvas()
        self.diagram.nodeClicked.connect(self._on_node_clicked)
        self.diagram.nodeHovered.connect(self._on_node_hovered)
        self.diagram.unitClicked.connect(self._on_unit_clicked)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.input_panel)
        layout.addWidget(self.timeline)
        layout.addWidget(self.banner)
        layout.addWidget(self.diagram, 1)
        self.setCentralWidget(central)

    def add_panel(self, widget: QWidget, title: str, area=Qt.RightDockWidgetArea,
                  tabify_with: QDockWidget | None = None) -> QDockWidget:
        """Dock ``widget`` (a view of ``self.state``) and list it in View ▸ Panels.

        Later panels (interventions, comparison) use this; the dock's object
        name is derived from ``title`` so the layout persists.
        """
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetClosable | QDockWidget.DockWidgetMovable
                         | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        if tabify_with is not None:
            self.tabifyDockWidget(tabify_with, dock)
        if hasattr(self, "panels_menu"):
            self.panels_menu.addAction(dock.toggleViewAction())
        self._docks = getattr(self, "_docks", []) + [dock]
        QTimer.singleShot(0, self.tidy_tab_bars)   # the tab bar exists once the layout settles
        dock.visibilityChanged.connect(self._on_dock_visible)
        return dock

    def _on_dock_visible(self, visible: bool) -> None:
        if visible:
            # After the layout settles: a panel that opens never squeezes the cell.
            QTimer.singleShot(0, self.fit_panel_area)

    def fit_panel_area(self) -> None:
        """Narrow the docked panels to a third of the window when opening one widened them."""
        if self.presenting or self._restoring_layout:
            return
        limit = max(PANEL_WIDTH, int(self.width() * 0.34))
        docks = [d for d in self.findChildren(QDockWidget)
                 if d.isVisible() and not d.isFloating() and self.dockWidgetArea(d) == Qt.RightDockWidgetArea]
        if docks and max(d.width() for d in docks) > limit:
            self.resizeDocks(docks, [limit] * len(docks), Qt.Horizontal)

    def _build_docks(self) -> None:
        s = self.state
        self.inspector = Inspector(s)
        self.model_info = ModelInfo(s)
        self.state_plots = StatePlots(s)
        # Every panel shares one tabbed area right of the diagram: the
        # bottom-to-top cell keeps the window's full height and most of its width.
        self.inspector_dock = self.add_panel(self.inspector, "Inspector")
        self.model_dock = self.add_panel(self.model_info, "Model", tabify_with=self.inspector_dock)
        self.plots_dock = self.add_panel(self.state_plots, "State over time",
                                         tabify_with=self.inspector_dock)
        self.inspector_dock.raise_()
        self.resizeDocks([self.inspector_dock], [PANEL_WIDTH], Qt.Horizontal)

    def _action(self, text, slot, shortcut=None, tip=None, checkable=False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.NativeText)})"
                              if shortcut else tip)
        action.setCheckable(checkable)
        # A no-argument slot: triggered(bool) would pass `checked` into optional parameters.
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False, f=slot: f())
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        pb = self.playback
        self.act_open = self._action("&Open…", self._choose_file, QKeySequence.Open, "Open a weights file")
        self.act_sequence = self._action("Load &Sequence…", self.input_panel._choose_file, "Ctrl+L",
                                         "Load an input sequence from a file")
        self.act_export = self._action("&Export Image…", self._export_image, "Ctrl+E",
                                       "Save the window as a PNG image")
        self.act_quit = self._action("&Quit", self.close, QKeySequence.Quit, "Quit lstm-viewer")
        self.act_play = self._action("&Play", self._toggle_play, Qt.Key_Space, "Play / pause")
        self.act_next = self._action("Step &Forward", self._step_forward, Qt.Key_Right, "Next step")
        self.act_prev = self._action("Step &Back", self._step_back, Qt.Key_Left, "Previous step")
        self.act_first = self._action("&First Step", pb.first, Qt.Key_Home, "Go to the first step")
        self.act_last = self._action("&Last Step", pb.last, Qt.Key_End, "Go to the last step")
        self.act_faster = self._action("Fas&ter", self._faster, "]", "Play faster")
        self.act_slower = self._action("Slo&wer", self._slower, "[", "Play slower")
        # Esc leaves presentation mode, else cancels a running computation.
        self.act_escape = self._action("Leave Presentation / Cancel", self._on_escape, Qt.Key_Escape)
        self.act_cancel = self._action("&Cancel Computation", self._cancel_job, None,
                                       "Stop computing the current input (Esc)")
        self.act_cancel.setEnabled(False)
        self.act_zoom_in = self._action("Zoom &In", self._zoom_in, QKeySequence.ZoomIn,
                                        "Enlarge the diagram (Ctrl+wheel)")
        self.act_zoom_in.setShortcuts([QKeySequence.ZoomIn, QKeySequence("Ctrl+=")])
        self.act_zoom_out = self._action("Zoom &Out", self._zoom_out, QKeySequence.ZoomOut,
                                         "Shrink the diagram")
        self.act_fit = self._action("&Fit Diagram", self._fit, "Ctrl+0", "Show the whole cell")
        self.act_present = self._action("&Presentation", self.set_presentation, "F11",
                                        "Full screen: the diagram and the timeline only (Esc leaves)",
                                        checkable=True)
        self.act_save_view = self._action("Save &View…", self._save_view, "Ctrl+Shift+S",
                                          "Save model, input, step, unit, layer, interventions and panels")
        self.act_open_view = self._action("Open Vie&w…", self._open_view, "Ctrl+Shift+O",
                                          "Restore a saved view")
        group = QActionGroup(self)
        self._colour_actions = {}
        for mode, text, tip in (("trace", "Per &Trace", "Each node's range fixed for the whole trace"),
                                ("locked", "&Locked", "Keep the ranges across inputs and interventions"),
                                ("step", "Per &Step", "Fit the ranges to every step")):
            act = QAction(text, self, checkable=True)
            act.setData(mode)
            act.setStatusTip(tip)
            group.addAction(act)
            act.triggered.connect(self._on_colour_action)
            self._colour_actions[mode] = act
        self._colour_actions["trace"].setChecked(True)
        self.act_dark = self._action("&Dark Theme", self._set_dark, "Ctrl+Shift+D",
                                     "Switch between light and dark theme", checkable=True)
        self.act_about = self._action("&About lstm-viewer", self._about, None, "About lstm-viewer")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self.file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.bundled_menu = file_menu.addMenu("Open &Bundled Model")
        self._build_bundled_menu()
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addAction(self.act_sequence)
        file_menu.addSeparator()
        file_menu.addAction(self.act_open_view)
        file_menu.addAction(self.act_save_view)
        file_menu.addSeparator()
        file_menu.addAction(self.act_export)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        play_menu = bar.addMenu("&Playback")
        for action in (self.act_play, self.act_prev, self.act_next, self.act_first, self.act_last):
            play_menu.addAction(action)
        play_menu.addSeparator()
        play_menu.addAction(self.act_faster)
        play_menu.addAction(self.act_slower)
        play_menu.addSeparator()
        play_menu.addAction(self.act_cancel)
        view_menu = self.view_menu = bar.addMenu("&View")
        for action in (self.act_zoom_in, self.act_zoom_out, self.act_fit):
            view_menu.addAction(action)
        view_menu.addAction(self.act_present)
        view_menu.addSeparator()
        self.panels_menu = view_menu.addMenu("&Panels")
        for dock in self._docks:
            self.panels_menu.addAction(dock.toggleViewAction())
        self.colour_menu = view_menu.addMenu("&Colour Scale")
        for act in self._colour_actions.values():
            self.colour_menu.addAction(act)
        view_menu.addAction(self.act_dark)
        self.units_menu = view_menu.addMenu("&Units Shown")
        group = QActionGroup(self)
        self._unit_mode_actions = {}
        for mode, text in (("all", "&All"), ("most_active", "Most &Active"),
                           ("most_changed", "Most &Changed This Step"), ("manual", "&Hand-Picked…")):
            act = QAction(text, self, checkable=True)
            act.setData(mode)
            group.addAction(act)
            self.units_menu.addAction(act)
            act.triggered.connect(self._on_unit_mode_action)
            self._unit_mode_actions[mode] = act
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.act_about)
        self._rebuild_recent_menu()

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Playback")
        tb.setObjectName("toolbar_playback")
        tb.setMovable(False)
        tb.addAction(self.act_open)
        tb.addSeparator()
        self._media_icons = ((self.act_first, QStyle.SP_MediaSkipBackward),
                             (self.act_prev, QStyle.SP_MediaSeekBackward),
                             (self.act_next, QStyle.SP_MediaSeekForward),
                             (self.act_last, QStyle.SP_MediaSkipForward))
        self._set_media_icons()
        for action in (self.act_first, self.act_prev, self.act_play, self.act_next, self.act_last):
            tb.addAction(action)
        tb.addSeparator()
        tb.addWidget(QLabel(" Speed "))
        self.speed_slider = QSlider(Qt.Horizontal)
        self.speed_slider.setRange(0, len(SPEEDS) - 1)
        self.speed_slider.setFixedWidth(120)
        self.speed_slider.setToolTip("Playback speed ([ and ])")
        self.speed_slider.valueChanged.connect(self._on_speed_slider)
        tb.addWidget(self.speed_slider)
        self.speed_label = QLabel()
        self.speed_label.setMinimumWidth(70)
        tb.addWidget(self.speed_label)
        tb.addSeparator()
        self.step_label = QLabel()
        self.step_label.setObjectName("stepLabel")
        tb.addWidget(self.step_label)
        spacer = QWidget()
        spacer.setSizePolicy(spacer.sizePolicy().horizontalPolicy().Expanding,
                             spacer.sizePolicy().verticalPolicy().Preferred)
        tb.addWidget(spacer)
        self.layer_label = QLabel("Layer ")
        self.layer_box = QComboBox()
        self.layer_box.setToolTip("Which layer (and direction) the diagram shows")
        self.layer_box.activated.connect(self._on_layer_box)
        self._layer_actions = (tb.addWidget(self.layer_label), tb.addWidget(self.layer_box))
        tb.addWidget(QLabel(" Units "))
        self.unit_mode = QComboBox()
        self.unit_mode.setToolTip("Which units the diagram shows when the layer is large")
        for mode, text in (("all", "all"), ("most_active", "most active"),
                           ("most_changed", "most changed"), ("manual", "hand-picked")):
            self.unit_mode.addItem(text, mode)
        self.unit_mode.currentIndexChanged.connect(self._on_unit_mode_box)
        self.toolbar = tb
        tb.addWidget(self.unit_mode)
        self.units_edit = QLineEdit()
        self.units_edit.setPlaceholderText("e.g. 3,4,8-12")
        self.units_edit.setToolTip("Units the diagram shows (hand-picked): a list like 0,3,5 or 2-6")
        self.units_edit.setFixedWidth(110)
        self.units_edit.editingFinished.connect(self._on_units_edit)
        self._units_edit_action = tb.addWidget(self.units_edit)
        self._units_edit_action.setVisible(False)
        tb.addAction(self.act_dark)

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setFormat("computing %p%")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._cancel_job)
        for w in (self.progress, self.cancel_button):
            w.hide()
            sb.addPermanentWidget(w)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self._show_progress)

    # ------------------------------------------------------------- loading
    def open_source(self, source: str, *, remember: bool = True) -> bool:
        """Load a weights file or bundled model; on failure keep the current one.

        Returns True when the new model is shown.
        """
        source = bundled_name_of(str(source))
        try:
            model = load_model(source)
        except (LoadError, ModelError) as exc:
            name = Path(str(source)).name or str(source)
            self.show_error(f"Could not open {name}: {getattr(exc, 'reason', exc)}"
                            + (" — the previous model is still loaded." if self.state.model else ""))
            return False
        self.set_model(model, str(source))
        if remember and Path(str(source)).exists():
            self._remember(str(Path(source).resolve()))
        return True

    def open_model(self, model, name: str) -> None:
        """Show a model made in the app (a trained lab variant) under ``name``."""
        self.set_model(model, name)

    def _build_bundled_menu(self) -> None:
        menu = self.bundled_menu
        menu.clear()
        for name, summary in bundled_model_summaries():
            act = menu.addAction(f"{name} — {summary}" if summary else name)
            act.setData(name)
            act.setStatusTip(summary)
            act.triggered.connect(self._on_bundled)
        menu.setEnabled(not menu.isEmpty())

    def _on_bundled(self) -> None:
        action = self.sender()
        if action is not None and action.data():
            self.open_source(action.data(), remember=False)

    def set_model(self, model, source: str = "") -> None:
        """Show ``model`` (already loaded); cancels any running job."""
        self.worker.cancel()
        self.state.set_playing(False)
        self.banner.hide()
        self.state.set_model(model, source)
        self.statusBar().showMessage(f"Loaded {model.name or Path(source).name or 'model'}", 5000)

    def _choose_file(self) -> None:
        start = self.settings.value("lastDir", "", str)
        path, _ = QFileDialog.getOpenFileName(self, "Open a weights file", start, open_filter())
        if path:
            self.settings.setValue("lastDir", str(Path(path).parent))
            self.open_source(path)

    def _remember(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self.settings.setValue("lastFile", path)
        self._rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _rebuild_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        recent = self.recent_files()
        for i, path in enumerate(recent):
            act = menu.addAction(f"&{i + 1} {Path(path).name}")
            act.setData(path)
            act.setToolTip(path)
            act.triggered.connect(self._on_recent)
        if recent:
            menu.addSeparator()
            menu.addAction("Clear Menu").triggered.connect(self._clear_recent)
        menu.setEnabled(bool(recent))

    def _on_recent(self) -> None:
        action = self.sender()
        if action is not None and action.data():
            self.open_source(action.data())

    def _clear_recent(self) -> None:
        self.settings.setValue("recentFiles", [])
        self._rebuild_recent_menu()

    def show_error(self, message: str) -> None:
        """Show a problem in the banner and the status bar; nothing is unloaded."""
        self.banner.show_message(message)
        self.statusBar().showMessage(message, 15000)
        self.errorShown.emit(message)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not getattr(self, "_shown_once", False):
            # Start with the focus on the diagram, not the text field, so that
            # Space plays and the arrow keys step instead of editing the input.
            self._shown_once = True
            self.diagram.setFocusPolicy(Qt.StrongFocus)
            self.diagram.setFocus(Qt.OtherFocusReason)

    # drag and drop -------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if ((mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()))
                or (mime.hasText() and mime.text().strip() in bundled_models())):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        mime = event.mimeData()
        if not mime.hasUrls() and mime.hasText() and mime.text().strip() in bundled_models():
            self.open_source(mime.text().strip(), remember=False)
            event.acceptProposedAction()
            return
        for url in mime.urls():
            if url.isLocalFile():
                path = url.toLocalFile()
                if Path(path).suffix.lower() in (".txt", ".csv", ".npy") and self.state.model is not None:
                    self.input_panel.load_file(path)
                else:
                    self.open_source(path)
                event.acceptProposedAction()
                return

    # --------------------------------------------------------------- engine
    def _on_model(self, event) -> None:
        model = self.state.model
        title = "lstm-viewer"
        if model is not None:
            title = f"{model.name or Path(self.state.source).stem} — lstm-viewer"
        self.setWindowTitle(title)
        self.diagram.set_clamped({})  # a new model starts intact (see ViewerState.set_model)
        self._apply_structure()
        self._update_step_label()

    def _on_layer(self, event) -> None:
        self._apply_structure()

    def _apply_structure(self) -> None:
        model = self.state.model
        if model is None:
            return
        k, direction = self.state.layer, self.state.direction
        cell = model.layers[k].cells[direction]
        top = k == len(model.layers) - 1
        self.diagram.set_structure(
            input_size=cell.input_size, hidden_size=cell.hidden_size,
            has_peepholes=cell.peephole is not None, has_head=top and model.head is not None,
            output_size=(model.output_size or 0) if top else 0,
            vocab=model.vocab if k == 0 or top else None,
            title=f"LSTM cell · {layer_title(model, k, direction)}",
        )
        self._fill_layer_box()
        if self.unit_mode.currentData() == "manual":
            previous, self._hidden_size_shown = self._hidden_size_shown, cell.hidden_size
            if previous and previous != cell.hidden_size and self.units_edit.text().strip():
                # Units picked for another layer size mean other units here.
                self.units_edit.clear()
                self.statusBar().showMessage(
                    f"Hand-picked units reset: this layer has H = {cell.hidden_size} "
                    f"(they were picked for H = {previous}).", 8000)
            self._on_units_edit()  # the hand-picked list is checked against the new size
        self._hidden_size_shown = cell.hidden_size
        self._apply_ranges()

    def _fill_layer_box(self) -> None:
        model = self.state.model
        box = self.layer_box
        box.blockSignals(True)
        box.clear()
        for k, layer in enumerate(model.layers):
            for d in range(len(layer.cells)):
                box.addItem(layer_title(model, k, d), (k, d))
        box.setCurrentIndex(max(0, box.findData((self.state.layer, self.state.direction))))
        box.blockSignals(False)
        many = box.count() > 1
        for action in self._layer_actions:
            action.setVisible(many)

    def _on_layer_box(self, index: int) -> None:
        data = self.layer_box.itemData(index)
        if data is not None:
            self.state.set_layer(*data)

    # colour ranges -----------------------------------------------------------------
    def _on_trace(self, event) -> None:
        self._apply_ranges()

    def _apply_ranges(self) -> None:
        """Fix the diagram's colour ranges for the shown layer, by the colour mode."""
        mode = self.state.colour_mode
        d = self.state.direction_trace
        if mode == "step" or d is None or d.hidden_size != self._hidden_size_shown:
            self.diagram.scene.set_color_ranges(1.0, 1.0, mode)
            return
        prepared = (self.state.overview or {}).get((self.state.layer, self.state.direction))
        ranges = prepared["ranges"] if prepared and "ranges" in prepared else trace_ranges(d)
        if mode == "locked":
            if self._locked_ranges is None:
                self._locked_ranges = ranges
            ranges = self._locked_ranges
        self.diagram.scene.set_color_ranges(*ranges, mode)

    def _on_colour_action(self) -> None:
        action = self.sender()
        if action is not None:
            self.state.set_colour_mode(action.data())

    def _on_colour_mode(self, event) -> None:
        mode = self.state.colour_mode
        self._colour_actions[mode].setChecked(True)
        # Locking keeps the ranges of the trace on screen now.
        self._locked_ranges = None
        self._apply_ranges()
        self._on_step(None)

    def _describe_cell(self, node: str, unit: int) -> str:
        """Tooltip lines for a gate's or the candidate's cell: its pre-activation parts."""
        d = self.state.direction_trace
        if d is None or node not in ("forget", "update", "candidate", "output") or not self.state.length:
            return ""
        t = min(self.state.t, self.state.length - 1)
        try:
            parts = d.preactivation(node, t)
        except (KeyError, IndexError, ValueError):
            return ""
        if not 0 <= unit < len(parts["total"]):
            return ""
        terms = "  ".join(f"{key} {float(value[unit]):+.3f}" for key, value in parts.items()
                          if key != "total")
        return f"pre-activation {float(parts['total'][unit]):+.3f} = {terms}"

    def _on_inputs(self, event) -> None:
        self.run_engine()

    def _on_interventions(self, event) -> None:
        self.diagram.set_clamped(clamped_nodes(self.state.interventions))
        self.run_engine()

    def run_engine(self) -> int:
        """Run the current input through the engine on the worker; returns the job id."""
        s = self.state
        if s.model is None or s.inputs is None:
            return 0
        self._job_id = self.worker.submit(Job(s.model, s.inputs, list(s.interventions)))
        return self._job_id

    def _cancel_job(self) -> None:
        if self.worker.busy_job:
            self.worker.cancel()

    # worker slots (bound methods: they run on the GUI thread) -------------------
    @Slot(int)
    def _on_job_started(self, job_id: int) -> None:
        if job_id == self._job_id:
            self.act_cancel.setEnabled(True)
            self.progress.setValue(0)
            self._progress_timer.start()

    def _show_progress(self) -> None:
        if self.worker.busy_job == self._job_id and self._job_id:
            self.progress.show()
            self.cancel_button.show()

    @Slot(int, float)
    def _on_job_progress(self, job_id: int, fraction: float) -> None:
        if job_id == self._job_id:
            self.progress.setValue(int(fraction * 1000))

    def _job_done(self) -> None:
        self._progress_timer.stop()
        self.progress.hide()
        self.cancel_button.hide()
        self.act_cancel.setEnabled(False)

    @Slot(int, object)
    def _on_job_finished(self, job_id: int, result) -> None:
        if job_id != self._job_id or self._closing:
            return
        self._job_done()
        self.state.set_trace(result.trace, result.overview)
        self.statusBar().showMessage(
            f"{result.trace.length} steps computed in {result.seconds * 1000:.0f} ms", 4000)
        self.traceReady.emit(job_id)

    @Slot(int, str)
    def _on_job_errored(self, job_id: int, message: str) -> None:
        if job_id != self._job_id:
            return
        self._job_done()
        self.show_error(f"The engine could not run this input: {message}")

    @Slot(int)
    def _on_job_aborted(self, job_id: int) -> None:
        if job_id != self._job_id:
            return  # superseded by a newer job: nothing to say
        self._job_done()
        self.statusBar().showMessage("Computation cancelled; the previous trace is still shown", 5000)

    # --------------------------------------------------------------- views
    def _on_step(self, event) -> None:
        self._update_step_label()
        s = self.state
        values = s.step_values()
        if values is None:
            return
        peephole = None
        d = s.direction_trace
        if d.pre_c is not None:
            H = d.hidden_size
            row = d.pre_c[s.t]
            peephole = {"update": row[:H], "forget": row[H:2 * H], "output": row[2 * H:]}
        self.diagram.show_step(values, token_text=s.token_label(s.t) if s.trace.tokens is not None else None,
                               y_hat=s.y_hat(), peephole=peephole, animate=self._animate)

    @property
    def _animate(self) -> bool:
        return self.playback.animation_ms >= 30

    def _update_step_label(self) -> None:
        s = self.state
        if s.length:
            self.step_label.setText(f"  t = {s.t} / {s.length - 1}   token {s.token_label(s.t)!r}  ")
        else:
            self.step_label.setText("  no input  ")

    def _on_unit(self, event) -> None:
        self.diagram.highlight_unit(self.state.unit)

    def _on_node_clicked(self, name: str) -> None:
        self._pinned_node = name
        self.state.set_node(name)
        self.inspector_dock.raise_()

    def _on_node_hovered(self, name: str) -> None:
        self.state.set_node(name or self._pinned_node)

    def _on_unit_clicked(self, unit: int) -> None:
        self.state.set_unit(None if unit == self.state.unit else unit)

    def _on_unit_mode_box(self, index: int) -> None:
        mode = self.unit_mode.itemData(index)
        self._units_edit_action.setVisible(mode == "manual")
        if mode == "manual":
            self._on_units_edit()
        elif mode:
            self.diagram.set_unit_selection(mode)
        if mode in self._unit_mode_actions:
            self._unit_mode_actions[mode].setChecked(True)

    def _on_units_edit(self) -> None:
        """Show the hand-picked units (those beyond the layer are ignored)."""
        text = self.units_edit.text().strip()
        if not text:
            units = [] if self.state.unit is None else [self.state.unit]
        else:
            try:
                units = list(parse_units(text))
            except InterventionError as exc:
                self.show_error(str(exc))
                return
        if self.state.model is None:
            return  # applied when a model is shown (see _apply_structure)
        units = [u for u in units if u < self.state.hidden_size]
        self.diagram.set_unit_selection("manual", units or None)

    def _on_unit_mode_action(self) -> None:
        action = self.sender()
        index = self.unit_mode.findData(action.data())
        if index >= 0:
            self.unit_mode.setCurrentIndex(index)

    # playback ------------------------------------------------------------------
    def _toggle_play(self) -> None:
        if self.state.playing:
            self.playback.pause()
        else:
            self.playback.play()

    def _step_forward(self) -> None:
        self.playback.step(1)

    def _step_back(self) -> None:
        self.playback.step(-1)

    def _faster(self) -> None:
        self.speed_slider.setValue(self.speed_slider.value() + 1)

    def _slower(self) -> None:
        self.speed_slider.setValue(self.speed_slider.value() - 1)

    def _on_playing(self, event) -> None:
        playing = self.state.playing
        self.act_play.setText("&Pause" if playing else "&Play")
        self.act_play.setIcon(self._icon(QStyle.SP_MediaPause if playing else QStyle.SP_MediaPlay))

    def _icon(self, standard) -> QIcon:
        """A standard media icon drawn in the theme's text colour (Fusion's are black)."""
        base = self.style().standardIcon(standard).pixmap(QSize(32, 32))
        tinted = QPixmap(base.size())
        tinted.setDevicePixelRatio(base.devicePixelRatio())
        tinted.fill(Qt.transparent)
        painter = QPainter(tinted)
        painter.drawPixmap(0, 0, base)
        painter.setCompositionMode(QPainter.CompositionMode_SourceIn)
        painter.fillRect(tinted.rect(), QColor("#e4e4e4" if self.state.dark else "#303030"))
        painter.end()
        return QIcon(tinted)

    def _set_media_icons(self) -> None:
        for action, standard in self._media_icons:
            action.setIcon(self._icon(standard))
        self._on_playing(None)

    def _on_speed_slider(self, index: int) -> None:
        self.state.set_speed(SPEEDS[index])

    def _on_speed(self, event) -> None:
        speed = self.state.speed
        nearest = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))
        if self.speed_slider.value() != nearest:
            self.speed_slider.blockSignals(True)
            self.speed_slider.setValue(nearest)
            self.speed_slider.blockSignals(False)
        self.speed_label.setText(f"{speed:g} steps/s")
        self.diagram.set_animation_duration(self.playback.animation_ms)

    # theme -------------------------------------------------------------------------
    def _set_dark(self, dark: bool) -> None:
        self.state.set_dark(dark)

    def _on_dark(self, event) -> None:
        dark = self.state.dark
        theme.apply(QApplication.instance(), dark)
        self._set_media_icons()
        if self.act_dark.isChecked() != dark:
            self.act_dark.setChecked(dark)
        self.diagram.set_dark(dark)

    # zoom and presentation ------------------------------------------------------
    def _zoom_in(self) -> None:
        self.diagram.zoom_in()

    def _zoom_out(self) -> None:
        self.diagram.zoom_out()

    def _fit(self) -> None:
        self.diagram.fit()

    @property
    def presenting(self) -> bool:
        """True in presentation mode (full screen, diagram and timeline only)."""
        return self._presentation_state is not None

    def set_presentation(self, on: bool) -> None:
        """Enter or leave presentation mode; leaving restores the exact previous layout."""
        on = bool(on)
        if on == self.presenting:
            return
        if on:
            hidden = [w for w in (self.menuBar(), self.statusBar(), self.input_panel, *self.findChildren(QToolBar))
                      if w.isVisible()]
            self._presentation_state = (self.saveState(LAYOUT_VERSION), self.saveGeometry(),
                                        self.windowState(), hidden)
            for dock in self.findChildren(QDockWidget):
                dock.hide()
            for widget in hidden:
                widget.hide()
            self.diagram.scene.set_presentation(True)
            self.showFullScreen()
            self.diagram.fit()
        else:
            layout, geometry, window_state, hidden = self._presentation_state
            self._presentation_state = None
            self.diagram.scene.set_presentation(False)
            for widget in hidden:
                widget.show()
            self.setWindowState(window_state)
            if not window_state & Qt.WindowFullScreen:
                self.showNormal()
                self.restoreGeometry(geometry)
            # The restored docks announce themselves visible: keep their exact sizes.
            self._restoring_layout = True
            self.restoreState(layout, LAYOUT_VERSION)
            QTimer.singleShot(0, self._layout_restored)
            self.diagram.fit()
        if self.act_present.isChecked() != on:
            self.act_present.blockSignals(True)
            self.act_present.setChecked(on)
            self.act_present.blockSignals(False)
        self.diagram.setFocus(Qt.OtherFocusReason)

    def _layout_restored(self) -> None:
        self._restoring_layout = False

    def _on_escape(self) -> None:
        if self.presenting:
            self.set_presentation(False)
        else:
            self._cancel_job()

    # panels -----------------------------------------------------------------------
    def panel_docks(self) -> dict[str, QDockWidget]:
        """The docks by short name: inspector, model, plots, and the experiment panels."""
        docks = {"inspector": self.inspector_dock, "model": self.model_dock, "plots": self.plots_dock}
        ctl = getattr(self, "interventions", None)
        if ctl is not None:
            for name, attr in (("interventions", "panel_dock"), ("comparison", "comparison_dock"),
                               ("why", "why_dock")):
                if getattr(ctl, attr, None) is not None:
                    docks[name] = getattr(ctl, attr)
        return docks

    def show_panel(self, name: str) -> None:
        """Open panel ``name`` (see :meth:`panel_docks`, or "lab") and bring it to the front."""
        if name == "lab":
            ctl = getattr(self, "interventions", None)
            if ctl is None:
                raise KeyError("the variant lab is not installed in this window")
            ctl.show_lab()
            return
        docks = self.panel_docks()
        if name not in docks:
            raise KeyError(f"unknown panel {name!r}; expected one of {', '.join([*docks, 'lab'])}")
        docks[name].show()
        docks[name].raise_()

    def visible_panels(self) -> list[str]:
        """Names of the panels open now (front tab or not), and "lab" when its window is open."""
        names = [name for name, dock in self.panel_docks().items() if not dock.isHidden()]
        lab = getattr(getattr(self, "interventions", None), "lab", None)
        if lab is not None and lab.isVisible():
            names.append("lab")
        return names

    def tidy_tab_bars(self) -> None:
        """Dock tabs show their whole titles (scrolling when many), never "Inspe…"."""
        for bar in self.findChildren(QTabBar):
            bar.setElideMode(Qt.ElideNone)
            bar.setUsesScrollButtons(True)
            bar.setExpanding(False)

    # views ---------------------------------------------------------------------------
    def _save_view(self) -> None:
        from .. import view_file

        view_file.save_view_dialog(self)

    def _open_view(self) -> None:
        from .. import view_file

        view_file.open_view_dialog(self)

    # misc ---------------------------------------------------------------------------
    def _export_image(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export image", "lstm-viewer.png", "PNG image (*.png)")
        if path:
            self.grab().save(path, "PNG")

    def _about(self) -> None:
        QMessageBox.about(
            self, "About lstm-viewer",
            "<b>lstm-viewer</b><p>Watch a trained LSTM think: the cell drawn bottom to top, "
            "x⟨t⟩ in, ŷ⟨t⟩ out, with c and a inside the cell.</p>"
            "<p>Space play/pause · ←/→ step · Home/End first/last · [ ] speed · Ctrl+O open</p>")

    # settings ---------------------------------------------------------------------
    def _restore_settings(self) -> None:
        st = self.settings
        geometry = st.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        layout = st.value("windowState")
        if layout is not None:
            self.restoreState(layout, LAYOUT_VERSION)
        speed = st.value("speed", 4.0, float)
        self.state.set_speed(speed)
        self._on_speed(None)
        self._on_playing(None)
        dark = st.value("darkTheme", False, bool)
        self.state.set_dark(dark)
        self._on_dark(None)
        self.units_edit.setText(st.value("manualUnits", "", str))
        mode = st.value("unitMode", "most_active", str)
        index = self.unit_mode.findData(mode)
        self.unit_mode.setCurrentIndex(max(index, 0))
        self._on_unit_mode_box(self.unit_mode.currentIndex())

    def save_settings(self) -> None:
        st = self.settings
        st.setValue("geometry", self.saveGeometry())
        st.setValue("windowState", self.saveState(LAYOUT_VERSION))
        st.setValue("speed", self.state.speed)
        st.setValue("darkTheme", self.state.dark)
        st.setValue("unitMode", self.unit_mode.currentData())
        st.setValue("manualUnits", self.units_edit.text())
        st.sync()

    def shutdown(self) -> None:
        """Stop playback and the worker thread (idempotent)."""
        self._closing = True
        self.playback.timer.stop()
        self._progress_timer.stop()
        self.worker.stop()

    def closeEvent(self, event) -> None:
        self.save_settings()
        self.shutdown()
        super().closeEvent(event)


def layer_title(model, layer: int, direction: int) -> str:
    """ "layer 1 of 2, forward": which cell the diagram shows, counted from 1."""
    n = len(model.layers)
    cells = len(model.layers[layer].cells)
    way = ("forward" if direction == 0 else "reverse") if cells > 1 else "forward"
    return f"layer {layer + 1} of {n}, {way}"


def bundled_name_of(source: str) -> str:
    """A bundled model's short name typed into a file dialog comes back as a path in
    the dialog's folder: a path that does not exist but names a bundled model is that model."""
    path = Path(source)
    if not path.exists() and path.name in bundled_models() and path.name != source:
        return path.name
    return source


def bundled_model_summaries() -> list[tuple[str, str]]:
    """(name, one-line description from its card) of every bundled model, default first."""
    out = []
    for name, card in bundled_cards():
        text = " ".join(str(card.get("description", "")).split())
        first = text.split(":")[0].split(". ")[0].rstrip(".")
        out.append((name, first))
    return out


def clamped_nodes(interventions) -> dict[str, str]:
    """Diagram node → short label for every node an intervention overrides."""
    out: dict[str, str] = {}
    for iv in interventions:
        if isinstance(iv, str):
            iv = parse_intervention(iv)
        kind = getattr(iv, "kind", None)
        label = getattr(iv, "spec", str(iv))
        if kind == "clamp":
            out[iv.target] = label
        elif kind == "coupled":
            out["update"] = "Γ_u = 1 − Γ_f"
        elif kind == "no-candidate-tanh":
            out["candidate"] = "no tanh"
        elif kind == "no-output-tanh":
            out["tanh_c"] = "no tanh"
        elif kind == "freeze":
            out["c"] = out["a"] = "frozen"
    return out
