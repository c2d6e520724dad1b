"""``python main.py info`` and ``trace`` as a user runs them (subprocesses, no Qt)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel
from lstm_viewer.formats import save_native

ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    env = dict(os.environ, KERAS_BACKEND="torch")
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@pytest.fixture
def char_file(tmp_path):
    """A two-layer character model with a vocabulary and a card, in the native format."""
    rng = np.random.default_rng(7)
    vocab = list("abcd ")

    def cell(n_in, H):
        return CellWeights(rng.standard_normal((4 * H, n_in)), rng.standard_normal((4 * H, H)),
                           rng.standard_normal(4 * H))

    model = LSTMModel(
        layers=[Layer([cell(3, 4)]), Layer([cell(4, 2)])], embedding=rng.standard_normal((5, 3)),
        head=Head(rng.standard_normal((5, 2)), rng.standard_normal(5)), vocab=vocab, name="chars",
        card={"task": "predict the next character", "seed": 3,
              "what_to_look_at": ["unit 2 of layer 0", "the forget gate at spaces"]},
    )
    return save_native(model, tmp_path / "chars.safetensors")


def test_info_prints_summary_and_card(char_file):
    proc = cli("info", char_file)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for expected in ("format: lstm-viewer native (safetensors)", "embedding: 5 tokens -> 3",
                     "layer 0: LSTM, input 3, hidden 4", "layer 1: LSTM, input 4, hidden 2",
                     "output layer: 2 -> 5 (softmax)", "peepholes: no", "gate reordering:",
                     "card:", "  task: predict the next character", "  seed: 3",
                     "  what to look at: unit 2 of layer 0; the forget gate at spaces"):
        assert expected in out
    assert "tensors (canonical <- file)" not in out  # native names need no mapping
    assert proc.stderr == ""


def test_info_card_empty_values_read_none(tmp_path):
    from lstm_viewer.cli.info import card_lines

    assert card_lines({"interventions": [], "lr": 0.5, "train": {"accuracy": 0.9}}) == [
        "  interventions: (none)", "  lr: 0.5", "  train: accuracy=0.9"]


def test_trace_text_writes_every_layer(char_file, tmp_path):
    out = tmp_path / "trace.npz"
    proc = cli("trace", char_file, "--text", "abba cad", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "traced 8 steps through 2 layer(s)" in proc.stdout and str(out) in proc.stdout
    with np.load(out, allow_pickle=False) as npz:
        for k, H in ((0, 4), (1, 2)):
            for name in ("forget", "update", "candidate", "output", "c", "a"):
                assert npz[f"layer{k}.{name}"].shape == (8, H)
                assert npz[f"layer{k}.{name}"].dtype == np.float32
        assert npz["y"].shape == (8, 5)
        np.testing.assert_allclose(npz["y"].sum(axis=1), 1.0, atol=1e-6)


def test_trace_warns_on_unknown_characters(char_file, tmp_path):
    proc = cli("trace", char_file, "--text", "abXcY", "--out", tmp_path / "t.npz")
    assert proc.returncode == 0
    assert "not in the vocabulary" in proc.stderr and "'X'" in proc.stderr and "'Y'" in proc.stderr
    with np.load(tmp_path / "t.npz") as npz:
        assert npz["layer0.a"].shape == (3, 4)


def test_trace_inputs_float64_and_intervention(char_file, tmp_path):
    np.save(tmp_path / "ids.npy", np.array([0, 1, 2, 3, 4, 0]))
    proc = cli("trace", char_file, "--inputs", tmp_path / "ids.npy", "--out", tmp_path / "t.npz",
               "--float64", "--intervene", "forget=1#0", "--intervene", "output=0.5")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "t.npz") as npz:
        assert npz["layer0.a"].dtype == np.float64
        assert np.all(npz["layer0.forget"] == 1.0)
        assert np.all(npz["layer1.output"] == 0.5)
        assert not np.all(npz["layer1.forget"] == 1.0)


def test_trace_vectors_2d(tmp_path):
    rng = np.random.default_rng(0)
    cell = CellWeights(rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal(8))
    weights = save_native(LSTMModel(layers=[Layer([cell])]), tmp_path / "plain.safetensors")
    np.save(tmp_path / "x.npy", rng.standard_normal((5, 3)))
    proc = cli("trace", weights, "--inputs", tmp_path / "x.npy", "--out", tmp_path / "t.npz")
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "t.npz") as npz:
        assert npz["layer0.c"].shape == (5, 2) and "y" not in npz.files


@pytest.mark.parametrize("args, message", [
    (["info", "{bad}"], "unknown file format"),
    (["trace", "{bad}", "--text", "ab", "--out", "{tmp}/t.npz"], "unknown file format"),
    (["info", "{tmp}/missing.pt"], "file does not exist"),
    (["trace", "{good}", "--inputs", "{tmp}/missing.npy", "--out", "{tmp}/t.npz"], "inputs file does not exist"),
    (["trace", "{good}", "--inputs", "{ids}", "--out", "{tmp}/t.npz", "--intervene", "bogus=3"], "bogus"),
    (["trace", "{good}", "--inputs", "{big_ids}", "--out", "{tmp}/t.npz"], "token id 99 at position 1"),
    (["trace", "{good}", "--inputs", "{objs}", "--out", "{tmp}/t.npz"], "not a readable .npy array"),
])
def test_errors_are_one_line_exit_2(char_file, tmp_path, args, message):
    (tmp_path / "bad.pt").write_bytes(b"\x01\x02 definitely not weights" * 10)
    np.save(tmp_path / "ids.npy", np.array([0, 1]))
    np.save(tmp_path / "big.npy", np.array([0, 99]))
    np.save(tmp_path / "objs.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    subs = {"{bad}": tmp_path / "bad.pt", "{tmp}": tmp_path, "{good}": char_file,
            "{ids}": tmp_path / "ids.npy", "{big_ids}": tmp_path / "big.npy", "{objs}": tmp_path / "objs.npy"}
    filled = []
    for a in args:
        for k, v in subs.items():
            a = a.replace(k, str(v))
        filled.append(a)
    proc = cli(*filled)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstm-viewer: error: ")
    assert message in lines[0]


def test_cli_trace_matches_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    emb, lstm, fc = torch.nn.Embedding(6, 3), torch.nn.LSTM(3, 4, num_layers=2), torch.nn.Linear(4, 6)
    torch.save({**{f"emb.{k}": v for k, v in emb.state_dict().items()},
                **{f"lstm.{k}": v for k, v in lstm.state_dict().items()},
                **{f"fc.{k}": v for k, v in fc.state_dict().items()}}, tmp_path / "m.pt")
    ids = np.array([5, 0, 3, 3, 1])
    np.save(tmp_path / "ids.npy", ids)
    proc = cli("trace", tmp_path / "m.pt", "--inputs", tmp_path / "ids.npy", "--out", tmp_path / "t.npz")
    assert proc.returncode == 0, proc.stderr
    with torch.no_grad():
        a, _ = lstm(emb(torch.from_numpy(ids))[:, None])
        y = torch.softmax(fc(a[:, 0]), dim=-1).numpy()
    with np.load(tmp_path / "t.npz") as npz:
        assert np.max(np.abs(npz["layer1.a"] - a[:, 0].numpy())) < 1e-5
        assert np.max(np.abs(npz["y"] - y)) < 1e-5
    info = cli("info", tmp_path / "m.pt")
    assert info.returncode == 0
    for line in ("format: PyTorch torch.save state_dict", "embedding: 6 tokens -> 3",
                 "  layer0.W_x <- lstm.weight_ih_l0", "  layer1.b <- lstm.bias_ih_l1 + lstm.bias_hh_l1",
                 "  embedding <- emb.weight", "  head.W_y <- fc.weight"):
        assert line in info.stdout


def _onnx_builder():
    """The ONNX LSTM writer of tests/formats/conftest.py (one copy, loaded by path)."""
    spec = importlib.util.spec_from_file_location("formats_fixtures", ROOT / "tests" / "formats" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._onnx_lstm_graph


def test_cli_trace_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = _onnx_builder()(tmp_path / "p.onnx", H=3, I=2, direction="bidirectional")
    x = np.random.default_rng(1).standard_normal((6, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = cli("trace", path, "--inputs", tmp_path / "x.npy", "--out", tmp_path / "t.npz")
    assert proc.returncode == 0, proc.stderr
    (y,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"X": x[:, None]})
    with np.load(tmp_path / "t.npz") as npz:
        assert np.max(np.abs(npz["layer0.a"] - y[:, 0, 0])) < 1e-5
        assert np.max(np.abs(npz["layer0_reverse.a"] - y[:, 1, 0])) < 1e-5


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_trace_matches_keras(tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    net = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(6, 3),
                            keras.layers.LSTM(4, return_sequences=True), keras.layers.Dense(6, activation="softmax")])
    net.save(tmp_path / "k.keras")
    ids = np.array([1, 2, 5, 0])
    np.save(tmp_path / "ids.npy", ids)
    proc = cli("trace", tmp_path / "k.keras", "--inputs", tmp_path / "ids.npy", "--out", tmp_path / "t.npz")
    assert proc.returncode == 0, proc.stderr
    y = keras.ops.convert_to_numpy(net(ids[None].astype("int32")))[0]
    with np.load(tmp_path / "t.npz") as npz:
        assert np.max(np.abs(npz["y"] - y)) < 1e-5
