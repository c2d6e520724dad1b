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


def latch_gates(model, task, margin: float = 0.3) -> dict:
    """Evidence for the latch card: where the update gate opens and the forget gate resets.

    Averages over the test set, per unit, of Γ_u and Γ_f at the stored
    letter (the letter right after ``>``) and at distractor letters. A unit
    is listed as a *writer* when its Γ_u is at least ``margin`` higher at the
    stored letter, as an *eraser* when its Γ_f is at least ``margin`` lower.
    """
    store = task.index(">")
    letters = [task.index(ch) for ch in task.LETTERS]
    sums = {k: [] for k in ("u_store", "u_dist", "f_store", "f_dist")}
    for ids, _, _ in task.examples("test"):
        d = run(model, ids, interventions=(model.card or {}).get("interventions", [])).layers[0][0]
        after_store = np.zeros(len(ids), bool)
        after_store[1:] = ids[:-1] == store
        stored = after_store & np.isin(ids, letters)
        distractor = ~after_store & np.isin(ids, letters)
        sums["u_store"].append(d.update[stored])
        sums["u_dist"].append(d.update[distractor])
        sums["f_store"].append(d.forget[stored])
        sums["f_dist"].append(d.forget[distractor])
    mean = {k: np.concatenate(v).astype(np.float64).mean(axis=0) for k, v in sums.items()}
    table = {}
    for u in range(len(mean["u_store"])):
        writer = mean["u_store"][u] - mean["u_dist"][u] >= margin
        eraser = mean["f_dist"][u] - mean["f_store"][u] >= margin
        if writer or eraser:
            table[str(u)] = {k: round(float(v[u]), 2) for k, v in mean.items()}
    return {"writers": [int(u) for u in table if mean["u_store"][int(u)] - mean["u_dist"][int(u)] >= margin],
            "erasers": [int(u) for u in table if mean["f_dist"][int(u)] - mean["f_store"][int(u)] >= margin],
            "units": table}


def counter_unit(model, task) -> dict:
    """The unit whose c follows the bracket depth best on the test set, with its r."""
    cs, depths = [], []
    for ids, targets, _ in task.examples("test"):
        d = run(model, ids, interventions=(model.card or {}).get("interventions", [])).layers[0][0]
        cs.append(d.c.astype(np.float64))
        depths.append(np.array([int(task.vocab[t]) for t in targets], float))
    c, depth = np.concatenate(cs), np.concatenate(depths)
    rs = np.array([_corr(c[:, u], depth) for u in range(c.shape[1])])
    best = int(np.argmax(np.abs(rs)))
    return {"unit": best, "r": round(float(rs[best]), 3)}
