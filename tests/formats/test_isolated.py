"""Keras/HDF5 files are read in a child process with a time limit (formats/isolated.py)."""

import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lstm_viewer.formats import LoadError, load
from lstm_viewer.formats.isolated import IN_PROCESS_ENV

h5py = pytest.importorskip("h5py")
DATA = Path(__file__).parent / "data"


def _legacy_h5(path, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.15.0"
        f.attrs["layer_names"] = [b"lstm", b"dense"]
        g = f.create_group("lstm")
        g.attrs["weight_names"] = [b"lstm/kernel:0", b"lstm/recurrent_kernel:0", b"lstm/bias:0"]
        g["lstm/kernel:0"] = rng.standard_normal((3, 8)).astype(dtype)
        g["lstm/recurrent_kernel:0"] = rng.standard_normal((2, 8)).astype(dtype)
        g["lstm/bias:0"] = rng.standard_normal(8).astype(dtype)
        d = f.create_group("dense")
        d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
        d["dense/kernel:0"] = rng.standard_normal((2, 5)).astype(dtype)
        d["dense/bias:0"] = rng.standard_normal(5).astype(dtype)
    return path


def _keras_zip(path, tmp_path):
    with h5py.File(tmp_path / "w.h5", "w") as f:
        for i, shape in enumerate([(3, 8), (2, 8), (8,)]):
            f[f"layers/lstm/cell/vars/{i}"] = np.full(shape, 0.1 * (i + 1), np.float32)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "LSTM", "config": {"name": "lstm"}}]}}))
        z.write(tmp_path / "w.h5", "model.weights.h5")
    return path


def test_file_that_hangs_libhdf5_is_refused_within_a_second_or_so():
    # A legacy Keras .h5 with one random byte changed: libhdf5 2.0 loops for
    # ever reading its 'layer_names' attribute (checked: 100 % CPU for minutes).
    start = time.perf_counter()
    with pytest.raises(LoadError, match="did not finish reading the file"):
        load(DATA / "keras_h5_libhdf5_loops.h5")
    # 0.6 s of reading after the child's start; generous for a busy machine.
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_child_gives_the_same_model_as_in_process(tmp_path, monkeypatch, dtype):
    path = _legacy_h5(tmp_path / "m.h5", dtype)
    child = load(path)
    monkeypatch.setenv(IN_PROCESS_ENV, "1")
    here = load(path)
    assert child.source_format == here.source_format == "Keras HDF5 (.h5, keras 2.15.0)"
    assert child.gate_reordering == here.gate_reordering
    assert child.name_map == here.name_map
    assert child.head.activation == here.head.activation
    for a, b in [(child.layers[0].cells[0].W_x, here.layers[0].cells[0].W_x),
                 (child.layers[0].cells[0].W_a, here.layers[0].cells[0].W_a),
                 (child.layers[0].cells[0].b, here.layers[0].cells[0].b),
                 (child.head.W_y, here.head.W_y), (child.head.b_y, here.head.b_y)]:
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_keras_zip_through_the_child(tmp_path):
    model = load(_keras_zip(tmp_path / "m.keras", tmp_path))
    assert model.source_format == "Keras 3 (.keras)"
    np.testing.assert_array_equal(model.layers[0].cells[0].b, np.full(8, 0.3, np.float32))


def test_loader_message_comes_back_as_one_line(tmp_path):
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(LoadError) as info:
        load(path)
    assert "neither Keras 'layer_names' nor a 'layers' group" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_random_corruption_of_keras_files(tmp_path, suffix, corruption_outcomes):
    good = tmp_path / f"good{suffix}"
    if suffix == ".h5":
        _legacy_h5(good)
    else:
        _keras_zip(good, tmp_path)
    # The child's start (~0.25 s) counts too; generous for a busy machine.
    assert "error" in corruption_outcomes(good.read_bytes(), tmp_path, suffix, 25, 7, 3.0)


def test_weights_h5_model_name(tmp_path):
    assert load(_legacy_h5(tmp_path / "char.weights.h5")).name == "char"
