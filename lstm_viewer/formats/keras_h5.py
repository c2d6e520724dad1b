"""Keras files read with h5py only: ``.keras`` zips and ``.h5``/``.weights.h5``.

Three layouts:

* Keras 3 ``.keras`` — a zip of ``config.json`` and ``model.weights.h5``;
  layer weights at ``layers/<group>/vars/<i>`` (LSTM: ``.../cell/vars``,
  Bidirectional: ``.../forward_layer/cell/vars`` and ``backward_layer``),
  where ``<group>`` is the snake_case class name de-duplicated in config
  order (``lstm``, ``lstm_1``).
* Keras 3 ``.weights.h5`` — the same h5 without a config; layers are
  ordered embedding, LSTMs by suffix, dense.
* legacy ``.h5`` (Keras 2, and Keras 3's ``model.save("x.h5")``) —
  ``model_weights`` (or the root) lists ``layer_names``; each layer group's
  ``weight_names`` give dataset paths; ``model_config`` gives the classes.

Keras stores ``kernel`` (I, 4H), ``recurrent_kernel`` (H, 4H), ``bias``
(4H) with columns in gate order i, f, c, o = (update, forget, candidate,
output): the canonical order after a transpose. Dense ``kernel`` (H, n_y)
is transposed into ``W_y``; ``TimeDistributed(Dense)`` is read as that Dense.
Dropout-like layers are skipped; an ``Activation``/``Softmax`` after the
Dense sets the head activation; any other layer type is refused by name.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from ..engine.model import CellWeights, Head, Layer, LSTMModel
from .common import MAX_HEADER_BYTES, finish, float_array, read_zip_member, shape_text
from .errors import LoadError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Layers that do nothing at inference (or nothing the viewer models).
_IGNORED = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
            "AlphaDropout", "Masking", "ActivityRegularization"}
_HEAD_ACTIVATIONS = {"softmax": "softmax", "sigmoid": "sigmoid", "linear": "linear", None: "linear"}


def _h5py():
    try:
        import h5py
    except ImportError:
        raise LoadError("reading Keras files needs the 'h5py' package (pip install h5py)") from None
    return h5py


def _snake(name: str) -> str:
    """Keras' snake_case of a class name (``LSTM`` → ``lstm``, ``InputLayer`` → ``input_layer``)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _Reader:
    """Reads datasets with a size check against the file, naming them on error."""

    def __init__(self, file_size: int):
        # Compressed datasets may exceed the file, but not by this much.
        self.limit = 64 * file_size + (1 << 20)

    def attr(self, obj, name: str, default=None):
        """Attribute ``name`` of ``obj`` (``default`` when absent), its size checked first.

        A damaged file can claim an attribute of billions of elements; h5py
        allocates the array before reading it (for strings, an object array
        it fills element by element), which would stall the load for minutes.
        """
        if name not in obj.attrs:
            return default
        try:
            aid = obj.attrs.get_id(name)
            shape, dtype = aid.shape or (), aid.dtype
        except Exception as exc:
            raise LoadError(f"attribute '{name}' cannot be read ({type(exc).__name__}: {exc})") from None
        if dtype.subdtype is not None:
            shape = tuple(shape) + dtype.subdtype[1]
        # Strings are objects: a pointer each plus their bytes.
        if int(np.prod(shape, dtype=np.float64)) * max(dtype.itemsize, 8) > self.limit:
            raise LoadError(f"attribute '{name}' claims shape {shape_text(shape)}, "
                            "larger than the file allows")
        try:
            return obj.attrs[name]
        except Exception as exc:
            raise LoadError(f"attribute '{name}' cannot be read ({type(exc).__name__}: {exc})") from None

    def read(self, ds, name: str) -> np.ndarray:
        h5py = _h5py()
        if not isinstance(ds, h5py.Dataset):
            raise LoadError(f"'{name}' is not a dataset")
        if ds.size * ds.dtype.itemsize > self.limit:
            raise LoadError(f"dataset '{name}' claims shape {shape_text(ds.shape)}, larger than the file allows")
        try:
            return float_array(name, ds[()])
        except LoadError:
            raise
        except Exception as exc:
            raise LoadError(f"dataset '{name}' cannot be read ({type(exc).__name__}: {exc})") from None


