"""Smoke test of benchmarks/bench_engine.py: it runs and ends with the ratio line.

No timing is asserted — the machine is shared; this only proves the script,
its worker processes (all four contenders) and its output format work.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_engine.py"


def test_quick_run_prints_table_and_ratio_line():
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--sizes", "8", "--steps", "50",
         "--rounds", "1", "--reps", "1", "--min-seconds", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.split()[:2] == ["8", "50"] for line in lines), proc.stdout
    # Both engine loops are reported: the default one (and which loop it
    # took) and the pure-NumPy one.
    header = next(line for line in lines if line.split()[:2] == ["H", "T"])
    assert header.split()[2:5] == ["engine", "loop", "eng-numpy"], header
    row = next(line for line in lines if line.split()[:2] == ["8", "50"]).split()
    assert row[3] in ("numba", "hybrid", "numpy"), row
    number = r"\d+\.\d+"
    assert re.fullmatch(
        rf"engine/torch throughput ratio: H=8 {number}", lines[-1]
    ), lines[-1]
