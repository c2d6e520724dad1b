"""The window as a user drives it: open, step, play, bad files, closing."""

import re

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit

from lstm_viewer.engine import run
from lstm_viewer.gui.diagram.vector_strip import MARKER_COLOR
from lstm_viewer.gui.window import main_window as mw
from lstm_viewer.gui.worker import running_threads
from lstm_viewer.paths import resource_path

from . import probe
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


def _focus_widget(window, qtbot):
    """The widget a user's key press reaches: the window is shown and active, and
    the keyboard focus is inside it but not in a text field (where Space would
    type a space and the arrows would move the text cursor)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    target = QApplication.focusWidget()
    assert target is not None and window.isAncestorOf(target)
    assert not isinstance(target, QLineEdit), f"the keys would go to a text field: {target!r}"
    return target


def test_keys_step_and_jump(window, qtbot):
    s = window.state
    keys = _focus_widget(window, qtbot)
    qtbot.keyClick(keys, Qt.Key_End)
    assert s.t == s.length - 1
    qtbot.keyClick(keys, Qt.Key_Home)
    assert s.t == 0
    qtbot.keyClick(keys, Qt.Key_Right)
    qtbot.keyClick(keys, Qt.Key_Right)
    assert s.t == 2
    qtbot.keyClick(keys, Qt.Key_Left)
    assert s.t == 1
    assert "t = 1 " in window.step_label.text()


def test_space_plays_and_pauses(window, qtbot):
    s = window.state
    window.speed_slider.setValue(window.speed_slider.maximum())
    keys = _focus_widget(window, qtbot)
    qtbot.keyClick(keys, Qt.Key_Home)
    with qtbot.waitSignals([window.playback.ticked] * 2, timeout=5000):
        qtbot.keyClick(keys, Qt.Key_Space)
        assert s.playing
        assert window.act_play.text().replace("&", "") == "Pause"
    assert s.t >= 2
    qtbot.keyClick(keys, Qt.Key_Space)
    assert not s.playing and not window.playback.timer.isActive()
    assert window.act_play.text().replace("&", "") == "Play"
    stopped_at = s.t
    with qtbot.assertNotEmitted(window.playback.ticked, wait=200):
        pass
    assert s.t == stopped_at


def test_ctrl_o_asks_for_a_file_and_opens_it(window, qtbot, tmp_path, monkeypatch):
    from lstm_viewer.formats import save_native

    path = tmp_path / "keyed.safetensors"
    save_native(make_model(hidden=9, name="keyed"), path)
    asked = []

    def dialog(parent, caption="", directory="", filter="", *args, **kwargs):
        asked.append(filter)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    keys = _focus_widget(window, qtbot)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        qtbot.keyClick(keys, Qt.Key_O, Qt.ControlModifier)
    assert len(asked) == 1 and "*.safetensors" in asked[0]
    assert window.state.hidden_size == 9 and "keyed" in window.windowTitle()


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


def _open_with_dialog(window, qtbot, monkeypatch, path):
    """File ▸ Open… with the file dialog answering ``path``; returns the dialog calls."""
    asked = []

    def dialog(parent, caption="", directory="", filter="", *args, **kwargs):
        asked.append(caption)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", dialog)
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        window.act_open.trigger()
    return asked


def test_recent_files_reopen_and_clear_from_the_menu(window, tmp_path, qtbot, monkeypatch):
    from lstm_viewer.formats import save_native

    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    save_native(make_model(hidden=5, name="first"), first)
    save_native(make_model(hidden=6, name="second"), second)
    _open_with_dialog(window, qtbot, monkeypatch, first)
    _open_with_dialog(window, qtbot, monkeypatch, second)
    assert window.state.hidden_size == 6 and "second" in window.windowTitle()
    entries = [a for a in window.recent_menu.actions() if a.data()]
    assert [a.data() for a in entries] == [str(second.resolve()), str(first.resolve())]
    assert "first.safetensors" in entries[1].text()
    # File ▸ Open Recent ▸ first.safetensors
    with qtbot.waitSignal(window.traceReady, timeout=10000):
        entries[1].trigger()
    assert window.state.hidden_size == 5
    assert "first" in window.windowTitle()
    assert window.recent_files()[0] == str(first.resolve())   # reopened: now the latest
    # File ▸ Open Recent ▸ Clear Menu
    clear = [a for a in window.recent_menu.actions() if a.text().replace("&", "") == "Clear Menu"]
    assert len(clear) == 1
    clear[0].trigger()
    assert not [a for a in window.recent_menu.actions() if a.data()]
    assert not window.recent_menu.isEnabled()
    assert window.recent_files() == []
    assert window.state.hidden_size == 5          # clearing the list unloads nothing


def _highlighted_run(image_pixels, colour, y):
    """First and last x of the pixels of ``colour`` on row ``y``."""
    xs = np.flatnonzero(np.all(np.abs(image_pixels[y].astype(int) - colour) <= 2, axis=-1))
    assert xs.size, "no highlighted cell on the timeline"
    return int(xs[0]), int(xs[-1])


def test_timeline_click_moves_step(window, qtbot):
    # The cell pitch is measured on the painted timeline (where the current
    # step's cell is highlighted), not taken from the widget's own arithmetic.
    s = window.state
    tl = window.timeline
    hl = tl.palette().highlight().color()
    colour = np.array([hl.red(), hl.green(), hl.blue()])
    window.act_first.trigger()
    x0, x0_end = _highlighted_run(probe.image_array(tl.grab().toImage()), colour, 4)
    window.act_next.trigger()
    x1, _ = _highlighted_run(probe.image_array(tl.grab().toImage()), colour, 4)
    pitch = x1 - x0
    assert pitch > x0_end - x0 > 0
    qtbot.mouseClick(tl, Qt.LeftButton, pos=QPoint(int(x0 + 4.5 * pitch), 6))
    assert s.t == 4
    x4, _ = _highlighted_run(probe.image_array(tl.grab().toImage()), colour, 4)
    assert x4 == x0 + 4 * pitch


def test_plot_click_moves_step(window, qtbot):
    # Click the middle of heat-map column `target` (where pyqtgraph draws that
    # image column), and the cursor must then be drawn inside that column.
    s = window.state
    plots = window.state_plots
    window.plots_dock.show()
    window.plots_dock.raise_()
    qtbot.waitUntil(lambda: plots.isVisible() and plots.images["c"].image is not None, timeout=5000)
    image = plots.images["c"]
    box = plots.plots["c"].vb

    def image_fills_the_plot():
        # pyqtgraph places the image on its next paint: wait until it spans the plot's width.
        drawn, frame = image.mapRectToScene(image.boundingRect()), box.sceneBoundingRect()
        return frame.width() > 50 and abs(drawn.width() - frame.width()) < 1

    qtbot.waitUntil(image_fills_the_plot, timeout=5000)
    assert image.image.shape[1] == s.length          # one column per step
    target = min(4, s.length - 1)
    scene_pos = image.mapToScene(QPointF(target + 0.5, 0.5))
    qtbot.mouseClick(plots.view.viewport(), Qt.LeftButton, pos=plots.view.mapFromScene(scene_pos))
    assert s.t == target
    for cursor in plots.cursors[:2]:
        x = image.mapFromScene(cursor.mapToScene(QPointF(0, 0))).x()
        assert target <= x < target + 1


def _shown_text(label) -> str:
    """What a label shows, as plain text (rich text rendered; a "_x" subscript read as "x")."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(label.text())
    return doc.toPlainText().replace("_", "")