def _check_lstm_config(cfg: dict, where: str) -> None:
    act, rec = cfg.get("activation", "tanh"), cfg.get("recurrent_activation", "sigmoid")
    if act != "tanh" or rec not in ("sigmoid",):
        raise LoadError(f"{where}: activation '{act}' / recurrent_activation '{rec}' are not supported "
                        "(only tanh / sigmoid)")
    if cfg.get("go_backwards"):
        raise LoadError(f"{where}: go_backwards=True outside Bidirectional is not supported")


def _check_bidirectional(cfg: dict, where: str) -> None:
    inner = cfg.get("layer", {})
    if inner.get("class_name", "LSTM") != "LSTM":
        raise LoadError(f"{where} wraps a {inner.get('class_name')}, not an LSTM")
    if cfg.get("merge_mode", "concat") != "concat":
        raise LoadError(f"{where}: merge_mode '{cfg.get('merge_mode')}' is not supported (only concat)")
    # The backward layer runs with go_backwards by design; check only its activations.
    _check_lstm_config({k: v for k, v in inner.get("config", {}).items() if k != "go_backwards"}, where)


def _lstm_cell(kernel, recurrent, bias, names, reverse: bool, canon: str, name_map: dict) -> CellWeights:
    if recurrent.ndim != 2 or recurrent.shape[1] != 4 * recurrent.shape[0]:
        raise LoadError(f"'{names[1]}' has shape {shape_text(recurrent.shape)}, expected (H, 4H) "
                        "(is this a GRU or SimpleRNN?)")
    H = recurrent.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != 4 * H:
        raise LoadError(f"'{names[0]}' has shape {shape_text(kernel.shape)} but '{names[1]}' has "
                        f"{shape_text(recurrent.shape)}: expected (n_in, {4 * H})")
    if bias is None:
        bias = np.zeros(4 * H, kernel.dtype)
    elif bias.shape != (4 * H,):
        raise LoadError(f"'{names[2]}' has shape {shape_text(bias.shape)}, expected ({4 * H},)")
    name_map[f"{canon}.W_x"] = f"{names[0]} (transposed)"
    name_map[f"{canon}.W_a"] = f"{names[1]} (transposed)"
    name_map[f"{canon}.b"] = names[2] if len(names) > 2 else "(no bias: zeros)"
    return CellWeights(np.ascontiguousarray(kernel.T), np.ascontiguousarray(recurrent.T), bias, None, reverse)


