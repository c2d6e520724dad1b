"""``main.py models`` and ``main.py evaluate``."""

import json

import pytest
from safetensors import safe_open

from lstm_viewer.app import run_cli
from lstm_viewer.formats import load
from lstm_viewer.formats.native import save_native
from lstm_viewer.paths import resources_dir
from lstm_viewer.training import evaluate, train

BUNDLED = sorted(p.stem for p in (resources_dir() / "models").glob("*.safetensors"))


@pytest.fixture(scope="module")
def counting_file(tmp_path_factory):
    model, _ = train("counting", hidden_size=4, steps=30, seed=2)
    path = tmp_path_factory.mktemp("models") / "counting-tiny.safetensors"
    save_native(model, path)
    return path


def _figures(out: str) -> tuple[float, float]:
    lines = out.strip().splitlines()
    assert lines[-2].startswith("accuracy: ") and lines[-1].startswith("loss: ")
    return float(lines[-2].split()[1]), float(lines[-1].split()[1])


def test_evaluate_prints_the_engine_figures(counting_file, capsys):
    assert run_cli(["evaluate", str(counting_file)]) == 0
    acc, loss = _figures(capsys.readouterr().out)
    score = evaluate(load(counting_file))
    assert acc == pytest.approx(score.accuracy, abs=5e-5)
    assert loss == pytest.approx(score.loss, abs=5e-5)


def test_evaluate_with_an_intervention_changes_the_figures(counting_file, capsys):
    run_cli(["evaluate", str(counting_file)])
    intact = _figures(capsys.readouterr().out)
    assert run_cli(["evaluate", str(counting_file), "--intervene", "update=1",
                    "--intervene", "output=0.5@0"]) == 0
    out = capsys.readouterr().out
    assert "Γ_u := 1" in out
    assert _figures(out) != intact


def test_a_variant_is_always_run_as_that_variant(tmp_path, capsys):
    model, _ = train("counting", hidden_size=4, steps=20, variant="nfg", seed=3)
    path = tmp_path / "nfg.safetensors"
    save_native(model, path)
    assert run_cli(["evaluate", str(path)]) == 0
    acc, loss = _figures(capsys.readouterr().out)
    score = evaluate(load(path))
    assert (acc, loss) == (pytest.approx(score.accuracy, abs=5e-5), pytest.approx(score.loss, abs=5e-5))
    as_standard = load(path)
    as_standard.card = {"task": "counting"}  # the same weights without the NFG intervention
    plain = evaluate(as_standard)
    assert plain.loss != pytest.approx(score.loss, abs=1e-4)


def test_evaluate_without_a_known_task_is_one_line(tmp_path, capsys):
    model, _ = train("counting", hidden_size=4, steps=1)
    model.card = {"task": "translation"}
    path = tmp_path / "odd.safetensors"
    save_native(model, path)
    assert run_cli(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "translation" in err


def test_evaluate_bad_intervention_is_one_line(counting_file, capsys):
    assert run_cli(["evaluate", str(counting_file), "--intervene", "bogus=1"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_models_lists_one_line_per_file(tmp_path, monkeypatch, capsys, counting_file):
    (tmp_path / "models").mkdir()
    for name in ("latch", "zeta"):
        (tmp_path / "models" / f"{name}.safetensors").write_bytes(counting_file.read_bytes())
    monkeypatch.setattr("lstm_viewer.paths.resources_dir", lambda: tmp_path)
    assert run_cli(["models"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("latch") and "(default)" in lines[0] and lines[1].startswith("zeta")
    assert "H=4" in lines[1] and "not evaluated" in lines[1]


@pytest.mark.parametrize("name", BUNDLED)
def test_evaluate_reproduces_the_bundled_card(name, capsys):
    """The card's test figures are what ``evaluate`` prints for the shipped file."""
    path = resources_dir() / "models" / f"{name}.safetensors"
    with safe_open(str(path), framework="numpy") as fh:
        card = json.loads(fh.metadata()["card"])
    assert run_cli(["evaluate", name]) == 0
    acc, loss = _figures(capsys.readouterr().out)
    assert acc == card["test"]["accuracy"] and loss == card["test"]["loss"]
    assert card["command"] == f"python -m lstm_viewer.training {name}"
