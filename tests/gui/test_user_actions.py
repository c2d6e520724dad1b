"""Every menu item and button of the window, used as a user uses it.

Menu items are triggered (``QAction.trigger()``, what a click on the item
does), buttons and check boxes are clicked with the mouse, fields are typed
into, and each test then asserts what the user sees: the window title, a
label's text, which units the diagram's strips draw, a dock on screen, a
file on disk. Dialogs are answered by monkeypatching the static
``QFileDialog`` / ``QMessageBox`` functions the window calls.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QMessageBox, QTabBar, QToolBar, QToolButton

from lstm_viewer.gui.worker import running_threads

from . import probe
from .conftest import make_model


# --------------------------------------------------------------------------- helpers

def answer_open_dialog(monkeypatch, path) -> list[str]:
    """Make every "open a file" dialog answer ``path`` ("" = Cancel); returns the captions asked."""
    asked = []

    def dialog(parent=None, caption="", directory="", filter="", *args, **kwargs):
        asked.append(caption)
        return (str(path) if path else ""), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    return asked


def answer_save_dialog(monkeypatch, path) -> list[str]:
    asked = []

    def dialog(parent=None, caption="", directory="", filter="", *args, **kwargs):
        asked.append(caption)
        return (str(path) if path else ""), ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    return asked


def saved_model(tmp_path, name, **kwargs):
    from lstm_viewer.formats import save_native

    path = tmp_path / f"{name}.safetensors"
    save_native(make_model(name=name, **kwargs), path)
    return path


def plain(action_or_text) -> str:
    text = action_or_text if isinstance(action_or_text, str) else action_or_text.text()
    return text.replace("&", "").rstrip("…").strip()


def menu_action(menu, text):
    found = [a for a in menu.actions() if plain(a) == text]
    assert len(found) == 1, f"{text!r} not in {[plain(a) for a in menu.actions()]}"
    return found[0]


def speed_shown(window) -> float:
    """The speed the tool bar's label shows, in steps per second."""
    match = re.fullmatch(r"\s*([\d.]+)\s*steps/s\s*", window.speed_label.text())
    assert match, window.speed_label.text()
    return float(match[1])


def toolbar_button(window, action) -> QToolButton:
    for bar in window.findChildren(QToolBar):
        button = bar.widgetForAction(action)
        if button is not None:
            return button
    raise AssertionError(f"{plain(action)!r} has no tool-bar button")


def drag_slider(qtbot, slider, to_end: bool) -> None:
    """Drag the slider's handle to its right (or left) end with the mouse."""
    from PySide6.QtWidgets import QStyle, QStyleOptionSlider

    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    handle = slider.style().subControlRect(QStyle.CC_Slider, option, QStyle.SC_SliderHandle, slider)
    y = handle.center().y()
    target = QPoint(slider.width() - 1 if to_end else 0, y)
    qtbot.mousePress(slider, Qt.LeftButton, pos=handle.center())
    qtbot.mouseMove(slider, handle.center() + QPoint(3 if to_end else -3, 0))
    qtbot.mouseMove(slider, target)
    qtbot.mouseRelease(slider, Qt.LeftButton, pos=target)


def no_animation(window, qtbot) -> None:
    """Drag the speed slider to its fastest, where steps are drawn without animation."""
    drag_slider(qtbot, window.speed_slider, to_end=True)
    assert window.speed_slider.value() == window.speed_slider.maximum()


def drawn(window, name) -> np.ndarray:
    """The whole vector strip ``name`` of the diagram draws now."""
    return probe.strips(window.diagram)[name].values()


def on_screen(window, dock) -> bool:
    """The dock is shown, or is a tab the user can pick."""
    if dock.isVisible():
        return True
    for bar in window.findChildren(QTabBar):
        if bar.isVisible() and dock.windowTitle() in [bar.tabText(i) for i in range(bar.count())]:
            return True
    return False


# --------------------------------------------------------------------------- File menu

