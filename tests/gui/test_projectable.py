"""The cell a lecturer can project: size, zoom, presentation, colour truth, every unit.

Each test drives the window as a user does (menu actions triggered, keys
pressed, the mouse on the canvas) and checks what is then on screen.
"""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QFont, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from lstm_viewer.gui.diagram.style import MIN_FONT_PX

from .conftest import make_model


@pytest.fixture
def full_window(qtbot, settings):
    """The window as the app builds it: with the experiment panels and the lab."""
    from lstm_viewer.gui.launch import make_app
    from lstm_viewer.gui.window.experiments import install
    from lstm_viewer.gui.window.main_window import MainWindow

    make_app()
    win = MainWindow(settings=settings)
    install(win)
    qtbot.addWidget(win)
    win.resize(1024, 768)
    win.show()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        assert win.open_source("latch", remember=False)
    yield win
    win.close()


def _settle(qtbot):
    for _ in range(5):
        QApplication.processEvents()
    qtbot.wait(1)


def _scene_fonts(scene):
    """Every QFont an item of the diagram draws with (read from the items)."""
    fonts = []
    for item in scene.childItems():
        for value in vars(item).values():
            if isinstance(value, QFont):
                fonts.append(value)
    return fonts


def test_diagram_readable_at_1024x768_with_an_experiment_panel_open(full_window, qtbot):
    win = full_window
    win.show_panel("why")
    _settle(qtbot)
    assert win.interventions.why_dock.isVisible()
    fonts = _scene_fonts(win.diagram.scene)
    assert fonts and min(f.pixelSize() for f in fonts) >= MIN_FONT_PX
    scale = win.diagram.scale()
    assert MIN_FONT_PX * scale >= 11.0, f"smallest label {MIN_FONT_PX * scale:.1f} px"
    frame = win.diagram.scene_rect_in_view(win.diagram.scene.frame_rect())
    assert frame.height() >= win.height() / 2, (frame.height(), win.height())


def test_every_panel_shares_the_right_tab_area_and_floats(full_window, qtbot):
    win = full_window
    docks = win.panel_docks()
    assert {"inspector", "model", "plots", "interventions", "comparison", "why"} <= set(docks)
    for name, dock in docks.items():
        assert win.dockWidgetArea(dock) == Qt.RightDockWidgetArea, name
        assert dock.features() & QDockWidget.DockWidgetFloatable, name
    # Opening the comparison from the menu brings its tab to the front beside the inspector.
    win.interventions.comparison_dock.toggleViewAction().trigger()
    _settle(qtbot)
    assert "comparison" in win.visible_panels()
    assert win.diagram.width() >= win.width() * 0.55


def test_zoom_actions_wheel_and_fit(window, qtbot):
    d = window.diagram
    fitted = d.scale()
    window.act_zoom_in.trigger()
    assert d.scale() == pytest.approx(fitted * 1.25, rel=0.02)
    assert not d.is_fitted()
    window.act_zoom_out.trigger()
    window.act_zoom_out.trigger()
    assert d.scale() == pytest.approx(fitted / 1.25, rel=0.02)
    window.act_fit.trigger()
    assert d.is_fitted() and d.scale() == pytest.approx(fitted, rel=0.01)
    # Ctrl+wheel zooms about the pointer; the wheel alone does not zoom.
    vp = d.viewport
    centre = QPointF(vp.width() / 2, vp.height() / 2)

    def wheel(mods):
        ev = QWheelEvent(centre, vp.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                         Qt.NoButton, mods, Qt.NoScrollPhase, False)
        QApplication.sendEvent(vp, ev)

    wheel(Qt.NoModifier)
    assert d.scale() == pytest.approx(fitted, rel=0.01)
    wheel(Qt.ControlModifier)
    assert d.scale() > fitted * 1.05
    qtbot.keyClick(window, Qt.Key_0, Qt.ControlModifier)
    assert d.is_fitted()


def test_drag_pans_the_zoomed_diagram(window, qtbot):
    d = window.diagram
    window.act_zoom_in.trigger()
    window.act_zoom_in.trigger()
    before = d.visible_scene_rect()
    vp = d.viewport
    start = QPointF(vp.width() / 2, vp.height() / 2)

    def send(kind, pos, button, buttons):
        ev = QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons, Qt.NoModifier)
        QApplication.sendEvent(vp, ev)

    send(QEvent.MouseButtonPress, start, Qt.LeftButton, Qt.LeftButton)
    for dx in range(10, 131, 20):       # a real drag: moves with the button held
        send(QEvent.MouseMove, start + QPointF(dx, 0), Qt.NoButton, Qt.LeftButton)
    send(QEvent.MouseButtonRelease, start + QPointF(130, 0), Qt.LeftButton, Qt.NoButton)
    after = d.visible_scene_rect()
    assert after.left() < before.left() - 10       # dragged right: the view moves left