class _Builder:
    """Collects embedding, LSTM layers and head in order, checking their positions."""

    def __init__(self):
        self.layers: list[Layer] = []
        self.embedding = None
        self.head: Head | None = None
        self.name_map: dict[str, str] = {}

    def add_embedding(self, value, name):
        if self.layers or self.embedding is not None:
            raise LoadError(f"embedding '{name}' is not the first layer; not supported")
        self.embedding = value
        self.name_map["embedding"] = name

    def add_lstm(self, triples, where, cfg):
        """``triples``: per direction, ((kernel, recurrent, bias), names, reverse)."""
        if self.head is not None:
            raise LoadError(f"{where} comes after the Dense layer; not supported")
        k = len(self.layers)
        cells = [_lstm_cell(*arrays, names, rev, f"layer{k}{'_reverse' if rev else ''}", self.name_map)
                 for arrays, names, rev in triples]
        self.layers.append(Layer(cells))

    def add_dense(self, kernel, bias, names, activation, where):
        """``activation`` None: the file has no config to say (softmax assumed)."""
        if not self.layers:
            raise LoadError(f"{where} comes before any LSTM layer; not supported")
        if self.head is not None:
            raise LoadError(f"{where}: a second Dense layer after the LSTM is not supported")
        assumed = activation is None
        activation = "softmax" if assumed else activation
        if activation not in _HEAD_ACTIVATIONS:
            raise LoadError(f"{where}: activation '{activation}' is not supported (softmax, sigmoid, linear)")
        if kernel.ndim != 2:
            raise LoadError(f"'{names[0]}' has shape {shape_text(kernel.shape)}, expected (n_in, n_y)")
        if bias is None:
            bias = np.zeros(kernel.shape[1], kernel.dtype)
        self.head = Head(np.ascontiguousarray(kernel.T), bias, _HEAD_ACTIVATIONS[activation], assumed)
        self.name_map["head.W_y"] = f"{names[0]} (transposed)"
        self.name_map["head.b_y"] = names[1] if len(names) > 1 else "(no bias: zeros)"

    def set_activation(self, activation, where):
        if self.head is None or activation not in _HEAD_ACTIVATIONS:
            raise LoadError(f"{where}: activation '{activation}' here is not supported")
        if self.head.activation == "linear" or self.head.activation_assumed:
            self.head.activation = _HEAD_ACTIVATIONS[activation]
            self.head.activation_assumed = False

    def add_other(self, class_name, cfg, arrays, names, where):
        """Embedding, Dense, Activation or Softmax; anything else is refused."""
        if class_name == "Embedding":
            self.add_embedding(arrays[0], names[0])
        elif class_name == "Dense":
            # A saved config always names the activation ("linear" included);
            # without one the file does not say.
            self.add_dense(arrays[0], arrays[1] if len(arrays) > 1 else None, names,
                           cfg.get("activation"), where)
        elif class_name in ("Activation", "Softmax"):
            self.set_activation(cfg.get("activation", "softmax"), where)
        elif class_name == "NotEqual":
            # Keras writes this op for Embedding(mask_zero=True).
            raise LoadError(f"{where}: a mask (Embedding mask_zero=True) is not supported: masked "
                            "steps keep the state, which the viewer does not model")
        else:
            raise LoadError(f"{where}: layer type {class_name} is not supported by the viewer")

    def model(self, source_format: str) -> LSTMModel:
        if not self.layers:
            raise LoadError("the Keras file has no LSTM layer")
        return finish(LSTMModel(
            layers=self.layers, embedding=self.embedding, head=self.head, source_format=source_format,
            gate_reordering="none (Keras i,f,c,o columns = canonical order; kernels transposed)",
            name_map=self.name_map,
        ))


# -- Keras 3 (.keras zip and .weights.h5) -----------------------------------------------------

def _vars(group, path: str, reader: _Reader) -> tuple[list[np.ndarray], list[str]]:
    if path not in group:
        raise LoadError(f"the weights file has no group '{path}'")
    g = group[path]
    keys = sorted(g.keys(), key=lambda s: int(s) if s.isdigit() else 1 << 30)
    names = [f"{path}/{k}" for k in keys]
    return [reader.read(g[k], n) for k, n in zip(keys, names, strict=True)], names


def _k3_lstm_direction(root, path, reader, reverse):
    arrays, names = _vars(root, f"{path}/cell/vars", reader)
    if len(arrays) not in (2, 3):
        raise LoadError(f"'{path}/cell/vars' holds {len(arrays)} arrays, expected kernel, recurrent kernel, bias")
    if len(arrays) == 2:
        arrays.append(None)
    return tuple(arrays), names, reverse


def _unwrap_time_distributed(class_name: str, cfg: dict) -> tuple[str, dict, str]:
    """TimeDistributed(Dense) is a Dense applied at every step: read it as the Dense.

    Returns the class, config and the sub-path of the vars group (``layer/`` when wrapped).
    """
    if class_name != "TimeDistributed":
        return class_name, cfg, ""
    inner = cfg.get("layer", {})
    if inner.get("class_name") != "Dense":
        return f"TimeDistributed({inner.get('class_name')})", cfg, ""
    return "Dense", {**inner.get("config", {}), "name": cfg.get("name", "")}, "layer/"


def _k3_layer(builder, root, group, class_name, cfg, reader):
    where = f"layer '{cfg.get('name', group)}' ({class_name})"
    class_name, cfg, sub = _unwrap_time_distributed(class_name, cfg)
    if class_name in _IGNORED:
        return
    if class_name == "LSTM":
        _check_lstm_config(cfg, where)
        builder.add_lstm([_k3_lstm_direction(root, f"layers/{group}", reader, False)], where, cfg)
    elif class_name == "Bidirectional":
        _check_bidirectional(cfg, where)
        builder.add_lstm([_k3_lstm_direction(root, f"layers/{group}/forward_layer", reader, False),
                          _k3_lstm_direction(root, f"layers/{group}/backward_layer", reader, True)],
                         where, cfg)
    else:
        arrays, names = ([], []) if class_name not in ("Embedding", "Dense") else \
            _vars(root, f"layers/{group}/{sub}vars", reader)
        builder.add_other(class_name, cfg, arrays, names, where)


