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
    """Per-character features, each describing the state *after* that character.

    A small Python tokenizer: string literals (single, triple, escapes) and
    comments are tracked so brackets and quotes inside them do not count.
    """
    n = len(text)
    inside = np.zeros(n)
    depth_f, indent_f, col_f = np.zeros(n), np.zeros(n), np.zeros(n)
    quote = None
    comment = False
    depth = col = indent = 0
    leading = True
    i = 0
    while i < n:
        ch = text[i]
        width = 1
        if comment:
            comment = ch != "\n"
        elif quote is not None:
            if ch == "\\":
                width = 2  # the escaped character cannot close the literal
            elif text.startswith(quote, i):
                width = len(quote)
                quote = None
            elif ch == "\n" and len(quote) == 1:
                quote = None  # an unterminated one-line literal must not run on
        elif ch == "#":
            comment = True
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            width = len(quote)
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        for j in range(i, min(i + width, n)):
            if text[j] == "\n":
                col, indent, leading = 0, 0, True
            else:
                col += 1
                if leading and text[j] == " ":
                    indent += 1
                else:
                    leading = False
            inside[j] = quote is not None or (width > 1 and j < i + width - 1 and text[i] != "\\")
            depth_f[j], indent_f[j], col_f[j] = depth, indent, col
        i += width
    return {"inside a string literal": inside, "bracket depth": depth_f,
            "indentation of the line": indent_f, "position in the line": col_f}


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
