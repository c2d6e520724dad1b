"""Run many small matrix products on one BLAS thread.

Training, evaluation and the GUI's engine worker multiply small matrices
thousands of times; the engine's two-thread step loop needs both cores to
itself (an OpenBLAS thread still spinning after a product takes one). A multi-threaded BLAS wakes its threads for each of
them, and on a busy 2-core machine the threads spin waiting for each other:
measured here, one character-model training step took 3.5 s with the default
threads and 0.23 s with one. threadpoolctl finds whichever BLAS NumPy loaded
(OpenBLAS, MKL, BLIS) and limits it.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

from threadpoolctl import ThreadpoolController


@lru_cache(maxsize=1)
def _controller() -> ThreadpoolController:
    # Scanning the loaded libraries costs milliseconds: do it once.
    return ThreadpoolController()


def blas_threads() -> int | None:
    """The thread count of the first BLAS NumPy uses, or None when none is found."""
    infos = [info for info in _controller().info() if info.get("user_api") == "blas"]
    return int(infos[0]["num_threads"]) if infos else None


@contextlib.contextmanager
def single_thread():
    """Limit BLAS to one thread inside the block, then restore the count."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
