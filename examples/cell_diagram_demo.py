"""The cell diagram on its own, stepping a small random LSTM through a text.

Run ``python examples/cell_diagram_demo.py`` for a window that steps every
second; ``--screenshot PATH`` saves an image after a few steps and exits;
``--hidden 1024`` tries a large cell, ``--peepholes`` adds peephole weights,
``--dark`` the dark theme, ``--size WxH`` the window size.

The values are those of a real (random-weight) LSTM computed here with
NumPy, so every node is consistent with the equations the diagram draws.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from lstm_viewer.gui.diagram.canvas import CellDiagram

TEXT = "hello world, the cell state carries what the gates let through. "


def sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5


class RandomLSTM:
    """A one-layer LSTM with a softmax head over characters, random weights."""

    def __init__(self, vocab: list[str], hidden: int, peepholes: bool, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        n_x, H = len(vocab), hidden
        scale = 1.5 / np.sqrt(n_x + H)
        self.W = {g: rng.normal(0, scale * 2, (H, H + n_x)) for g in ("f", "u", "c", "o")}
        self.b = {g: rng.normal(0, 0.5, H) for g in ("f", "u", "c", "o")}
        self.b["f"] += 1.0
        self.p = {g: rng.normal(0, 0.5, H) for g in ("f", "u", "o")} if peepholes else None
        self.W_y = rng.normal(0, 3 / np.sqrt(H), (n_x, H))
        self.b_y = rng.normal(0, 0.3, n_x)
        self.a = np.zeros(H)
        self.c = np.zeros(H)

    def step(self, token: str):
        x = np.zeros(len(self.vocab))
        x[self.vocab.index(token)] = 1.0
        a_prev, c_prev = self.a, self.c
        concat = np.concatenate([a_prev, x])
        z = {g: self.W[g] @ concat + self.b[g] for g in self.W}
        peep = None
        if self.p is not None:
            peep = {"forget": self.p["f"] * c_prev, "update": self.p["u"] * c_prev}
            z["f"] = z["f"] + peep["forget"]
            z["u"] = z["u"] + peep["update"]
        f, u, cand = sigmoid(z["f"]), sigmoid(z["u"]), np.tanh(z["c"])
        c = f * c_prev + u * cand
        if self.p is not None:
            peep["output"] = self.p["o"] * c
            z["o"] = z["o"] + peep["output"]
        o = sigmoid(z["o"])
        tanh_c = np.tanh(c)
        a = o * tanh_c
        logits = self.W_y @ a + self.b_y
        y = np.exp(logits - logits.max())
        y /= y.sum()
        self.a, self.c = a, c
        values = dict(x=x, concat=concat, forget=f, update=u, candidate=cand, output=o,
                      write=u * cand, keep=f * c_prev, c_prev=c_prev, c=c, tanh_c=tanh_c,
                      a_prev=a_prev, a=a)
        return values, y, peep


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=24)
    parser.add_argument("--peepholes", action="store_true")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--no-head", action="store_true")
    parser.add_argument("--size", default="1280x800")
    parser.add_argument("--screenshot", metavar="PATH")
    parser.add_argument("--steps", type=int, default=7, help="steps before the screenshot")
    parser.add_argument("--clamp", action="store_true", help="show the update gate clamped")
    parser.add_argument("--at", type=float, metavar="FRACTION",
                        help="screenshot the last step's animation at this fraction (0..1)")
    args = parser.parse_args(argv)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    vocab = sorted(set(TEXT))
    model = RandomLSTM(vocab, args.hidden, args.peepholes)
    diagram = CellDiagram()
    diagram.setWindowTitle("lstm-viewer: cell diagram demo")
    diagram.set_structure(input_size=len(vocab), hidden_size=args.hidden,
                          has_peepholes=args.peepholes, has_head=not args.no_head,
                          output_size=None if args.no_head else len(vocab),
                          vocab=None if args.no_head else vocab)
    diagram.set_dark(args.dark)
    diagram.unitClicked.connect(diagram.highlight_unit)
    if args.clamp:
        diagram.set_clamped({"update": "Γ_u := 1"})
    w, h = (int(v) for v in args.size.lower().split("x"))
    diagram.resize(w, h)
    diagram.show()
    position = [0]

    def advance(animate: bool = True):
        token = TEXT[position[0] % len(TEXT)]
        position[0] += 1
        values, y, peep = model.step(token)
        diagram.show_step(values, token_text=token, y_hat=None if args.no_head else y,
                          peephole=peep, animate=animate)

    if args.screenshot:
        for _ in range(args.steps):
            advance(animate=False)
        if args.at is not None:
            # Freeze the next step's animation part-way, to see it travel.
            diagram.set_animation_duration(1000)
            advance(animate=True)
            diagram.animation.pause()
            diagram.animation.setCurrentTime(int(1000 * args.at))
        diagram.highlight_unit(int(diagram.shown_units("a")[2]))
        app.processEvents()
        ok = diagram.grab_image().save(args.screenshot)
        print(f"saved {args.screenshot}" if ok else f"could not save {args.screenshot}")
        diagram.close()
        return 0 if ok else 1
    timer = QTimer()
    timer.timeout.connect(advance)
    timer.start(1000)
    advance()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
