"""The interventions panel, comparison view, why-update view and lab view (pytest-qt)."""

import re

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel, run  # noqa: E402
from lstm_viewer.engine.compare import compare, run_pair  # noqa: E402
from lstm_viewer.gui.panels.comparison_view import ComparisonView  # noqa: E402
from lstm_viewer.gui.panels.interventions_panel import InterventionsPanel  # noqa: E402
from lstm_viewer.gui.panels.lab_view import LabView  # noqa: E402
from lstm_viewer.gui.panels.why_update_view import WhyUpdateView  # noqa: E402


def _shown_text(label) -> str:
    """What a rich-text label shows, as plain text."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText().replace("\u00a0", " ")


def small_model(rng, H=4, n_x=3, layers=1):
    cells, n_in = [], n_x
    for _ in range(layers):
        cells.append(Layer([CellWeights(rng.standard_normal((4 * H, n_in)), rng.standard_normal((4 * H, H)),
                                        rng.standard_normal(4 * H))]))
        n_in = H
    return LSTMModel(cells, head=Head(rng.standard_normal((n_x, H)), np.zeros(n_x)),
                     vocab=["a", "b", "c"][:n_x]).validate()


# --- interventions panel ----------------------------------------------------------------------

def test_panel_toggles_emit_the_right_specs(qtbot):
    panel = InterventionsPanel([6, 4])
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.switches["update=1"].setChecked(True)
    assert blocker.args == [["update=1"]]
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.switches["coupled"].setChecked(True)
    assert blocker.args == [["update=1", "coupled"]]
    box, spin = panel.clamps["forget"]
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        box.setChecked(True)
    assert blocker.args[0][-1] == "forget=1"
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        spin.setValue(0.25)
    assert blocker.args[0][-1] == "forget=0.25"
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.clear()
    assert blocker.args == [[]]


def test_panel_units_and_layer(qtbot):
    panel = InterventionsPanel([6, 4])
    qtbot.addWidget(panel)
    panel.switches["forget=1"].setChecked(True)
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.layer_box.setCurrentIndex(2)
    assert blocker.args == [["forget=1#1"]]
    panel.unit_mode.setCurrentIndex(1)
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.units_edit.setText("0,2-3")
    assert blocker.args == [["forget=1@0,2,3#1"]]
    # Layer 1 has 4 units: unit 5 is refused with a message, and nothing is emitted.
    with qtbot.assertNotEmitted(panel.interventionsChanged):
        panel.units_edit.setText("5")
    assert "does not exist" in panel.message.text()
    with qtbot.assertNotEmitted(panel.interventionsChanged):
        panel.units_edit.setText("x")
    assert "bad unit list" in panel.message.text()


def test_panel_set_specs_round_trip(qtbot):
    panel = InterventionsPanel([5])
    qtbot.addWidget(panel)
    with qtbot.assertNotEmitted(panel.interventionsChanged):
        panel.set_specs(["update=1@1,2", "output=0.5@1,2", "no-output-tanh@1,2"])
    assert panel.specs() == ["update=1@1,2", "no-output-tanh@1,2", "output=0.5@1,2"]
    assert "Γ_u := 1" in panel.message.text()


# --- comparison view --------------------------------------------------------------------------

def test_comparison_view_shows_the_given_traces(qtbot, rng):
    model = small_model(rng, layers=2)
    ids = rng.integers(0, 3, 25)
    targets = rng.integers(0, 3, 25)
    intact, hit = run_pair(model, ids, ["update=1#1"])
    view = ComparisonView()
    qtbot.addWidget(view)
    view.set_traces(intact, hit, targets, layer=1)
    view.set_unit(2, layer=1)
    x, y = view.curves["c_intact"].getData()
    np.testing.assert_allclose(y, intact.layers[1][0].c[:, 2])
    np.testing.assert_allclose(view.curves["c_intervened"].getData()[1], hit.layers[1][0].c[:, 2])
    np.testing.assert_allclose(view.curves["a_intervened"].getData()[1], hit.layers[1][0].a[:, 2])
    expected = compare(intact, hit, targets)
    np.testing.assert_allclose(view.curves["div_c"].getData()[1], expected.div_c)
    np.testing.assert_allclose(view.curves["p_intervened"].getData()[1], expected.intervened.p_correct)
    text = _shown_text(view.heading)
    assert "update=1#1" in text
    # Accuracy and loss of both runs, from the traces themselves (every step is scored).
    steps = np.arange(25)
    accuracy = [float(np.mean(tr.y_hat.argmax(axis=1) == targets)) for tr in (intact, hit)]
    loss = [float(np.mean(-np.log(np.asarray(tr.y_hat, np.float64)[steps, targets]))) for tr in (intact, hit)]
    shown_accuracy = re.search(r"intact\s+([\d.]+)%\s*→\s*intervened\s+([\d.]+)%", text)
    shown_loss = re.search(r"loss:\s*([\d.]+)\s*→\s*([\d.]+)", text)
    assert shown_accuracy and shown_loss, text
    for k in range(2):
        assert float(shown_accuracy[k + 1]) == pytest.approx(100 * accuracy[k], abs=0.05 + 1e-9)
        assert float(shown_loss[k + 1]) == pytest.approx(loss[k], abs=5e-5 + 1e-6)


def test_comparison_view_without_targets_uses_intact_predictions(qtbot, rng):
    model = small_model(rng)
    ids = rng.integers(0, 3, 12)
    intact, same = run_pair(model, ids, [])
    view = ComparisonView()
    qtbot.addWidget(view)
    view.set_traces(intact, same)
    assert view.comparison.intact.accuracy == 1.0
    assert "agreement with the intact run" in view.heading.text()
    assert "never diverge" in view.heading.text()


# --- why-update view --------------------------------------------------------------------------

def test_why_update_text_changes_with_the_numbers(qtbot, rng):
    model = small_model(rng)
    ids = rng.integers(0, 3, 30)
    view = WhyUpdateView()
    qtbot.addWidget(view)
    trace = run(model, ids)
    view.set_trace(trace, 0, 1)
    intact_text = view.explanation_text()
    # The shares, from the trace of unit 1: gate below ε, candidate within ±ε, write within ±ε.
    eps = view.eps_spin.value()
    d = trace.layers[0][0]
    shares = [float(np.mean(d.update[:, 1] < eps)), float(np.mean(np.abs(d.candidate[:, 1]) < eps)),
              float(np.mean(np.abs(d.write[:, 1]) < eps))]
    closed = re.search(r"closed on (\d+)% of steps", intact_text)
    assert closed, intact_text
    assert int(closed[1]) == pytest.approx(100 * shares[0], abs=0.5 + 1e-9)
    heights = view.bars.opts["height"]
    assert list(heights) == pytest.approx(shares)
    view.set_trace(run(model, ids, interventions=["update=0@1"]), 0, 1)
    shut_text = view.explanation_text()
    assert shut_text != intact_text and "held shut" in shut_text
    assert view.bars.opts["height"][0] == 1.0
    # A wider "near zero" changes the counts and so the words.
    view.set_trace(run(model, ids), 0, 1)
    view.eps_spin.setValue(0.4)
    assert view.result.eps == pytest.approx(0.4)
    assert "below 0.4" in view.explanation_text()
    assert "&#x27;a&#x27;" in view.token_key.text()


# --- lab view ---------------------------------------------------------------------------------

def test_lab_view_runs_a_tiny_budget_and_its_thread_is_gone_after_close(qtbot):
    view = LabView(task="counting")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.labFinished, timeout=120_000) as blocker:
        assert view.start(variants=["standard", "nig", "nfg", "nog", "cifg"], seeds=1, steps=3)
    result = blocker.args[0]
    assert not result.cancelled
    assert [r[0] for r in view.table_text()] == ["standard", "NIG", "NFG", "NOG", "CIFG"]
    assert all(r[2] == "1" for r in view.table_text())
    assert len(view._curves) == 5
    assert "Ranking on counting" in view.text.toPlainText()
    thread = view.thread_handle()
    view.close()
    assert thread is None or not thread.isRunning()
    assert view.thread_handle() is None


def test_lab_view_cancel_stops_the_thread(qtbot):
    view = LabView(task="counting")
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.labFinished, timeout=120_000) as blocker:
        view.start(variants=["standard", "nig"], seeds=3, steps=400)
        # Cancel as soon as the first learning-curve point arrives.
        with qtbot.waitSignal(view.thread_handle().progress, timeout=60_000):
            pass
        view.cancel()
    assert blocker.args[0].cancelled
    assert len(blocker.args[0].runs) < 6
    assert view.stop()
    assert view.thread_handle() is None


# --- installed in the main window ------------------------------------------------------------

def _window_with_docks(qtbot, tmp_path):
    """A 1280×800 main window with the interventions docks, on a tiny model's trace."""
    from PySide6.QtCore import QSettings

    from lstm_viewer.gui.window.experiments import install
    from lstm_viewer.gui.window.main_window import MainWindow

    from .conftest import make_model

    win = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    qtbot.addWidget(win)
    ctl = install(win)
    win.resize(1280, 800)
    win.show()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.set_model(make_model(), "tiny")
        win.state.set_inputs(np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1]))
    return win, ctl


