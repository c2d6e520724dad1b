"""The entry point: mistyped commands and a missing display are one line, not the GUI."""

import sys

import numpy as np
import pytest

from lstm_viewer.app import main


@pytest.mark.parametrize("argv, hint", [
    (["tarce", "latch", "--text", "a", "--out", "x.npz"], "did you mean 'trace'?"),
    (["inof", "latch"], "did you mean 'info'?"),
    (["bogus"], "nor a weights file or bundled model"),
])
def test_mistyped_command_is_one_line_exit_2(capsys, argv, hint):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"lstm-viewer: error: '{argv[0]}' is neither a command")
    assert hint in err and "\n" not in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland display check")
def test_no_display_is_one_line_exit_2(capsys, monkeypatch):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main(["latch"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("lstm-viewer: error: no display to open the window on (DISPLAY is not set); "
                   "the commands info, trace, models, evaluate, lab run without one")


def test_trace_out_without_suffix_reports_the_file_written(tmp_path, capsys):
    out = tmp_path / "trace"
    assert main(["trace", "latch", "--text", ">a?", "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("traced 3 steps through 1 layer(s)")
    assert line.endswith(f"-> {out}.npz")
    assert np.load(f"{out}.npz")["layer0.a"].shape == (3, 16)
    assert main(["trace", "latch", "--text", "a", "--out", str(tmp_path / "one.npz")]) == 0
    assert capsys.readouterr().out.startswith("traced 1 step through")
