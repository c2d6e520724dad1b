"""PyTorch-style state dicts: what is taken, what is refused, what is listed as unused."""

import numpy as np
import pytest
from safetensors.numpy import save_file

from lstm_viewer.formats import LoadError, load


def _lstm(H=4, n_in=3, prefix="rnn."):
    rng = np.random.default_rng(0)
    return {f"{prefix}weight_ih_l0": rng.standard_normal((4 * H, n_in)).astype(np.float32),
            f"{prefix}weight_hh_l0": rng.standard_normal((4 * H, H)).astype(np.float32),
            f"{prefix}bias_ih_l0": rng.standard_normal(4 * H).astype(np.float32),
            f"{prefix}bias_hh_l0": rng.standard_normal(4 * H).astype(np.float32)}


def _linear(name, n_out, n_in):
    rng = np.random.default_rng(1)
    return {f"{name}.weight": rng.standard_normal((n_out, n_in)).astype(np.float32),
            f"{name}.bias": rng.standard_normal(n_out).astype(np.float32)}


def _save(tmp_path, tensors, name="m.safetensors"):
    path = tmp_path / name
    save_file(tensors, str(path))
    return path


def test_head_activation_is_assumed_and_said(tmp_path):
    model = load(_save(tmp_path, {**_lstm(), **_linear("decoder", 7, 4)}))
    assert model.head.activation == "softmax" and model.head.activation_assumed
    assert "output layer: 4 -> 7 (softmax, assumed: the file does not say)" in model.summary()
    assert model.unused == []


def test_a_second_linear_after_the_head_is_refused(tmp_path):
    path = _save(tmp_path, {**_lstm(), **_linear("fc1", 4, 4), **_linear("fc2", 9, 4)})
    with pytest.raises(LoadError, match=r"'fc2.weight' \(9, 4\) takes the output of the head "
                                        r"'fc1.weight': a second layer after the LSTM"):
        load(path)


def test_a_linear_feeding_the_lstm_is_refused(tmp_path):
    path = _save(tmp_path, {**_linear("proj", 3, 5), **_lstm(), **_linear("out", 6, 4)})
    with pytest.raises(LoadError, match=r"'proj.weight' \(3, 5\) feeds the LSTM's 3 inputs"):
        load(path)


def test_other_tensors_are_listed_as_unused(tmp_path):
    extra = {"aux.scale": np.ones(5, np.float32), "norm.weight": np.ones(4, np.float32)}
    model = load(_save(tmp_path, {**_lstm(), **_linear("head", 7, 4), **extra}))
    assert model.unused == ["aux.scale (5,)", "norm.weight (4,)"]
    assert "not used: aux.scale (5,), norm.weight (4,)" in model.summary()


def test_gru_weights_are_named_as_such(tmp_path):
    rng = np.random.default_rng(0)
    H = 4
    gru = {"gru.weight_ih_l0": rng.standard_normal((3 * H, 3)).astype(np.float32),
           "gru.weight_hh_l0": rng.standard_normal((3 * H, H)).astype(np.float32)}
    with pytest.raises(LoadError, match=r"has shape \(12, 4\), expected \(4H, H\): 3 gate blocks, a GRU"):
        load(_save(tmp_path, gru))


def test_weights_h5_name_drops_both_suffixes(tmp_path):
    model = load(_save(tmp_path, {**_lstm(), **_linear("head", 7, 4)}, "net.weights.safetensors"))
    assert model.name == "net.weights"          # only .weights.h5 is a known double suffix
    assert load(_save(tmp_path, _lstm(), "plain.safetensors")).name == "plain"