def test_open_asks_for_a_file_and_shows_the_model(window, qtbot, tmp_path, monkeypatch, settings):
    path = saved_model(tmp_path, "opened", hidden=11)
    asked = answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.act_open.trigger()
    assert len(asked) == 1
    assert window.state.hidden_size == 11 and "opened" in window.windowTitle()
    assert not window.banner.isVisible()
    assert settings.value("lastDir") == str(tmp_path)          # the next dialog starts there
    assert len(probe.hidden_units_shown(window.diagram)) == 11


def test_open_cancelled_changes_nothing(window, qtbot, monkeypatch):
    model, trace = window.state.model, window.state.trace
    answer_open_dialog(monkeypatch, "")
    with qtbot.assertNotEmitted(window.traceReady, wait=100):
        window.act_open.trigger()
    assert window.state.model is model and window.state.trace is trace
    assert not window.banner.isVisible()


def test_open_a_bad_file_says_so_in_one_line_and_the_banner_closes(window, qtbot, tmp_path, monkeypatch):
    model = window.state.model
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(b"\x00\x01 not a model")
    answer_open_dialog(monkeypatch, bad)
    window.act_open.trigger()
    assert window.state.model is model
    assert window.banner.isVisible()
    assert "garbage.pt" in window.banner.text and "\n" not in window.banner.text
    # The banner's ✕ button dismisses it; the model stays.
    close = window.banner.findChild(QToolButton)
    assert close is not None and close.isVisible()
    qtbot.mouseClick(close, Qt.LeftButton)
    assert not window.banner.isVisible() and window.banner.text == ""
    assert window.state.model is model


def test_load_sequence_from_the_file_menu(window, qtbot, tmp_path, monkeypatch):
    s = window.state
    text = "".join(t for t in s.model.vocab if len(t) == 1 and t.isprintable())[:5] * 2
    path = tmp_path / "input.txt"
    path.write_text(text, encoding="utf-8")
    asked = answer_open_dialog(monkeypatch, path)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.act_sequence.trigger()
    assert len(asked) == 1
    assert window.input_panel.field.text() == text
    assert s.length == len(text)
    assert [s.model.vocab[int(i)] for i in s.trace.tokens] == list(text)


def test_load_sequence_button(window, qtbot, tmp_path, monkeypatch):
    s = window.state
    ids = np.array([1, 0, 2, 2, 1, 0, 3])
    path = tmp_path / "ids.npy"
    np.save(path, ids)
    answer_open_dialog(monkeypatch, path)
    button = window.input_panel.open_button
    assert button.isVisible() and button.isEnabled()
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        qtbot.mouseClick(button, Qt.LeftButton)
    assert s.length == ids.size
    np.testing.assert_array_equal(s.trace.tokens, ids)


def test_load_sequence_cancelled_keeps_the_input(window, qtbot, monkeypatch):
    s = window.state
    trace = s.trace
    answer_open_dialog(monkeypatch, "")
    with qtbot.assertNotEmitted(window.traceReady, wait=100):
        qtbot.mouseClick(window.input_panel.open_button, Qt.LeftButton)
    assert s.trace is trace


def test_export_image_writes_the_window_as_png(window, qtbot, tmp_path, monkeypatch):
    out = tmp_path / "shot.png"
    asked = answer_save_dialog(monkeypatch, out)
    window.act_export.trigger()
    assert len(asked) == 1
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(out))
    ratio = window.devicePixelRatioF()
    assert (image.width(), image.height()) == (round(window.width() * ratio), round(window.height() * ratio))
    # It is the window as drawn, not a blank canvas: more than a handful of colours.
    pixels = probe.image_array(image)
    assert len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 20


def test_export_image_cancelled_writes_nothing(window, tmp_path, monkeypatch):
    answer_save_dialog(monkeypatch, "")
    window.act_export.trigger()
    assert list(tmp_path.iterdir()) == [p for p in tmp_path.iterdir() if p.name == "settings.ini"]


def test_quit_closes_the_window_and_stops_every_thread(window, qtbot):
    from lstm_viewer.gui.window.experiments import install

    install(window)
    thread = window.worker.thread_handle
    assert thread.isRunning() and window.isVisible()
    window.act_quit.trigger()
    assert not window.isVisible()
    assert not thread.isRunning()
    assert running_threads() == []


