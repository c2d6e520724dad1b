"""Engine throughput against PyTorch, batch 1, float32, n_x = 64.

Four contenders, each timed in its own fresh process:

``engine``
    ``lstm_viewer.engine.run`` as it runs by default — records every
    intermediate of every step (gates, c, a, tanh c, write, and the
    pre-activations split in parts). With numba installed its fast path
    steps through the compiled loop of ``lstm_viewer/engine/jit.py`` on one
    core ("numba"), or on two where W_a fits two cores' L2 caches but not
    one ("pair"), or for large H through OpenBLAS's GEMV plus one compiled
    call per step ("hybrid"); the table says which loop ran at each H.
    Each run's trace is dropped before the next, as the torch contenders
    drop their outputs, so its records reuse the memory of the previous
    one (``lstm_viewer/engine/arena.py``).
``engine-numpy``
    The same with ``LSTM_VIEWER_NO_JIT=1``: the pure-NumPy step loop.
``torch``
    ``torch.nn.LSTM`` under ``no_grad``: the fused kernel, records nothing
    but the outputs a⟨t⟩.
``torch-loop``
    What a torch user writes to see the gates: one matrix product for the
    input projection, then per step ``nn.LSTMCell`` math with the gates
    i, f, g, o and c, h stored in preallocated tensors.

The contenders run back to back in separate processes (torch's OpenMP
threads and OpenBLAS's threads fight when they share one), in an order that
rotates every round, for several rounds. The table shows medians over the
rounds; the ratio engine/torch (throughput, i.e. torch time / engine time) is
taken per round so that a round disturbed by other work on the machine shows
as one outlier instead of shifting one contender's median.

    python benchmarks/bench_engine.py            # full run (a few minutes)
    python benchmarks/bench_engine.py --quick    # short run

The last line printed is always
``engine/torch throughput ratio: H=64 R1, H=256 R2, H=1024 R3``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

N_X = 64
CONTENDERS = ("engine", "engine-numpy", "torch", "torch-loop")
# Environment of each contender's process on top of the caller's; the
# default engine must not inherit a NO_JIT switch from the caller's shell.
_NO_JIT = "LSTM_VIEWER_NO_JIT"
CONTENDER_ENV = {"engine": {_NO_JIT: None}, "engine-numpy": {_NO_JIT: "1"}}
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------
# Workers: one process times one contender at one size.
# --------------------------------------------------------------------------

def _weights(H: int, n_x: int, seed: int):
    """PyTorch-initialised-like weights (uniform ±1/√H), gate order i, f, g, o."""
    import numpy as np

    rng = np.random.default_rng(seed)
    k = 1.0 / np.sqrt(H)
    W_ih = rng.uniform(-k, k, (4 * H, n_x)).astype(np.float32)
    W_hh = rng.uniform(-k, k, (4 * H, H)).astype(np.float32)
    b_ih = rng.uniform(-k, k, 4 * H).astype(np.float32)
    b_hh = rng.uniform(-k, k, 4 * H).astype(np.float32)
    return W_ih, W_hh, b_ih, b_hh


def _inputs(T: int, n_x: int, seed: int):
    import numpy as np

    return np.random.default_rng(seed + 1).standard_normal((T, n_x)).astype(np.float32)


def _time(fn, min_reps: int, min_seconds: float) -> list[float]:
    """Run ``fn`` until both ``min_reps`` runs and ``min_seconds`` are done."""
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _worker_engine(H: int, T: int, seed: int):
    import numpy as np

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from lstm_viewer.engine import CellWeights, Layer, LSTMModel, run

    W_ih, W_hh, b_ih, b_hh = _weights(H, N_X, seed)
    model = LSTMModel([Layer([CellWeights(W_ih, W_hh, b_ih + b_hh)])]).validate()
    x = _inputs(T, N_X, seed)

    def once():
        trace = run(model, x, dtype=np.float32)
        LOOPS.append(trace.layers[0][0].loop)
        return trace

    check = once().layers[0][0]
    assert check.a.shape == (T, H) and check.pre_a.shape == (T, 4 * H)
    return once, float(check.a[-1].sum())


# The step loop of each engine run in this worker (it can change from run to
# run: the two-thread loop steps back when another task keeps a core busy).
LOOPS: list[str] = []


def _engine_loops() -> dict:
    """How many timed runs took each loop."""
    from collections import Counter

    return dict(Counter(LOOPS))


def _torch_setup(H: int, T: int, seed: int):
    import torch

    torch.set_grad_enabled(False)
    W_ih, W_hh, b_ih, b_hh = (torch.from_numpy(w) for w in _weights(H, N_X, seed))
    x = torch.from_numpy(_inputs(T, N_X, seed))
    return torch, W_ih, W_hh, b_ih, b_hh, x


def _worker_torch(H: int, T: int, seed: int):
    torch, W_ih, W_hh, b_ih, b_hh, x = _torch_setup(H, T, seed)
    lstm = torch.nn.LSTM(N_X, H, batch_first=True)
    lstm.weight_ih_l0.copy_(W_ih)
    lstm.weight_hh_l0.copy_(W_hh)
    lstm.bias_ih_l0.copy_(b_ih)
    lstm.bias_hh_l0.copy_(b_hh)
    lstm.eval()
    xb = x.unsqueeze(0)

    def once():
        return lstm(xb)[0]

    return once, float(once()[0, -1].sum())


def _worker_torch_loop(H: int, T: int, seed: int):
    torch, W_ih, W_hh, b_ih, b_hh, x = _torch_setup(H, T, seed)
    sig, tanh = torch.sigmoid, torch.tanh

    def once():
        # Records a torch user keeps to look at the gates.
        i_r, f_r, g_r, o_r = (torch.empty(T, H) for _ in range(4))
        c_r, h_r = torch.empty(T, H), torch.empty(T, H)
        pre_x = torch.addmm(b_ih + b_hh, x, W_ih.t())    # whole-sequence input projection
        h, c = torch.zeros(H), torch.zeros(H)
        for t in range(T):
            z = pre_x[t] + torch.mv(W_hh, h)
            i, f, g, o = z.chunk(4)
            i, f, g, o = sig(i), sig(f), tanh(g), sig(o)
            c = f * c + i * g
            h = o * tanh(c)
            i_r[t], f_r[t], g_r[t], o_r[t], c_r[t], h_r[t] = i, f, g, o, c, h
        return h_r

    return once, float(once()[-1].sum())


WORKERS = {"engine": _worker_engine, "engine-numpy": _worker_engine,
           "torch": _worker_torch, "torch-loop": _worker_torch_loop}


def worker_main(args) -> None:
    """Time one contender and print one JSON line: seconds per step, per repetition."""
    once, checksum = WORKERS[args.worker](args.hidden, args.steps, args.seed)
    once()  # warm up caches, thread pools, allocator (the checksum run was the first)
    LOOPS.clear()
    times = _time(once, args.reps, args.min_seconds)
    per_step = [t / args.steps for t in times]
    loop = _engine_loops() if args.worker.startswith("engine") else None
    print(json.dumps({"contender": args.worker, "H": args.hidden, "T": args.steps,
                      "per_step": per_step, "checksum": checksum, "loop": loop}))


# --------------------------------------------------------------------------
# Driver: alternate the contenders in fresh processes, round after round.
# --------------------------------------------------------------------------

def run_worker(contender: str, H: int, T: int, reps: int, min_seconds: float) -> dict:
    """One contender in a fresh process: its JSON line, with ``median`` s/step added."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", contender,
           "--hidden", str(H), "--steps", str(T), "--reps", str(reps),
           "--min-seconds", str(min_seconds)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for name, value in CONTENDER_ENV.get(contender, {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
    if proc.returncode != 0:
        sys.exit(f"{contender} at H={H} failed:\n{proc.stderr.strip()}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["median"] = statistics.median(result["per_step"])
    return result


def steps_for(H: int, quick: bool) -> int:
    """T per size: long enough for a stable time, short enough for a quick round."""
    if quick:
        return 1000 if H <= 256 else 300
    return 3000 if H <= 256 else 800


def _fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:9.2f}"


def driver_main(args) -> None:
    sizes = [int(s) for s in args.sizes.split(",")]
    rounds = args.rounds if args.rounds else (2 if args.quick else 5)
    reps = args.reps if args.reps else (3 if args.quick else 5)
    min_seconds = args.min_seconds if args.min_seconds is not None else (0.05 if args.quick else 0.3)
    steps = {H: args.steps or steps_for(H, args.quick) for H in sizes}

    times = {(c, H): [] for c in CONTENDERS for H in sizes}
    loops = {H: Counter() for H in sizes}
    load_before = os.getloadavg()
    for r in range(rounds):
        for H in sizes:
            # Rotate the order every round so no contender always runs first.
            shift = r % len(CONTENDERS)
            order = CONTENDERS[shift:] + CONTENDERS[:shift]
            for contender in order:
                result = run_worker(contender, H, steps[H], reps, min_seconds)
                times[contender, H].append(result["median"])
                if contender == "engine":
                    loops[H].update(result["loop"])
        line = ", ".join(
            f"H={H} {times['torch', H][-1] / times['engine', H][-1]:.3f}"
            f" (numpy {times['torch', H][-1] / times['engine-numpy', H][-1]:.3f})" for H in sizes)
        print(f"round {r + 1}/{rounds}: engine/torch {line}", flush=True)

    load_after = os.getloadavg()
    print()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"batch 1, float32, n_x = {N_X}; µs per step, median of {rounds} rounds "
          f"(each round: fresh process per contender)")
    header = (f"{'H':>6} {'T':>6} {'engine':>9} {'loop':>10} {'eng-numpy':>9} {'torch':>9} "
              f"{'torch-loop':>10} {'eng/torch':>10} {'npy/torch':>10} {'eng/loop':>9}"
              f"   per-round engine/torch")
    print(header)
    print("-" * len(header))
    ratios = {}
    for H in sizes:
        def per_round(a: str, b: str, H: int = H) -> list[float]:
            # Throughput of a over b, i.e. time of b over time of a, per round.
            return [tb / ta for ta, tb in zip(times[a, H], times[b, H], strict=True)]

        rounds_torch = per_round("engine", "torch")
        ratios[H] = statistics.median(rounds_torch)
        med = {c: statistics.median(times[c, H]) for c in CONTENDERS}
        # The loop of the timed runs; "pair 53/55" when a busy core sent some to one thread.
        name, n = loops[H].most_common(1)[0]
        total = sum(loops[H].values())
        loop = name if n == total else f"{name} {n}/{total}"
        print(f"{H:>6} {steps[H]:>6} {_fmt_us(med['engine'])} {loop:>10} "
              f"{_fmt_us(med['engine-numpy'])} {_fmt_us(med['torch'])} "
              f"{_fmt_us(med['torch-loop']):>10} {ratios[H]:>10.3f} "
              f"{statistics.median(per_round('engine-numpy', 'torch')):>10.3f} "
              f"{statistics.median(per_round('engine', 'torch-loop')):>9.2f}   "
              + " ".join(f"{x:.2f}" for x in rounds_torch))
    print("(engine: the default run, its step loop in column 'loop'; eng-numpy: "
          "LSTM_VIEWER_NO_JIT=1.\n ratios are throughputs, median of per-round ratios: "
          "eng/torch, npy/torch = eng-numpy/torch, eng/loop = engine/torch-loop)")
    print("engine/torch throughput ratio: "
          + ", ".join(f"H={H} {ratios[H]:.2f}" for H in sizes))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run: fewer rounds, shorter sequences")
    p.add_argument("--sizes", default="64,256,1024", help="comma-separated hidden sizes H")
    p.add_argument("--steps", type=int, default=None, help="sequence length T (default: per size)")
    p.add_argument("--rounds", type=int, default=None, help="rounds of alternating processes")
    p.add_argument("--reps", type=int, default=None, help="minimum timed runs per process")
    p.add_argument("--min-seconds", type=float, default=None, help="minimum timed seconds per process")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", choices=CONTENDERS, help=argparse.SUPPRESS)
    p.add_argument("--hidden", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        args.reps = args.reps or 5
        args.min_seconds = 0.3 if args.min_seconds is None else args.min_seconds
        worker_main(args)
    else:
        driver_main(args)


if __name__ == "__main__":
    main()
