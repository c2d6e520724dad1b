"""The variant lab window, used as a user uses it: every control clicked or typed into (pytest-qt).

Labs here train the counting task for a handful of steps, so each takes a
second or two; what is asserted is what the window shows.
"""

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from lstm_viewer.gui.panels.lab_view import LabView  # noqa: E402


def make_view(qtbot, task="counting"):
    view = LabView(task=task)
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def type_into(qtbot, spin, text):
    """Select the spin box's text and type ``text``, as a user does."""
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key_A, Qt.ControlModifier)
    qtbot.keyClicks(spin, text)


def only(qtbot, view, *keep):
    """Untick every variant box not in ``keep`` with the mouse."""
    for variant, box in view.variant_boxes.items():
        if box.isChecked() != (variant in keep):
            qtbot.mouseClick(box, Qt.LeftButton)


def test_train_button_trains_and_the_bar_moves(qtbot):
    view = make_view(qtbot)
    only(qtbot, view, "standard", "nig")
    type_into(qtbot, view.seeds_spin, "1")
    type_into(qtbot, view.steps_spin, "3")
    assert view.seeds_spin.text() == "1" and view.steps_spin.text() == "3"
    seen = []
    view.progress_bar.valueChanged.connect(seen.append)
    with qtbot.waitSignal(view.labFinished, timeout=30_000) as blocker:
        qtbot.mouseClick(view.run_button, Qt.LeftButton)
        assert not view.run_button.isEnabled() and view.cancel_button.isEnabled()
        assert view.status.text().startswith("Training 2 variants × 1 seed on counting")
    assert not blocker.args[0].cancelled
    # The bar went through values between empty and full, and ends full.
    assert any(0 < v < view.progress_bar.maximum() for v in seen)
    assert view.progress_bar.value() == view.progress_bar.maximum()
    assert view.progress_bar.text().startswith("100%")
    assert [row[0] for row in view.table_text()] == ["standard", "NIG"]
    assert [row[2] for row in view.table_text()] == ["1", "1"]
    assert view.status.text().startswith("Finished: 2 runs")
    assert "no ranking can be concluded" in view.text.toPlainText()
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: view.thread_handle() is None, timeout=5000)


def train_tiny(qtbot, view, *variants, seeds="1", steps="3"):
    """Set the controls by mouse and keyboard, click Train, wait for the lab to end."""
    only(qtbot, view, *variants)
    type_into(qtbot, view.seeds_spin, seeds)
    type_into(qtbot, view.steps_spin, steps)
    with qtbot.waitSignal(view.labFinished, timeout=30_000) as blocker:
        qtbot.mouseClick(view.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.thread_handle() is None, timeout=5000)
    return blocker.args[0]


def test_task_box_sets_the_task_and_its_budget(qtbot):
    from lstm_viewer.training.lab import DEFAULT_SEEDS, DEFAULT_STEPS

    view = make_view(qtbot, task="latch")
    assert view.steps_spin.text() == str(DEFAULT_STEPS["latch"])
    view.task_box.setFocus()
    qtbot.keyClick(view.task_box, Qt.Key_Down)
    assert view.task_box.currentText() == "counting"
    assert view.steps_spin.text() == str(DEFAULT_STEPS["counting"])
    assert view.seeds_spin.text() == str(DEFAULT_SEEDS["counting"])
    result = train_tiny(qtbot, view, "nog")
    assert result.task == "counting"
    assert view.status.text().startswith("Finished: 1 run ")
    assert view.table_text()[0][:2] == ["NOG", "no output gate, Γ_o := 1"]


def test_variant_boxes_choose_what_is_trained_and_none_is_one_line(qtbot):
    view = make_view(qtbot)
    only(qtbot, view)
    assert not any(box.isChecked() for box in view.variant_boxes.values())
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    assert view.error_label.isVisible() and view.error_label.text() == "Choose at least one variant."
    assert view.thread_handle() is None and view.run_button.isEnabled()
    assert view.progress_bar.value() == 0
    # Ticking a box clears the message; the lab trains exactly the ticked variants.
    qtbot.mouseClick(view.variant_boxes["cifg"], Qt.LeftButton)
    assert not view.error_label.isVisible()
    qtbot.mouseClick(view.variant_boxes["nfg"], Qt.LeftButton)
    result = train_tiny(qtbot, view, "nfg", "cifg")
    assert [r.variant for r in result.runs] == ["nfg", "cifg"]
    assert [row[0] for row in view.table_text()] == ["NFG", "CIFG"]
    assert not view.error_label.isVisible()


