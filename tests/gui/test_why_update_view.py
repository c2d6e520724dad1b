""""Why the update gate?" as a user meets it: the unit it opens on, the picker, the buttons,
the model-level figure and the variant lab's nuance (pytest-qt, in the main window)."""

import time

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QDockWidget, QTabBar  # noqa: E402

from lstm_viewer.engine import run  # noqa: E402
from lstm_viewer.engine.compare import run_pair  # noqa: E402
from lstm_viewer.engine.why_update import rank_units  # noqa: E402
from lstm_viewer.training.lab import LabResult, RunResult  # noqa: E402

from .conftest import make_model  # noqa: E402


def _window(qtbot, tmp_path, source=None, model=None):
    """The main window with the experiments installed, as launch() builds it, on one model."""
    from lstm_viewer.gui.launch import make_app
    from lstm_viewer.gui.window.experiments import install
    from lstm_viewer.gui.window.main_window import MainWindow

    make_app()
    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    ctl = install(win)
    win.resize(1280, 800)
    win.show()
    with qtbot.waitSignal(win.traceReady, timeout=20000):
        if source is not None:
            assert win.open_source(source, remember=False)
        else:
            win.set_model(model, "tiny")
    return win, ctl


@pytest.fixture
def latch(qtbot, tmp_path):
    win, ctl = _window(qtbot, tmp_path, source="latch")
    yield win, ctl
    win.close()


def _open_why(qtbot, ctl):
    """Experiments ▸ Why the update gate, as a user opens it."""
    ctl.why_dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: ctl.why.isVisible(), timeout=5000)


def _front_tab(win, title: str) -> str:
    for bar in win.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if title in titles:
            return bar.tabText(bar.currentIndex())
    return ""


def _click_tab(qtbot, win, title: str) -> None:
    for bar in win.findChildren(QTabBar):
        for i in range(bar.count()):
            if bar.tabText(i) == title:
                qtbot.mouseClick(bar, Qt.LeftButton, pos=bar.tabRect(i).center())
                return
    raise AssertionError(f"no tab {title!r}")


# --- the unit it opens on, and the picker ---------------------------------------------------