def test_inspector_shows_preactivation_split_and_selects_unit(window):
    s = window.state
    s.set_step(1)
    s.set_node("update")
    model = window.inspector.model
    headers = [model.headerData(i, Qt.Horizontal) for i in range(model.columnCount())]
    assert headers == ["unit", "value", "W·x", "W·a", "b", "z"]
    # W_x·x of unit 2 of the update gate at t = 1, from the weights (rows: update first).
    d = s.direction_trace
    weights = s.model.layers[0].cells[0]
    expected = float(np.asarray(weights.W_x, np.float64)[2] @ np.asarray(d.x[1], np.float64))
    cell = model.data(model.index(2, 2))
    assert re.fullmatch(r"[+-]\d+\.\d{3}", cell), cell
    assert float(cell) == pytest.approx(expected, abs=5e-4 + 1e-6)
    assert "Γu" in _shown_text(window.inspector.title)
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


def _marker_pixels(window, name):
    """Pixels of the clamp marker's colour where strip ``name`` is drawn."""
    strip = probe.strips(window.diagram)[name]
    pixels = probe.image_array(window.diagram.grab().toImage())
    rect = probe.pixel_rect(window.diagram, strip)
    region = pixels[max(rect.top(), 0):rect.bottom() + 1, max(rect.left(), 0):rect.right() + 1]
    return probe.count_colour(region, MARKER_COLOR, tolerance=20)


