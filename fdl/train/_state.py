"""``TrainState``: a training run between two epochs."""

from typing import Any, NamedTuple

from fdl.train._history import History


class TrainState(NamedTuple):
    """What one epoch of ``fit`` consumes and produces, and what a checkpoint holds.

    Attributes:
      params, state, opt_state: the model's parameters and state, the optimizer's state.
      epoch: epochs completed.
      step: optimizer updates done.
      key: the run's key; ``init_key, train_key = split(key)`` and epoch ``e`` draws
        from ``fold_in(train_key, e)``, so ``(key, epoch)`` fixes the rest of the run.
      history: the run's ``History`` so far.
    """

    params: Any
    state: Any
    opt_state: Any
    epoch: int
    step: int
    key: Any
    history: History
