"""Files written by Keras 3 (torch backend) in the test itself, compared to Keras."""

import json
import os

import numpy as np
import pytest

from lstm_viewer.engine import run
from lstm_viewer.formats import load

os.environ.setdefault("KERAS_BACKEND", "torch")
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

TOL = 1e-5
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


def _randomise(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def _char_model(bidirectional=False):
    L = keras.layers
    second = L.LSTM(3, return_sequences=True)
    layers = [keras.Input((None,), dtype="int32"), L.Embedding(9, 4), L.LSTM(5, return_sequences=True),
              L.Bidirectional(second) if bidirectional else second, L.Dropout(0.2),
              L.Dense(9, activation="softmax")]
    return _randomise(keras.Sequential(layers))


def _reference(model, ids):
    """Keras's own outputs of every LSTM layer and of the model."""
    outputs = [layer.output for layer in model.layers if layer.__class__.__name__ in ("LSTM", "Bidirectional")]
    probe = keras.Model(model.inputs[0], outputs + [model.outputs[0]])
    values = probe(np.asarray(ids)[None].astype("int32"))
    return [keras.ops.convert_to_numpy(v)[0] for v in values]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_keras_char_model_matches_keras(tmp_path, suffix, bidirectional):
    net = _char_model(bidirectional)
    path = tmp_path / f"char{suffix}"
    net.save(path)
    model = load(path)
    assert model.embedding is not None and model.head is not None and model.head.activation == "softmax"
    assert len(model.layers) == 2 and model.layers[1].bidirectional == bidirectional
    ids = [1, 8, 2, 2, 7, 0, 3, 5]
    *a_refs, y_ref = _reference(net, ids)
    trace = run(model, np.array(ids))
    for k, a_ref in enumerate(a_refs):
        assert np.max(np.abs(trace.layer_output(k) - a_ref)) < TOL
    assert np.max(np.abs(trace.y_hat - y_ref)) < TOL


def test_keras3_weights_h5_without_config(tmp_path):
    net = _char_model(bidirectional=False)
    path = tmp_path / "char.weights.h5"
    net.save_weights(path)
    model = load(path)
    assert model.source_format == "Keras 3 weights (.weights.h5)"
    ids = [4, 4, 1, 0, 8]
    *_, y_ref = _reference(net, ids)
    # Without a config the file does not say what follows the Dense: softmax
    # is assumed, as for a PyTorch state_dict, so ŷ is the softmax model's.
    assert model.head.activation_assumed
    trace = run(model, np.array(ids))
    assert np.max(np.abs(trace.y_hat - y_ref)) < TOL


def test_keras_vector_input_single_lstm(tmp_path):
    net = _randomise(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True)]))
    net.save(tmp_path / "plain.keras")
    model = load(tmp_path / "plain.keras")
    x = np.random.default_rng(3).standard_normal((6, 3)).astype(np.float32)
    ref = keras.ops.convert_to_numpy(net(x[None]))[0]
    assert np.max(np.abs(run(model, x).layer_output(0) - ref)) < TOL
    assert model.name_map["layer0.W_x"] == "layers/lstm/cell/vars/0 (transposed)"


@pytest.mark.parametrize("with_config", [True, False])
def test_keras2_style_h5_written_by_hand(tmp_path, with_config):
    """The Keras 2 layout (bytes names, ':0' suffixes), filled with a Keras 3 model's weights."""
    import h5py

    net = _randomise(keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(7, 3),
                                       keras.layers.LSTM(4, return_sequences=True),
                                       keras.layers.Dense(7, activation="softmax")]))
    emb, kernel, recurrent, bias, dense_k, dense_b = net.get_weights()
    layers = {
        "embedding": [("embedding/embeddings:0", emb)],
        "lstm": [("lstm/lstm_cell/kernel:0", kernel), ("lstm/lstm_cell/recurrent_kernel:0", recurrent),
                 ("lstm/lstm_cell/bias:0", bias)],
        "dense": [("dense/kernel:0", dense_k), ("dense/bias:0", dense_b)],
    }
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "Embedding", "config": {"name": "embedding", "input_dim": 7, "output_dim": 3}},
        {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "activation": "tanh",
                                          "recurrent_activation": "sigmoid", "return_sequences": True}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 7, "activation": "softmax"}}]}}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        root = f
        if with_config:
            f.attrs["keras_version"] = b"2.15.0"
            f.attrs["model_config"] = json.dumps(config).encode()
            root = f.create_group("model_weights")
        root.attrs["layer_names"] = [name.encode() for name in layers]
        for lname, weights in layers.items():
            g = root.create_group(lname)
            g.attrs["weight_names"] = [w.encode() for w, _ in weights]
            for wname, value in weights:
                g[wname] = value
    model = load(path)
    assert model.name_map["layer0.W_a"] == "lstm/lstm_cell/recurrent_kernel:0 (transposed)"
    ids = np.array([6, 0, 2, 2, 5])
    y_ref = keras.ops.convert_to_numpy(net(ids[None].astype("int32")))[0]
    trace = run(model, ids)
    if with_config:
        assert model.source_format == "Keras HDF5 (.h5, keras 2.15.0)"
        assert np.max(np.abs(trace.y_hat - y_ref)) < TOL
    else:
        # No config: the file does not say what follows the Dense; softmax is
        # assumed (as for a PyTorch state_dict), and said so.
        assert model.head.activation == "softmax" and model.head.activation_assumed
        assert "softmax, assumed" in "\n".join(model.summary())
        assert np.max(np.abs(trace.y_hat - y_ref)) < TOL


def test_keras_gru_is_refused_clearly(tmp_path):
    from lstm_viewer.formats import LoadError

    net = keras.Sequential([keras.Input((None, 2)), keras.layers.GRU(3, return_sequences=True)])
    net.save(tmp_path / "gru.keras")
    with pytest.raises(LoadError, match=r"layer 'gru' \(GRU\): layer type GRU is not supported"):
        load(tmp_path / "gru.keras")


def test_keras_relu_lstm_is_refused(tmp_path):
    from lstm_viewer.formats import LoadError

    net = keras.Sequential([keras.Input((None, 2)), keras.layers.LSTM(3, activation="relu")])
    net.save(tmp_path / "relu.keras")
    with pytest.raises(LoadError, match=r"activation 'relu' / recurrent_activation 'sigmoid' are not supported"):
        load(tmp_path / "relu.keras")


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".weights.h5"])
def test_time_distributed_dense_head(tmp_path, suffix):
    net = _randomise(keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4, return_sequences=True),
                                       keras.layers.TimeDistributed(keras.layers.Dense(5, activation="softmax"))]))
    path = tmp_path / f"td{suffix}"
    net.save_weights(path) if suffix == ".weights.h5" else net.save(path)
    model = load(path)
    x = np.random.default_rng(4).standard_normal((7, 3)).astype(np.float32)
    y_ref = keras.ops.convert_to_numpy(net(x[None]))[0]
    logits = run(model, x).logits
    p = np.exp(logits - logits.max(1, keepdims=True))
    assert np.max(np.abs(p / p.sum(1, keepdims=True) - y_ref)) < TOL
    if suffix != ".weights.h5":
        assert model.head.activation == "softmax"
