"""Every kind of bad file gives one LoadError line, quickly, naming what is wrong."""

import json
import pickle
import re
import struct
import time
import zipfile

import numpy as np
import pytest

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel
from lstm_viewer.formats import KNOWN_FORMATS, LoadError, load, save_native


def tiny_model(H=2, n_x=3, n_y=4):
    rng = np.random.default_rng(0)
    cell = CellWeights(rng.standard_normal((4 * H, n_x)), rng.standard_normal((4 * H, H)),
                       rng.standard_normal(4 * H))
    head = Head(rng.standard_normal((n_y, H)), rng.standard_normal(n_y))
    return LSTMModel(layers=[Layer([cell])], head=head, vocab=list("abc"), card={"task": "demo"})


def safetensors_bytes(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def load_error(path) -> str:
    start = time.perf_counter()
    with pytest.raises(LoadError) as info:
        load(path)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_missing_file_lists_bundled_names(tmp_path):
    msg = load_error(tmp_path / "nope.pt")
    assert "file does not exist" in msg and "bundled" in msg


def test_empty_file(tmp_path):
    assert load_error(write(tmp_path, "empty.pt", b"")).endswith("file is empty")


def test_directory(tmp_path):
    (tmp_path / "d").mkdir()
    assert load_error(tmp_path / "d").endswith("is a directory, not a weights file")


def test_random_bytes_list_known_formats(tmp_path):
    data = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    msg = load_error(write(tmp_path, "noise.bin", b"\x01" + data))
    assert "unknown file format" in msg
    for name in KNOWN_FORMATS:
        assert name in msg


@pytest.mark.parametrize("suffix, reason", [
    (".pt", "a zip file that is truncated or damaged"),
    (".safetensors", "safetensors header claims"),
    (".keras", "a zip file that is truncated or damaged"),
    (".h5", "not a readable HDF5 file"),
    (".onnx", "not a readable ONNX model"),
    (".npz", "a zip file that is truncated or damaged"),
])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.95])
def test_truncated_real_files(tmp_path, suffix, reason, keep, make_onnx_lstm):
    """A good file of each format cut short is refused, never half-loaded."""
    good = tmp_path / f"good{suffix}"
    _write_good(good, suffix, tmp_path, make_onnx_lstm)
    data = good.read_bytes()
    msg = load_error(write(tmp_path, f"cut{suffix}", data[: int(len(data) * keep)]))
    assert reason in msg or (suffix == ".safetensors" and "lie outside" in msg)


def _write_good(path, suffix, tmp_path, make_onnx_lstm):
    model = tiny_model()
    if suffix == ".safetensors":
        save_native(model, path)
    elif suffix == ".npz":
        rng = np.random.default_rng(0)
        np.savez(path, **{f"W{g}": rng.standard_normal((2, 5)) for g in "fico"},
                 **{f"b{g}": rng.standard_normal((2, 1)) for g in "fico"})
    elif suffix == ".pt":
        torch = pytest.importorskip("torch")
        torch.save(torch.nn.LSTM(3, 2).state_dict(), path)
    elif suffix == ".onnx":
        make_onnx_lstm(path)
    else:
        import h5py
        if suffix == ".h5":  # legacy layout: layer_names and weight_names
            with h5py.File(path, "w") as f:
                f.attrs["layer_names"] = ["lstm"]
                g = f.create_group("lstm")
                g.attrs["weight_names"] = ["lstm/kernel:0", "lstm/recurrent_kernel:0", "lstm/bias:0"]
                g["lstm/kernel:0"] = np.zeros((3, 8), np.float32)
                g["lstm/recurrent_kernel:0"] = np.zeros((2, 8), np.float32)
                g["lstm/bias:0"] = np.zeros(8, np.float32)
        else:  # Keras 3 layout inside a .keras zip
            with h5py.File(tmp_path / "w.h5", "w") as f:
                for i, shape in enumerate([(3, 8), (2, 8), (8,)]):
                    f[f"layers/lstm/cell/vars/{i}"] = np.zeros(shape, np.float32)
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": [
                    {"class_name": "LSTM", "config": {"name": "lstm"}}]}}))
                z.write(tmp_path / "w.h5", "model.weights.h5")
    assert load(path) is not None


# -- safetensors headers --------------------------------------------------------------------

def test_safetensors_header_longer_than_file(tmp_path):
    data = struct.pack("<Q", 10**12) + b"{}"
    msg = load_error(write(tmp_path, "h.safetensors", data))
    assert "not a readable safetensors file: its header claims 1000000000000 bytes, the file has 10" in msg
    # Without the suffix the content is not even plausible as safetensors.
    assert "unknown file format" in load_error(write(tmp_path, "h.bin", data))


