"""Run the trainer's small matrix products on one BLAS thread.

Training multiplies matrices of a few dozen rows thousands of times. A
multi-threaded OpenBLAS wakes its threads for each of them, and on a busy
2-core machine the threads spin waiting for each other: measured here, one
character-model step took 3.5 s with the default threads and 0.23 s with
one. threadpoolctl is not a dependency, so the OpenBLAS that NumPy loaded is
found in the process's mapped libraries and told directly; anything else
(MKL, Accelerate, an unknown build) is left alone.
"""

from __future__ import annotations

import contextlib
import ctypes

_SETTERS = ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_",
            "openblas_set_num_threads")
_GETTERS = ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
            "openblas_get_num_threads")


def _openblas():
    """``(set, get)`` functions of the loaded OpenBLAS, or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            paths = {line.split()[-1] for line in fh if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in zip(_SETTERS, _GETTERS):
            setter, getter = getattr(lib, set_name, None), getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


@contextlib.contextmanager
def single_thread():
    """Limit OpenBLAS to one thread inside the block, then restore the count."""
    funcs = _openblas()
    if funcs is None:
        yield
        return
    setter, getter = funcs
    before = getter()
    setter(1)
    try:
        yield
    finally:
        setter(before)
