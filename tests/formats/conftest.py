"""Fixtures for the loader tests."""

import numpy as np
import pytest


def _onnx_lstm_graph(path, H=3, I=2, direction="forward", peepholes=True, seed=0, **attrs):
    """A one-node ONNX LSTM with random W, R, B (and P) in ONNX's i,o,f,c order."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    D = 2 if direction == "bidirectional" else 1
    inits = [
        numpy_helper.from_array(rng.uniform(-1, 1, (D, 4 * H, I)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.uniform(-1, 1, (D, 4 * H, H)).astype(np.float32), "R"),
        numpy_helper.from_array(rng.uniform(-1, 1, (D, 8 * H)).astype(np.float32), "B"),
    ]
    inputs = ["X", "W", "R", "B", "", "", ""]
    if peepholes:
        inits.append(numpy_helper.from_array(rng.uniform(-1, 1, (D, 3 * H)).astype(np.float32), "P"))
        inputs.append("P")
    node = helper.make_node("LSTM", inputs, ["Y"], hidden_size=H, direction=direction, **attrs)
    graph = helper.make_graph(
        [node], "lstm", [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", 1, I])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["T", D, 1, H])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


@pytest.fixture
def make_onnx_lstm():
    """``make_onnx_lstm(path, H=3, I=2, direction=..., peepholes=True, **attrs)`` writes an ONNX LSTM."""
    return _onnx_lstm_graph


def _corruption_outcomes(data: bytes, folder, suffix: str, samples: int, seed: int,
                         limit: float) -> set:
    """Load ``samples`` copies of ``data`` with 1-5 random bytes changed.

    Each must end in a one-line LoadError or a valid model within ``limit``
    seconds; returns the outcomes seen ("error", "valid").
    """
    import time

    from lstm_viewer.formats import LoadError, load

    rng = np.random.default_rng(seed)
    outcomes = set()
    for i in range(samples):
        b = bytearray(data)
        for pos in rng.integers(0, len(b), rng.integers(1, 6)):
            b[pos] = rng.integers(0, 256)
        path = folder / f"m{i}{suffix}"
        path.write_bytes(bytes(b))
        start = time.perf_counter()
        try:
            load(path).validate()
            outcomes.add("valid")
        except LoadError as exc:
            assert "\n" not in str(exc)
            outcomes.add("error")
        assert time.perf_counter() - start < limit, (path, time.perf_counter() - start)
    return outcomes


@pytest.fixture
def corruption_outcomes():
    """The random-corruption check above, as a fixture."""
    return _corruption_outcomes