def test_interventions_rerun_and_mark_the_diagram(window, qtbot):
    s = window.state
    strips = probe.strips(window.diagram)
    assert all(strip.marker() is None for strip in strips.values())
    assert _marker_pixels(window, "update") < 5
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        s.set_interventions(["update=1"])
    np.testing.assert_array_equal(s.direction_trace.update, 1.0)
    assert [str(iv) if isinstance(iv, str) else iv.spec for iv in s.trace.interventions] == ["update=1"]
    # The diagram's update-gate strip carries the marker, and it is drawn; no other strip has one.
    assert strips["update"].marker()
    assert [name for name, strip in strips.items() if strip.marker()] == ["update"]
    assert _marker_pixels(window, "update") > 50
    assert _marker_pixels(window, "forget") < 5      # (a blended edge pixel may come near the colour)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        s.set_interventions([])
    assert not np.all(s.direction_trace.update == 1.0)
    assert strips["update"].marker() is None
    assert _marker_pixels(window, "update") < 5


def test_peephole_model_steps(window, qtbot):
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(make_model(peephole=True, hidden=6), "peep")
    s = window.state
    s.set_step(2)
    np.testing.assert_array_equal(window.diagram.node_values("c"), s.direction_trace.c[2])
    s.set_node("output")
    headers = [window.inspector.model.headerData(i, Qt.Horizontal) for i in range(window.inspector.model.columnCount())]
    assert "p⊙c" in headers
    assert "po⊙c⟨t⟩" in _shown_text(window.inspector.equation)


def _start_long_job(window, qtbot, monkeypatch):
    """Type a long input and press Return; returns the trace shown before."""
    probe.slow_engine(monkeypatch)
    field = window.input_panel.field
    old = window.state.trace
    field.setText(field.text() * 100)
    qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.progress.isVisible() and window.cancel_button.isVisible(), timeout=10000)
    return old


def test_cancel_button_stops_a_long_job_and_keeps_the_trace(window, qtbot, monkeypatch):
    s = window.state
    length = s.length
    old = _start_long_job(window, qtbot, monkeypatch)
    assert window.act_cancel.isEnabled()
    qtbot.mouseClick(window.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "cancelled" in window.statusBar().currentMessage(), timeout=5000)
    assert not window.progress.isVisible() and not window.cancel_button.isVisible()
    assert not window.act_cancel.isEnabled()
    assert s.trace is old and s.length == length    # the previous trace stays shown and usable
    assert f"/ {length - 1} " in window.step_label.text()
    window.act_next.trigger()
    assert s.t == 1


def test_escape_cancels_a_long_job(window, qtbot, monkeypatch):
    s = window.state
    old = _start_long_job(window, qtbot, monkeypatch)
    keys = _focus_widget(window, qtbot)
    qtbot.keyClick(keys, Qt.Key_Escape)
    qtbot.waitUntil(lambda: "cancelled" in window.statusBar().currentMessage(), timeout=5000)
    assert not window.progress.isVisible()
    assert s.trace is old


