"""Reusing the memory of dropped traces for the next run's records.

A run writes every record once, front to back, into memory allocated for
it. Fresh memory costs a page fault per page on its first write, and on
the 2-core test VM that is expensive: a 26 MiB array took 35 ms to fill
fresh against ~1 ms reused, and at H = 1024 faults were ~5 µs of a 105 µs
step. Runs come in series — the GUI re-runs on every edit or switched gate,
``evaluate`` runs sequence after sequence, a notebook loops — and the
previous trace is usually dropped by then.

:class:`RecordArena` keeps the blocks behind large records and hands a
block out again once nothing refers to it any more: every record array is
a view whose ``base`` is its block, so the block's reference count says
whether any trace still uses it. The arena holds at most a byte budget of
blocks (256 MiB), free ones dropped oldest first to make room, larger
records are allocated as usual, and :func:`release_memory` drops every
free block. Process-
wide allocator settings would do the same for every allocation in the
process; this keeps it to the engine's records.
"""

from __future__ import annotations

import sys
import threading

import numpy as np

__all__ = ["RecordArena", "default_arena", "release_memory"]

_ALIGN = 64


class RecordArena:
    """A pool of memory blocks for record arrays.

    Parameters
    ----------
    min_bytes : int
        Smaller arrays are plain ``np.empty`` (malloc reuses those well).
    keep_bytes : int
        Most bytes of blocks the arena holds, in use or free: so at most
        this much stays allocated when no trace is alive. Free blocks make
        room oldest first; past the budget arrays are plain ``np.empty``.
    """

    def __init__(self, min_bytes: int = 1 << 20, keep_bytes: int = 256 << 20):
        self.min_bytes = int(min_bytes)
        self.keep_bytes = int(keep_bytes)
        # Most recently handed out last; each a 1-D uint8 array.
        self._blocks: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.reused = 0
        self.allocated = 0

    def _free(self, i: int) -> bool:
        """Whether nothing but the arena refers to block i."""
        # The list's reference and getrefcount's argument: nothing else.
        return sys.getrefcount(self._blocks[i]) <= 2

    def empty(self, shape, dtype) -> np.ndarray:
        """An uninitialised C-contiguous array, 64-byte aligned when pooled."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < self.min_bytes:
            return np.empty(shape, dtype)
        need = nbytes + _ALIGN
        with self._lock:
            block = self._take(need)
            if block is None:
                if not self._make_room(need):
                    # Over the budget even with every free block dropped.
                    return np.empty(shape, dtype)
                block = np.empty(need, np.uint8)
                self.allocated += 1
            else:
                self.reused += 1
            self._blocks.append(block)
        offset = -block.ctypes.data % _ALIGN
        return block[offset:offset + nbytes].view(dtype).reshape(shape)

    def _take(self, need: int):
        """A free block of at least ``need`` bytes and at most 1.5 times that."""
        best = None
        for i in range(len(self._blocks)):
            size = self._blocks[i].nbytes
            if need <= size <= need * 3 // 2 and self._free(i):
                if best is None or size < self._blocks[best].nbytes:
                    best = i
        return None if best is None else self._blocks.pop(best)

    def _make_room(self, need: int) -> bool:
        """Drop free blocks, oldest first, until ``need`` more bytes fit the budget."""
        total = sum(b.nbytes for b in self._blocks)
        if total + need <= self.keep_bytes:
            return True
        drop = []
        for i in range(len(self._blocks)):    # oldest first
            if total + need <= self.keep_bytes:
                break
            if self._free(i):
                total -= self._blocks[i].nbytes
                drop.append(i)
        for i in reversed(drop):
            del self._blocks[i]
        return total + need <= self.keep_bytes

    def free_bytes(self) -> int:
        """Bytes held in blocks no trace uses."""
        with self._lock:
            return sum(self._blocks[i].nbytes for i in range(len(self._blocks))
                       if self._free(i))

    def release(self) -> None:
        """Drop every free block (blocks still in use stay with their traces)."""
        with self._lock:
            self._blocks = [self._blocks[i] for i in range(len(self._blocks))
                            if not self._free(i)]


_default = RecordArena()


def default_arena() -> RecordArena:
    """The arena the engine's runs take their records from."""
    return _default


def release_memory() -> None:
    """Return the memory of dropped traces kept for reuse."""
    _default.release()
