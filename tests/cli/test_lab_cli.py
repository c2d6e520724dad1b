"""``main.py lab``: the headless variant lab prints the table and the text."""

import subprocess
import sys
from pathlib import Path

from lstm_viewer.app import main


def test_lab_cli_prints_the_table(capsys):
    code = main(["lab", "counting", "--variants", "standard,cifg", "--seeds", "1", "--steps", "2", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("task counting: hidden")
    assert "\nstandard " in out and "\nCIFG " in out and "\nNIG " not in out
    assert "Ranking on counting: with 1 seed per variant no ranking can be concluded." in out
    # One short seed never yields a verdict on the paper.
    assert "clearly" not in out and "contradicts the paper" not in out and "in line with" not in out


def test_lab_cli_latch_prints_its_configuration(capsys):
    code = main(["lab", "latch", "--variants", "nig", "--seeds", "1", "--steps", "1", "--quiet"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == "task latch: hidden 12, batch 32, 1 training steps, seeds 0"
    assert lines[1].startswith("lab latch configuration: 4 letters abcd; training on 20-40-step")
    assert lines[4].startswith("NIG ")


def test_lab_cli_help_says_few_seeds_rank_nothing(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["lab", "--help"])
    assert "fewer than 3 rank nothing" in " ".join(capsys.readouterr().out.split())


def test_lab_cli_bad_variant_is_one_line(capsys):
    code = main(["lab", "counting", "--variants", "standard,gru"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == "lstm-viewer: error: unknown variant 'gru'; choose from standard,nig,nfg,nog,cifg"


def test_lab_cli_unknown_task_and_qt_free():
    # argparse rejects the task; the subcommand never imports Qt.
    proc = subprocess.run([sys.executable, "-c",
                           "import sys; from lstm_viewer.app import main; "
                           "code = main(['lab', 'counting', '--seeds', '1', '--steps', '1', '--quiet', "
                           "'--variants', 'nog']); assert not any(m.startswith('PySide6') for m in sys.modules); "
                           "sys.exit(code)"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    root = Path(__file__).resolve().parents[2]
    bad = subprocess.run([sys.executable, str(root / "main.py"), "lab", "nosuchtask"], capture_output=True,
                         text=True, timeout=60, cwd=root)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
