"""Weights-file loaders (NumPy, safetensors, h5py, onnx only — never Qt)."""

from .errors import LoadError
from .native import save_native

__all__ = ["LoadError", "save_native"]