# --------------------------------------------------------------------------- Playback

def test_toolbar_buttons_step_and_play(window, qtbot):
    s = window.state
    no_animation(window, qtbot)
    qtbot.mouseClick(toolbar_button(window, window.act_last), Qt.LeftButton)
    assert s.t == s.length - 1
    qtbot.mouseClick(toolbar_button(window, window.act_first), Qt.LeftButton)
    assert s.t == 0
    qtbot.mouseClick(toolbar_button(window, window.act_next), Qt.LeftButton)
    qtbot.mouseClick(toolbar_button(window, window.act_next), Qt.LeftButton)
    qtbot.mouseClick(toolbar_button(window, window.act_prev), Qt.LeftButton)
    assert s.t == 1
    # The diagram draws step 1's cell state.
    np.testing.assert_array_equal(drawn(window, "c"), s.direction_trace.c[1])
    play = toolbar_button(window, window.act_play)
    with qtbot.waitSignal(window.playback.ticked, timeout=5000):
        qtbot.mouseClick(play, Qt.LeftButton)
    assert s.playing
    qtbot.mouseClick(play, Qt.LeftButton)
    assert not s.playing


def test_faster_slower_and_the_speed_slider(window, qtbot):
    s = window.state
    start = speed_shown(window)
    assert start == s.speed
    window.act_faster.trigger()
    faster = speed_shown(window)
    assert faster > start and s.speed == faster
    window.act_slower.trigger()
    window.act_slower.trigger()
    slower = speed_shown(window)
    assert slower < start and s.speed == slower
    assert window.playback.timer.interval() == round(1000 / slower)
    slider = window.speed_slider
    drag_slider(qtbot, slider, to_end=True)
    assert window.speed_label.text().strip() == "60 steps/s"
    assert window.playback.timer.interval() == round(1000 / 60)
    window.act_faster.trigger()                                   # already the fastest
    assert window.speed_label.text().strip() == "60 steps/s"
    drag_slider(qtbot, slider, to_end=False)
    assert window.speed_label.text().strip() == "0.5 steps/s"
    assert window.playback.timer.interval() == 2000
    window.act_faster.trigger()
    assert window.speed_label.text().strip() == "1 steps/s"


# --------------------------------------------------------------------------- View menu

@pytest.fixture
def wide_window(window, qtbot):
    """The window on a model of 40 units: more than a ranked selection draws."""
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.set_model(make_model(hidden=40, seed=3), "wide")
    no_animation(window, qtbot)
    return window


def test_units_shown_most_active_and_most_changed(wide_window, qtbot):
    window = wide_window
    s = window.state
    s.set_step(3)
    d = s.direction_trace
    menu_action(window.units_menu, "Most Active").trigger()
    assert window.unit_mode.currentData() == "most_active"
    units = probe.hidden_units_shown(window.diagram)
    assert 0 < len(units) < 40                                      # the rest are summarised
    expected = sorted(np.argsort(-np.abs(d.a[3]), kind="stable")[:len(units)].tolist())
    assert units == expected
    hidden = re.match(r"\+\s*(\d+)\s+more", probe.strips(window.diagram)["a"].summary()[0])
    assert hidden and int(hidden[1]) == 40 - len(units)
    menu_action(window.units_menu, "Most Changed This Step").trigger()
    assert window.unit_mode.currentData() == "most_changed"
    units = probe.hidden_units_shown(window.diagram)
    change = np.abs(d.a[3] - d.a[2])
    assert units == sorted(np.argsort(-change, kind="stable")[:len(units)].tolist())
    assert menu_action(window.units_menu, "Most Changed This Step").isChecked()