def test_seeds_and_steps_set_the_budget_and_few_seeds_are_flagged(qtbot):
    view = make_view(qtbot)
    assert not view.seeds_hint.isVisible()
    type_into(qtbot, view.seeds_spin, "2")
    assert view.seeds_hint.isVisible() and "no ranking" in view.seeds_hint.text()
    result = train_tiny(qtbot, view, "standard", seeds="2", steps="4")
    assert result.seeds == [0, 1] and result.steps == 4
    assert [r.steps[-1] for r in result.runs] == [4, 4]
    assert view.table_text()[0][2] == "2"
    assert view.curve_plot.listDataItems() and len(view.curve_plot.listDataItems()) == 2
    text = view.text.toPlainText()
    assert "with 2 seeds per variant no ranking can be concluded" in text
    assert "clearly" not in text and "contradicts" not in text
    type_into(qtbot, view.seeds_spin, "3")
    assert not view.seeds_hint.isVisible()


def test_cancel_button_stops_the_lab_and_keeps_finished_runs(qtbot):
    view = make_view(qtbot)
    only(qtbot, view, "standard", "nig")
    type_into(qtbot, view.seeds_spin, "3")
    type_into(qtbot, view.steps_spin, "3000")
    assert not view.cancel_button.isEnabled()
    with qtbot.waitSignal(view.labFinished, timeout=60_000) as blocker:
        qtbot.mouseClick(view.run_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: view.progress_bar.value() > 0, timeout=30_000)
        qtbot.mouseClick(view.cancel_button, Qt.LeftButton)
        assert view.status.text().startswith("Cancelling")
        assert not view.cancel_button.isEnabled()
    result = blocker.args[0]
    assert result.cancelled and len(result.runs) < 6
    assert view.status.text().startswith("Cancelled:")
    assert 0 < view.progress_bar.value() < view.progress_bar.maximum()
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    assert view.task_box.isEnabled() and view.steps_spin.isEnabled()
    qtbot.waitUntil(lambda: view.thread_handle() is None, timeout=5000)


def test_an_error_in_the_lab_is_one_line_in_the_window(qtbot, monkeypatch):
    import lstm_viewer.gui.panels.lab_view as lab_view

    def broken(*args, **kwargs):
        raise MemoryError("cannot allocate the batch\nsecond line of detail")

    monkeypatch.setattr(lab_view, "run_lab", broken)
    view = make_view(qtbot)
    only(qtbot, view, "standard")
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.error_label.isVisible(), timeout=10_000)
    assert view.error_label.text() == ("The lab stopped with an error: MemoryError: cannot allocate the "
                                       "batch second line of detail")
    assert "\n" not in view.error_label.text()
    assert view.status.text() == "The lab stopped after 0 finished run(s)."
    assert view.run_button.isEnabled() and not view.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: view.thread_handle() is None, timeout=5000)


