"""Files written by PyTorch in the test itself, traced and compared to torch."""

import numpy as np
import pytest

from lstm_viewer.engine import run
from lstm_viewer.formats import LoadError, load

torch = pytest.importorskip("torch")

TOL = 1e-5


class CharModel(torch.nn.Module):
    """A typical character model; attribute names deliberately not 'embedding'/'head'."""

    def __init__(self, vocab=11, emb=5, hidden=6, layers=2, bidirectional=False):
        super().__init__()
        self.chars = torch.nn.Embedding(vocab, emb)
        self.core = torch.nn.LSTM(emb, hidden, num_layers=layers, bidirectional=bidirectional,
                                  batch_first=True)
        self.proj = torch.nn.Linear(hidden * (2 if bidirectional else 1), vocab)

    def forward(self, ids):
        a, _ = self.core(self.chars(ids))
        return a, torch.softmax(self.proj(a), dim=-1)


def _seeded(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.8, 0.8)  # larger than default init: gates far from 0.5
    return module.eval()


def max_error(trace, a_ref, layer=-1):
    return float(np.max(np.abs(trace.layer_output(len(trace.layers) - 1 if layer == -1 else layer) - a_ref)))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_save_two_layer_lstm(tmp_path, bidirectional):
    lstm = _seeded(torch.nn.LSTM(4, 3, num_layers=2, bidirectional=bidirectional))
    path = tmp_path / "lstm.pt"
    torch.save(lstm.state_dict(), path)
    model = load(path)
    assert len(model.layers) == 2 and model.layers[1].bidirectional == bidirectional
    assert model.embedding is None and model.head is None
    x = np.random.default_rng(0).standard_normal((9, 4)).astype(np.float32)
    with torch.no_grad():
        ref, _ = lstm(torch.from_numpy(x)[:, None, :])
    trace = run(model, x)
    assert max_error(trace, ref[:, 0].numpy()) < TOL
    assert model.name_map["layer1.W_a"] == "weight_hh_l1"
    assert model.name_map["layer0.b"] == "bias_ih_l0 + bias_hh_l0"


@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_char_model_loads_whole(tmp_path, bidirectional):
    net = _seeded(CharModel(bidirectional=bidirectional))
    path = tmp_path / "char.pth"
    torch.save(net.state_dict(), path)
    model = load(path)
    assert model.name_map["embedding"] == "chars.weight"
    assert model.name_map["head.W_y"] == "proj.weight"
    assert model.vocab_size == 11 and model.output_size == 11
    ids = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8])
    with torch.no_grad():
        a_ref, y_ref = net(torch.from_numpy(ids)[None])
    trace = run(model, ids)
    assert max_error(trace, a_ref[0].numpy()) < TOL
    assert np.max(np.abs(trace.y_hat - y_ref[0].numpy())) < TOL
    # Gates too, against the cell equations on torch's own weights.
    W_ih = net.core.weight_ih_l0.detach().numpy()  # a⟨−1⟩ = 0: W_hh plays no part at t = 0
    b = (net.core.bias_ih_l0 + net.core.bias_hh_l0).detach().numpy()
    x0 = net.chars.weight.detach().numpy()[ids[0]]
    z = W_ih @ x0 + b  # a⟨0⟩ = 0
    i, f, g, o = np.split(z, 4)
    rec = trace.layers[0][0]
    np.testing.assert_allclose(rec.update[0], 1 / (1 + np.exp(-i)), atol=TOL)
    np.testing.assert_allclose(rec.forget[0], 1 / (1 + np.exp(-f)), atol=TOL)
    np.testing.assert_allclose(rec.candidate[0], np.tanh(g), atol=TOL)
    np.testing.assert_allclose(rec.output[0], 1 / (1 + np.exp(-o)), atol=TOL)


