"""Smoke test of benchmarks/bench_gui.py: its measures run on a tiny budget."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gui.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_gui", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_measures_run(qapp):
    bench = _bench()
    wall, cpu = bench.frame_times(qapp, hidden=8, steps=3, speed=30.0)
    assert len(wall) == len(cpu) >= 3 and all(w >= 0 for w in wall)
    worst, worst_cpu, seconds = bench.stall(qapp, tokens=3000, hidden=8)
    assert worst >= 0 and seconds > 0