def test_safetensors_offsets_outside_file_not_allocated(tmp_path):
    # Claims a 100000 x 100000 float32 tensor (40 GB) in a 100-byte file.
    header = {"w": {"dtype": "F32", "shape": [100000, 100000], "data_offsets": [0, 40_000_000_000]}}
    msg = load_error(write(tmp_path, "big.safetensors", safetensors_bytes(header, b"\0" * 64)))
    assert "tensor 'w' data_offsets [0, 40000000000] lie outside the 64-byte data section" in msg


def test_safetensors_shape_does_not_match_bytes(tmp_path):
    header = {"w": {"dtype": "F32", "shape": [4, 4], "data_offsets": [0, 32]}}
    msg = load_error(write(tmp_path, "s.safetensors", safetensors_bytes(header, b"\0" * 32)))
    assert "tensor 'w' has 32 bytes but dtype F32 and shape (4, 4) need 64" in msg


def test_safetensors_bad_json_and_dtype(tmp_path):
    raw = b"{not json!"
    msg = load_error(write(tmp_path, "j.safetensors", struct.pack("<Q", len(raw)) + raw))
    assert "safetensors header is not valid JSON" in msg
    header = {"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}
    msg = load_error(write(tmp_path, "d.safetensors", safetensors_bytes(header, b"\0" * 4)))
    assert "tensor 'w' has unknown dtype 'Q7'" in msg


def test_safetensors_without_lstm(tmp_path):
    header = {"fc.weight": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    msg = load_error(write(tmp_path, "n.safetensors", safetensors_bytes(header, b"\0" * 4)))
    assert "no LSTM weights found" in msg


# -- values and shapes ----------------------------------------------------------------------

def test_nan_in_native_weight_is_named(tmp_path):
    model = tiny_model()
    path = save_native(model, tmp_path / "ok.safetensors")
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    tensors = load_file(str(path))
    tensors["layer0.W_a"][1, 1] = np.nan
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata=meta)
    msg = load_error(tmp_path / "nan.safetensors")
    assert "layer 0.W_a" in msg and "NaN or Inf" in msg


def test_inf_in_pytorch_named_weight_is_named(tmp_path):
    from safetensors.numpy import save_file
    t = {"rnn.weight_ih_l0": np.zeros((8, 3), np.float32), "rnn.weight_hh_l0": np.zeros((8, 2), np.float32),
         "rnn.bias_ih_l0": np.zeros(8, np.float32), "rnn.bias_hh_l0": np.zeros(8, np.float32)}
    t["rnn.bias_hh_l0"][3] = np.inf
    save_file(t, str(tmp_path / "inf.safetensors"))
    msg = load_error(tmp_path / "inf.safetensors")
    assert msg.endswith("tensor 'rnn.bias_hh_l0' holds 1 NaN or Inf value(s)")


def test_inconsistent_pytorch_shapes_are_named(tmp_path):
    from safetensors.numpy import save_file
    t = {"lstm.weight_ih_l0": np.zeros((12, 3), np.float32), "lstm.weight_hh_l0": np.zeros((8, 2), np.float32)}
    save_file(t, str(tmp_path / "shape.safetensors"))
    msg = load_error(tmp_path / "shape.safetensors")
    assert "'lstm.weight_ih_l0' has shape (12, 3) but 'lstm.weight_hh_l0' has (8, 2): expected (8, n_in)" in msg


def test_inconsistent_stacked_layers_are_named(tmp_path):
    from safetensors.numpy import save_file
    t = {"weight_ih_l0": np.zeros((8, 3), np.float32), "weight_hh_l0": np.zeros((8, 2), np.float32),
         "weight_ih_l1": np.zeros((8, 5), np.float32), "weight_hh_l1": np.zeros((8, 2), np.float32)}
    save_file(t, str(tmp_path / "stack.safetensors"))
    msg = load_error(tmp_path / "stack.safetensors")
    assert "'weight_ih_l1' takes 5 inputs but layer 0 gives 2 ('weight_hh_l0')" in msg


def test_nan_in_course_npz_is_named(tmp_path):
    rng = np.random.default_rng(0)
    params = {f"W{g}": rng.standard_normal((2, 5)) for g in "fico"}
    params.update({f"b{g}": rng.standard_normal((2, 1)) for g in "fico"})
    params["Wc"][0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **params)
    assert load_error(tmp_path / "nan.npz").endswith("tensor 'Wc' holds 1 NaN or Inf value(s)")


# -- pickles --------------------------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def _torch_like_zip(path, payload: bytes):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
    return path


def test_pickle_asking_for_other_global_is_refused_and_not_run(tmp_path, capsys):
    path = _torch_like_zip(tmp_path / "evil.pt", pickle.dumps(_Evil(), protocol=2))
    msg = load_error(path)
    # Protocol 2 spells builtins as '__builtin__'; either way the name is given.
    assert re.search(r"the pickle asks for '(__builtin__|builtins)\.print'", msg) and "refused" in msg
    assert "this must never run" not in capsys.readouterr().out


def test_pickle_asking_for_os_system_is_refused(tmp_path):
    payload = b"\x80\x02cos\nsystem\nq\x00X\x05\x00\x00\x00touchq\x01\x85q\x02Rq\x03."
    msg = load_error(_torch_like_zip(tmp_path / "os.pt", payload))
    assert "the pickle asks for 'os.system'" in msg


def test_bare_pickle_is_refused(tmp_path):
    msg = load_error(write(tmp_path, "legacy.pt", pickle.dumps({"a": 1}, protocol=2)))
    assert "bare pickle" in msg


def test_corrupt_pickle_in_zip(tmp_path):
    msg = load_error(_torch_like_zip(tmp_path / "junk.pt", b"\x80\x02garbage"))
    assert "data.pkl is not a valid pickle" in msg


def test_tensor_past_its_storage_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "ok.pt"
    torch.save(torch.nn.LSTM(2, 1).state_dict(), path)
    # Shrink one storage member: the pickle now claims more than the bytes hold.
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "short.pt", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:4] if item.filename.endswith("data/0") else data)
    msg = load_error(tmp_path / "short.pt")
    assert "storage '0' claims" in msg and "holds only 4 bytes" in msg