def _config_layers(config: dict) -> list[tuple[str, dict]]:
    """(class name, layer config) in model order from a Keras model config."""
    inner = config.get("config", {}) if isinstance(config, dict) else {}
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list):
        if isinstance(config, dict) and config.get("class_name") in ("LSTM", "Bidirectional"):
            return [(config["class_name"], config.get("config", {}))]
        raise LoadError("the Keras config lists no layers (a subclassed model cannot be read)")
    return [(layer.get("class_name", ""), layer.get("config", {})) for layer in layers]


def _load_k3(h5file, config, reader, source_format) -> LSTMModel:
    builder = _Builder()
    if "layers" not in h5file:
        raise LoadError("the weights file has no 'layers' group")
    if config is not None:
        counts: dict[str, int] = {}
        for class_name, cfg in _config_layers(config):
            base = _snake(class_name)
            n = counts.get(base, 0)
            counts[base] = n + 1
            group = base if n == 0 else f"{base}_{n}"
            _k3_layer(builder, h5file, group, class_name, cfg, reader)
        return builder.model(source_format)
    # No config: order by kind, then by the de-duplication suffix.
    groups = list(h5file["layers"].keys())
    kinds = {"embedding": "Embedding", "lstm": "LSTM", "bidirectional": "Bidirectional", "dense": "Dense",
             "time_distributed": "TimeDistributed"}

    def split(g):
        m = re.fullmatch(r"([a-z_]+?)(?:_(\d+))?", g)
        return (m[1], int(m[2] or 0)) if m else (g, 0)

    recurrent = {split(g)[0] for g in groups} & {"lstm", "bidirectional"}
    if len(recurrent) > 1:
        raise LoadError("a .weights.h5 with both LSTM and Bidirectional layers cannot be ordered "
                        "without the model config; load the .keras file instead")
    rank = {"embedding": 0, "lstm": 1, "bidirectional": 1, "dense": 2, "time_distributed": 2}
    for g in sorted(groups, key=lambda g: (rank.get(split(g)[0], 3), split(g)[1])):
        base = split(g)[0]
        if base in kinds:
            cfg = {"name": g, "layer": {"class_name": "Dense", "config": {}}}
            _k3_layer(builder, h5file, g, kinds[base], cfg, reader)
        elif any(isinstance(v, _h5py().Dataset) for v in _walk(h5file["layers"][g])):
            raise LoadError(f"layer group '{g}' holds weights of an unsupported layer type")
    return builder.model(source_format)


