"""``lstm-viewer lab TASK [--variants ...] [--seeds N] [--steps N]``: the variant lab, headless.

Trains the standard cell and the NIG, NFG, NOG and CIFG variants from
scratch with the same size, seeds and budget, then prints the results table
and the comparison with Greff et al. 2017 — the same text the GUI shows,
which ranks nothing from fewer than three seeds per variant.
Latch runs in the lab's own configuration
(:class:`~lstm_viewer.training.lab.LabLatchTask`), which the table's second
line spells out.
"""

from __future__ import annotations

import sys
import textwrap


def add_arguments(parser) -> None:
    from ..training.lab import ALL_VARIANTS, DEFAULT_SEEDS, DEFAULT_STEPS, LAB_TASKS, MIN_SEEDS

    parser.add_argument("task", metavar="TASK", choices=LAB_TASKS,
                        help=f"the task to train on: {', '.join(LAB_TASKS)}")
    parser.add_argument("--variants", default=",".join(ALL_VARIANTS),
                        help=f"comma-separated subset of {','.join(ALL_VARIANTS)} (default: all)")
    seeds = ", ".join(f"{k} {v}" for k, v in DEFAULT_SEEDS.items())
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds per variant, 0..N-1 (default: {seeds}); fewer than {MIN_SEEDS} "
                             "rank nothing")
    steps = ", ".join(f"{k} {v}" for k, v in DEFAULT_STEPS.items())
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps per run (default: {steps})")
    parser.add_argument("--quiet", action="store_true", help="print only the table and the text")


def run(args) -> int:
    from ..app import CLIError
    from ..training.lab import ALL_VARIANTS, run_lab

    variants = [v.strip().lower() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in ALL_VARIANTS]
    if bad or not variants:
        raise CLIError(f"unknown variant '{bad[0] if bad else args.variants}'; "
                       f"choose from {','.join(ALL_VARIANTS)}")
    if args.seeds is not None and args.seeds < 1:
        raise CLIError("--seeds must be at least 1")
    if args.steps is not None and args.steps < 1:
        raise CLIError("--steps must be at least 1")

    def on_run(result):
        if not args.quiet:
            print(f"  {result.variant:<8} seed {result.seed}: test accuracy {result.accuracy:.4f}, "
                  f"loss {result.loss:.4f} ({result.seconds:.0f} s)", file=sys.stderr, flush=True)

    lab = run_lab(args.task, variants=variants, seeds=args.seeds, steps=args.steps, on_run=on_run)
    print(lab.table())
    print()
    print(textwrap.fill(lab.results_text(), width=100))
    return 0
