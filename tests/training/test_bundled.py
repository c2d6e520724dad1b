"""The retraining command writes a native file whose card ``evaluate`` reproduces."""

import pytest

from lstm_viewer.formats import load
from lstm_viewer.training import evaluate
from lstm_viewer.training.bundled import main


@pytest.mark.parametrize("name", ["counting", "peephole"])
def test_build_writes_a_reproducible_card(name, tmp_path, monkeypatch):
    from lstm_viewer.training import bundled

    monkeypatch.setattr(bundled, "resource_path", lambda *parts: tmp_path)
    lines = []
    path = bundled.build(name, log=lines.append, steps=20)
    assert path == tmp_path / f"{name}.safetensors" and lines[-1].startswith(f"{name}: wrote")
    model = load(path)
    card = model.card
    assert model.name == name and model.vocab
    assert card["command"] == f"python -m lstm_viewer.training {name}" and card["seed"] == 0
    assert card["steps"] == 20 and card["task"] == name
    score = evaluate(model)
    assert card["test"]["accuracy"] == round(score.accuracy, 4)
    assert card["test"]["loss"] == round(score.loss, 4)
    assert set(card["train"]) == {"accuracy", "loss", "positions", "sequences"}
    assert card["look_at"] and card["data"] and card["scored_on"]


def test_unknown_model_name_is_refused(capsys):
    assert main(["latch", "nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err