def _drag_and_drop(window, path, over=None):
    """Drag ``path`` over widget ``over`` (default: the diagram) and drop it,
    through the window's QWindow as the platform delivers it. Returns the
    enter and drop events."""
    over = over or window.diagram
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = over.mapTo(window, over.rect().center())
    enter = QDragEnterEvent(pos, Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window.windowHandle(), enter)
    if not enter.isAccepted():
        return enter, None
    drop = QDropEvent(QPointF(pos), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window.windowHandle(), drop)
    return enter, drop


def test_drop_a_weights_file(window, qtbot, tmp_path):
    from lstm_viewer.formats import save_native

    path = tmp_path / "dropped.safetensors"
    save_native(make_model(hidden=7, name="dropped"), path)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        enter, drop = _drag_and_drop(window, path)
    assert enter.isAccepted() and enter.dropAction() == Qt.CopyAction
    assert drop.isAccepted()
    assert window.state.hidden_size == 7
    assert "dropped" in window.windowTitle()
    assert window.recent_files()[0] == str(path.resolve())


def test_drop_a_sequence_file(window, qtbot, tmp_path):
    s = window.state
    model = s.model
    text = "".join(t for t in model.vocab if len(t) == 1 and t.isprintable())[:4] * 3
    path = tmp_path / "sequence.txt"
    path.write_text(text, encoding="utf-8")
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        enter, drop = _drag_and_drop(window, path, over=window.timeline)
    assert enter.isAccepted() and drop.isAccepted()
    assert s.model is model                       # a sequence is read, not opened as weights
    assert window.input_panel.field.text() == text
    assert s.length == len(text)
    assert [model.vocab[int(i)] for i in s.trace.tokens] == list(text)


def test_drag_without_a_file_is_refused(window):
    mime = QMimeData()
    mime.setText("just some text")
    enter = QDragEnterEvent(QPoint(50, 50), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(window.windowHandle(), enter)
    assert not enter.isAccepted()


def test_close_during_a_long_job_stops_the_thread(window, qtbot, monkeypatch):
    _start_long_job(window, qtbot, monkeypatch)
    thread = window.worker.thread_handle
    window.close()
    assert not thread.isRunning()
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


def _units_action(window, text):
    found = [a for a in window.units_menu.actions() if a.text().replace("&", "").rstrip("…") == text]
    assert len(found) == 1, [a.text() for a in window.units_menu.actions()]
    return found[0]


def test_hand_picked_units(window, qtbot, settings):
    # View ▸ Units Shown ▸ Hand-Picked…, then type the units and press Return.
    _units_action(window, "Hand-Picked").trigger()
    field = window.units_edit
    qtbot.waitUntil(field.isVisible, timeout=2000)       # the tool bar lays it out on the next pass
    field.clear()
    qtbot.keyClicks(field, "1,2-3")
    qtbot.keyClick(field, Qt.Key_Return)
    assert not window.banner.text
    assert probe.hidden_units_shown(window.diagram) == [1, 2, 3]
    assert probe.shown(window.diagram, "concat")[:3] == [1, 2, 3]
    field.selectAll()
    qtbot.keyClicks(field, "two")
    qtbot.keyClick(field, Qt.Key_Return)
    assert "bad unit list" in window.banner.text
    assert probe.hidden_units_shown(window.diagram) == [1, 2, 3]   # a bad list changes nothing
    window.save_settings()
    assert settings.value("unitMode") == "manual" and settings.value("manualUnits") == "two"
    _units_action(window, "All").trigger()
    qtbot.waitUntil(lambda: not field.isVisible(), timeout=2000)
    units = probe.hidden_units_shown(window.diagram)
    assert units == list(range(len(units))) and len(units) == window.state.hidden_size