# -- npz --------------------------------------------------------------------------------------

def test_npz_object_array_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", Wf=np.array([{"x": 1}], dtype=object))
    msg = load_error(tmp_path / "obj.npz")
    assert "array 'Wf' holds Python objects (pickled); refused" in msg


def test_npz_without_course_keys(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    msg = load_error(tmp_path / "other.npz")
    assert "no weights for the update gate: expected 'Wi'" in msg and "found weights" in msg


def test_zip_of_something_else(tmp_path):
    with zipfile.ZipFile(tmp_path / "docs.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    msg = load_error(tmp_path / "docs.zip")
    assert "a zip file that is not a weights file (members: readme.txt)" in msg


def test_hdf5_that_is_not_keras(tmp_path):
    import h5py
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f["x"] = np.zeros(3)
    assert "not a Keras weights file" in load_error(tmp_path / "data.h5")


def test_keras_h5_huge_claimed_dataset_is_not_read(tmp_path):
    import h5py
    with h5py.File(tmp_path / "big.h5", "w") as f:
        f.attrs["layer_names"] = ["lstm"]
        g = f.create_group("lstm")
        g.attrs["weight_names"] = ["kernel:0"]
        # Chunked, never written: tiny on disk, 400 GB if read.
        g.create_dataset("kernel:0", shape=(100000, 1000000), dtype="f4", chunks=(100, 100))
    assert "claims shape (100000, 1000000), larger than the file allows" in load_error(tmp_path / "big.h5")


def test_single_npy_is_not_a_weights_file(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros(3))
    assert "a single .npy array is not a weights file" in load_error(tmp_path / "x.npy")


def test_tensor_larger_than_its_storage_is_refused(tmp_path):
    # A hand-written pickle: a (100000, 100000) tensor with zero strides over a 1-element storage.
    payload = (b"\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00w"
               b"ctorch._utils\n_rebuild_tensor_v2\n"
               b"((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ"
               b"K\x00J\xa0\x86\x01\x00J\xa0\x86\x01\x00\x86K\x00K\x00\x86\x89tRu.")
    path = _torch_like_zip(tmp_path / "broadcast.pt", payload)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("archive/data/0", b"\0\0\0\0")
    assert "has more elements than its storage '0' (1)" in load_error(path)


def test_damaged_zip_member_is_named(tmp_path):
    path = _torch_like_zip(tmp_path / "crc.pt", pickle.dumps({"w": 1.0}, protocol=2))
    data = bytearray(path.read_bytes())
    at = data.index(b"\x80\x02") + 4          # inside the stored data.pkl bytes
    data[at] ^= 0xFF
    msg = load_error(write(tmp_path, "crc2.pt", bytes(data)))
    assert "member 'archive/data.pkl' of the zip file is damaged (Bad CRC-32" in msg


@pytest.mark.parametrize("suffix", [".pt", ".safetensors", ".onnx", ".npz"])
def test_random_corruption_is_a_load_error_or_a_valid_model(tmp_path, suffix, make_onnx_lstm,
                                                            corruption_outcomes):
    """Bytes flipped anywhere: a clean LoadError (or, if only values changed, a valid model)."""
    good = tmp_path / f"good{suffix}"
    _write_good(good, suffix, tmp_path, make_onnx_lstm)
    assert "error" in corruption_outcomes(good.read_bytes(), tmp_path, suffix, 60, 42, 1.0)
