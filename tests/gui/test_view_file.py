"""View files: File ▸ Save View / Open View round-trip, and bad files change nothing (pytest-qt)."""

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from lstm_viewer.gui import view_file  # noqa: E402
from lstm_viewer.gui.view_file import View, ViewFileError, read_view, write_view  # noqa: E402

from .conftest import make_model  # noqa: E402

GOOD = {"version": 1, "model": "latch", "input": ">a?b?>c?", "step": 3, "unit": 12, "layer": 0,
        "direction": 0, "interventions": ["update=0"], "panels": ["comparison", "inspector"],
        "colour_mode": "locked"}


# --- the file, without a window --------------------------------------------------------------

def test_write_view_writes_json_that_reads_back(tmp_path):
    view = View(model="latch", input=">a?b?", step=3, unit=12, layer=0, direction=0,
                interventions=("update=0@12", "coupled#0"), panels=("why",), colour_mode="step")
    path = write_view(tmp_path / "class.json", view)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {"version": 1, "model": "latch", "input": ">a?b?", "step": 3, "unit": 12,
                    "layer": 0, "direction": 0, "interventions": ["update=0@12", "coupled#0"],
                    "panels": ["why"], "colour_mode": "step"}
    assert read_view(path) == view
    assert [p.name for p in tmp_path.iterdir()] == ["class.json"]  # no temporary file left


def test_write_view_is_atomic(tmp_path, monkeypatch):
    """A write that fails half way leaves the old file whole and no temporary file behind."""
    path = tmp_path / "class.json"
    write_view(path, View(model="latch", step=1))
    before = path.read_bytes()

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(view_file.os, "replace", fail)
    with pytest.raises(OSError):
        write_view(path, View(model="counting", step=2))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["class.json"]


@pytest.mark.parametrize("content, message", [
    (b"this is not json", "not a view file (not JSON"),
    (b"[1, 2]", "not a view file (it holds a list, not an object)"),
    (b'{"model": "latch"}', 'not a view file (no "version")'),
    (b'{"version": 2, "model": "latch"}', "view file version 2 (written by a newer lstm-viewer)"),
    (b'{"version": "1", "model": "latch"}', '"version" must be an integer, not a string'),
    (b'{"version": 1, "model": 7}', '"model" must name a weights file or bundled model'),
    (b'{"version": 1, "model": "latch", "step": "3"}', '"step" must be a whole number, not a string'),
    (b'{"version": 1, "model": "latch", "step": 2.5}', '"step" must be a whole number, not 2.5'),
    (b'{"version": 1, "model": "latch", "unit": -1}', '"unit" must be 0 or more, not -1'),
    (b'{"version": 1, "model": "latch", "layer": true}', '"layer" must be a whole number, not true'),
    (b'{"version": 1, "model": "latch", "input": {"a": 1}}', '"input" must be text or a list of token ids'),
    (b'{"version": 1, "model": "latch", "input": [1, "x"]}', "'x' is not a token id"),
    (b'{"version": 1, "model": "latch", "interventions": "update=0"}', '"interventions" must be a list'),
    (b'{"version": 1, "model": "latch", "interventions": ["update=7"]}', "intervention 'update=7'"),
    (b'{"version": 1, "model": "latch", "panels": ["diagram"]}', "unknown panel 'diagram'"),
    (b'{"version": 1, "model": "latch", "colour_mode": "auto"}', "unknown colour mode 'auto'"),
    (b'{"version": 1, "model": "latch", "zoom": 2}', "unknown key 'zoom'"),
    (b'{"version": 1, "model": "latch", "step": NaN}', "not a view file (NaN is not allowed)"),
    (b'{"version": 1, "model": "latch", "step": ' + b"9" * 5000 + b"}", "a number in it is too long"),
    (b"\xff\xfe\x00{", "not a view file (not UTF-8 text)"),
])
def test_read_view_refuses_bad_files_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ViewFileError) as info:
        read_view(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_read_view_refuses_a_huge_file_unread(tmp_path, monkeypatch):
    path = tmp_path / "huge.json"
    path.write_text('{"version": 1, "model": "latch", "input": "' + "a" * 1_200_000 + '"}')
    monkeypatch.setattr(view_file.json, "loads", lambda *a, **k: pytest.fail("a huge file was parsed"))
    with pytest.raises(ViewFileError, match=r"it is 1\.2 MB; a view file is at most 1000 kB"):
        read_view(path)


def test_prepare_view_checks_values_against_the_model():
    model = make_model(hidden=8, vocab="abc", layers=2)

    def check(**fields):
        with pytest.raises(ViewFileError) as info:
            view_file.prepare_view(View(model="tiny", **fields), load=lambda source: model)
        return str(info.value)

    assert check(input="abcab", step=5) == "step 5 is outside the input (steps 0…4)"
    assert check(unit=8) == "unit 8 does not exist (layer 0 has units 0…7)"
    assert check(layer=2) == "layer 2 does not exist (the model has 2 layers: 0…1)"
    assert check(direction=1) == "direction 1 does not exist (layer 0 is not bidirectional)"
    assert check(input="xyz") == "the input holds no character of the model's vocabulary"
    assert check(input=(0, 1, 3)) == "token id 3 is out of range (the model takes ids 0…2)"
    assert check(interventions=("forget=1#2",)) == "'forget=1#2': the model has no layer 2 (layers 0…1)"
    assert check(interventions=("update=0@9",)) == "'update=0@9': unit 9 does not exist (hidden size 8)"
    # Two problems: the first is named, the rest counted.
    assert check(unit=9, layer=5) == ("layer 5 does not exist (the model has 2 layers: 0…1) "
                                      "(and 1 more problem)")
    ok = view_file.prepare_view(View(model="tiny", input="abcab", step=4, unit=7, layer=1,
                                     interventions=("update=0@7#1",)), load=lambda source: model)
    assert ok.problems == {} and list(ok.ids) == [0, 1, 2, 0, 1]


# --- in the window, through the File menu ------------------------------------------------------

@pytest.fixture
def app_window(qtbot, settings):
    """The window as ``lstm-viewer`` opens it (interventions docks, Experiments menu), on latch."""
    from lstm_viewer.gui.launch import build_window, make_app

    make_app()
    win = build_window(settings)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        assert win.open_source("latch", remember=False), win.banner.text
    yield win
    win.close()


def _snapshot(win):
    s = win.state
    return dict(model=s.model, source=s.source, text=s.text, inputs=None if s.inputs is None else s.inputs.tolist(),
                t=s.t, unit=s.unit, layer=(s.layer, s.direction), trace=s.trace,
                interventions=[iv.spec for iv in s.interventions], specs=win.interventions.panel.specs(),
                panels=sorted(win.visible_panels()), colour_mode=s.colour_mode,
                field=win.input_panel.field.text())


def _in_front(win):
    """Panels whose dock is on screen (not a tab behind another)."""
    return sorted(name for name, dock in win.panel_docks().items() if dock.isVisible())


def _dialogs(monkeypatch, save=None, open_=None):
    from PySide6.QtWidgets import QFileDialog

    if save is not None:
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(save), "")))
    if open_ is not None:
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(open_), "")))


