"""Look for interpretable units in the character model (Karpathy et al. 2015).

For each unit, the Pearson correlation of its cell state c with simple
features of Python source on the held-out text: inside a string literal,
bracket depth, indentation of the current line, and position in the line.
"""

from __future__ import annotations

import numpy as np

from ..engine.trace import run

#: A unit is named in the card only when |r| reaches this on held-out text.
THRESHOLD = 0.5


def text_features(text: str) -> dict[str, np.ndarray]:
    """Per-character features, each describing the state *after* that character."""
    n = len(text)
    feats = {name: np.zeros(n) for name in
             ("inside a string literal", "bracket depth", "indentation of the line",
              "position in the line")}
    quote = None
    depth = 0
    col = 0
    indent = 0
    leading = True
    i = 0
    while i < n:
        ch = text[i]
        if quote is None:
            if ch in "\"'":
                triple = text[i:i + 3] == ch * 3
                quote = ch * 3 if triple else ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(0, depth - 1)
        elif text.startswith(quote, i - len(quote) + 1) and (i - len(quote) + 1) > 0 and ch == quote[-1]:
            # A closing quote: the character ends the literal (escapes ignored).
            if len(quote) == 1 or text[i - 2:i + 1] == quote:
                quote = None
        if ch == "\n":
            col, indent, leading = 0, 0, True
            if quote is not None and len(quote) == 1:
                quote = None  # an unterminated one-line string; do not drift
        else:
            col += 1
            if leading and ch == " ":
                indent += 1
            else:
                leading = False
        feats["inside a string literal"][i] = quote is not None
        feats["bracket depth"][i] = depth
        feats["indentation of the line"][i] = indent
        feats["position in the line"][i] = col
        i += 1
    return feats


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def find_units(model, task, threshold: float = THRESHOLD) -> list[dict]:
    """Units whose c correlates with a feature at |r| ≥ ``threshold``, best first.

    The held-out text is run as one sequence from a zero state so features
    that span many lines (string literals, nesting) are visible.
    """
    ids = np.concatenate([ex[0] for ex in task.examples("test")])
    text = "".join(task.vocab[i] for i in ids)
    c = run(model, ids).layers[0][0].c.astype(np.float64)
    found = []
    for name, feature in text_features(text).items():
        rs = np.array([_corr(c[:, u], feature) for u in range(c.shape[1])])
        best = int(np.argmax(np.abs(rs)))
        if abs(rs[best]) >= threshold:
            found.append({"unit": best, "feature": name, "r": round(float(rs[best]), 3),
                          "characters": int(len(text))})
    return sorted(found, key=lambda d: -abs(d["r"]))