def test_units_shown_all_and_hand_picked(wide_window, qtbot):
    window = wide_window
    menu_action(window.units_menu, "All").trigger()
    assert window.unit_mode.currentData() == "all"
    assert probe.hidden_units_shown(window.diagram) == list(range(40))
    menu_action(window.units_menu, "Hand-Picked").trigger()
    field = window.units_edit
    qtbot.waitUntil(field.isVisible, timeout=2000)
    field.selectAll()
    qtbot.keyClicks(field, "39, 3,5-6")
    qtbot.keyClick(field, Qt.Key_Return)
    assert probe.hidden_units_shown(window.diagram) == [3, 5, 6, 39]
    assert window.unit_mode.currentData() == "manual"
    # Units beyond the layer are not drawn (and the others still are).
    field.selectAll()
    qtbot.keyClicks(field, "2,400")
    qtbot.keyClick(field, Qt.Key_Return)
    assert probe.hidden_units_shown(window.diagram) == [2]


def test_panel_toggles_close_and_reopen_each_dock(window, qtbot):
    actions = [a for a in window.panels_menu.actions() if a.isCheckable()]
    assert {plain(a) for a in actions} >= {"Inspector", "Model", "State over time"}
    for action in actions:
        dock = action.parent()
        name = plain(action)
        if not action.isChecked():
            action.trigger()                                          # open it first
        qtbot.waitUntil(lambda d=dock: on_screen(window, d), timeout=2000)
        action.trigger()
        qtbot.waitUntil(lambda d=dock: not on_screen(window, d), timeout=2000)
        assert not action.isChecked(), name
        action.trigger()
        qtbot.waitUntil(lambda d=dock: on_screen(window, d), timeout=2000)
        assert action.isChecked(), name


def test_about_box(window, monkeypatch):
    shown = []
    monkeypatch.setattr(QMessageBox, "about", lambda parent, title, text: shown.append((parent, title, text)))
    menu_action(window.help_menu, "About lstm-viewer").trigger()
    assert len(shown) == 1
    parent, title, text = shown[0]
    assert parent is window and title == "About lstm-viewer"
    assert "lstm-viewer" in text and "Space" in text


# --------------------------------------------------------------------------- Interventions panel

@pytest.fixture
def experiments(window, qtbot):
    """The window with its Experiments docks, the panel in front, steps drawn without animation."""
    from lstm_viewer.gui.window.experiments import install

    ctl = install(window)
    no_animation(window, qtbot)
    ctl.panel_dock.show()
    ctl.panel_dock.raise_()
    qtbot.waitUntil(ctl.panel.isVisible, timeout=5000)
    window.state.set_step(3)
    return ctl


