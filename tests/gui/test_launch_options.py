"""Launch options reproduce a view: parsed, checked, applied in order; bad values are one line each."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from lstm_viewer.gui import launch  # noqa: E402

from .conftest import make_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def args_of(*argv):
    return launch.build_parser().parse_args(list(argv))


# --- parsing, without a window ------------------------------------------------------------------

def test_options_view_collects_the_options():
    view, problems = launch.options_view(args_of(
        "latch", "--text", ">a?b?", "--step", "3", "--unit", "12", "--layer", "0:forward",
        "--intervene", "update=0", "--intervene", "forget=1@0-3#0", "--panel", "why", "--panel", "lab",
        "--presentation"))
    assert problems == []
    assert (view.input, view.step, view.unit, view.layer, view.direction) == (">a?b?", 3, 12, 0, 0)
    assert view.interventions == ("update=0", "forget=1@0-3#0")
    assert view.panels == ("why", "lab") and view.presentation is True
    assert view.model is None  # the model comes from MODEL, not from the options


def test_badly_written_options_are_one_line_each():
    view, problems = launch.options_view(args_of(
        "--step", "three", "--unit", "-2", "--layer", "1:sideways", "--panel", "diagram", "--panel", "why",
        "--text", ""))
    assert problems == [
        "--step three: 'three' is not a step number (0, 1, 2, ...).",
        "--unit -2: '-2' is not a unit number (0, 1, 2, ...).",
        "--layer 1:sideways: unknown direction 'sideways' (forward or backward).",
        "--text: the text is empty.",
        "--panel diagram: unknown panel 'diagram' (panels: why, comparison, lab, interventions, "
        "inspector, model, plots).",
    ]
    # The good ones are kept.
    assert view.panels == ("why",) and view.step is None and view.layer is None


def test_parse_size_and_layer():
    from lstm_viewer.gui.view_file import PANELS

    assert launch.PANEL_NAMES == PANELS  # --panel and view files name the same panels
    assert launch.parse_size("1024x768") == (1024, 768)
    assert launch.parse_layer("1") == (1, None)
    assert launch.parse_layer("2:backward") == (2, 1)
    for bad in ("1024", "wide", "10x10", "1024x", "１０２４x768"):
        with pytest.raises(ValueError):
            launch.parse_size(bad)


# --- applied to a window, as launch does ---------------------------------------------------------

def _open(qtbot, settings, *argv):
    from lstm_viewer.gui.launch import make_app, open_window

    make_app()
    window, helpers = open_window(args_of(*argv), settings)
    qtbot.addWidget(window)
    pending = helpers[0]
    if pending is not None:
        qtbot.waitUntil(lambda: not pending.waiting, timeout=10000)
    else:
        qtbot.waitUntil(lambda: window.state.trace is not None, timeout=10000)
    return window


def test_launch_options_open_on_the_view_asked_for(qtbot, settings, capsys):
    win = _open(qtbot, settings, "latch", "--text", ">a?b?", "--step", "3", "--unit", "12",
                "--intervene", "update=0", "--panel", "why", "--size", "1024x768")
    s = win.state
    assert s.source == "latch" and s.text == ">a?b?" and win.input_panel.field.text() == ">a?b?"
    assert (s.t, s.unit) == (3, 12)
    assert [iv.spec for iv in s.trace.interventions] == ["update=0"]
    assert np.all(s.trace.layers[0][0].update == 0.0)
    assert win.interventions.panel.specs() == ["update=0"]  # the switch the user would set
    panels = win.visible_panels()
    assert "comparison" in panels and "why" in panels  # --intervene shows the comparison
    assert "inspector" in panels  # --panel opens panels; it does not close the others
    assert win.interventions.why_dock.isVisible()  # asked for last: in front of its tab group
    qtbot.waitUntil(lambda: win.interventions.comparison.comparison is not None, timeout=10000)
    assert win.interventions.comparison.comparison.interventions == ["update=0"]
    assert (win.width(), win.height()) == (1024, 768)
    assert win.banner.text == ""
    assert "lstm-viewer:" not in capsys.readouterr().err
    win.close()


def test_bad_option_values_are_reported_and_the_window_still_opens(qtbot, settings, capsys):
    win = _open(qtbot, settings, "latch", "--text", ">a?b?", "--step", "9", "--unit", "16",
                "--layer", "2", "--intervene", "update=7", "--panel", "diagram", "--size", "big")
    expected = [
        "--size big: use WxH, e.g. 1280x800.",
        "--panel diagram: unknown panel 'diagram' (panels: why, comparison, lab, interventions, "
        "inspector, model, plots).",
        "--layer 2: layer 2 does not exist (the model has 1 layer: 0…0).",
        "--unit 16: unit 16 does not exist (layer 0 has units 0…15).",
        "--step 9: step 9 is outside the input (steps 0…4).",
    ]
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("lstm-viewer: ")]
    for line in expected:
        assert f"lstm-viewer: {line}" in lines, err
    spec_line = [line for line in lines if line.startswith("lstm-viewer: --intervene update=7: ")]
    assert len(spec_line) == 1 and "a gate lies in [0, 1]" in spec_line[0]
    assert len(lines) == 6
    # The window says the same, in one line.
    banner = win.banner.text
    assert "\n" not in banner and all(line in banner for line in expected)
    # The good option (the text) is applied; the bad ones are not.
    s = win.state
    assert win.isVisible() and s.text == ">a?b?" and s.trace.length == 5
    assert s.interventions == [] and s.unit is None and s.layer == 0
    assert not win.interventions.comparison_dock.isVisible()
    win.close()


def test_layer_and_presentation(qtbot, settings, tmp_path):
    from lstm_viewer.formats import save_native

    save_native(make_model(hidden=6, layers=2), tmp_path / "two.safetensors")
    win = _open(qtbot, settings, str(tmp_path / "two.safetensors"), "--layer", "1", "--unit", "5",
                "--intervene", "forget=1#1", "--presentation")
    s = win.state
    assert (s.layer, s.direction, s.unit) == (1, 0, 5)
    assert [iv.spec for iv in s.trace.interventions] == ["forget=1#1"]
    assert np.all(s.trace.layers[1][0].forget == 1.0) and not np.all(s.trace.layers[0][0].forget == 1.0)
    assert win.presenting
    assert win.menuBar().isHidden() and not win.interventions.comparison_dock.isVisible()
    win.set_presentation(False)
    assert not win.presenting and win.interventions.comparison_dock.isVisible()
    win.close()


def test_view_file_at_launch_with_options_on_top(qtbot, settings, tmp_path):
    path = tmp_path / "lecture.json"
    path.write_text(json.dumps({"version": 1, "model": "latch", "input": ">a?b?>c?", "step": 5, "unit": 12,
                                "interventions": ["update=0@12"], "panels": ["why"],
                                "colour_mode": "step"}))
    win = _open(qtbot, settings, "--view", str(path), "--step", "2")
    s = win.state
    assert s.text == ">a?b?>c?" and s.unit == 12 and s.colour_mode == "step"
    assert s.t == 2  # the option wins over the file's step 5
    assert [iv.spec for iv in s.trace.interventions] == ["update=0@12"]
    assert win.visible_panels() == ["why"]  # the file's panels, exactly
    assert win.banner.text == ""
    win.close()


def test_a_bad_view_file_at_launch_opens_the_default_model(qtbot, settings, tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"version": 1, "model": "latch", "step": 99}')
    win = _open(qtbot, settings, "--view", str(path))
    message = "Could not open the view broken.json: step 99 is outside the input (steps 0…47)."
    assert f"lstm-viewer: {message}" in capsys.readouterr().err
    assert win.banner.text == message
    assert win.state.source == "latch" and win.state.t == 0
    win.close()


# --- the real command, end to end ---------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("bad", [False, True])
def test_command_line_screenshot(tmp_path, bad):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    shot = tmp_path / "shot.png"
    extra = ["--step", "99", "--panel", "nope"] if bad else ["--step", "3", "--panel", "comparison"]
    cmd = [sys.executable, str(ROOT / "main.py"), "latch", "--text", ">a?b?", "--unit", "12",
           "--intervene", "update=0", "--size", "1024x768", "--screenshot", str(shot), *extra]
    proc = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    problems = [line for line in proc.stderr.splitlines() if line.startswith("lstm-viewer:")]
    if bad:
        assert problems == [
            "lstm-viewer: --panel nope: unknown panel 'nope' (panels: why, comparison, lab, "
            "interventions, inspector, model, plots).",
            "lstm-viewer: --step 99: step 99 is outside the input (steps 0…4).",
        ]
    else:
        assert problems == []
    assert "Traceback" not in proc.stderr
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1024, 768)


def test_panel_lab_opens_the_variant_lab(qtbot, settings):
    win = _open(qtbot, settings, "latch", "--panel", "lab")
    lab = win.interventions.lab
    assert lab is not None and lab.isVisible()
    assert "lab" in win.visible_panels()
    win.close()
    assert not lab.isVisible()  # it goes with the main window
