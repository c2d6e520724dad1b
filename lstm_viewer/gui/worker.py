"""The one object that runs the engine off the GUI thread.

:class:`EngineWorker` is a QObject moved to its own QThread. A job is a
:class:`Job` (model, inputs, interventions); the worker iterates the engine's
:class:`~lstm_viewer.engine.TraceRun` chunk by chunk, like superqt's
generator workers, and reports through signals that all carry the job id:

``started(id)``, ``progress(id, fraction)``, ``finished(id, JobResult)``,
``errored(id, message)``, ``aborted(id)``.

Submitting a new job cancels the running one (it stops at its next chunk).
Connect these signals to *bound methods of GUI-thread QObjects*: a lambda or
``functools.partial`` connected to a signal of an object living in the worker
thread runs in the worker thread.

Every thread a worker starts is kept in a module registry so tests can check
that none is left running (:func:`running_threads`).
"""

from __future__ import annotations

import itertools
import time
import traceback
import weakref
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..engine import TraceRun
from ..engine.blas import single_thread
from ..engine.trace import jit_available
from .diagram.ranges import trace_ranges

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
_IDS = itertools.count(1)

#: Longest time axis of the plot overview; longer traces are subsampled.
OVERVIEW_COLUMNS = 2000
#: Work per chunk (multiply-adds of W_x, W_a): ~50 ms, so a cancel lands quickly
#: while small layers still get chunks long enough to amortise per-chunk costs.
_CHUNK_WORK = 1 << 26


def running_threads() -> list[QThread]:
    """Worker threads that are still running (for tests and shutdown checks)."""
    alive = []
    for thread in list(_THREADS):
        try:
            if thread.isRunning():
                alive.append(thread)
        except RuntimeError:  # the C++ object is already gone
            pass
    return alive


@dataclass
class Job:
    """One engine run: ``inputs`` through ``model`` with ``interventions``.

    ``id`` is given by :meth:`EngineWorker.submit`.
    """

    model: object
    inputs: np.ndarray
    interventions: list = field(default_factory=list)
    id: int = 0


@dataclass
class JobResult:
    """What a finished job hands to the GUI thread (no copy is made there)."""

    trace: object
    overview: dict
    seconds: float


def chunk_for(model) -> int:
    """Steps per chunk so that one chunk is about ``_CHUNK_WORK`` multiply-adds."""
    per_step = sum(4 * c.hidden_size * (c.hidden_size + c.input_size)
                   for layer in model.layers for c in layer.cells)
    return int(min(4096, max(8, _CHUNK_WORK // max(per_step, 1))))


def build_overview(trace, columns: int = OVERVIEW_COLUMNS) -> dict:
    """Plot data for every (layer, direction): c and a as (H, ≤columns) images.

    Long sequences are subsampled in time so the GUI thread never touches a
    full (T, H) record; the result also names the units that vary most and
    holds the diagram's colour ranges for the whole trace.
    """
    T = trace.length
    stride = max(1, -(-T // columns))
    overview = {"stride": stride, "times": np.arange(0, T, stride)}
    for k, directions in enumerate(trace.layers):
        for d, rec in enumerate(directions):
            c = np.ascontiguousarray(rec.c[::stride].T)
            a = np.ascontiguousarray(rec.a[::stride].T)
            busiest = np.argsort(-np.std(c, axis=1))[:3] if T > 1 else np.arange(min(3, c.shape[0]))
            # The diagram's colour ranges need every step: computed here, off the GUI thread.
            overview[(k, d)] = {"c": c, "a": a, "busiest": [int(u) for u in busiest],
                                "ranges": trace_ranges(rec)}
    return overview


class EngineWorker(QObject):
    """Runs :class:`Job` s on a background thread; see the module docstring.

    Parameters
    ----------
    overview_columns : int
        Time resolution of the plot overview computed with each trace.
    """

    started = Signal(int)
    progress = Signal(int, float)
    finished = Signal(int, object)
    errored = Signal(int, str)
    aborted = Signal(int)
    # Internal: carries a job to the worker thread (queued connection).
    _submit = Signal(object)

    def __init__(self, overview_columns: int = OVERVIEW_COLUMNS):
        super().__init__()
        self.overview_columns = overview_columns
        # The id of the job the GUI still wants; anything else stops at its
        # next chunk. A plain int: reads and writes are atomic under the GIL.
        self._wanted = 0
        # numba is imported here, on the GUI thread: importing it first inside the
        # worker thread, while PySide6's import hook inspects new modules, crashed
        # the process (segmentation fault in linecache under shibokensupport).
        jit_available()
        self._thread = QThread()
        self._thread.setObjectName("lstm-viewer engine")
        self.moveToThread(self._thread)
        self._submit.connect(self._run)
        _THREADS.add(self._thread)
        self._thread.start()

    @property
    def thread_handle(self) -> QThread:
        return self._thread

    @property
    def busy_job(self) -> int:
        """Id of the job the GUI is waiting for, or 0."""
        return self._wanted

    def submit(self, job: Job) -> int:
        """Queue ``job``, cancelling any running one; returns its id."""
        job.id = next(_IDS)
        self._wanted = job.id
        self._submit.emit(job)
        return job.id

    def cancel(self) -> None:
        """Stop the running job at its next chunk (it then emits ``aborted``)."""
        self._wanted = 0

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Cancel, end the thread and wait for it; True when it has ended."""
        self.cancel()
        if not self._thread.isRunning():
            return True
        self._thread.quit()
        ended = self._thread.wait(timeout_ms)
        return bool(ended)

    @Slot(object)
    def _run(self, job: Job) -> None:
        if job.id != self._wanted:
            self.aborted.emit(job.id)
            return
        self.started.emit(job.id)
        t0 = time.perf_counter()
        # One BLAS thread: the products are small, and BLAS helper threads
        # would compete with the GUI thread for the machine's cores.
        with single_thread():
            self._compute(job, t0)

    def _compute(self, job: Job, t0: float) -> None:
        try:
            # One core for the engine: the other stays free for the GUI thread.
            run = TraceRun(job.model, job.inputs, interventions=job.interventions,
                           chunk=chunk_for(job.model), threads=1)
            last = 0.0
            for fraction in run:
                if job.id != self._wanted:
                    self.aborted.emit(job.id)
                    return
                # Report at most ~100 times per job: each report is a queued event.
                if fraction - last >= 0.01:
                    last = fraction
                    self.progress.emit(job.id, float(fraction))
            overview = build_overview(run.trace, self.overview_columns)
        except Exception as exc:  # the engine raises one-line errors; keep the worker alive
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, ValueError):
                message = f"{type(exc).__name__}: {message}"
                traceback.print_exc()
            self.errored.emit(job.id, message)
            return
        if job.id != self._wanted:
            self.aborted.emit(job.id)
            return
        self.finished.emit(job.id, JobResult(run.trace, overview, time.perf_counter() - t0))