def test_install_in_main_window_reruns_and_compares(qtbot, tmp_path):
    from lstm_viewer.gui.worker import running_threads

    win, ctl = _window_with_docks(qtbot, tmp_path)
    assert not ctl.comparison_dock.isVisible()
    assert ctl.panel.layer_box.count() == 2
    # Clicking a switch re-runs the window's worker, marks the diagram and fills the comparison.
    from PySide6.QtCore import Qt

    from . import probe

    ctl.panel_dock.show()
    ctl.panel_dock.raise_()
    box = ctl.panel.switches["update=1"]
    qtbot.waitUntil(box.isVisible, timeout=5000)
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.mouseClick(box, Qt.LeftButton, pos=box.rect().center())
    assert box.isChecked()
    strips = probe.strips(win.diagram)
    assert strips["update"].marker()
    assert not [name for name, strip in strips.items() if strip.marker() and name != "update"]
    qtbot.waitUntil(lambda: ctl.comparison.comparison is not None, timeout=10000)
    assert ctl.comparison_dock.isVisible()
    assert [iv.spec for iv in win.state.trace.interventions] == ["update=1"]
    assert np.all(win.state.trace.layers[0][0].update == 1.0)
    intact = run(win.state.model, win.state.inputs)
    np.testing.assert_allclose(ctl.comparison.intact.layers[0][0].c, intact.layers[0][0].c, atol=1e-6)
    assert ctl.comparison.comparison.interventions == ["update=1"]
    # The why view explains the trained gate: the intact run.
    assert "intact run" in ctl.why.title.text()
    # Reset: the comparison is cleared and the marker goes.
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.mouseClick(ctl.panel.reset_button, Qt.LeftButton)
    assert ctl.comparison.comparison is None
    assert not box.isChecked() and strips["update"].marker() is None
    win.close()
    assert running_threads() == []


