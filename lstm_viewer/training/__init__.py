"""Train small LSTMs from scratch in NumPy: the bundled models and the variant lab.

Imports NumPy only (never Qt, never torch), so it runs headless, in a worker
thread of the GUI and in tests.

Entry point
-----------
::

    from lstm_viewer.training import train, get_task, evaluate

    model, history = train("latch", hidden_size=12, variant="standard",
                           peephole=False, seed=0, steps=1500,
                           callback=lambda step, train_loss, **info: True)

``train(task, hidden_size=None, variant="standard", peephole=None, seed=0,
steps=None, batch_size=None, lr=None, clip=1.0, callback=None,
callback_every=25, dtype=float32) -> (LSTMModel, history)``

task : str or Task
    ``"latch"``, ``"counting"``, ``"peephole"`` (timing) or ``"charlm"``, or a
    :class:`~lstm_viewer.training.tasks.Task` object. ``None`` arguments take
    the task's defaults (the budgets the bundled models were trained with).
variant : {"standard", "nig", "nfg", "nog", "cifg"}
    Gate variant of Greff et al. 2017: ``nig`` Γ_u := 1, ``nfg`` Γ_f := 1,
    ``nog`` Γ_o := 1, ``cifg`` Γ_u := 1 − Γ_f. The returned model records it
    in ``model.card["variant"]`` and the engine intervention specs that
    reproduce it in ``model.card["interventions"]`` (``update=1``,
    ``forget=1``, ``output=1``, ``coupled``); run it with
    ``engine.run(model, ids, interventions=model.card["interventions"])``.
    The rows of a removed gate are zeroed.
peephole : bool, optional
    Train the peephole cell (diagonal p_u, p_f on c⟨t−1⟩, p_o on c⟨t⟩);
    ``None`` takes the task's default (True only for ``"peephole"``).
callback : callable, optional
    ``callback(step, train_loss, **info)`` every ``callback_every`` steps and
    after the last one; ``info`` holds ``steps`` (the budget), ``elapsed``
    (seconds) and ``grad_norm``. Returning ``False`` stops training (the
    model so far is returned, ``history["stopped"]`` is True).
history : dict
    ``step`` and ``loss`` lists (one entry per callback point), ``stopped``,
    ``seconds``.

:func:`evaluate(model, task=None, interventions=(), split="test")` runs the
engine on the task's fixed-seed test set (the task is read from
``model.card["task"]`` when not given) and returns accuracy and loss over the
scored positions. ``python -m lstm_viewer.training all`` (or ``latch``,
``counting``, ``peephole``, ``charlm``) retrains the bundled models.

Modules: :mod:`.network` (batched forward/backward, Adam with clipping),
:mod:`.tasks` (data), :mod:`.trainer` (the loop), :mod:`.evaluation`
(engine-run scores), :mod:`.interpret` (unit evidence for the cards),
:mod:`.bundled` (the retraining command). Training runs OpenBLAS on one
thread (:mod:`.blas`, via threadpoolctl): on a busy 2-core machine that is ~15x faster for
these small products.
"""

from .evaluation import Score, UnknownTaskError, evaluate
from .network import VARIANTS
from .tasks import TASKS, Task, get_task
from .trainer import train

__all__ = ["TASKS", "VARIANTS", "Score", "Task", "UnknownTaskError", "evaluate", "get_task", "train"]
