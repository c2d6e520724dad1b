"""``lstm-viewer models``: one line per bundled model."""

from __future__ import annotations


def add_arguments(parser) -> None:
    parser.set_defaults()


def model_lines() -> list[str]:
    """``name  task  size  test accuracy  description`` for each bundled file, the default first."""
    from ..formats import bundled_cards

    lines = []
    for name, card in bundled_cards():
        test = card.get("test") or {}
        acc = f"test accuracy {test['accuracy']:.4f}" if "accuracy" in test else "not evaluated"
        cell = "peephole LSTM" if card.get("peephole") else "LSTM"
        hidden = card.get("hidden_size", "?")
        label = f"{name} (default)" if name == "latch" else name
        what = " ".join(str(card.get("description", "")).split())
        lines.append(f"{label:<19} {cell} H={hidden:<3} {acc}  {what}")
    return lines


def run(args) -> int:
    lines = model_lines()
    if not lines:
        print("no bundled models")
    for line in lines:
        print(line)
    return 0