def test_module_prefix_and_checkpoint_dict_with_vocab(tmp_path):
    net = _seeded(CharModel(vocab=5, layers=1))
    wrapped = {f"module.{k}": v for k, v in net.state_dict().items()}
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "model_state_dict": wrapped, "vocab": list("abcde")}, path)
    model = load(path)
    assert model.vocab == list("abcde")
    assert model.name_map["layer0.W_x"] == "module.core.weight_ih_l0"
    ids = model.encode("abcdeedcba")[0]
    with torch.no_grad():
        a_ref, y_ref = net(torch.from_numpy(ids)[None])
    assert np.max(np.abs(run(model, ids).y_hat - y_ref[0].numpy())) < TOL


def test_lstm_cell_state_dict(tmp_path):
    cell = _seeded(torch.nn.LSTMCell(3, 4))
    torch.save(cell.state_dict(), tmp_path / "cell.pt")
    model = load(tmp_path / "cell.pt")
    x = np.random.default_rng(1).standard_normal((7, 3)).astype(np.float32)
    h = c = torch.zeros(1, 4)
    ref = []
    with torch.no_grad():
        for t in range(7):
            h, c = cell(torch.from_numpy(x[t:t + 1]), (h, c))
            ref.append(h[0].numpy())
    assert max_error(run(model, x), np.array(ref)) < TOL


def test_lstm_without_bias(tmp_path):
    lstm = _seeded(torch.nn.LSTM(2, 2, bias=False))
    torch.save(lstm.state_dict(), tmp_path / "nobias.pt")
    model = load(tmp_path / "nobias.pt")
    x = np.ones((3, 2), np.float32)
    with torch.no_grad():
        ref, _ = lstm(torch.from_numpy(x)[:, None])
    assert max_error(run(model, x), ref[:, 0].numpy()) < TOL


def test_float64_tensors_trace_in_float64(tmp_path):
    lstm = _seeded(torch.nn.LSTM(3, 3)).double()
    torch.save(lstm.state_dict(), tmp_path / "f64.pt")
    model = load(tmp_path / "f64.pt")
    x = np.random.default_rng(2).standard_normal((20, 3))
    with torch.no_grad():
        ref, _ = lstm(torch.from_numpy(x)[:, None])
    assert max_error(run(model, x, dtype=np.float64), ref[:, 0].numpy()) < 1e-12


def test_safetensors_from_torch_tensors(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    net = _seeded(CharModel(bidirectional=True))
    st.save_file(net.state_dict(), str(tmp_path / "char.safetensors"))
    model = load(tmp_path / "char.safetensors")
    assert model.source_format == "safetensors (PyTorch names)"
    ids = np.array([0, 10, 5, 5, 2])
    with torch.no_grad():
        a_ref, y_ref = net(torch.from_numpy(ids)[None])
    trace = run(model, ids)
    assert max_error(trace, a_ref[0].numpy()) < TOL
    assert np.max(np.abs(trace.y_hat - y_ref[0].numpy())) < TOL


def test_projection_is_refused(tmp_path):
    lstm = torch.nn.LSTM(3, 4, proj_size=2)
    torch.save(lstm.state_dict(), tmp_path / "proj.pt")
    with pytest.raises(LoadError, match=r"'weight_hr_l0' is an LSTM projection"):
        load(tmp_path / "proj.pt")


def test_whole_module_pickle_is_refused_by_global_name(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(torch.nn.LSTM(2, 2), path)
    with pytest.raises(LoadError, match=r"asks for 'torch\.nn\.modules\.rnn\.LSTM'.*refused"):
        load(path)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_state_dict_is_widened_exactly(tmp_path, dtype):
    lstm = _seeded(torch.nn.LSTM(3, 2)).to(getattr(torch, dtype))
    torch.save(lstm.state_dict(), tmp_path / "half.pt")
    model = load(tmp_path / "half.pt")
    expected = lstm.weight_hh_l0.detach().float().numpy()
    assert model.layers[0].cells[0].W_a.dtype == np.float32
    np.testing.assert_array_equal(model.layers[0].cells[0].W_a, expected)


def test_whole_module_pickle_is_refused_with_the_state_dict_hint(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(torch.nn.LSTM(3, 4), path)
    with pytest.raises(LoadError) as info:
        load(path)
    message = str(info.value)
    assert "refused (no code from the file was run)" in message
    assert message.endswith("save the weights with torch.save(model.state_dict(), path)")
