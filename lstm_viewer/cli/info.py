"""``lstm-viewer info WEIGHTS``: describe a weights file or bundled model."""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.add_argument("weights", metavar="WEIGHTS",
                        help="a weights file (.pt, .safetensors, .keras, .h5, .onnx, .npz) or bundled model name")


def _card_value(value) -> str:
    """One readable line for a card entry (lists joined, dicts as key=value)."""
    if isinstance(value, (list, tuple, dict)) and not value:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return "; ".join(_card_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_card_value(v)}" for k, v in value.items())
    if isinstance(value, str):
        return " ".join(value.split())
    return json.dumps(value)


def card_lines(card: dict) -> list[str]:
    """The model card as ``  key: value`` lines (underscores read as spaces)."""
    return [f"  {str(key).replace('_', ' ')}: {_card_value(value)}" for key, value in card.items()]


def run(args) -> int:
    from ..formats import load

    model = load(args.weights)
    for line in model.summary():
        print(line)
    if model.card:
        print("card:")
        for line in card_lines(model.card):
            print(line)
    # Shown only when the file's names differ from ours (not for native files).
    if any(canonical != source for canonical, source in model.name_map.items()):
        print("tensors (canonical <- file):")
        for canonical, source in model.name_map.items():
            print(f"  {canonical} <- {source}")
    return 0