def test_opens_on_the_unit_where_the_gate_does_most_of_the_switching(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    why = ctl.why
    # Ranked here from the window's own trace, independently of the view.
    ranks = rank_units(run(win.state.model, win.state.inputs))
    assert ranks[0].unit == 12                      # the unit the latch card names
    assert ranks[0].score == max(r.score for r in ranks)
    assert why.unit == 12 and why.result.unit == 12
    assert "unit 12" in why.title.text() and "intact run" in why.title.text()
    # The picker says so, with the share the explanation repeats.
    assert why.picker.currentText() == "unit 12 — the gate alone shuts 98% of its 43 no-write steps"
    assert why.picker.count() >= 2
    assert "Of the steps that write nothing, the gate alone shut 98%" in why.explanation_text()
    assert why.unit_off_button.text() == "Γᵤ off: unit 12"


def test_follows_a_unit_selected_elsewhere_and_reopens_on_the_top_unit_for_new_input(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    win.state.set_unit(3)                           # e.g. clicked in the diagram
    assert ctl.why.unit == 3 and ctl.why.result.unit == 3
    assert ctl.why.picker.currentText().startswith("unit 3 — ")
    field = win.input_panel.field
    field.setText(">ab?cd>e?fgh>a?bcdefg?h")
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.keyClick(field, Qt.Key_Return)
    top = rank_units(run(win.state.model, win.state.inputs))[0].unit
    qtbot.waitUntil(lambda: ctl.why.trace is not None and ctl.why.trace.length == 23, timeout=5000)
    assert ctl.why.unit == top and top != 3


def test_the_picker_changes_the_unit_shown(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    picker = ctl.why.picker
    second = picker.itemData(1)
    assert second != 12
    picker.setCurrentIndex(1)
    assert ctl.why.unit == second and ctl.why.result.unit == second
    assert f"unit {second}" in ctl.why.title.text()
    assert f"Unit {second} of layer 0" in ctl.why.explanation_text()
    assert ctl.why.unit_off_button.text() == f"Γᵤ off: unit {second}"
    # The picked unit is selected everywhere, so the diagram highlights it too.
    assert win.state.unit == second


# --- the buttons ------------------------------------------------------------------------------

def test_switch_off_for_this_unit_shows_the_comparison_and_reset_returns(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    assert not ctl.why.reset_button.isEnabled()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.mouseClick(ctl.why.unit_off_button, Qt.LeftButton)
    assert [iv.spec for iv in win.state.interventions] == ["update=1@12"]
    assert np.all(win.state.trace.layers[0][0].update[:, 12] == 1.0)
    assert ctl.panel.specs() == ["update=1@12"]     # the panel shows the same switch
    assert ctl.comparison_dock.isVisible()
    assert _front_tab(win, "Intact vs intervened") == "Intact vs intervened"
    qtbot.waitUntil(lambda: ctl.comparison.comparison is not None, timeout=10000)
    assert ctl.comparison.comparison.interventions == ["update=1@12"]
    # The view still explains the trained gate and says what is running.
    _click_tab(qtbot, win, "Why the update gate")
    qtbot.waitUntil(lambda: ctl.why.isVisible(), timeout=5000)
    assert "intact run" in ctl.why.title.text()
    assert "Now running with update=1@12" in ctl.why.explanation_text()
    assert ctl.why.reset_button.isEnabled()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.mouseClick(ctl.why.reset_button, Qt.LeftButton)
    assert win.state.interventions == [] and win.state.trace.interventions == []
    assert ctl.panel.specs() == []
    assert not ctl.why.reset_button.isEnabled()
    assert "Now running" not in ctl.why.explanation_text()


def test_switch_off_for_all_units(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.mouseClick(ctl.why.all_off_button, Qt.LeftButton)
    assert [iv.spec for iv in win.state.interventions] == ["update=1"]
    assert np.all(win.state.trace.layers[0][0].update == 1.0)
    assert ctl.panel.switches["update=1"].isChecked() and ctl.panel.specs() == ["update=1"]
    assert ctl.comparison_dock.isVisible()
    assert _front_tab(win, "Intact vs intervened") == "Intact vs intervened"
    qtbot.waitUntil(lambda: ctl.comparison.comparison is not None, timeout=10000)
    assert ctl.comparison.comparison.interventions == ["update=1"]


# --- the model-level figure -------------------------------------------------------------------

def test_model_level_figure_matches_evaluate_and_is_computed_in_the_background(qtbot, latch):
    win, ctl = latch
    t0 = time.perf_counter()
    _open_why(qtbot, ctl)
    # Asked for when the view opens, on a thread: the GUI shows "computing…" meanwhile.
    assert any(t.isRunning() for t in ctl._figure_threads) or ctl._figure is not None
    if ctl._figure is None:
        assert "computing…" in ctl.why.explanation_text()
    qtbot.waitUntil(lambda: "0.1772" in ctl.why.explanation_text(), timeout=60000)
    seconds = time.perf_counter() - t0
    text = ctl.why.explanation_text()
    # The figures of `lstm-viewer evaluate latch` and `... --intervene update=1` (README, card).
    assert "accuracy 0.9974 intact, 0.1772 with Γu switched off on every unit" in text
    assert "loss 0.0229 → 13.2779 nats" in text
    assert "4589 scored positions in 400 sequences" in text
    assert "computing…" not in text
    assert seconds < 30
    qtbot.waitUntil(lambda: not ctl._figure_threads, timeout=10000)


def test_model_level_figure_on_the_current_input_for_a_model_without_a_task(qtbot, tmp_path):
    model = make_model()
    win, ctl = _window(qtbot, tmp_path, model=model)
    _open_why(qtbot, ctl)
    qtbot.waitUntil(lambda: ctl._figure is not None, timeout=30000)
    figure = ctl._figure[1]
    intact, off = run_pair(model, win.state.inputs, ["update=1"])
    agree = np.mean(off.y_hat.argmax(axis=1) == intact.y_hat.argmax(axis=1))
    assert figure.scope == "input" and figure.agreement
    assert figure.off_accuracy == pytest.approx(agree)
    assert figure.positions == win.state.length
    text = ctl.why.explanation_text()
    assert "On the current input" in text and "the intact run's own predictions are the reference" in text
    win.close()


def test_a_failing_figure_is_one_line_in_the_view(qtbot, latch, monkeypatch):
    from lstm_viewer.gui.window import experiments

    def broken(model, inputs):
        raise ValueError("the test set is missing")

    monkeypatch.setattr(experiments, "gate_off_figure", broken)
    win, ctl = latch
    _open_why(qtbot, ctl)
    qtbot.waitUntil(lambda: "could not be computed" in ctl.why.explanation_text(), timeout=10000)
    text = ctl.why.explanation_text()
    assert "The model-level figure could not be computed: the test set is missing" in text
    qtbot.waitUntil(lambda: not ctl._figure_threads, timeout=10000)


# --- the lab's nuance -------------------------------------------------------------------------

def _lab_result(nig=(0.5, 0.6, 0.7)):
    runs = [RunResult("standard", s, a, 0.05) for s, a in enumerate((0.99, 0.98, 1.0))]
    runs += [RunResult("nig", s, a, 0.9) for s, a in enumerate(nig)]
    return LabResult("latch", ["standard", "nig"], list(range(3)), 1500, 12, runs=runs,
                     setting="Lab configuration: 4 letters")


def test_the_lab_nuance_takes_the_lab_numbers(qtbot, latch):
    win, ctl = latch
    _open_why(qtbot, ctl)
    text = ctl.why.explanation_text()
    assert "A cell trained without one (NIG" in text and "not the same question" in text
    assert "No lab has run in this session" in text
    ctl.lab_action.trigger()                          # Experiments ▸ Variant Lab…
    assert ctl.lab is not None and ctl.lab.isVisible()
    ctl.lab.labFinished.emit(_lab_result())
    text = ctl.why.explanation_text()
    assert "No lab has run" not in text
    assert "standard 99.0% ± 1.0% test accuracy (loss 0.050, 3 seeds)" in text
    assert "NIG 60.0% ± 10.0% test accuracy (loss 0.900, 3 seeds)" in text
    assert "clearly worse here (-39.0%)" in text
    # One seed each: the figures are given, but no ranking is drawn from them.
    ctl.lab.labFinished.emit(LabResult("latch", ["standard", "nig"], [0], 1500, 12, runs=[
        RunResult("standard", 0, 0.99, 0.05), RunResult("nig", 0, 0.98, 0.1)]))
    text = ctl.why.explanation_text()
    assert "NIG 98.0% test accuracy (loss 0.100, 1 seed)" in text
    assert "With fewer than 3 seeds no ranking can be concluded" in text


def test_a_variant_opened_from_the_lab_replaces_the_model(qtbot, latch):
    win, ctl = latch
    ctl.lab_action.trigger()
    if not hasattr(ctl.lab, "openRequested"):
        pytest.skip("LabView has no openRequested signal yet")
    variant = make_model(name="NIG seed 0")
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        ctl.lab.openRequested.emit(variant, "NIG seed 0")
    assert win.state.model is variant


# --- where the docks go -----------------------------------------------------------------------

def test_comparison_and_why_docks_are_tabs_beside_the_inspector(qtbot, latch):
    win, ctl = latch
    for dock in (ctl.comparison_dock, ctl.why_dock):
        assert win.dockWidgetArea(dock) == Qt.RightDockWidgetArea
        assert dock.features() & QDockWidget.DockWidgetFloatable
    _open_why(qtbot, ctl)
    ctl.comparison_dock.toggleViewAction().trigger()
    assert {ctl.why_dock, ctl.comparison_dock} <= set(win.tabifiedDockWidgets(win.inspector_dock))
    # The diagram keeps the window's height; the cell frame is not squeezed by the docks.
    assert win.diagram.height() >= 0.7 * win.height()
    assert ctl.why.width() >= 400                   # room for the plots beside the diagram
    # Floated, the view keeps working.
    ctl.why_dock.setFloating(True)
    qtbot.waitUntil(lambda: ctl.why.isVisible(), timeout=5000)
    assert ctl.why_dock.isFloating() and ctl.why.unit == 12


# --- a very long run is ranked on a thread ------------------------------------------------------

def test_a_long_run_is_ranked_off_the_gui_thread(qtbot, monkeypatch):
    from lstm_viewer.formats import load
    from lstm_viewer.gui.panels import why_update_view
    from lstm_viewer.gui.panels.why_update_view import WhyUpdateView

    monkeypatch.setattr(why_update_view, "RANK_ON_THREAD", 0)
    model = load("latch")
    ids, _ = model.encode(">cfdebgdhghb?hfhgcf?>ffh>eddaadb?c>g>adf?fh?dag?")
    view = WhyUpdateView()
    qtbot.addWidget(view)
    view.set_trace(run(model, ids))
    assert view.ranks is None and "ranking the units" in view.picker.currentText()
    qtbot.waitUntil(lambda: view.ranks is not None, timeout=10000)
    assert view.unit == 12 and view.picker.currentText().startswith("unit 12 — ")
    view.stop()


def test_figures_for_inputs_typed_in_a_row_run_one_at_a_time(qtbot, tmp_path):
    win, ctl = _window(qtbot, tmp_path, model=make_model())
    _open_why(qtbot, ctl)
    qtbot.waitUntil(lambda: ctl._figure is not None, timeout=30000)
    field = win.input_panel.field
    for text in ("abcab", "abcabcdefgh"):
        field.setText(text)
        with qtbot.waitSignal(win.traceReady, timeout=10000):
            qtbot.keyClick(field, Qt.Key_Return)
        assert sum(t.isRunning() for t in ctl._figure_threads) <= 1
    # The figure shown is the one of the input on screen, not of one typed before.
    qtbot.waitUntil(lambda: ctl._figure is not None and ctl._figure[0][1] is win.state.inputs, timeout=30000)
    assert ctl._figure[1].positions == 11
    assert "On the current input (11 steps" in ctl.why.explanation_text()
    win.close()


def test_unit_button_names_the_layer_of_a_stacked_model(qtbot):
    from lstm_viewer.gui.panels.why_update_view import WhyUpdateView

    model = make_model(layers=2)
    view = WhyUpdateView()
    qtbot.addWidget(view)
    view.show()
    view.set_trace(run(model, np.arange(10) % 8), layer=1, unit=3)
    assert "unit 3, layer 1" in view.title.text()
    with qtbot.waitSignal(view.switchOffRequested) as blocker:
        qtbot.mouseClick(view.unit_off_button, Qt.LeftButton)
    assert blocker.args == [["update=1@3#1"]]
    with qtbot.waitSignal(view.switchOffRequested) as blocker:
        qtbot.mouseClick(view.all_off_button, Qt.LeftButton)
    assert blocker.args == [["update=1"]]
