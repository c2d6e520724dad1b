"""The tasks the bundled models learn, each with fixed-seed data.

Every task maps token ids to token ids over one shared vocabulary (so the
GUI can print both the input and the predicted token) and provides

* :meth:`Task.train_batch` — a random batch ``(ids, targets, weights)`` of
  shape (B, T) for training (weights 0 mark positions with no target);
* :meth:`Task.examples` — the fixed-seed evaluation set: a list of
  ``(ids, targets, scored)`` sequences, where ``scored`` marks the positions
  that accuracy and loss are measured on (see each task's ``scored_on``).
"""

from __future__ import annotations

import gzip
import string
from dataclasses import dataclass

import numpy as np

from ..paths import resource_path

#: Seeds of the evaluation sets; the training stream is seeded by ``train``'s seed.
SPLIT_SEEDS = {"test": 10_001, "train": 20_002}


@dataclass
class Task:
    """A sequence task with its default training budget.

    Attributes
    ----------
    name : str
    vocab : list of str
        Token strings by id, shared by inputs and targets.
    hidden_size, steps, batch_size : int
        Defaults used for the bundled model.
    lr : float
        Adam learning rate.
    peephole : bool
        Whether the bundled model uses the peephole cell.
    description, data, scored_on, look_at : str
        Model-card text.
    """

    name: str = ""
    vocab: tuple = ()
    hidden_size: int = 12
    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-2
    peephole: bool = False
    description: str = ""
    data: str = ""
    scored_on: str = ""
    look_at: str = ""

    def index(self, token: str) -> int:
        return self.vocab.index(token)

    def train_batch(self, rng: np.random.Generator, batch_size: int):
        """``(ids, targets, weights)``, each (B, T)."""
        rows = [self.sample(rng, self.train_length(rng)) for _ in range(batch_size)]
        return _stack(rows)

    def train_length(self, rng: np.random.Generator) -> int:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, length: int):
        """One sequence ``(ids, targets, scored)`` of ``length`` steps."""
        raise NotImplementedError

    def examples(self, split: str = "test") -> list:
        """The fixed evaluation set of ``split`` ("test" or "train").

        By default ``N_TEST`` sequences of ``LENGTH`` steps drawn by
        :meth:`sample` from the split's own seed.
        """
        rng = np.random.default_rng(SPLIT_SEEDS[split])
        return [self.sample(rng, self.LENGTH) for _ in range(self.N_TEST)]

    def targets(self, ids) -> tuple[np.ndarray, np.ndarray]:
        """``(targets, scored)`` for any input ``ids``, by the rule that :meth:`sample` follows.

        Lets a viewer score a sequence the user typed, not only generated ones.
        """
        raise NotImplementedError


def _stack(rows):
    T = min(len(r[0]) for r in rows)
    ids = np.stack([r[0][:T] for r in rows])
    targets = np.stack([r[1][:T] for r in rows])
    weights = np.stack([r[2][:T] for r in rows]).astype(np.float64)
    return ids, targets, weights


