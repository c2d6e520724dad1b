"""``lstm-viewer trace WEIGHTS (--inputs X.npy | --text "...") --out TRACE.npz``.

Runs the sequence through the NumPy engine and writes
:meth:`~lstm_viewer.engine.trace.Trace.to_arrays` with ``np.savez``.
"""

from __future__ import annotations

import sys

import numpy as np


def add_arguments(parser) -> None:
    parser.add_argument("weights", metavar="WEIGHTS", help="a weights file or bundled model name")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--inputs", metavar="INPUTS.npy",
                        help="1-D integer token ids or a 2-D float (T, n_x) array")
    source.add_argument("--text", help="text encoded with the model's vocabulary")
    parser.add_argument("--out", metavar="TRACE.npz", required=True,
                        help="where to write the trace (.npz is added when missing)")
    parser.add_argument("--float64", action="store_true", help="compute in float64 (default float32)")
    parser.add_argument("--intervene", metavar="SPEC", action="append", default=[],
                        help="an intervention such as 'forget=1' or 'update=0@2-5#1' (repeatable)")


def _read_inputs(path: str) -> np.ndarray:
    from ..app import CLIError

    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CLIError(f"{path}: inputs file does not exist") from None
    except (ValueError, OSError, EOFError) as exc:
        raise CLIError(f"{path}: not a readable .npy array ({str(exc).splitlines()[0]})") from None
    if not isinstance(arr, np.ndarray):
        raise CLIError(f"{path}: expected one .npy array, got an .npz archive")
    return arr


def run(args) -> int:
    from ..app import CLIError
    from ..engine.trace import run as run_trace
    from ..formats import load

    model = load(args.weights)
    if args.text is not None:
        if model.vocab is None:
            raise CLIError(f"{args.weights}: the model has no vocabulary; use --inputs with token ids")
        inputs, unknown = model.encode(args.text)
        if unknown:
            chars = sorted({args.text[p] for p in unknown})
            shown = " ".join(repr(c) for c in chars)
            print(f"lstm-viewer: warning: {len(unknown)} character(s) not in the vocabulary were "
                  f"skipped: {shown}", file=sys.stderr)
        if inputs.size == 0:
            raise CLIError("no character of --text is in the model's vocabulary")
    else:
        inputs = _read_inputs(args.inputs)
    dtype = np.float64 if args.float64 else np.float32
    trace = run_trace(model, inputs, dtype=dtype, interventions=list(args.intervene))
    arrays = trace.to_arrays()
    # np.savez adds ".npz" to a name without it: say the name actually written.
    out = args.out if str(args.out).endswith(".npz") else f"{args.out}.npz"
    try:
        np.savez(out, **arrays)
    except OSError as exc:
        raise CLIError(f"{out}: cannot write the trace ({exc.strerror or exc})") from None
    sizes = ", ".join(f"H={layer.hidden_size}{'x2' if layer.bidirectional else ''}" for layer in model.layers)
    y = f", y {arrays['y'].shape[1]} outputs" if "y" in arrays else ""
    iv = f", {len(args.intervene)} intervention(s)" if args.intervene else ""
    steps = f"{trace.length} step{'' if trace.length == 1 else 's'}"
    print(f"traced {steps} through {len(model.layers)} layer(s) ({sizes}){y}{iv} "
          f"in {np.dtype(dtype).name}: {len(arrays)} arrays -> {out}")
    return 0
