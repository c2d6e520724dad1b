"""Content-based detection, bundled-name resolution, the native format, hand-checked numbers."""

import shutil

import numpy as np
import pytest

import lstm_viewer.formats as formats
from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel, run
from lstm_viewer.formats import KNOWN_FORMATS, LoadError, load, save_native
from lstm_viewer.formats.detect import detect


def one_unit_model():
    """H = 1, n_x = 1: every gate weight chosen so the numbers can be done by hand."""
    # Rows: update, forget, candidate, output.
    W_x = np.array([[0.0], [0.0], [1.0], [0.0]])
    W_a = np.zeros((4, 1))
    b = np.array([0.0, 0.0, 0.0, 0.0])        # all three gates σ(0) = 0.5
    head = Head(np.array([[1.0], [-1.0]]), np.zeros(2))
    return LSTMModel(layers=[Layer([CellWeights(W_x, W_a, b)])], head=head, vocab=["x"],
                     card={"task": "by hand", "what_to_look_at": ["the cell", "the gates"]})


def test_native_round_trip_by_hand(tmp_path):
    path = save_native(one_unit_model(), tmp_path / "hand.safetensors")
    model = load(path)
    assert model.source_format == "lstm-viewer native (safetensors)"
    assert model.card["task"] == "by hand" and model.vocab == ["x"]
    trace = run(model, np.array([[2.0], [0.0]]), dtype=np.float64)
    rec = trace.layers[0][0]
    # t=0: c = 0.5·0 + 0.5·tanh(2); a = 0.5·tanh(c)
    c0 = 0.5 * np.tanh(2.0)
    assert rec.c[0, 0] == pytest.approx(c0, abs=1e-12)
    assert rec.a[0, 0] == pytest.approx(0.5 * np.tanh(c0), abs=1e-12)
    # t=1: input 0 → candidate tanh(0) = 0, so c halves.
    assert rec.c[1, 0] == pytest.approx(c0 / 2, abs=1e-12)
    a1 = 0.5 * np.tanh(c0 / 2)
    # softmax([a, −a])[0] = σ(2a)
    assert trace.y_hat[1, 0] == pytest.approx(1 / (1 + np.exp(-2 * a1)), abs=1e-12)


def test_torch_names_by_hand_gate_order(tmp_path):
    """A marker in PyTorch's 'g' block must become the candidate (no reordering)."""
    from safetensors.numpy import save_file
    W_ih = np.zeros((4, 1), np.float32)
    W_ih[2] = 3.0  # g block
    save_file({"rnn.weight_ih_l0": W_ih, "rnn.weight_hh_l0": np.zeros((4, 1), np.float32)},
              str(tmp_path / "g.safetensors"))
    rec = run(load(tmp_path / "g.safetensors"), np.array([[1.0]]), dtype=np.float64).layers[0][0]
    assert rec.candidate[0, 0] == pytest.approx(np.tanh(3.0))
    assert rec.update[0, 0] == pytest.approx(0.5) and rec.output[0, 0] == pytest.approx(0.5)