@pytest.mark.parametrize("name", ["latch", "counting"])
def test_task_targets_match_the_task_examples(name):
    from types import SimpleNamespace

    from lstm_viewer.gui.window.experiments import task_targets
    from lstm_viewer.training.tasks import get_task

    task = get_task(name)
    model = SimpleNamespace(card={"task": name}, vocab=list(task.vocab))
    for ids, targets, scored in task.examples()[:50]:
        np.testing.assert_array_equal(task_targets(model, ids), np.where(scored, targets, -1))
    assert task_targets(SimpleNamespace(card={}, vocab=None), [0, 1]) is None


def test_dock_opened_from_the_menu_comes_to_the_front(qtbot, tmp_path):
    from PySide6.QtWidgets import QTabBar

    win, ctl = _window_with_docks(qtbot, tmp_path)

    def front_tab() -> str:
        for bar in win.findChildren(QTabBar):
            titles = [bar.tabText(i) for i in range(bar.count())]
            if "Why the update gate" in titles:
                return bar.tabText(bar.currentIndex())
        return ""

    ctl.comparison_dock.toggleViewAction().trigger()
    ctl.why_dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: front_tab() == "Why the update gate", timeout=5000)
    # And back: closing and reopening the comparison puts it in front.
    ctl.comparison_dock.toggleViewAction().trigger()
    ctl.comparison_dock.toggleViewAction().trigger()
    qtbot.waitUntil(lambda: front_tab() == "Intact vs intervened", timeout=5000)
    win.close()


def test_no_peepholes_switch_only_for_peephole_models(qtbot):
    panel = InterventionsPanel([4])
    qtbot.addWidget(panel)
    box = panel.switches["no-peepholes"]
    panel.set_peepholes(True)
    assert box.isEnabled()
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        box.setChecked(True)
    assert blocker.args == [["no-peepholes"]]
    # A model without peepholes: the switch is off and cannot be used.
    with qtbot.waitSignal(panel.interventionsChanged) as blocker:
        panel.set_peepholes(False)
    assert blocker.args == [[]]
    assert not box.isEnabled() and not box.isChecked()
    assert "no peepholes" in box.toolTip()
    panel.set_peepholes(True)                       # the next model has them again
    assert box.isEnabled() and box.toolTip().endswith("[no-peepholes]")
