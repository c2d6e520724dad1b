"""ONNX files from torch.onnx.export and from onnx.helper, compared to onnxruntime."""

import numpy as np
import pytest

from lstm_viewer.engine import run
from lstm_viewer.formats import LoadError, load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper  # noqa: E402

TOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_export_char_model(tmp_path, bidirectional):
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.rnn = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=bidirectional)
            self.out = torch.nn.Linear(10 if bidirectional else 5, 10)

        def forward(self, ids):
            a, _ = self.rnn(self.emb(ids))
            return a, torch.softmax(self.out(a), dim=-1)

    torch.manual_seed(1)
    net = Net().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.8, 0.8)
    path = tmp_path / "char.onnx"
    torch.onnx.export(net, (torch.zeros(6, 1, dtype=torch.long),), str(path), dynamo=False,
                      input_names=["ids"], output_names=["a", "y"],
                      dynamic_axes={"ids": {0: "T"}, "a": {0: "T"}, "y": {0: "T"}})
    model = load(path)
    assert model.source_format == "ONNX"
    assert model.gate_reordering.startswith("ONNX i,o,f,c -> i,f,c,o (blocks 0,2,3,1)")
    assert model.embedding is not None and model.head is not None and len(model.layers) == 2
    ids = np.array([1, 9, 3, 3, 0, 7, 2, 8, 4])
    a_ref, y_ref = _session(path).run(None, {"ids": ids[:, None].astype(np.int64)})
    trace = run(model, ids)
    assert np.max(np.abs(trace.layer_output(1) - a_ref[:, 0])) < TOL
    assert np.max(np.abs(trace.y_hat - y_ref[:, 0])) < TOL
    assert model.head.activation == "softmax" and not model.head.activation_assumed


def test_torch_export_head_without_softmax_is_said_to_be_assumed(tmp_path):
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(4, 8)
            self.out = torch.nn.Linear(8, 5)

        def forward(self, x):
            return self.out(self.rnn(x)[0])

    net = Net().eval()
    path = tmp_path / "logits.onnx"
    torch.onnx.export(net, (torch.zeros(6, 1, 4),), str(path), dynamo=False,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "T"}, "logits": {0: "T"}})
    model = load(path)
    assert model.head.activation == "softmax" and model.head.activation_assumed
    assert any("assumed: the file does not say" in line for line in model.summary())
    x = np.random.default_rng(2).standard_normal((7, 4)).astype(np.float32)
    (logits_ref,) = _session(path).run(None, {"x": x[:, None]})
    # The graph's output is the logits, which the trace keeps beside ŷ.
    assert np.max(np.abs(run(model, x).logits - logits_ref[:, 0])) < TOL


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_helper_built_peephole_lstm_matches_onnxruntime(tmp_path, make_onnx_lstm, direction):
    path = make_onnx_lstm(tmp_path / "peep.onnx", direction=direction)
    model = load(path)
    assert model.has_peepholes
    assert "peepholes i,o,f -> i,f,o" in model.gate_reordering
    x = np.random.default_rng(5).standard_normal((8, 2)).astype(np.float32)
    (y_ref,) = _session(path).run(None, {"X": x[:, None, :]})
    trace = run(model, x)
    for d, rec in enumerate(trace.layers[0]):
        assert np.max(np.abs(rec.a - y_ref[:, d, 0])) < TOL
    # With peepholes the recorded pre-activation carries the p⊙c part.
    assert "p⊙c" in trace.layers[0][0].preactivation("forget", 1)


def test_helper_built_without_peepholes_or_bias(tmp_path, make_onnx_lstm):
    path = make_onnx_lstm(tmp_path / "plain.onnx", peepholes=False, H=4, I=3, seed=3)
    m = onnx.load(str(path))
    m.graph.node[0].input[3] = ""          # drop B: zeros
    del m.graph.initializer[2]
    onnx.save(m, str(path))
    model = load(path)
    assert not model.has_peepholes
    x = np.random.default_rng(6).standard_normal((5, 3)).astype(np.float32)
    (y_ref,) = _session(path).run(None, {"X": x[:, None, :]})
    assert np.max(np.abs(run(model, x).layers[0][0].a - y_ref[:, 0, 0])) < TOL


@pytest.mark.parametrize("attrs, message", [
    ({"clip": 2.0}, r"cell clipping \(clip=2\.0\) is not supported"),
    ({"input_forget": 1}, r"input_forget=1 .* is not supported"),
    ({"layout": 1}, r"layout=1 \(batch-first\) is not supported"),
    ({"activations": ["Sigmoid", "Relu", "Tanh"]}, r"activations \['Sigmoid', 'Relu', 'Tanh'\] are not supported"),
])
def test_unsupported_attributes_are_refused(tmp_path, make_onnx_lstm, attrs, message):
    path = make_onnx_lstm(tmp_path / "bad.onnx", **attrs)
    with pytest.raises(LoadError, match=message):
        load(path)


def test_graph_without_lstm_is_refused(tmp_path):
    node = helper.make_node("Relu", ["X"], ["Y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])])
    onnx.save(helper.make_model(graph), str(tmp_path / "relu.onnx"))
    with pytest.raises(LoadError, match=r"the ONNX graph has no LSTM node \(ops: Relu\)"):
        load(tmp_path / "relu.onnx")


def test_inconsistent_hidden_size_is_named(tmp_path, make_onnx_lstm):
    path = make_onnx_lstm(tmp_path / "h.onnx")
    m = onnx.load(str(path))
    for a in m.graph.node[0].attribute:
        if a.name == "hidden_size":
            a.i = 5
    onnx.save(m, str(path))
    with pytest.raises(LoadError, match=r"hidden_size=5 but R 'R' has shape \(1, 12, 3\)"):
        load(path)