class LatchTask(Task):
    """Store the symbol after ``>``; say it back at every ``?``.

    The input is a stream of distractor letters a–h. ``>`` means "store the
    next letter"; at each ``?`` the target is the letter stored last (a later
    ``>`` overwrites it). Everywhere else the target is ``.``. Every letter is
    also a distractor, so the cell must write only at the letter after ``>``:
    the update gate has to discriminate by context, not by symbol.
    """

    LETTERS = "abcdefgh"
    TRAIN_LENGTH = (30, 80)
    # Store rate drawn per sequence so some training gaps are long; recall rate.
    TRAIN_RATES = ((0.03, 0.12), 0.12)
    TEST_RATES = (0.03, 0.06)
    TEST_LENGTH = 200
    N_TEST = 400

    def __init__(self):
        super().__init__(
            name="latch",
            vocab=tuple(".") + tuple(self.LETTERS) + (">", "?"),
            hidden_size=16, steps=3000, batch_size=64, lr=2e-2,
            description=("latch memory: a stream of distractor letters a-h; '>' means "
                         "'store the next letter', '?' asks for the letter stored last "
                         "(target '.' elsewhere)"),
            data=(f"generated: training sequences of {self.TRAIN_LENGTH[0]}-{self.TRAIN_LENGTH[1]} "
                  f"steps (store rate drawn per sequence from {self.TRAIN_RATES[0][0]}-"
                  f"{self.TRAIN_RATES[0][1]}, recall rate {self.TRAIN_RATES[1]}); test set "
                  f"{self.N_TEST} sequences of {self.TEST_LENGTH} steps (store rate "
                  f"{self.TEST_RATES[0]}, recall rate {self.TEST_RATES[1]}, so gaps run far longer "
                  f"than any in training), seed {SPLIT_SEEDS['test']}"),
            scored_on="the '?' (recall) positions only: accuracy = fraction of recalls answered "
                      "with the stored letter (argmax of y-hat); loss = mean cross-entropy there",
            look_at=("compare Γ_u and Γ_f at the letter right after '>' with their values at "
                     "distractor letters, and follow c across the gap to the next '?', where the "
                     "output gate lets the stored letter out"),
        )

    def train_length(self, rng):
        return self.TRAIN_LENGTH[1]

    def sample(self, rng, length, p_store=0.08, p_recall=0.08):
        dot, store, recall = self.index("."), self.index(">"), self.index("?")
        ids = np.empty(length, np.int64)
        targets = np.full(length, dot, np.int64)
        scored = np.zeros(length, bool)
        # The first store comes early so every recall has an answer.
        t0 = int(rng.integers(0, 4))
        ids[:t0] = rng.integers(1, 1 + len(self.LETTERS), t0)
        t, held = t0, None
        while t < length:
            r = rng.random()
            if (held is None or r < p_store) and t + 1 < length:
                held = int(rng.integers(1, 1 + len(self.LETTERS)))
                ids[t], ids[t + 1] = store, held
                t += 2
                continue
            if held is not None and r < p_store + p_recall:
                ids[t] = recall
                targets[t] = held
                scored[t] = True
            else:
                ids[t] = rng.integers(1, 1 + len(self.LETTERS))
            t += 1
        return ids, targets, scored

    def targets(self, ids):
        ids = np.asarray(ids, np.int64)
        store, recall = self.index(">"), self.index("?")
        targets = np.full(len(ids), self.index("."), np.int64)
        scored = np.zeros(len(ids), bool)
        held = None
        for t, tok in enumerate(ids):
            if tok == recall and held is not None:
                targets[t], scored[t] = held, True
            elif t > 0 and ids[t - 1] == store and tok not in (store, recall):
                held = int(tok)
        return targets, scored

    def _train_sample(self, rng):
        (lo, hi), p_recall = self.TRAIN_RATES
        return self.sample(rng, self.TRAIN_LENGTH[1], rng.uniform(lo, hi), p_recall)

    def train_batch(self, rng, batch_size):
        rows = []
        for _ in range(batch_size):
            ids, targets, scored = self._train_sample(rng)
            # Random shorter lengths within the batch are padded by weight 0.
            n = int(rng.integers(self.TRAIN_LENGTH[0], self.TRAIN_LENGTH[1] + 1))
            w = np.ones(len(ids))
            w[n:] = 0.0
            w[scored] = 4.0 * (w[scored] > 0)  # recalls are what matters
            rows.append((ids, targets, w))
        return _stack(rows)

    def examples(self, split="test"):
        rng = np.random.default_rng(SPLIT_SEEDS[split])
        if split == "train":
            return [self._train_sample(rng) for _ in range(self.N_TEST)]
        return [self.sample(rng, self.TEST_LENGTH, *self.TEST_RATES)
                for _ in range(self.N_TEST)]