def _set_up_a_lecture(qtbot, win):
    """Put the window in a known state the way a user does: type, switch Γ_u off, step, click a unit."""
    from PySide6.QtCore import Qt

    field = win.input_panel.field
    field.clear()
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        qtbot.keyClicks(field, ">a?b?>c?")
        qtbot.keyClick(field, Qt.Key_Return)
    box, spin = win.interventions.panel.clamps["update"]
    spin.setValue(0.0)
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        box.setChecked(True)
    win.state.set_step(3)
    win.state.set_unit(12)
    win.show_panel("why")
    win.show_panel("comparison")
    win.state.set_colour_mode("locked")
    assert win.interventions.comparison_dock.isVisible()


def test_save_view_then_open_it_in_a_fresh_window(qtbot, app_window, tmp_path, monkeypatch):
    from PySide6.QtCore import QSettings

    from lstm_viewer.gui.launch import build_window

    win = app_window
    _set_up_a_lecture(qtbot, win)
    saved = _snapshot(win)
    assert saved["interventions"] == ["update=0"] and "why" in saved["panels"]
    path = tmp_path / "lecture"
    _dialogs(monkeypatch, save=path)
    win.act_save_view.trigger()
    path = tmp_path / "lecture.json"  # the suffix is added
    data = json.loads(path.read_text(encoding="utf-8"))
    panels = data.pop("panels")
    assert data == {"version": 1, "model": "latch", "input": ">a?b?>c?", "step": 3, "unit": 12,
                    "layer": 0, "direction": 0, "interventions": ["update=0"], "colour_mode": "locked"}
    assert sorted(panels) == saved["panels"]
    assert "View saved to" in win.statusBar().currentMessage()

    fresh = build_window(QSettings(str(tmp_path / "other.ini"), QSettings.IniFormat))
    qtbot.addWidget(fresh)
    fresh.resize(1280, 800)
    fresh.show()
    with qtbot.waitSignal(fresh.traceReady, timeout=10000):
        fresh.open_source("counting", remember=False)  # another model, input and panels
    assert fresh.state.source == "counting"
    _dialogs(monkeypatch, open_=path)
    fresh.act_open_view.trigger()
    qtbot.waitUntil(lambda: fresh.state.t == 3 and fresh.state.unit == 12, timeout=10000)
    s = fresh.state
    assert s.source == "latch" and s.model.name == "latch"
    assert s.text == ">a?b?>c?" and fresh.input_panel.field.text() == ">a?b?>c?"
    assert (s.layer, s.direction) == (0, 0)
    assert [iv.spec for iv in s.interventions] == ["update=0"]
    assert [iv.spec for iv in s.trace.interventions] == ["update=0"]  # the trace shown is intervened
    assert np.all(s.trace.layers[0][0].update == 0.0)
    assert fresh.interventions.panel.specs() == ["update=0"]  # the switch shows it
    assert sorted(fresh.visible_panels()) == saved["panels"]
    assert _in_front(fresh) == _in_front(win)  # the same tabs in front of their tab groups
    assert s.colour_mode == "locked"
    assert fresh.banner.text == ""
    fresh.close()


