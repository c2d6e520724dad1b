"""``lstm-viewer models``: one line per bundled model."""

from __future__ import annotations

import json


def add_arguments(parser) -> None:
    parser.set_defaults()


def model_lines() -> list[str]:
    """``name  task  size  test accuracy  description`` for each bundled file, the default first."""
    from safetensors import safe_open

    from ..paths import resources_dir

    files = sorted((resources_dir() / "models").glob("*.safetensors"),
                   key=lambda p: (p.stem != "latch", p.stem))
    lines = []
    for path in files:
        # Only the header is read: listing must stay instant however big the files are.
        with safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
        try:
            card = json.loads(meta.get("card") or "{}")
        except json.JSONDecodeError:
            card = {}
        test = card.get("test") or {}
        acc = f"test accuracy {test['accuracy']:.4f}" if "accuracy" in test else "not evaluated"
        cell = "peephole LSTM" if card.get("peephole") else "LSTM"
        hidden = card.get("hidden_size", "?")
        label = f"{path.stem} (default)" if path.stem == "latch" else path.stem
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