def test_diagram_stays_fitted_when_the_window_resizes(window, qtbot):
    d = window.diagram
    small = d.scale()
    window.resize(1600, 1000)
    _settle(qtbot)
    assert d.scale() > small


def test_presentation_mode_and_escape_restore_the_layout(full_window, qtbot):
    win = full_window
    win.resize(780, 700)        # within the offscreen screen, so the geometry comes back unclamped
    win.show_panel("why")
    _settle(qtbot)
    before_visible = sorted(win.visible_panels())
    before_state = win.saveState()
    normal_scale = win.diagram.scale()
    win.act_present.trigger()
    _settle(qtbot)
    assert win.presenting and win.isFullScreen()
    assert all(not dock.isVisible() for dock in win.findChildren(QDockWidget))
    assert all(not tb.isVisible() for tb in win.findChildren(QToolBar))
    assert not win.menuBar().isVisible() and not win.input_panel.isVisible()
    assert win.timeline.isVisible() and win.diagram.isVisible()
    strip = win.diagram.scene.node_item("c")
    assert strip._title_font.pixelSize() > 17
    assert win.diagram.scale() >= normal_scale
    qtbot.keyClick(win, Qt.Key_Escape)
    _settle(qtbot)
    assert not win.presenting and not win.isFullScreen()
    assert win.size().toTuple() == (780, 700)
    assert sorted(win.visible_panels()) == before_visible
    assert win.saveState() == before_state
    assert win.menuBar().isVisible() and win.input_panel.isVisible()
    assert strip._title_font.pixelSize() == 17
    # F11 enters too, and F11 again leaves.
    qtbot.keyClick(win, Qt.Key_F11)
    assert win.presenting
    qtbot.keyClick(win, Qt.Key_F11)
    assert not win.presenting


def _colours(window, node="c"):
    strip = window.diagram.scene.node_item(node)
    return strip._lut_idx.copy()


def _settle_animation(window, qtbot):
    anim = window.diagram.animation
    if anim.state() == anim.State.Running:
        with qtbot.waitSignal(window.diagram.animationFinished, timeout=3000):
            pass


def test_same_step_same_colours_after_playing_the_whole_sequence(window, qtbot):
    from lstm_viewer.gui import colormaps

    qtbot.keyClick(window, Qt.Key_Right)
    _settle_animation(window, qtbot)
    qtbot.keyClick(window, Qt.Key_Home)
    _settle_animation(window, qtbot)
    first = {n: _colours(window, n) for n in ("c", "keep", "c_prev", "a", "update")}
    # The colours are those of the trace's values on the fixed range (checked independently).
    state_range, _ = window.diagram.scene.color_ranges()
    c0 = window.state.direction_trace.c[0]
    expected = np.clip(np.round((c0 + state_range) / (2 * state_range) * 255), 0, 255).astype(int)
    np.testing.assert_allclose(first["c"], expected, atol=1)
    assert colormaps.LUT_SIZE == 256
    legend = window.diagram.scene._legend.ranges()
    for t in range(window.state.length):          # play the whole sequence, step by step
        qtbot.keyClick(window, Qt.Key_Right)
    assert window.state.t == window.state.length - 1
    _settle_animation(window, qtbot)
    qtbot.keyClick(window, Qt.Key_Home)
    assert window.state.t == 0
    _settle_animation(window, qtbot)
    for n, idx in first.items():
        np.testing.assert_array_equal(_colours(window, n), idx, err_msg=n)
    assert window.diagram.scene._legend.ranges() == legend
    # The range covers the trace (robustly), symmetric, and says so on the legend.
    c_all = np.abs(window.state.direction_trace.c)
    state_range, _ = window.diagram.scene.color_ranges()
    assert np.percentile(c_all, 99) <= state_range <= 2 * c_all.max() + 1
    assert ("cell state c, keep", -state_range, state_range) in legend
    assert window.diagram.scene._legend._mode == "whole trace"


def test_colour_scale_menu_modes(window, qtbot):
    scene = window.diagram.scene
    window.diagram.set_animation_duration(0)
    trace_range = scene.color_ranges()[0]
    window._colour_actions["step"].trigger()
    assert window.state.colour_mode == "step"
    qtbot.keyClick(window, Qt.Key_Home)
    step0 = scene.color_ranges()[0]
    c0 = np.abs(window.state.direction_trace.c[0]).max()
    assert step0 >= c0 and step0 < trace_range      # fitted to this step, not the trace
    assert scene._legend._mode == "this step"
    window._colour_actions["locked"].trigger()
    assert window.state.colour_mode == "locked"
    locked = scene.color_ranges()
    # A new input with much larger c: the locked range stays.
    window.input_panel.set_text(">a" + "b" * 5)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.input_panel.apply_text()
    assert scene.color_ranges() == locked
    assert scene._legend._mode == "locked"
    window._colour_actions["trace"].trigger()
    assert scene.color_ranges()[0] != locked[0] or scene._legend._mode == "whole trace"


