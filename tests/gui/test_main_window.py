"""The window as a user drives it: open, step, play, bad files, closing."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from lstm_viewer.engine import run
from lstm_viewer.gui.window import main_window as mw
from lstm_viewer.gui.worker import running_threads
from lstm_viewer.paths import resource_path

from .conftest import make_model


def _bundled(name):
    try:
        return resource_path("models", f"{name}.safetensors").exists()
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _bundled(mw.DEFAULT_MODEL), reason="the bundled default model is not built yet")
def test_window_opens_on_default_model(window):
    assert window.state.source == mw.DEFAULT_MODEL
    assert window.state.model is not None and window.state.length > 0
    assert not window.banner.isVisible()
    assert mw.DEFAULT_MODEL in window.windowTitle() or window.state.model.name in window.windowTitle()


def test_missing_default_model_says_so(qtbot, settings, monkeypatch):
    from lstm_viewer.gui import launch

    monkeypatch.setattr(mw, "DEFAULT_MODEL", "no-such-model")
    win = mw.MainWindow(settings=settings)
    qtbot.addWidget(win)
    for source in launch.initial_source(None, settings):
        assert not win.open_source(source, remember=False)
    assert win.state.model is None
    assert "no-such-model" in win.banner.text
    win.close()


def test_trace_matches_engine(window):
    s = window.state
    trace = run(s.model, s.inputs, interventions=s.interventions)
    got = s.trace.layers[0][0]
    np.testing.assert_allclose(got.c, trace.layers[0][0].c, rtol=1e-6, atol=1e-6)


def test_stepping_puts_trace_values_in_diagram(window, qtbot):
    s = window.state
    d = s.direction_trace
    names = [n for n in window.diagram.NODE_NAMES if n not in ("y_hat",)]
    for t in (1, 0, min(3, s.length - 1)):
        if t:
            qtbot.keyClick(window, Qt.Key_Right) if t == s.t + 1 else s.set_step(t)
        else:
            s.set_step(0)
        assert s.t == t
        expected = d.step(t)
        for name in names:
            if name in expected:
                np.testing.assert_array_equal(window.diagram.node_values(name), expected[name], err_msg=name)
        if s.trace.y_hat is not None:
            np.testing.assert_array_equal(window.diagram.node_values("y_hat"), s.trace.y_hat[t])


def test_keys_step_and_jump(window, qtbot):
    s = window.state
    window.activateWindow()
    window.act_first.trigger()
    assert s.t == 0
    window.act_next.trigger()
    window.act_next.trigger()
    assert s.t == 2
    window.act_prev.trigger()
    assert s.t == 1
    window.act_last.trigger()
    assert s.t == s.length - 1
    assert window.act_play.shortcut().toString() == "Space"
    assert window.act_next.shortcut().toString() == "Right"
    assert window.act_open.shortcut().matches(window.act_open.shortcut()) and window.act_open.shortcut().toString() == "Ctrl+O"


def test_play_advances_and_pause_stops(window, qtbot):
    s = window.state
    s.set_speed(60)
    window.act_first.trigger()
    with qtbot.waitSignals([window.playback.ticked] * 3, timeout=5000):
        window.act_play.trigger()
    assert s.playing and s.t >= 3
    window.act_play.trigger()
    assert not s.playing and not window.playback.timer.isActive()
    stopped_at = s.t
    with qtbot.assertNotEmitted(window.playback.ticked, wait=200):
        pass
    assert s.t == stopped_at


def test_play_stops_at_the_end(window, qtbot):
    s = window.state
    s.set_speed(60)
    s.set_step(s.length - 3)
    with qtbot.waitSignal(window.playback.playingChanged, timeout=5000,
                          check_params_cb=lambda playing: not playing):
        window.playback.play()
    assert s.t == s.length - 1


def test_bad_file_keeps_previous_model(window, tmp_path):
    s = window.state
    model, trace, t = s.model, s.trace, 2
    s.set_step(t)
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"this is not a weights file")
    assert not window.open_source(str(bad))
    assert s.model is model and s.trace is trace and s.t == t
    assert "broken.safetensors" in window.banner.text
    assert "previous model is still loaded" in window.banner.text
    assert "broken.safetensors" in window.statusBar().currentMessage()
    window.act_next.trigger()  # still usable
    assert s.t == t + 1
    assert str(bad) not in window.recent_files()


def test_missing_file_message(window, tmp_path):
    assert not window.open_source(str(tmp_path / "nope.safetensors"))
    assert "nope.safetensors" in window.banner.text


def test_recent_files_and_reopen(window, tmp_path, qtbot):
    from lstm_viewer.formats import save_native

    path = tmp_path / "other.safetensors"
    save_native(make_model(hidden=5, name="other"), path)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        assert window.open_source(str(path))
    assert window.state.model.hidden_size if hasattr(window.state.model, "hidden_size") else True
    assert window.state.hidden_size == 5
    assert window.recent_files()[0] == str(path.resolve())
    actions = [a for a in window.recent_menu.actions() if a.data()]
    assert actions and actions[0].data() == str(path.resolve())


def test_timeline_click_moves_step(window, qtbot):
    s = window.state
    tl = window.timeline
    x = int(tl._cell_width() * 4.5)
    qtbot.mouseClick(tl, Qt.LeftButton, pos=QPoint(x, 10))
    assert s.t == tl._first + 4


def test_plot_click_moves_step(window, qtbot):
    from PySide6.QtCore import QPointF

    s = window.state
    plots = window.state_plots
    qtbot.waitUntil(lambda: not plots._pending.isActive())
    target = min(4, s.length - 1)
    scene_pos = plots.time_to_scene("c", target + 0.5)
    view_pos = plots.view.mapFromScene(scene_pos)
    qtbot.mouseClick(plots.view.viewport(), Qt.LeftButton, pos=view_pos)
    assert s.t == target
    assert plots.cursors[0].value() == pytest.approx(target + 0.5)
    assert isinstance(scene_pos, QPointF)


def test_inspector_shows_preactivation_split_and_selects_unit(window):
    s = window.state
    s.set_step(1)
    s.set_node("update")
    model = window.inspector.model
    headers = [model.headerData(i, Qt.Horizontal) for i in range(model.columnCount())]
    assert headers == ["unit", "value", "W·x", "W·a", "b", "z"]
    parts = s.direction_trace.preactivation("update", 1)
    cell = model.data(model.index(2, 2))
    assert cell == f"{float(parts['W_x·x'][2]):+.3f}"
    assert "Γ_u" in window.inspector.title.text()
    window.inspector.table.selectRow(3)
    assert s.unit == 3
    s.set_unit(1)
    assert window.inspector.table.currentIndex().row() == 1
    assert window.state_plots.unit_marks[0].isVisible()


def test_typing_reruns_after_debounce(window, qtbot):
    s = window.state
    panel = window.input_panel
    old = s.trace
    vocab = "".join(t for t in s.model.vocab if len(t) == 1 and t.isprintable())[:3]
    stranger = next(ch for ch in "Z#@~QXJ" if ch not in s.model.vocab)
    panel.field.clear()
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        qtbot.keyClicks(panel.field, vocab + stranger + vocab)
    assert s.trace is not old
    assert s.length == 2 * len(vocab)
    assert s.unknown == [len(vocab)]
    assert panel.notice.isVisible() and "1 skipped" in panel.notice.text()


def test_sequence_files(window, qtbot, tmp_path):
    s = window.state
    ids = tmp_path / "ids.npy"
    np.save(ids, np.array([0, 1, 2, 1, 0]))
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        assert window.input_panel.load_file(str(ids))
    assert s.length == 5
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"garbage")
    assert not window.input_panel.load_file(str(bad))
    assert "bad.npy" in window.banner.text and s.length == 5
    vecs = tmp_path / "wrong.csv"
    vecs.write_text("1,2\n3,4\n")
    with qtbot.waitSignal(window.errorShown, timeout=5000):
        window.input_panel.load_file(str(vecs))
    assert "width 2" in window.banner.text and s.length == 5


def test_layer_selector_for_stacked_model(window, qtbot):
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(layers=2, hidden=6), "stacked")
    box = window.model_info.layer_box
    assert box.count() == 2 and box.isEnabled()
    box.setCurrentIndex(1)
    assert window.state.layer == 1
    np.testing.assert_array_equal(window.state.step_values()["x"], window.state.trace.layers[0][0].a[window.state.t])


def test_dark_theme_toggles_and_persists(window, settings):
    window.act_dark.trigger()
    assert window.state.dark
    window.save_settings()
    assert settings.value("darkTheme", False, bool) is True
    window.act_dark.trigger()
    assert not window.state.dark


def test_settings_restore_speed(qtbot, settings):
    settings.setValue("speed", 15.0)
    win = mw.MainWindow(settings=settings)
    qtbot.addWidget(win)
    assert win.state.speed == 15.0
    assert win.speed_label.text() == "15 steps/s"
    win.close()


def test_worker_thread_gone_after_close(window):
    thread = window.worker.thread_handle
    assert thread.isRunning()
    window.close()
    assert not thread.isRunning()
    assert running_threads() == []


def test_interventions_rerun_and_mark_the_diagram(window, qtbot):
    s = window.state
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        s.set_interventions(["update=1"])
    np.testing.assert_array_equal(s.direction_trace.update, 1.0)
    assert [str(iv) if isinstance(iv, str) else iv.spec for iv in s.trace.interventions] == ["update=1"]
    assert mw.clamped_nodes(s.interventions) == {"update": "update=1"}
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        s.set_interventions([])
    assert not np.all(s.direction_trace.update == 1.0)


def test_peephole_model_steps(window, qtbot):
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(peephole=True, hidden=6), "peep")
    s = window.state
    s.set_step(2)
    np.testing.assert_array_equal(window.diagram.node_values("c"), s.direction_trace.c[2])
    s.set_node("output")
    headers = [window.inspector.model.headerData(i, Qt.Horizontal) for i in range(window.inspector.model.columnCount())]
    assert "p⊙c" in headers
    assert "p_o⊙c⟨t⟩" in window.inspector.equation.text()


def test_long_input_shows_progress_and_cancels(window, qtbot):
    s = window.state
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(hidden=64), "wide")
    old = s.trace
    s.set_inputs(np.arange(400_000) % 10)
    qtbot.waitUntil(lambda: window.progress.isVisible() and window.progress.value() > 0, timeout=15000)
    assert window.cancel_button.isVisible() and window.act_cancel.isEnabled()
    window.act_cancel.trigger()
    qtbot.waitUntil(lambda: "cancelled" in window.statusBar().currentMessage(), timeout=5000)
    assert not window.progress.isVisible()
    assert s.trace is old  # the previous trace stays shown and usable
    window.act_next.trigger()
    assert s.t == 1


def test_drop_a_weights_file(window, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from lstm_viewer.formats import save_native

    path = tmp_path / "dropped.safetensors"
    save_native(make_model(hidden=7, name="dropped"), path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(100, 100), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.dropEvent(event)
    assert window.state.hidden_size == 7
    assert "dropped" in window.windowTitle()


def test_close_during_a_long_job_stops_the_thread(window, qtbot):
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(hidden=64), "wide")
    window.state.set_inputs(np.arange(400_000) % 10)
    qtbot.waitUntil(lambda: window.act_cancel.isEnabled(), timeout=5000)
    window.close()
    assert running_threads() == []


def test_launch_prefers_path_then_last_file(settings, tmp_path):
    from lstm_viewer.gui.launch import initial_source

    assert initial_source("x.onnx", settings) == ["x.onnx", mw.DEFAULT_MODEL]
    assert initial_source(None, settings) == [mw.DEFAULT_MODEL]
    last = tmp_path / "last.safetensors"
    last.write_bytes(b"")
    settings.setValue("lastFile", str(last))
    assert initial_source(None, settings) == [str(last), mw.DEFAULT_MODEL]
    settings.setValue("lastFile", str(tmp_path / "gone.safetensors"))
    assert initial_source(None, settings) == [mw.DEFAULT_MODEL]


def test_hand_picked_units(window, settings):
    box = window.unit_mode
    box.setCurrentIndex(box.findData("manual"))
    assert window._units_edit_action.isVisible()
    window.units_edit.setText("1,2-3")
    window.units_edit.editingFinished.emit()
    assert not window.banner.text
    window.units_edit.setText("two")
    window.units_edit.editingFinished.emit()
    assert "bad unit list" in window.banner.text
    window.save_settings()
    assert settings.value("unitMode") == "manual" and settings.value("manualUnits") == "two"
    box.setCurrentIndex(box.findData("all"))
    assert not window._units_edit_action.isVisible()


def test_diagram_has_the_focus_so_keys_play(window, qtbot):
    assert window.diagram.focusPolicy() == Qt.StrongFocus
    s = window.state
    s.set_step(0)
    qtbot.keyClick(window.diagram, Qt.Key_Right)
    assert s.t == 1