def click_box(qtbot, window, box):
    """Click a check box on its indicator; wait for the re-run it starts."""
    was = box.isChecked()
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(9, box.height() // 2))
    assert box.isChecked() != was


def markers(window) -> dict[str, str]:
    return {name: strip.marker() for name, strip in probe.strips(window.diagram).items() if strip.marker()}


def cell_step(window, t):
    """x⟨t⟩, a⟨t−1⟩ and the weights of the layer shown (float64)."""
    d = window.state.direction_trace
    w = window.state.model.layers[0].cells[0]
    return (np.asarray(d.x[t], np.float64), np.asarray(d.a[t - 1], np.float64),
            np.asarray(w.W_x, np.float64), np.asarray(w.W_a, np.float64), np.asarray(w.b, np.float64))


@pytest.mark.parametrize("spec, node", [("update=1", "update"), ("forget=1", "forget"),
                                        ("output=1", "output")])
def test_switching_a_gate_off_holds_it_open(experiments, window, qtbot, spec, node):
    box = experiments.panel.switches[spec]
    click_box(qtbot, window, box)
    np.testing.assert_array_equal(drawn(window, node), 1.0)
    assert set(markers(window)) == {node}
    assert spec in experiments.panel.message.text() or "In force" in experiments.panel.message.text()
    click_box(qtbot, window, box)
    assert markers(window) == {}
    assert not np.all(drawn(window, node) == 1.0)


def test_coupled_switch_writes_what_is_forgotten(experiments, window, qtbot):
    click_box(qtbot, window, experiments.panel.switches["coupled"])
    np.testing.assert_allclose(drawn(window, "update"), 1.0 - drawn(window, "forget"), atol=1e-6)
    assert set(markers(window)) == {"update"}


def test_no_candidate_tanh_switch(experiments, window, qtbot):
    click_box(qtbot, window, experiments.panel.switches["no-candidate-tanh"])
    x, a_prev, W_x, W_a, b = cell_step(window, 3)
    H = a_prev.size
    rows = slice(2 * H, 3 * H)                                      # candidate block
    z_c = W_x[rows] @ x + W_a[rows] @ a_prev + b[rows]
    np.testing.assert_allclose(drawn(window, "candidate"), z_c, rtol=1e-5, atol=1e-5)
    assert set(markers(window)) == {"candidate"}


def test_no_output_tanh_switch(experiments, window, qtbot):
    click_box(qtbot, window, experiments.panel.switches["no-output-tanh"])
    np.testing.assert_allclose(drawn(window, "a"), drawn(window, "output") * drawn(window, "c"),
                               rtol=1e-5, atol=1e-6)
    assert set(markers(window)) == {"tanh_c"}


def test_freeze_switch_keeps_the_state(experiments, window, qtbot):
    click_box(qtbot, window, experiments.panel.switches["freeze"])
    np.testing.assert_array_equal(drawn(window, "c"), drawn(window, "c_prev"))
    assert set(markers(window)) == {"c", "a"}


def test_no_peepholes_switch_only_for_a_peephole_model(experiments, window, qtbot):
    box = experiments.panel.switches["no-peepholes"]
    assert not box.isEnabled()                                     # the latch model has none
    qtbot.mouseClick(box, Qt.LeftButton, pos=QPoint(9, box.height() // 2))
    assert not box.isChecked() and window.state.interventions == []
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.set_model(make_model(hidden=6, peephole=True), "peep")
    window.state.set_step(3)
    assert box.isEnabled()
    assert np.any(window.diagram.peephole_values("forget") != 0)
    click_box(qtbot, window, box)
    for gate in ("forget", "update", "output"):
        np.testing.assert_array_equal(drawn(window, f"peep_{gate}"), 0.0)


@pytest.mark.parametrize("target, typed", [("update", "0.25"), ("candidate", "-1.5")])
def test_clamp_to_a_typed_value(experiments, window, qtbot, target, typed):
    box, spin = experiments.panel.clamps[target]
    assert not spin.isEnabled()
    click_box(qtbot, window, box)
    assert spin.isEnabled()
    np.testing.assert_array_equal(drawn(window, target), spin.value())
    assert set(markers(window)) == {target}
    spin.lineEdit().selectAll()
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        qtbot.keyClicks(spin, typed)
        qtbot.keyClick(spin, Qt.Key_Return)
    np.testing.assert_allclose(drawn(window, target), float(typed))


def test_switch_on_chosen_units_only(experiments, window, qtbot):
    panel = experiments.panel
    panel.unit_mode.setCurrentIndex(panel.unit_mode.findText("only units"))
    assert panel.units_edit.isEnabled()
    qtbot.keyClicks(panel.units_edit, "1,3")
    click_box(qtbot, window, panel.switches["update=1"])
    update = drawn(window, "update")
    assert update[1] == 1.0 and update[3] == 1.0
    assert not np.all(np.delete(update, [1, 3]) == 1.0)


def test_reset_button_returns_to_the_intact_run(experiments, window, qtbot):
    panel = experiments.panel
    click_box(qtbot, window, panel.switches["update=1"])
    click_box(qtbot, window, panel.clamps["output"][0])
    assert set(markers(window)) == {"update", "output"}
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        qtbot.mouseClick(panel.reset_button, Qt.LeftButton)
    assert window.state.interventions == [] and not window.state.trace.interventions
    assert markers(window) == {}
    assert not any(box.isChecked() for box in panel.switches.values())
    assert not any(box.isChecked() for box, _ in panel.clamps.values())
    assert "intact" in panel.message.text()
    intact = window.state.direction_trace
    np.testing.assert_array_equal(drawn(window, "update"), intact.update[3])