def test_open_in_viewer_emits_the_chosen_run_as_a_model_of_its_own(qtbot):
    import numpy as np

    from lstm_viewer.engine import LSTMModel, run

    view = make_view(qtbot)
    assert not view.open_button.isEnabled() and not view.run_box.isEnabled()
    train_tiny(qtbot, view, "standard", "nig")
    assert view.open_button.isEnabled()
    assert [view.run_box.itemText(i).split(" — ")[0] for i in range(view.run_box.count())] == [
        "standard · seed 0", "NIG · seed 0"]
    view.run_box.setFocus()
    qtbot.keyClick(view.run_box, Qt.Key_Down)
    assert view.run_box.currentText().startswith("NIG · seed 0 — ")
    with qtbot.waitSignal(view.openRequested, timeout=2000) as blocker:
        qtbot.mouseClick(view.open_button, Qt.LeftButton)
    model, name = blocker.args
    assert name == "counting · NIG · seed 0" and isinstance(model, LSTMModel) and model.name == name
    assert view.status.text() == "Opened counting · NIG · seed 0 in the viewer."
    assert model.card["variant"] == "nig" and "interventions" not in model.card
    # The engine runs it as trained with no intervention: Γ_u is exactly 1.
    ids, unknown = model.encode(model.card["example"])
    assert not unknown
    d = run(model, ids).layers[0][0]
    assert (d.update == 1.0).all() and not (d.forget == 1.0).all()
    assert model.card["test"]["accuracy"] == round(view._runs[1].accuracy, 4)
    assert view.table_text()[1][3] == f"{view._runs[1].accuracy:.1%}"
    np.testing.assert_array_equal(model.layers[0].cells[0].W_a[:model.layers[0].hidden_size], 0.0)


def test_opened_run_shows_in_the_main_window(qtbot, window):
    view = make_view(qtbot)
    train_tiny(qtbot, view, "nfg")
    view.openRequested.connect(window.set_model)
    with qtbot.waitSignal(window.traceReady, timeout=10_000):
        qtbot.mouseClick(view.open_button, Qt.LeftButton)
    assert window.state.model.name == "counting · NFG · seed 0"
    assert (window.state.trace.layers[0][0].forget == 1.0).all()


def test_closing_the_window_while_training_stops_the_thread(qtbot):
    view = make_view(qtbot)
    only(qtbot, view, "standard", "nig", "nfg")
    type_into(qtbot, view.seeds_spin, "5")
    type_into(qtbot, view.steps_spin, "5000")
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    thread = view.thread_handle()
    qtbot.waitUntil(lambda: view.progress_bar.value() > 0, timeout=30_000)
    assert thread.isRunning()
    view.close()
    assert not thread.isRunning() and view.thread_handle() is None
    assert not view.isVisible()


def test_dark_theme_recolours_the_error_and_the_curves(qtbot):
    from lstm_viewer.gui.panels.lab_view import ERROR_COLOURS, VARIANT_COLOURS_DARK

    view = make_view(qtbot)
    train_tiny(qtbot, view, "standard")
    view.set_dark(True)
    curve = view.curve_plot.listDataItems()[0]
    assert curve.opts["pen"].color().name().lower() == VARIANT_COLOURS_DARK["standard"].lower()
    assert view.table.item(0, 0).foreground().color().name().lower() == VARIANT_COLOURS_DARK["standard"].lower()
    only(qtbot, view)
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    assert ERROR_COLOURS[True] in view.error_label.styleSheet()


def test_the_lab_window_fits_a_small_screen(qtbot):
    view = LabView(task="counting")
    qtbot.addWidget(view)
    view.resize(5000, 5000)  # larger than any screen
    view.show()
    qtbot.waitExposed(view)
    room = view.screen().availableGeometry()
    assert view.width() <= room.width() and view.height() <= room.height()
    assert room.contains(view.frameGeometry().topLeft())


def test_before_the_first_lab_the_table_lists_what_train_will_train(qtbot):
    view = make_view(qtbot)
    assert [row[0] for row in view.table_text()] == ["standard", "NIG", "NFG", "NOG", "CIFG"]
    assert all(row[2] == "0" and row[3] == "—" for row in view.table_text())
    qtbot.mouseClick(view.variant_boxes["nog"], Qt.LeftButton)
    assert [row[0] for row in view.table_text()] == ["standard", "NIG", "NFG", "CIFG"]
    # No stray empty legend; a note says where the curves will be.
    assert not view.curve_plot.legend.isVisible()
    assert view.empty_note in view.curve_plot.items
    train_tiny(qtbot, view, "standard")
    assert view.curve_plot.legend.isVisible() and view.empty_note not in view.curve_plot.items
    # After a lab, ticking boxes no longer wipes its results.
    qtbot.mouseClick(view.variant_boxes["nig"], Qt.LeftButton)
    assert [row[0] for row in view.table_text()] == ["standard"] and view.table_text()[0][2] == "1"
