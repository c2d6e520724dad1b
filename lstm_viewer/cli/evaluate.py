"""``lstm-viewer evaluate MODEL [--intervene SPEC ...]``: accuracy and loss on the task's test set."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a native weights file or bundled model name")
    parser.add_argument("--intervene", metavar="SPEC", action="append", default=[],
                        help="run with an intervention, e.g. update=1, forget=1, output=1, coupled, "
                             "update=0.5@0,3 (repeatable)")
    parser.add_argument("--split", choices=("test", "train"), default="test",
                        help="which fixed-seed evaluation set (default: test)")


def run(args) -> int:
    from ..app import CLIError
    from ..engine.interventions import parse_all
    from ..formats import load
    from ..training.evaluation import UnknownTaskError, evaluate, task_of

    model = load(args.model)
    try:
        task = task_of(model)
    except UnknownTaskError as exc:
        raise CLIError(f"cannot evaluate {args.model}: {exc}") from None
    extra = parse_all(args.intervene)
    own = list((model.card or {}).get("interventions", []))
    print(f"model: {model.name or args.model}")
    print(f"task: {task.name} ({args.split} set)")
    print(f"scored on: {task.scored_on}")
    if own:
        print(f"variant: {model.card.get('variant')} (always run with {', '.join(own)})")
    print(f"interventions: {', '.join(iv.label for iv in extra) if extra else 'none'}")
    score = evaluate(model, task, interventions=extra, split=args.split)
    print(f"positions: {score.positions} in {score.sequences} sequences")
    print(f"accuracy: {score.accuracy:.4f}")
    print(f"loss: {score.loss:.4f}")
    return 0