def test_hover_shows_node_unit_value_and_preactivation_parts(window, qtbot):
    scene = window.diagram.scene
    _settle_animation(window, qtbot)
    strip = scene.node_item("update")
    t = window.state.t
    text = strip.tooltip_text(3)
    value = window.state.direction_trace.update[t, 3]
    assert "update gate" in text and "unit 3" in text and f"{value:+.4f}" in text
    parts = window.state.direction_trace.preactivation("update", t)
    assert f"W_x·x {parts['W_x·x'][3]:+.3f}" in text
    assert f"bias {parts['bias'][3]:+.3f}" in text
    # The tooltip reaches the user: hovering the cell sets it.
    pos = window.diagram.node_view_pos("update", unit=3)
    qtbot.mouseMove(window.diagram.viewport, pos)
    _settle(qtbot)
    assert strip.toolTip() == text
    # c (not a gate) has no pre-activation line.
    assert "pre-activation" not in scene.node_item("c").tooltip_text(3)


def test_unit_numbers_and_title_name_the_layer(window, qtbot):
    scene = window.diagram.scene
    assert scene.title() == "LSTM cell · layer 1 of 1, forward"
    assert scene.node_item("a")._numbers
    assert not window.layer_box.isVisibleTo(window)     # one layer: no picker
    model = make_model(hidden=6, layers=2)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(model, "two layers")
    assert window.layer_box.isVisibleTo(window)
    assert [window.layer_box.itemText(i) for i in range(window.layer_box.count())] == [
        "layer 1 of 2, forward", "layer 2 of 2, forward"]
    window.layer_box.setCurrentIndex(1)
    window.layer_box.activated.emit(1)
    assert window.state.layer == 1
    assert scene.title() == "LSTM cell · layer 2 of 2, forward"


def test_all_shows_every_unit_of_large_layers(window, qtbot):
    for hidden in (96, 1024):
        model = make_model(hidden=hidden, vocab="abcdef")
        with qtbot.waitSignal(window.traceReady, timeout=10000):
            window.set_model(model, f"H{hidden}")
        _settle_animation(window, qtbot)
        window.unit_mode.setCurrentIndex(window.unit_mode.findData("all"))
        for node in ("forget", "update", "candidate", "output", "c", "a"):
            np.testing.assert_array_equal(window.diagram.shown_units(node), np.arange(hidden))
        assert window.diagram.node_summary("c") == [""]
        strip = window.diagram.scene.node_item("c")
        # Every unit can be found under the pointer (the grid wraps, it does not drop).
        for unit in (0, hidden // 2, hidden - 1):
            centre = strip.cell_center(unit)
            assert strip._index_at(centre) == unit
    window.unit_mode.setCurrentIndex(window.unit_mode.findData("most_active"))
    assert len(window.diagram.shown_units("c")) < 1024


def test_hand_picked_units_reset_on_a_model_of_another_size(window, qtbot):
    window.unit_mode.setCurrentIndex(window.unit_mode.findData("manual"))
    window.units_edit.setText("1,3")
    window.units_edit.editingFinished.emit()
    np.testing.assert_array_equal(window.diagram.shown_units("a"), [1, 3])
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(hidden=5), "H5")
    assert window.units_edit.text() == ""
    assert any("Hand-picked units reset" in m and "H = 5" in m for m in messages)
    # Same H: the picked units stay.
    window.units_edit.setText("2,4")
    window.units_edit.editingFinished.emit()
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(hidden=5, seed=3), "H5 again")
    assert window.units_edit.text() == "2,4"
    np.testing.assert_array_equal(window.diagram.shown_units("a"), [2, 4])


def test_open_bundled_model_menu(window, qtbot):
    actions = {a.data(): a for a in window.bundled_menu.actions()}
    assert {"latch", "charlm", "counting", "peephole"} <= set(actions)
    assert "—" in actions["charlm"].text()            # the card's one-line description
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        actions["counting"].trigger()
    assert window.state.source == "counting"
    assert window.state.hidden_size == 10
    assert "counting" in window.windowTitle()


def test_open_dialog_and_drop_accept_a_bundled_name(window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "charlm"), "")))
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.act_open.trigger()
    assert window.state.hidden_size == 96
    mime = QMimeData()
    mime.setText("counting")
    pos = QPointF(window.width() / 2, window.height() / 2)
    enter = QDragEnterEvent(pos.toPoint(), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        QApplication.sendEvent(window, drop)
    assert window.state.source == "counting"


def test_top_k_lists_no_more_tokens_than_the_vocabulary(window, qtbot):
    model = make_model(hidden=4, vocab="ab.")
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(model, "three tokens")
    tokens = window.diagram.top_tokens()
    assert sorted(tokens) == [".", "a", "b"]
