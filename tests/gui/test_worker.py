"""The engine worker: results, cancellation, errors and a clean stop."""

import numpy as np
import pytest
from PySide6.QtCore import QObject, QThread, Slot

from lstm_viewer.engine import run
from lstm_viewer.gui.worker import EngineWorker, Job, build_overview, chunk_for, running_threads

from .conftest import make_model


class Recorder(QObject):
    """Receives worker signals on the GUI thread (bound methods, never lambdas)."""

    def __init__(self, worker):
        super().__init__()
        self.events = []
        self.threads = set()
        worker.started.connect(self.on_started)
        worker.progress.connect(self.on_progress)
        worker.finished.connect(self.on_finished)
        worker.errored.connect(self.on_errored)
        worker.aborted.connect(self.on_aborted)

    def _note(self, *event):
        self.threads.add(QThread.currentThread())
        self.events.append(event)

    @Slot(int)
    def on_started(self, job_id):
        self._note("started", job_id)

    @Slot(int, float)
    def on_progress(self, job_id, fraction):
        self._note("progress", job_id, fraction)

    @Slot(int, object)
    def on_finished(self, job_id, result):
        self._note("finished", job_id, result)

    @Slot(int, str)
    def on_errored(self, job_id, message):
        self._note("errored", job_id, message)

    @Slot(int)
    def on_aborted(self, job_id):
        self._note("aborted", job_id)

    def kinds(self, job_id):
        return [e[0] for e in self.events if e[1] == job_id]


@pytest.fixture
def worker(qtbot):
    w = EngineWorker()
    yield w
    assert w.stop()


def test_finished_result_matches_engine(worker, qtbot, qapp):
    rec = Recorder(worker)
    model = make_model(hidden=6)
    ids = np.arange(40) % 10
    job = worker.submit(Job(model, ids))
    qtbot.waitUntil(lambda: "finished" in rec.kinds(job), timeout=5000)
    kinds = rec.kinds(job)
    assert kinds[0] == "started" and kinds[-1] == "finished"
    result = rec.events[-1][2]
    np.testing.assert_allclose(result.trace.layers[0][0].a, run(model, ids).layers[0][0].a, atol=1e-6)
    assert rec.threads == {qapp.thread()}  # slots ran on the GUI thread


def test_new_job_cancels_running_one(worker, qtbot):
    rec = Recorder(worker)
    model = make_model(hidden=64)
    long_ids = np.arange(400_000) % 10
    first = worker.submit(Job(model, long_ids))
    qtbot.waitUntil(lambda: "started" in rec.kinds(first), timeout=5000)
    second = worker.submit(Job(model, np.arange(5)))
    qtbot.waitUntil(lambda: "finished" in rec.kinds(second), timeout=10000)
    assert rec.kinds(first)[-1] == "aborted"
    assert "finished" not in rec.kinds(first)
    assert rec.kinds(second)[-1] == "finished"


def test_cancel_long_job(worker, qtbot):
    rec = Recorder(worker)
    model = make_model(hidden=64)
    job = worker.submit(Job(model, np.arange(400_000) % 10))
    qtbot.waitUntil(lambda: "progress" in rec.kinds(job), timeout=10000)
    worker.cancel()
    qtbot.waitUntil(lambda: "aborted" in rec.kinds(job), timeout=5000)
    assert rec.kinds(job)[-1] == "aborted"
    fractions = [e[2] for e in rec.events if e[0] == "progress"]
    assert fractions and all(0 < f < 1 for f in fractions)


def test_bad_input_errors_and_worker_survives(worker, qtbot):
    rec = Recorder(worker)
    model = make_model()
    bad = worker.submit(Job(model, np.array([0, 99])))
    qtbot.waitUntil(lambda: "errored" in rec.kinds(bad), timeout=5000)
    assert "outside" in rec.events[-1][2]
    good = worker.submit(Job(model, np.array([0, 1])))
    qtbot.waitUntil(lambda: "finished" in rec.kinds(good), timeout=5000)


def test_interventions_travel_with_the_job(worker, qtbot):
    rec = Recorder(worker)
    job = worker.submit(Job(make_model(), np.arange(6), ["update=1"]))
    qtbot.waitUntil(lambda: "finished" in rec.kinds(job), timeout=5000)
    np.testing.assert_array_equal(rec.events[-1][2].trace.layers[0][0].update, 1.0)


def test_stop_ends_thread_and_registry_sees_it(qtbot):
    w = EngineWorker()
    rec = Recorder(w)
    assert w.thread_handle in running_threads()
    job = w.submit(Job(make_model(hidden=64), np.arange(400_000) % 10))
    qtbot.waitUntil(lambda: "started" in rec.kinds(job), timeout=5000)
    assert w.stop()
    assert w.thread_handle not in running_threads()


def test_overview_subsamples_long_traces():
    model = make_model(hidden=4)
    trace = run(model, np.arange(5000) % 10)
    ov = build_overview(trace, columns=1000)
    assert ov["stride"] == 5
    assert ov[(0, 0)]["c"].shape == (4, 1000)
    np.testing.assert_array_equal(ov[(0, 0)]["c"][:, 3], trace.layers[0][0].c[15])


def test_chunk_shrinks_for_big_layers():
    assert chunk_for(make_model(hidden=1024)) < chunk_for(make_model(hidden=16))