def test_a_model_file_beside_the_view_is_found_when_the_folder_moves(qtbot, app_window, tmp_path, monkeypatch):
    """A class folder (view + weights) can be copied elsewhere: the model is stored relative to the view."""
    from lstm_viewer.formats import save_native

    folder = tmp_path / "class"
    folder.mkdir()
    save_native(make_model(hidden=6, vocab="xyz"), folder / "small.safetensors")
    win = app_window
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        assert win.open_source(str(folder / "small.safetensors"), remember=False)
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.input_panel.set_text("xyzzy")
    win.state.set_step(2)
    _dialogs(monkeypatch, save=folder / "v.json")
    win.act_save_view.trigger()
    assert json.loads((folder / "v.json").read_text())["model"] == "small.safetensors"
    moved = folder.rename(tmp_path / "moved")
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.open_source("latch", remember=False)
    _dialogs(monkeypatch, open_=moved / "v.json")
    win.act_open_view.trigger()
    qtbot.waitUntil(lambda: win.state.model.layers[0].hidden_size == 6 and win.state.t == 2, timeout=10000)
    assert win.state.source == str(moved / "small.safetensors")
    assert win.state.text == "xyzzy"


def test_token_ids_round_trip_for_a_model_without_vocabulary(qtbot, app_window, tmp_path, monkeypatch):
    from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel
    from lstm_viewer.formats import save_native

    rng = np.random.default_rng(3)

    def normal(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    # An embedding of 9 token ids and no vocabulary: the input is typed as ids.
    model = LSTMModel([Layer([CellWeights(normal(20, 4), normal(20, 5), normal(20))])],
                      embedding=normal(9, 4), head=Head(normal(9, 5), normal(9)), vocab=None,
                      name="ids").validate()
    save_native(model, tmp_path / "ids.safetensors")
    win = app_window
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        assert win.open_source(str(tmp_path / "ids.safetensors"), remember=False), win.banner.text
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.input_panel.set_text("3 1 4 1 5 8")
    assert win.state.inputs.tolist() == [3, 1, 4, 1, 5, 8]
    win.state.set_step(4)
    _dialogs(monkeypatch, save=tmp_path / "ids.json")
    win.act_save_view.trigger()
    stored = json.loads((tmp_path / "ids.json").read_text())["input"]
    assert stored in ([3, 1, 4, 1, 5, 8], "3 1 4 1 5 8")
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.open_source("latch", remember=False)
    _dialogs(monkeypatch, open_=tmp_path / "ids.json")
    win.act_open_view.trigger()
    qtbot.waitUntil(lambda: win.state.model.name == "ids" and win.state.t == 4, timeout=10000)
    assert win.state.inputs.tolist() == [3, 1, 4, 1, 5, 8]
    assert win.state.trace.length == 6
    # An id past the embedding is refused, and nothing changes.
    (tmp_path / "bad_ids.json").write_text(json.dumps({"version": 1, "model": "ids.safetensors",
                                                       "input": [1, 9]}))
    _dialogs(monkeypatch, open_=tmp_path / "bad_ids.json")
    with qtbot.waitSignal(win.errorShown) as blocker:
        win.act_open_view.trigger()
    assert blocker.args == ["Could not open the view bad_ids.json: token id 9 is out of range "
                            "(the model takes ids 0…8)"]
    assert win.state.inputs.tolist() == [3, 1, 4, 1, 5, 8]


BAD_FILES = [
    ("not_json.json", b"{version: 1", "not a view file (not JSON: Expecting property name enclosed in double "
                                      "quotes at line 1)"),
    ("types.json", json.dumps({**GOOD, "step": "3"}).encode(), '"step" must be a whole number, not a string'),
    ("panels.json", json.dumps({**GOOD, "panels": "why"}).encode(), '"panels" must be a list of panel names'),
    ("unknown_model.json", json.dumps({**GOOD, "model": "no-such-model"}).encode(),
     "model 'no-such-model': file does not exist and is not a bundled model"),
    ("step.json", json.dumps({**GOOD, "step": 8}).encode(), "step 8 is outside the input (steps 0…7)"),
    ("unit.json", json.dumps({**GOOD, "unit": 16}).encode(), "unit 16 does not exist (layer 0 has units 0…15)"),
    ("layer.json", json.dumps({**GOOD, "layer": 1}).encode(),
     "layer 1 does not exist (the model has 1 layer: 0…0)"),
    ("spec.json", json.dumps({**GOOD, "interventions": ["update=0@99"]}).encode(),
     "'update=0@99': unit 99 does not exist (hidden size 16)"),
    ("version.json", json.dumps({**GOOD, "version": 3}).encode(), "view file version 3 (written by a newer"),
    ("huge.json", b'{"version": 1, "model": "latch", "input": "' + b"ab" * 600_000 + b'"}',
     "it is 1.2 MB; a view file is at most 1000 kB"),
]


def test_bad_view_files_are_refused_and_change_nothing(qtbot, app_window, tmp_path, monkeypatch):
    win = app_window
    _set_up_a_lecture(qtbot, win)
    before = _snapshot(win)
    for name, content, message in BAD_FILES:
        path = tmp_path / name
        path.write_bytes(content)
        _dialogs(monkeypatch, open_=path)
        with qtbot.waitSignal(win.errorShown, timeout=5000) as blocker:
            win.act_open_view.trigger()
        shown = blocker.args[0]
        assert shown.startswith(f"Could not open the view {name}: "), shown
        assert message in shown, (name, shown)
        assert "\n" not in shown
        assert win.banner.text == shown
        qtbot.wait(50)  # a stray job or queued call would land here
        assert _snapshot(win) == before, name


def test_the_good_file_of_the_bad_file_test_opens(qtbot, app_window, tmp_path, monkeypatch):
    """The bad files above differ from GOOD in one value each: GOOD itself opens."""
    path = tmp_path / "good.json"
    path.write_text(json.dumps(GOOD))
    _dialogs(monkeypatch, open_=path)
    app_window.act_open_view.trigger()
    qtbot.waitUntil(lambda: app_window.state.t == 3 and app_window.state.unit == 12, timeout=10000)
    assert app_window.state.text == ">a?b?>c?"
    assert sorted(app_window.visible_panels()) == ["comparison", "inspector"]
    assert app_window.banner.text == ""


def test_save_view_of_a_model_without_a_file_is_refused(qtbot, app_window, tmp_path, monkeypatch):
    win = app_window
    with qtbot.waitSignal(win.traceReady, timeout=10000):
        win.set_model(make_model(), "")
    _dialogs(monkeypatch, save=tmp_path / "v.json")
    with qtbot.waitSignal(win.errorShown) as blocker:
        win.act_save_view.trigger()
    assert blocker.args[0].startswith("Could not save the view: the model shown (tiny) has no file to reopen")
    assert not (tmp_path / "v.json").exists()


def test_cancelled_dialogs_do_nothing(qtbot, app_window, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: ("", "")))
    before = _snapshot(app_window)
    with qtbot.assertNotEmitted(app_window.errorShown):
        app_window.act_save_view.trigger()
        app_window.act_open_view.trigger()
    assert _snapshot(app_window) == before
    assert app_window.statusBar().currentMessage() == "" or "View" not in app_window.statusBar().currentMessage()


def test_token_ids_for_a_character_model_show_as_the_text_they_spell(qtbot, app_window, tmp_path, monkeypatch):
    ids = app_window.state.model.encode(">a?b?")[0].tolist()
    path = tmp_path / "ids.json"
    path.write_text(json.dumps({"version": 1, "model": "latch", "input": ids, "step": 4}))
    _dialogs(monkeypatch, open_=path)
    app_window.act_open_view.trigger()
    qtbot.waitUntil(lambda: app_window.state.t == 4, timeout=10000)
    assert app_window.input_panel.field.text() == ">a?b?"
    assert app_window.state.inputs.tolist() == ids


def test_a_window_without_the_experiment_docks_opens_a_view(qtbot, window, tmp_path, monkeypatch):
    """The bare MainWindow (no Experiments docks): the view's interventions still apply."""
    path = tmp_path / "v.json"
    path.write_text(json.dumps(GOOD))
    _dialogs(monkeypatch, open_=path)
    window.act_open_view.trigger()
    qtbot.waitUntil(lambda: window.state.t == 3 and window.state.unit == 12, timeout=10000)
    assert [iv.spec for iv in window.state.trace.interventions] == ["update=0"]
    assert window.visible_panels() == ["inspector"]
    assert window.banner.text == ""