class CountingTask(Task):
    """Bracket depth: after each character, say how deeply nested we are.

    Input ``(``, ``)`` and the filler ``x``; the target at every position is
    the depth after that character as a digit ``0``–``6``. The model has to
    keep an integer counter in c: up on ``(``, down on ``)``, unchanged on
    ``x``.
    """

    MAX_DEPTH = 6
    LENGTH = 48
    N_TEST = 400

    def __init__(self):
        super().__init__(
            name="counting",
            vocab=("x", "(", ")") + tuple(str(d) for d in range(self.MAX_DEPTH + 1)),
            hidden_size=10, steps=2500, batch_size=32, lr=1e-2,
            description=("bracket counting: input '(' ')' and filler 'x'; the target after "
                         f"every character is the nesting depth 0-{self.MAX_DEPTH}"),
            data=(f"generated: balanced-prefix bracket walks of {self.LENGTH} steps, depth kept in "
                  f"0..{self.MAX_DEPTH}, filler rate 0.2; test set {self.N_TEST} held-out sequences, "
                  f"seed {SPLIT_SEEDS['test']}"),
            scored_on="every position: accuracy = fraction of steps whose argmax is the true depth; "
                      "loss = mean cross-entropy per step",
            look_at=("watch for a counter: a unit whose c steps one way at '(' and back at ')' "
                     "and holds still on 'x', with Γ_u open on brackets and the candidate's sign "
                     "giving the direction"),
        )

    def train_length(self, rng):
        return self.LENGTH

    def sample(self, rng, length):
        x, op, cl = self.index("x"), self.index("("), self.index(")")
        ids = np.empty(length, np.int64)
        targets = np.empty(length, np.int64)
        depth = 0
        for t in range(length):
            r = rng.random()
            if r < 0.2:
                ids[t] = x
            elif depth == 0 or (depth < self.MAX_DEPTH and r < 0.6):
                ids[t] = op
                depth += 1
            else:
                ids[t] = cl
                depth -= 1
            targets[t] = self.index(str(depth))
        return ids, targets, np.ones(length, bool)

    def targets(self, ids):
        ids = np.asarray(ids, np.int64)
        steps = (ids == self.index("(")).astype(np.int64) - (ids == self.index(")"))
        depth = np.cumsum(steps)
        scored = (depth >= 0) & (depth <= self.MAX_DEPTH)
        digits = self.index("0") + np.clip(depth, 0, self.MAX_DEPTH)
        return digits.astype(np.int64), scored


class TimingTask(Task):
    """Emit ``!`` every k steps after the last start signal ``S``.

    Gers & Schmidhuber (2000) showed that peephole connections let a cell
    time intervals from its own state; here the period is ``K`` and an ``S``
    at a random moment restarts the count. Targets are ``.`` except on the
    beat.
    """

    K = 6
    RESTART = 0.08
    LENGTH = 60
    N_TEST = 300

    def __init__(self):
        super().__init__(
            name="peephole",
            vocab=(".", "S", "!"),
            hidden_size=16, steps=4000, batch_size=32, lr=1e-2, peephole=True,
            description=(f"timing (Gers & Schmidhuber 2000): after a start signal 'S', emit '!' every "
                         f"{self.K} steps until the next 'S' restarts the count; '.' otherwise"),
            data=(f"generated: {self.LENGTH}-step sequences of '.', first 'S' in steps 0-5, a new 'S' "
                  f"at rate {self.RESTART}; test set {self.N_TEST} held-out sequences, seed {SPLIT_SEEDS['test']}"),
            scored_on="every position after the first 'S': accuracy = fraction of those steps "
                      "predicted right ('!' on the beat, '.' off it); loss = mean cross-entropy there",
            look_at=("the peephole cell: watch c after each 'S' and the peephole terms p⊙c that "
                     f"feed c into the gates, and the output on every {self.K}th step"),
        )

    def train_length(self, rng):
        return self.LENGTH

    def sample(self, rng, length):
        dot, start, mark = self.index("."), self.index("S"), self.index("!")
        ids = np.full(length, dot, np.int64)
        targets = np.full(length, dot, np.int64)
        scored = np.zeros(length, bool)
        first = int(rng.integers(0, 6))
        last = None
        for t in range(length):
            if t == first or (last is not None and rng.random() < self.RESTART):
                ids[t] = start
                last = t
            if last is not None:
                scored[t] = True
                if t > last and (t - last) % self.K == 0:
                    targets[t] = mark
        return ids, targets, scored

    def targets(self, ids):
        ids = np.asarray(ids, np.int64)
        targets = np.full(len(ids), self.index("."), np.int64)
        scored = np.zeros(len(ids), bool)
        last = None
        for t, tok in enumerate(ids):
            if tok == self.index("S"):
                last = t
            if last is not None:
                scored[t] = True
                if t > last and (t - last) % self.K == 0:
                    targets[t] = self.index("!")
        return targets, scored

    def train_batch(self, rng, batch_size):
        rows = []
        for _ in range(batch_size):
            ids, targets, scored = self.sample(rng, self.LENGTH)
            rows.append((ids, targets, scored.astype(float)))
        return _stack(rows)


# Files of the Python standard library (3.11) in the shipped corpus. The
# held-out files are never seen in training.
CORPUS_TRAIN_FILES = (
    "argparse.py", "bisect.py", "calendar.py", "configparser.py", "csv.py", "difflib.py",
    "fnmatch.py", "fractions.py", "glob.py", "heapq.py", "sched.py", "shlex.py",
    "statistics.py", "string.py", "textwrap.py",
)
CORPUS_TEST_FILES = ("copy.py", "pprint.py", "queue.py")
CORPUS_FILE = "charlm-corpus.txt.gz"
#: Characters the character model knows: printable ASCII and newline.
CHARS = tuple("\n" + "".join(ch for ch in string.printable if ch not in "\t\n\r\x0b\x0c"))
_SEPARATOR = "\n\x00FILE "