def _walk(group):
    h5py = _h5py()
    out = []
    group.visititems(lambda _n, obj: out.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return out


# -- legacy .h5 ------------------------------------------------------------------------------

def _as_str(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _load_legacy(h5file, reader) -> LSTMModel:
    weights = h5file["model_weights"] if "model_weights" in h5file else h5file
    layer_names = [_as_str(n) for n in np.ravel(reader.attr(weights, "layer_names"))]
    classes: dict[str, tuple[str, dict]] = {}
    if "model_config" in h5file.attrs:
        try:
            config = json.loads(_as_str(reader.attr(h5file, "model_config")))
        except json.JSONDecodeError:
            raise LoadError("model_config is not valid JSON") from None
        for class_name, cfg in _config_layers(config):
            classes[cfg.get("name", "")] = (class_name, cfg)
    builder = _Builder()
    for lname in layer_names:
        if lname not in weights:
            raise LoadError(f"layer '{lname}' is listed but its weights group is missing")
        g = weights[lname]
        wnames = [_as_str(n) for n in np.ravel(reader.attr(g, "weight_names", []))]
        arrays = [reader.read(g[n], n) for n in wnames]
        short = [n.rsplit("/", 1)[-1].split(":")[0] for n in wnames]
        class_name, cfg = classes.get(lname, (None, {"name": lname}))
        if class_name is None:
            class_name = _guess_class(short, wnames)
        where = f"layer '{lname}' ({class_name})"
        class_name, cfg, _ = _unwrap_time_distributed(class_name, cfg)
        if class_name in _IGNORED or (not arrays and class_name not in ("Activation", "Softmax")):
            if arrays:
                raise LoadError(f"{where} has weights but is not an LSTM, Embedding or Dense layer")
            continue
        if class_name == "LSTM":
            _check_lstm_config(cfg, where)
            builder.add_lstm([_legacy_direction(arrays, wnames, short, False)], where, cfg)
        elif class_name == "Bidirectional":
            _check_bidirectional(cfg, where)
            half = len(arrays) // 2
            fwd = [i for i, n in enumerate(wnames) if "forward" in n] or list(range(half))
            bwd = [i for i, n in enumerate(wnames) if "backward" in n] or list(range(half, len(arrays)))
            builder.add_lstm([
                _legacy_direction([arrays[i] for i in fwd], [wnames[i] for i in fwd],
                                  [short[i] for i in fwd], False),
                _legacy_direction([arrays[i] for i in bwd], [wnames[i] for i in bwd],
                                  [short[i] for i in bwd], True),
            ], where, cfg)
        else:
            builder.add_other(class_name, cfg, arrays, wnames, where)
    version = _as_str(reader.attr(h5file, "keras_version", "")) or "?"
    return builder.model(f"Keras HDF5 (.h5, keras {version})")


def _guess_class(short: list[str], wnames: list[str]) -> str:
    """The layer class from its weight names, for files without a model config."""
    if short == ["embeddings"]:
        return "Embedding"
    if "recurrent_kernel" in short:
        return "Bidirectional" if any("backward" in n for n in wnames) else "LSTM"
    if short in (["kernel", "bias"], ["kernel"]):
        return "Dense"
    return "Unknown" if short else "InputLayer"


def _legacy_direction(arrays, wnames, short, reverse):
    by = dict(zip(short, zip(arrays, wnames, strict=True), strict=True))
    if "kernel" not in by or "recurrent_kernel" not in by:
        raise LoadError(f"LSTM weights {wnames} lack a kernel or recurrent_kernel")
    names = [by["kernel"][1], by["recurrent_kernel"][1]] + ([by["bias"][1]] if "bias" in by else [])
    bias = by["bias"][0] if "bias" in by else None
    return (by["kernel"][0], by["recurrent_kernel"][0], bias), names, reverse


# -- entry points ------------------------------------------------------------------------------

def _open_h5(source):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except Exception as exc:
        raise LoadError(f"not a readable HDF5 file ({type(exc).__name__}: {exc})") from None


def load_h5(path: Path) -> LSTMModel:
    """Load a legacy Keras ``.h5`` or a Keras 3 ``.weights.h5``."""
    reader = _Reader(os.path.getsize(path))
    with _open_h5(path) as f:
        weights = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in weights.attrs:
            return _load_legacy(f, reader)
        if "layers" in f:
            return _load_k3(f, None, reader, "Keras 3 weights (.weights.h5)")
        raise LoadError("HDF5 file has neither Keras 'layer_names' nor a 'layers' group: "
                        "not a Keras weights file")


def load_keras_zip(path: Path) -> LSTMModel:
    """Load a Keras 3 ``.keras`` archive (config.json + model.weights.h5)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"not a readable .keras zip ({exc})") from None
    with zf:
        names = zf.namelist()
        for member in ("config.json", "model.weights.h5"):
            if member not in names:
                raise LoadError(f".keras archive lacks '{member}'")
        try:
            config = json.loads(read_zip_member(zf, "config.json", MAX_HEADER_BYTES).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise LoadError("config.json in the .keras archive is not valid JSON") from None
        data = read_zip_member(zf, "model.weights.h5")
    reader = _Reader(len(data))
    with _open_h5(io.BytesIO(data)) as f:
        model = _load_k3(f, config, reader, "Keras 3 (.keras)")
    return model