def test_onnx_block_order_by_hand(tmp_path, make_onnx_lstm):
    """ONNX block 1 is the output gate: a marker there must land in canonical block 3."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper
    path = make_onnx_lstm(tmp_path / "m.onnx", H=1, I=1, peepholes=False)
    m = onnx.load(str(path))
    W = np.zeros((1, 4, 1), np.float32)
    W[0, 1, 0] = 5.0  # ONNX i,o,f,c: block 1 = o
    m.graph.initializer[0].CopyFrom(numpy_helper.from_array(W, "W"))
    onnx.save(m, str(path))
    cell = load(path).layers[0].cells[0]
    assert cell.W_x[:, 0].tolist() == [0.0, 0.0, 0.0, 5.0]


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".onnx", ""])
def test_detection_uses_content_not_suffix(tmp_path, suffix):
    path = save_native(one_unit_model(), tmp_path / "m.safetensors")
    renamed = tmp_path / f"renamed{suffix}"
    shutil.copy(path, renamed)
    assert detect(renamed) == "safetensors"
    assert load(renamed).vocab == ["x"]


def test_known_formats_are_human_names():
    assert len(KNOWN_FORMATS) == 6
    assert any("ONNX" in f for f in KNOWN_FORMATS) and any("Keras" in f for f in KNOWN_FORMATS)


def test_bundled_name_resolves(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    save_native(one_unit_model(), tmp_path / "models" / "tiny-demo.safetensors")
    monkeypatch.setattr("lstm_viewer.paths.resources_dir", lambda: tmp_path)
    assert formats.bundled_models() == ["tiny-demo"]
    model = load("tiny-demo")
    assert model.name == "tiny-demo" and model.card["task"] == "by hand"
    assert load("tiny-demo", name="shown").name == "shown"


def test_unknown_name_lists_bundled(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    save_native(one_unit_model(), tmp_path / "models" / "alpha.safetensors")
    save_native(one_unit_model(), tmp_path / "models" / "beta.safetensors")
    monkeypatch.setattr("lstm_viewer.paths.resources_dir", lambda: tmp_path)
    with pytest.raises(LoadError, match=r"^gamma: file does not exist .*\(bundled: alpha, beta\)$"):
        load("gamma")


def test_name_map_records_sources(tmp_path):
    rng = np.random.default_rng(0)
    params = {f"W{g}": rng.standard_normal((2, 5)) for g in "fico"}
    params.update({f"b{g}": rng.standard_normal((2, 1)) for g in "fico"})
    np.savez(tmp_path / "c.npz", **params, vocab=np.array(list("abc")))
    model = load(tmp_path / "c.npz")
    assert model.vocab == ["a", "b", "c"]
    assert model.name_map["layer0.b"] == "bi / bf / bc / bo"
    assert model.name_map["layer0.W_x"].startswith("Wi[:, 2:]")


def test_load_returns_the_model_type(tmp_path):
    assert formats.load is load
    path = save_native(one_unit_model(), tmp_path / "typed.safetensors")
    model = load(path)
    assert type(model) is LSTMModel
    assert [layer.hidden_size for layer in model.layers] == [1]
    rng = np.random.default_rng(0)
    params = {f"W{g}": rng.standard_normal((2, 5)) for g in "fico"}
    params.update({f"b{g}": rng.standard_normal((2, 1)) for g in "fico"})
    np.savez(tmp_path / "course.npz", **params)
    assert type(load(tmp_path / "course.npz")) is LSTMModel
    assert type(load(str(path))) is LSTMModel           # a str path as well as a Path


def test_onnx_torch_keras_npz_detected_without_their_suffix(tmp_path, make_onnx_lstm):
    import h5py

    make_onnx_lstm(tmp_path / "a.onnx")
    np.savez(tmp_path / "b.npz", Wf=np.zeros((1, 2)))
    with h5py.File(tmp_path / "c.h5", "w") as f:
        f["x"] = np.zeros(1)
    expected = {"a.onnx": "onnx", "b.npz": "npz", "c.h5": "keras-h5"}
    try:
        import torch
        torch.save({"w": torch.zeros(1)}, tmp_path / "d.pt")
        expected["d.pt"] = "torch"
    except ImportError:
        pass
    for name, fmt in expected.items():
        blind = tmp_path / f"blind-{name.split('.')[0]}"
        shutil.copy(tmp_path / name, blind)
        assert detect(blind) == fmt, name


def test_any_loader_failure_is_one_line(tmp_path, monkeypatch):
    from lstm_viewer.formats.errors import failure_reason

    assert failure_reason(LoadError("bad tensor 'w'", "x.pt")) == "bad tensor 'w'"
    assert failure_reason(MemoryError()) == "not enough memory to read the file"
    assert failure_reason(ValueError("first line\nsecond")) == "could not read the file (ValueError: first line)"
    assert failure_reason(KeyError()) == "could not read the file (KeyError)"

    path = tmp_path / "m.npz"
    np.savez(path, Wf=np.zeros((2, 5)))

    def broken(_path):
        raise IndexError("index 7 is out of bounds\n  deep detail")

    monkeypatch.setattr(formats, "_loader", lambda fmt: broken)
    with pytest.raises(LoadError) as info:
        formats.load(path)
    assert str(info.value) == f"{path}: could not read the file (IndexError: index 7 is out of bounds)"