def build_corpus(path=None) -> str:
    """Write the corpus file from this interpreter's standard library.

    Run once by a developer (``python -m lstm_viewer.training corpus``); the
    result ships in ``resources/models`` so that training and evaluation read
    the same text on every machine and Python version.
    """
    import sysconfig
    from pathlib import Path

    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts = []
    for name in CORPUS_TRAIN_FILES + CORPUS_TEST_FILES:
        parts.append(f"{_SEPARATOR}{name}\n" + (stdlib / name).read_text(encoding="utf-8"))
    path = Path(path) if path else resource_path("models", CORPUS_FILE)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        # mtime=0 in the header keeps the file byte-identical across rebuilds.
        fh.write("".join(parts).encode("utf-8"))
    # The PSF licence asks for its notice to travel with the text.
    licence = path.with_name(CORPUS_FILE.replace(".txt.gz", "-LICENSE.txt"))
    licence.write_text((stdlib / "LICENSE.txt").read_text(encoding="utf-8"), encoding="utf-8")
    return str(path)


def read_corpus() -> dict[str, str]:
    """File name → text of the shipped corpus."""
    with gzip.open(resource_path("models", CORPUS_FILE), "rt", encoding="utf-8") as fh:
        raw = fh.read()
    files = {}
    for chunk in raw.split(_SEPARATOR)[1:]:
        name, _, text = chunk.partition("\n")
        files[name] = text
    return files


class CharLMTask(Task):
    """Next-character prediction on Python source from the standard library."""

    CHUNK = 100
    TEST_CHUNK = 200
    N_TEST = 150

    def __init__(self):
        super().__init__(
            name="charlm",
            vocab=CHARS,
            hidden_size=96, steps=2600, batch_size=32, lr=6e-3,
            description="character language model: predict the next character of Python source",
            data=("Python 3.11 standard library source shipped in resources/models/"
                  f"{CORPUS_FILE} (PSF licence): training files {', '.join(CORPUS_TRAIN_FILES)}; "
                  f"held-out test files {', '.join(CORPUS_TEST_FILES)}; characters outside "
                  f"printable ASCII dropped; training on random {self.CHUNK}-character windows "
                  f"from a zero state; test = the first {self.N_TEST} consecutive "
                  f"{self.TEST_CHUNK}-character windows of the held-out text, each from a zero state"),
            scored_on="every position: accuracy = fraction of next characters that are the argmax; "
                      "loss = mean cross-entropy in nats per character",
            look_at="type Python code and watch the top-5 next characters",
        )
        self._ids = {}

    def _encoded(self, split):
        if split not in self._ids:
            files = read_corpus()
            names = CORPUS_TRAIN_FILES if split == "train" else CORPUS_TEST_FILES
            lookup = {ch: i for i, ch in enumerate(self.vocab)}
            text = "".join(files[n] for n in names)
            self._ids[split] = np.array([lookup[ch] for ch in text if ch in lookup], np.int64)
        return self._ids[split]

    def train_batch(self, rng, batch_size):
        data = self._encoded("train")
        starts = rng.integers(0, len(data) - self.CHUNK - 1, batch_size)
        windows = np.stack([data[s:s + self.CHUNK + 1] for s in starts])
        return windows[:, :-1], windows[:, 1:], np.ones((batch_size, self.CHUNK))

    def examples(self, split="test"):
        data = self._encoded(split)
        out = []
        for k in range(self.N_TEST):
            w = data[k * self.TEST_CHUNK:(k + 1) * self.TEST_CHUNK + 1]
            out.append((w[:-1], w[1:], np.ones(len(w) - 1, bool)))
        return out

    def targets(self, ids):
        ids = np.asarray(ids, np.int64)
        scored = np.ones(len(ids), bool)
        scored[-1:] = False  # the character after the last one is unknown
        return np.append(ids[1:], 0).astype(np.int64), scored


TASKS = {"latch": LatchTask, "counting": CountingTask, "peephole": TimingTask, "charlm": CharLMTask}


def get_task(name) -> Task:
    """The task called ``name`` (a :class:`Task` is returned as is)."""
    if isinstance(name, Task):
        return name
    if name not in TASKS:
        raise KeyError(f"unknown task '{name}'; known: {', '.join(TASKS)}")
    return TASKS[name]()
