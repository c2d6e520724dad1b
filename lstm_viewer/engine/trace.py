"""Running a sequence through a model and recording every intermediate.

:func:`run` returns a :class:`Trace`; :class:`TraceRun` is the same work as a
generator of progress fractions, so a worker thread can report progress and
stop between chunks. Every record is preallocated before the first step.

Inside a :class:`DirectionTrace` the four gate blocks are stored in the order
update, forget, output, candidate, so that one sigmoid call covers the three
gates of a step; the named properties (``forget``, ``update`` ...) hide this.
Records are indexed by sequence position t for both directions of a
bidirectional layer (the reverse direction is *computed* from T−1 down to 0).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator

import numpy as np

from .arena import default_arena
from .blas import single_thread
from .cell import softmax
from .interventions import Intervention, LayerInterventions, parse_all
from .model import CellWeights, LSTMModel, ModelError
from .pages import populate

# Canonical blocks (update, forget, candidate, output) -> stored blocks
# (update, forget, output, candidate): sigmoid gates adjacent.
_STORED_FROM_CANONICAL = (0, 1, 3, 2)
_U, _F, _O, _C = range(4)
# Width of a record row in units of H (see DirectionTrace.rows).
_ROW = 8
# Largest W_a (elements, 4H·H) for which the fast path multiplies a·W_aᵀ.
_TRANSPOSED_MAX = 1 << 18
# Largest W_a (elements) for which the compiled loop (jit.py) runs the steps.
# Its GEMV runs on one core; beyond this size OpenBLAS's two-thread GEMV is
# faster, and the steps are hybrid: that GEMV, then one compiled call
# (jit.step_cells) for the rest of the step.
_JIT_MAX = 1 << 18
# The two-thread loop runs where W_a is more than _L2_SHARE of one core's L2
# cache and at most _L2_PAIR_MAX of them (see choose_loop).
_L2_SHARE = 0.75
_L2_PAIR_MAX = 2.0
# Fewest steps for which starting the two threads pays.
_PAIR_MIN_STEPS = 256
# Fewest steps for which a run loads numba when no run has yet: loading
# takes ~0.3 s (and compiling, once after install, ~1 s), the NumPy loop
# ~1-5 µs a step, so the app's first 48-step trace took 1.4 s on a fresh
# install. Once numba is loaded every fast run uses it.
_JIT_MIN_STEPS = 256
# Environment switch that forces the NumPy loop (tests, comparisons).
_NO_JIT_ENV = "LSTM_VIEWER_NO_JIT"
_jit_module = None
_jit_tried = False


def jit_available() -> bool:
    """Whether runs use the compiled step loop where it applies.

    True when numba can be imported and the environment variable
    ``LSTM_VIEWER_NO_JIT`` is unset, empty or ``0``. The first call imports
    numba (not the import of :mod:`lstm_viewer.engine`, to keep start-up
    fast); nothing is compiled until a run needs it.

    Returns
    -------
    bool
    """
    return _jit() is not None


def _jit():
    """The :mod:`.jit` module, or None when disabled or numba is missing."""
    global _jit_module, _jit_tried
    if os.environ.get(_NO_JIT_ENV, "") not in ("", "0"):
        return None
    if not _jit_tried:
        _jit_tried = True
        try:
            from . import jit as module
        except ImportError:
            module = None
        _jit_module = module
    return _jit_module


@functools.lru_cache(maxsize=1)
def l2_cache_bytes() -> int | None:
    """Size of one core's L2 cache (Linux sysfs), or None when unknown."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        entries = os.listdir(base)
    except OSError:
        return None
    for entry in sorted(entries):
        try:
            with open(os.path.join(base, entry, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(base, entry, "size")) as f:
                size = f.read().strip()
        except OSError:
            continue
        if level == "2" and size[:-1].isdigit() and size[-1] in "KM":
            return int(size[:-1]) << (10 if size[-1] == "K" else 20)
    return None


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _own_running() -> int:
    """This process's threads that are runnable now (Linux), the caller included."""
    running = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                # State is the field after the parenthesised command name.
                running += f.read().rpartition(")")[2].split()[0] == "R"
        except (OSError, IndexError):
            continue
    return max(running, 1)


def busy_cores(samples: int = 2) -> int:
    """Runnable tasks of other processes (Linux /proc/loadavg), else 0.

    The fourth field of /proc/loadavg counts the runnable threads now,
    machine-wide; this process's own (a thread just joined may still be
    finishing) are not someone else's load. The least of a few readings:
    a task waking for a moment is not a busy core.
    """
    counts = []
    for _ in range(samples):
        try:
            with open("/proc/loadavg") as f:
                machine = int(f.read().split()[3].split("/")[0])
        except (OSError, IndexError, ValueError):
            return 0
        counts.append(machine - _own_running())
    return max(0, min(counts))


def choose_loop(H: int, itemsize: int, fast: bool, jit: bool, threads: int | None = None,
                steps: int | None = None) -> str:
    """Which step loop runs a direction of hidden size H.

    Parameters
    ----------
    H : int
    itemsize : int
        Bytes per value of the run's dtype.
    fast : bool
        False for peepholes or interventions, which take the general loop.
    jit : bool
        Whether the compiled loops (numba) are available.
    threads : int or None
        1 keeps the run on one core; None or more allow two.
    steps : int, optional
        The sequence length; two threads only for ``_PAIR_MIN_STEPS`` or more.

    Returns
    -------
    str
        ``"general"`` (NumPy, peepholes/interventions), ``"numpy"`` (NumPy
        fast loop), ``"numba"`` (compiled, one core), ``"pair"`` (compiled,
        two cores, jit.PairSteps) or ``"hybrid"`` (BLAS GEMV + compiled rest).
    """
    if not fast:
        return "general"
    if not jit:
        return "numpy"
    weights = 4 * H * H * itemsize
    l2 = l2_cache_bytes()
    # Two cores pay where W_a does not fit one core's L2 but its halves about
    # do. Measured with a 1 MiB L2, µs a step (two threads / one): H = 256
    # 10.6 / 12.1, H = 288 11.9 / 19.1 (BLAS), H = 320 13.6 / 22.5 (BLAS);
    # at H = 384 and above both halves stream from L3 and BLAS's GEMV is as
    # fast or faster, and below H ≈ 220 the one-core loop is as fast.
    # The two threads run in lockstep, so they need two otherwise idle cores:
    # with one more busy task on a 2-core machine a step waits for whichever
    # thread the scheduler left out (measured: twice the one-thread time).
    # Short sequences do not pay for starting the threads.
    if ((threads is None or threads >= 2) and l2 is not None and H >= 2
            and _L2_SHARE * l2 < weights <= _L2_PAIR_MAX * l2
            and (steps is None or steps >= _PAIR_MIN_STEPS)
            and usable_cores() - busy_cores() >= 2):
        return "pair"
    return "numba" if 4 * H * H <= _JIT_MAX else "hybrid"


class InputError(ModelError):
    """Inputs that do not fit the model (wrong width, token id out of range...)."""


def _permute_blocks(array: np.ndarray, H: int) -> np.ndarray:
    blocks = [array[k * H:(k + 1) * H] for k in _STORED_FROM_CANONICAL]
    return np.ascontiguousarray(np.concatenate(blocks, axis=0))


class DirectionTrace:
    """Records of one direction of one layer over a sequence of length T.

    Attributes
    ----------
    x : ndarray (T, n_in)
        The input this layer saw at each step.
    pre_x, pre_a : ndarray (T, 4H)
        W_x·x⟨t⟩ and W_a·a⟨t−1⟩ (stored block order).
    pre_c : ndarray (T, 3H) or None
        Peephole terms p ⊙ c for update, forget, output.
    gates : ndarray (T, 4H)
        Γ_u, Γ_f, Γ_o, c̃ as used (after any intervention).
    c, a, tanh_c, write : ndarray (T, H)
        c⟨t⟩, a⟨t⟩, tanh(c⟨t⟩) and the write Γ_u ⊙ c̃.
    c0, a0 : ndarray (H,)
        The state before the first processed step.
    loop : str
        The step loop that filled the records (see :func:`choose_loop`).
    """

    def __init__(self, cell: CellWeights, x: np.ndarray, dtype):
        T, H = x.shape[0], cell.hidden_size
        self.reverse = cell.reverse
        self.hidden_size = H
        self.x = x
        # In the run's dtype, as every other operand: a model may hold
        # float64 weights run in float32.
        self.bias = _permute_blocks(np.asarray(cell.b, dtype), H)
        # Large records reuse the memory of dropped traces (arena.py).
        empty = default_arena().empty
        self.pre_x = empty((T, 4 * H), dtype)
        self.pre_a = empty((T, 4 * H), dtype)
        self.pre_c = empty((T, 3 * H), dtype) if cell.peephole is not None else None
        # One row per step holds [Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write] so
        # that a step is computed in a scratch row and stored with one copy.
        self.rows = empty((T, _ROW * H), dtype)
        self.gates = self.rows[:, :4 * H]
        self.c, self.tanh_c, self.a, self.write = (
            self.rows[:, (4 + k) * H:(5 + k) * H] for k in range(4))
        self.c0 = np.zeros(H, dtype)
        self.a0 = np.zeros(H, dtype)
        self.loop = ""

    def _block(self, k: int) -> np.ndarray:
        H = self.hidden_size
        return self.gates[:, k * H:(k + 1) * H]

    @property
    def update(self) -> np.ndarray:
        return self._block(_U)

    @property
    def forget(self) -> np.ndarray:
        return self._block(_F)

    @property
    def output(self) -> np.ndarray:
        return self._block(_O)

    @property
    def candidate(self) -> np.ndarray:
        return self._block(_C)

    def _prev(self, record: np.ndarray, initial: np.ndarray, t: int) -> np.ndarray:
        T = record.shape[0]
        before = t + 1 if self.reverse else t - 1
        return initial if before < 0 or before >= T else record[before]

    def c_prev(self, t: int) -> np.ndarray:
        """c⟨t−1⟩ as this direction saw it at position t."""
        return self._prev(self.c, self.c0, t)

    def a_prev(self, t: int) -> np.ndarray:
        """a⟨t−1⟩ as this direction saw it at position t."""
        return self._prev(self.a, self.a0, t)

    def preactivation(self, gate: str, t: int) -> dict:
        """The pre-activation of ``gate`` at step t split into its parts.

        Returns a dict with ``W_x·x``, ``W_a·a``, ``bias`` and, with
        peepholes, ``p⊙c`` (H values each) and ``total``.
        """
        H = self.hidden_size
        k = {"update": _U, "forget": _F, "output": _O, "candidate": _C}[gate]
        sl = slice(k * H, (k + 1) * H)
        parts = {"W_x·x": self.pre_x[t, sl], "W_a·a": self.pre_a[t, sl], "bias": self.bias[sl]}
        if self.pre_c is not None and gate != "candidate":
            pk = {"update": 0, "forget": 1, "output": 2}[gate]
            parts["p⊙c"] = self.pre_c[t, pk * H:(pk + 1) * H]
        parts["total"] = sum(parts.values())
        return parts

    def step(self, t: int) -> dict:
        """Every named value of step t, as the diagram shows them bottom to top.

        ``concat`` is [a⟨t−1⟩, x⟨t⟩] and ``keep`` is Γ_f ⊙ c⟨t−1⟩; both are
        computed here, the rest are views of the records.
        """
        a_prev, c_prev = self.a_prev(t), self.c_prev(t)
        return dict(x=self.x[t], a_prev=a_prev, c_prev=c_prev,
                    concat=np.concatenate([a_prev, self.x[t]]),
                    update=self.update[t], forget=self.forget[t], candidate=self.candidate[t],
                    output=self.output[t], write=self.write[t], keep=self.forget[t] * c_prev,
                    c=self.c[t], tanh_c=self.tanh_c[t], a=self.a[t])


class Trace:
    """Every intermediate of a run: ``layers[k][d]`` is layer k, direction d.

    Attributes
    ----------
    inputs : ndarray
        What the caller passed (token ids or vectors).
    tokens : ndarray or None
        Token ids when the input was ids.
    logits, y_hat : ndarray (T, n_y) or None
        Head pre-activation and ŷ (softmax probabilities for a softmax head).
    interventions : list of Intervention
        What was changed in the forward pass (empty for an intact run).
    """

    def __init__(self, model: LSTMModel, inputs: np.ndarray, tokens, x0: np.ndarray,
                 interventions: list[Intervention]):
        self.model = model
        self.inputs = inputs
        self.tokens = tokens
        self.x0 = x0
        self.interventions = interventions
        self.layers: list[list[DirectionTrace]] = []
        self.logits: np.ndarray | None = None
        self.y_hat: np.ndarray | None = None

    @property
    def length(self) -> int:
        return int(self.x0.shape[0])

    def layer_output(self, k: int) -> np.ndarray:
        """Layer k's a as the next layer sees it (directions concatenated)."""
        directions = self.layers[k]
        if len(directions) == 1:
            return directions[0].a
        return np.concatenate([d.a for d in directions], axis=1)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name → array mapping, the layout of ``trace --out`` files.

        Keys ``layer{k}.{forget,update,candidate,output,c,a,...}`` (a reverse
        direction adds ``_reverse`` to the layer part) and ``y`` (ŷ).
        """
        out: dict[str, np.ndarray] = {"x": self.x0}
        if self.tokens is not None:
            out["tokens"] = self.tokens
        for k, directions in enumerate(self.layers):
            for d in directions:
                prefix = f"layer{k}{'_reverse' if d.reverse else ''}"
                H = d.hidden_size
                for name in ("forget", "update", "candidate", "output", "c", "a",
                             "tanh_c", "write"):
                    out[f"{prefix}.{name}"] = np.ascontiguousarray(getattr(d, name))
                for name, k_block in (("update", _U), ("forget", _F), ("output", _O), ("candidate", _C)):
                    sl = slice(k_block * H, (k_block + 1) * H)
                    out[f"{prefix}.{name}.pre_x"] = np.ascontiguousarray(d.pre_x[:, sl])
                    out[f"{prefix}.{name}.pre_a"] = np.ascontiguousarray(d.pre_a[:, sl])
                    out[f"{prefix}.{name}.bias"] = d.bias[sl]
        if self.y_hat is not None:
            out["y"] = self.y_hat
            out["logits"] = self.logits
        return out


def prepare_inputs(model: LSTMModel, inputs, dtype=np.float32) -> tuple[np.ndarray, np.ndarray | None]:
    """Turn token ids or input vectors into the x⟨t⟩ rows of layer 0.

    Returns ``(x, tokens)``; ``tokens`` is None when vectors were given.
    Raises :class:`InputError` with one clear line when they do not fit.
    """
    arr = np.asarray(inputs)
    n_x = model.layers[0].cells[0].input_size
    if arr.ndim == 1:
        if arr.size == 0:
            raise InputError("the input sequence is empty")
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise InputError(
                    f"a 1-D input must hold integer token ids, got dtype {arr.dtype}"
                )
        tokens = arr.astype(np.int64)
        limit = model.embedding.shape[0] if model.embedding is not None else n_x
        bad = np.flatnonzero((tokens < 0) | (tokens >= limit))
        if bad.size:
            raise InputError(
                f"token id {int(tokens[bad[0]])} at position {int(bad[0])} is outside 0..{limit - 1}"
            )
        if model.embedding is not None:
            x = np.ascontiguousarray(model.embedding[tokens], dtype=dtype)
        else:
            x = np.zeros((tokens.size, n_x), dtype)
            x[np.arange(tokens.size), tokens] = 1.0
        return x, tokens
    if arr.ndim == 2:
        if arr.shape[0] == 0:
            raise InputError("the input sequence is empty")
        if arr.shape[1] != n_x:
            raise InputError(f"input vectors have width {arr.shape[1]} but the model takes {n_x}")
        if not np.issubdtype(arr.dtype, np.number) or not np.all(np.isfinite(arr)):
            raise InputError("input vectors must be finite numbers")
        return np.ascontiguousarray(arr, dtype=dtype), None
    raise InputError(
        f"inputs must be 1-D token ids or 2-D (T, n_x) vectors, got shape {arr.shape}"
    )


class _Direction:
    """Prepared weights of one direction and the loop that fills its records."""

    def __init__(self, cell: CellWeights, dtype, interventions: LayerInterventions,
                 threads: int | None = None, steps: int | None = None):
        H = cell.hidden_size
        self.H = H
        self.dtype = dtype
        self.reverse = cell.reverse
        self.W_x = _permute_blocks(np.asarray(cell.W_x, dtype), H)
        self.peephole = None if cell.peephole is None else np.asarray(cell.peephole, dtype)
        mask = interventions.peephole_mask(H)
        if self.peephole is not None and mask is not None:
            # NP: the chosen units' peephole weights are zero for this run.
            self.peephole = self.peephole * mask.astype(dtype)
        self.iv = interventions
        self.fast = cell.peephole is None and not interventions
        # σ(z) = ½·tanh(½z) + ½: halving the sigmoid rows lets one tanh call
        # serve all four blocks of a step. Halving is exact in floating point
        # (barring underflow), so the recorded W_a·a, the product the step
        # used times 2, is bit for bit what the step added.
        self.scale = np.ones(4 * H, dtype)
        self.scale[:3 * H] = 0.5
        self.unscale = 1 / self.scale
        # The compiled loop, where it applies, needs only W_aᵀ (contiguous,
        # unscaled: it halves the sigmoid rows' pre-activations itself).
        # Above _JIT_MAX the steps are hybrid: OpenBLAS's GEMV over W_a (its
        # two-thread product) then one compiled call for the rest of the step.
        # That GEMV runs over the model's W_a as it is (canonical block order,
        # no copy; the compiled call reorders the 4H products), which saves
        # copying W_a — 16 MiB at H = 1024 — on every run.
        # Where W_a is between one and two L2 caches, the compiled loop runs
        # on two cores (jit.PairSteps), each keeping half of it cached.
        wanted = steps is None or steps >= _JIT_MIN_STEPS or _jit_module is not None
        jit = _jit() if self.fast and wanted else None
        self.loop = choose_loop(H, np.dtype(dtype).itemsize, self.fast, jit is not None, threads,
                                steps)
        self.jit = jit if self.loop == "numba" else None
        self.cells = jit.step_cells_canonical if self.loop == "hybrid" else None
        self.pair = None
        self.half = np.dtype(dtype).type(0.5)
        if self.cells is not None:
            self.W_a_canonical = np.ascontiguousarray(cell.W_a, dtype)
            return
        self.W_a = _permute_blocks(np.asarray(cell.W_a, dtype), H)
        if self.loop == "pair":
            self.pair = jit.PairSteps(np.ascontiguousarray(self.W_a.T))
            return
        if self.jit is not None:
            self.W_a_T = np.ascontiguousarray(self.W_a.T)
            return
        W_a_scaled = self.W_a * self.scale[:, None]
        # The per-step GEMV a⟨t−1⟩·W_aᵀ is the hot spot. Below ~1 MiB of
        # weights OpenBLAS runs it on one thread, and there its kernel over a
        # contiguous W_aᵀ (H, 4H) is 10-20 % faster than over W_a; above that
        # size the product over W_a (W_a.T, a Fortran-ordered view) is the one
        # OpenBLAS splits over the cores. Same numbers either way up to the
        # summation order.
        if 4 * H * H <= _TRANSPOSED_MAX:
            self.W_a_scaled_T = np.ascontiguousarray(W_a_scaled.T)
        else:
            self.W_a_scaled_T = np.ascontiguousarray(W_a_scaled).T

    def begin(self, rec: DirectionTrace, a0, c0) -> None:
        if a0 is not None:
            rec.a0[:] = a0
        if c0 is not None:
            rec.c0[:] = c0
        # One matrix product for the input projection of the whole sequence.
        if self.pair is None:
            np.matmul(rec.x, self.W_x.T, out=rec.pre_x)
            return
        # Two-thread loop: the records' pages are populated and the product
        # computed by two threads, each over half of the sequence, with BLAS
        # on one thread each — BLAS's own threads spin for a while after a
        # product (OpenBLAS: ~0.1 s), and one spinning on the second core
        # halves the loop that follows (measured 10 → 20-40 µs a step).
        T = rec.x.shape[0]

        def prepare(lo: int, hi: int) -> None:
            np.matmul(rec.x[lo:hi], self.W_x.T, out=rec.pre_x[lo:hi])

        for record in (rec.pre_x, rec.rows, rec.pre_a):
            populate(record)
        with single_thread():
            helper = threading.Thread(target=prepare, args=(T // 2, T),
                                      name="lstm-viewer-prepare", daemon=True)
            try:
                helper.start()
            except RuntimeError:      # out of threads: all of it here
                prepare(0, T)
                return
            try:
                prepare(0, T // 2)
            finally:
                helper.join()

    def steps(self, rec: DirectionTrace, start: int, stop: int) -> None:
        """Compute processing steps ``start..stop-1`` (in time order for reverse)."""
        T = rec.x.shape[0]
        if self.reverse:
            lo, hi = T - stop, T - start
            order = range(hi - 1, lo - 1, -1)
        else:
            lo, hi = start, stop
            order = range(lo, hi)
        if self.pair is not None:
            self.pair.steps(rec.pre_x, rec.bias, rec.pre_a, rec.rows, rec.c0, rec.a0,
                            lo, hi, self.reverse, self.half)
        elif self.jit is not None:
            self.jit.fast_steps(rec.pre_x, rec.bias, self.W_a_T,
                                rec.pre_a, rec.rows, rec.c0, rec.a0, lo, hi, self.reverse,
                                self.half)
        elif self.cells is not None:
            self._hybrid_steps(rec, lo, hi)
        elif self.fast:
            self._fast_steps(rec, order, lo, hi)
        else:
            self._general_steps(rec, order)

    def _hybrid_steps(self, rec: DirectionTrace, lo: int, hi: int) -> None:
        """Large H: per step OpenBLAS's W_a·a⟨t−1⟩, then one compiled call.

        Same records and numerics as :func:`.jit.fast_steps` (up to the order
        of the terms inside the GEMV); W_a is unscaled, so ``pre_a`` is
        written as recorded and needs no unhalving.
        """
        T = rec.x.shape[0]
        before = hi if self.reverse else lo - 1
        if 0 <= before < T:
            c_prev, a_prev = rec.c[before], rec.a[before]
        else:
            c_prev, a_prev = rec.c0, rec.a0
        # Views handed out by zip, once per step; nothing else per step in Python.
        views = [r[lo:hi] for r in (rec.pre_a, rec.pre_x, rec.rows, rec.c, rec.a)]
        if self.reverse:
            views = [v[::-1] for v in views]
        bias = rec.bias
        # W_a·a⟨t−1⟩ in canonical block order, reordered into pre_a by `cells`.
        product = np.empty(4 * self.H, self.dtype)
        dot, cells, W, half = np.dot, self.cells, self.W_a_canonical, self.half
        for za, zx, row, c, a in zip(*views, strict=True):
            dot(W, a_prev, product)
            cells(product, za, zx, bias, row, c_prev, half)
            c_prev, a_prev = c, a

    def _fast_steps(self, rec: DirectionTrace, order, lo: int, hi: int) -> None:
        H = self.H
        # Scaled pre-activation of the chunk's input part: (W_x·x + b) ⊙ scale.
        zx = rec.pre_x[lo:hi] + rec.bias
        zx *= self.scale
        # The scratch row mirrors a record row, plus one block for Γ_f ⊙ c⟨t−1⟩;
        # its views are made once.
        row = np.empty((_ROW + 1) * H, self.dtype)
        sig = row[:3 * H]
        g = row[:4 * H]
        uf = row[:2 * H]             # Γ_u, Γ_f
        cand_c = row[3 * H:5 * H]    # c̃, c⟨t−1⟩: the partners of Γ_u, Γ_f
        o = row[2 * H:3 * H]
        c, tc, a, w = (row[k * H:(k + 1) * H] for k in range(4, 8))
        w_keep = row[7 * H:9 * H]    # Γ_u ⊙ c̃ (the write), Γ_f ⊙ c⟨t−1⟩
        keep = row[8 * H:9 * H]
        record = row[:_ROW * H]
        before = order[0] + (1 if self.reverse else -1)
        if 0 <= before < rec.x.shape[0]:
            record[:] = rec.rows[before]
        else:
            c[:] = rec.c0
            a[:] = rec.a0
        half = np.full(3 * H, 0.5, self.dtype)
        dot, add, mul, tanh = np.dot, np.add, np.multiply, np.tanh
        W = self.W_a_scaled_T
        # Per step: views handed out by zip (cheaper than indexing), every
        # ufunc writing in place into the scratch row (positional out).
        pre_a, rows = rec.pre_a[lo:hi], rec.rows[lo:hi]
        if self.reverse:
            pre_a, zx, rows = pre_a[::-1], zx[::-1], rows[::-1]
        for za, zx_t, row_t in zip(pre_a, zx, rows, strict=True):
            dot(a, W, za)            # ½·W_a·a⟨t−1⟩ on the gate rows, W_a·a on c̃
            add(za, zx_t, g)
            tanh(g, g)
            mul(sig, half, sig)
            add(sig, half, sig)
            mul(uf, cand_c, w_keep)  # c still holds c⟨t−1⟩ here
            add(keep, w, c)
            tanh(c, tc)
            mul(o, tc, a)
            row_t[...] = record
        # Undo the halving in the record of W_a·a⟨t−1⟩ (exact), whole chunk at once.
        rec.pre_a[lo:hi] *= self.unscale

    def _general_steps(self, rec: DirectionTrace, order) -> None:
        """Peepholes and interventions: clear rather than fast."""
        H = self.H
        iv = self.iv
        T = rec.x.shape[0]
        step_back = 1 if self.reverse else -1
        p_u = p_f = p_o = None
        if self.peephole is not None:
            p_u, p_f, p_o = self.peephole
        for t in order:
            p = t + step_back
            if 0 <= p < T:
                a_prev, c_prev = rec.a[p], rec.c[p]
            else:
                a_prev, c_prev = rec.a0, rec.c0
            np.dot(self.W_a, a_prev, out=rec.pre_a[t])
            z = rec.pre_x[t] + rec.pre_a[t] + rec.bias
            g = rec.gates[t]
            update, forget, output, candidate = (g[k * H:(k + 1) * H] for k in range(4))
            if p_u is not None:
                rec.pre_c[t, :H] = p_u * c_prev
                rec.pre_c[t, H:2 * H] = p_f * c_prev
                z[:H] += rec.pre_c[t, :H]
                z[H:2 * H] += rec.pre_c[t, H:2 * H]
            update[:] = 0.5 * np.tanh(0.5 * z[:H]) + 0.5
            forget[:] = 0.5 * np.tanh(0.5 * z[H:2 * H]) + 0.5
            z_c = z[3 * H:]
            if iv.candidate_tanh:
                np.tanh(z_c, out=candidate)
                if iv:
                    iv.on_candidate(z_c, candidate)
            else:
                candidate[:] = z_c
            if iv:
                iv.on_gates(update, forget, candidate)
            np.multiply(update, candidate, out=rec.write[t])
            c = rec.c[t]
            np.multiply(forget, c_prev, out=c)
            c += rec.write[t]
            z_o = z[2 * H:3 * H]
            if p_o is not None:
                # The output gate's peephole sees the new c⟨t⟩.
                rec.pre_c[t, 2 * H:] = p_o * c
                z_o += rec.pre_c[t, 2 * H:]
            output[:] = 0.5 * np.tanh(0.5 * z_o) + 0.5
            if iv:
                iv.on_output(output)
            np.tanh(c, out=rec.tanh_c[t])
            if iv:
                iv.on_squash(c, rec.tanh_c[t])
            np.multiply(output, rec.tanh_c[t], out=rec.a[t])
            if iv:
                iv.on_state(c, rec.a[t], c_prev, a_prev)


class TraceRun:
    """A sequence run as an iterator of progress fractions in (0, 1].

    Iterate it to completion (or call :meth:`finish`) and read :attr:`trace`.
    Stopping the iteration early leaves the trace incomplete, which is how
    a worker cancels a long job.

    Parameters
    ----------
    model : LSTMModel
    inputs : array_like
        1-D token ids or 2-D (T, n_x) input vectors.
    dtype : {float32, float64}
    initial_state : list of (a0, c0) per layer, optional
        For bidirectional layers, a list of per-direction pairs.
    interventions : list of Intervention or spec strings, optional
    chunk : int
        Steps computed between two progress reports.
    threads : int or None
        1 keeps the run on the calling thread; None (default) lets a layer
        whose W_a fits two cores' caches but not one run on two threads
        (:func:`choose_loop`). The numbers agree to rounding: the two
        loops add the terms of W_a·a⟨t−1⟩ in a different order.
    """

    def __init__(self, model: LSTMModel, inputs, dtype=np.float32, initial_state=None,
                 interventions=(), chunk: int = 2048, threads: int | None = None):
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ModelError(f"dtype must be float32 or float64, got {dtype}")
        if threads is not None and (not isinstance(threads, (int, np.integer)) or threads < 1):
            raise ModelError(f"threads must be None or a positive integer, got {threads!r}")
        self.threads = threads
        self.model = model
        self.dtype = dtype
        self.chunk = max(1, int(chunk))
        self.interventions = parse_all(list(interventions))
        for iv in self.interventions:
            if iv.layer is not None and not 0 <= iv.layer < len(model.layers):
                raise ModelError(f"'{iv.spec}': the model has no layer {iv.layer}")
        x0, tokens = prepare_inputs(model, inputs, dtype)
        self.trace = Trace(model, np.asarray(inputs), tokens, x0, self.interventions)
        self.initial_state = initial_state
        self.done = False

    def _initial(self, k: int, d: int):
        if self.initial_state is None or self.initial_state[k] is None:
            return None, None
        state = self.initial_state[k]
        if len(self.model.layers[k].cells) == 2:
            state = state[d]
        return state

    def __iter__(self) -> Iterator[float]:
        model, trace = self.model, self.trace
        T = trace.length
        total = T * sum(len(layer.cells) for layer in model.layers)
        done = 0
        x = trace.x0
        for k, layer in enumerate(model.layers):
            directions = []
            for d, cell in enumerate(layer.cells):
                runner = _Direction(cell, self.dtype,
                                    LayerInterventions(self.interventions, cell.hidden_size, k),
                                    self.threads, T)
                rec = DirectionTrace(cell, x, self.dtype)
                rec.loop = runner.loop
                a0, c0 = self._initial(k, d)
                runner.begin(rec, a0, c0)
                for start in range(0, T, self.chunk):
                    stop = min(T, start + self.chunk)
                    runner.steps(rec, start, stop)
                    done += stop - start
                    yield done / total
                directions.append(rec)
            trace.layers.append(directions)
            x = trace.layer_output(k)
        if model.head is not None:
            W_y = np.asarray(model.head.W_y, self.dtype)
            trace.logits = x @ W_y.T + np.asarray(model.head.b_y, self.dtype)
            act = model.head.activation
            if act == "softmax":
                trace.y_hat = softmax(trace.logits, axis=1)
            elif act == "sigmoid":
                trace.y_hat = 0.5 * np.tanh(0.5 * trace.logits) + 0.5
            else:
                trace.y_hat = trace.logits
        self.done = True

    def finish(self) -> Trace:
        for _ in self:
            pass
        return self.trace


def run(model: LSTMModel, inputs, dtype=np.float32, initial_state=None, interventions=(),
        threads: int | None = None) -> Trace:
    """Run ``inputs`` through ``model`` and return the full :class:`Trace`.

    Parameters as :class:`TraceRun`.
    """
    return TraceRun(model, inputs, dtype, initial_state, interventions, chunk=1 << 30,
                    threads=threads).finish()
