"""The shape every optimizer shares: ``Optimizer(init, update)``, and the plumbing around it.

An optimizer is a pair of pure functions::

    state = init(params)
    params, state = update(params, grads, state)

``params`` and ``grads`` are pytrees of the same structure (dicts, tuples, lists of
arrays); ``state`` is a NamedTuple named with the symbols of the update rule
(``AdamState(step, m, v, lr)``). The step count is an ``int32`` array, never a Python
int, so ``jax.jit(update)`` compiles once and never retraces.

This module also holds what every rule needs and none should repeat: turning a float or
a schedule into a schedule, checking hyperparameters at construction, checking that a
``grads`` tree matches its ``params`` tree, and lifting a rule written for one array over
a whole tree.
"""

import numbers
from typing import Any, Callable, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks

PyTree = Any
Schedule = Callable[[jax.Array], jax.Array]


class InitFn(Protocol):
    def __call__(self, params: PyTree) -> NamedTuple:
        """Returns the optimizer state for ``params`` (moments at zero, step 0)."""


class UpdateFn(Protocol):
    def __call__(
        self, params: PyTree, grads: PyTree, state: NamedTuple
    ) -> tuple[PyTree, NamedTuple]:
        """Returns ``(new_params, new_state)`` after one step on ``grads``."""


class Optimizer(NamedTuple):
    """A gradient-based optimizer as two pure functions.

    Attributes:
      init: ``init(params) -> state``.
      update: ``update(params, grads, state) -> (new_params, new_state)``; ``grads``
        must have the tree structure and leaf shapes of ``params``. New parameters keep
        each leaf's dtype, as strongly typed arrays: a weakly typed leaf (a Python float,
        ``jnp.asarray(0.5)``) comes back strongly typed, so a jitted ``update`` traces
        once more on the second step. Give parameters an explicit dtype to avoid that.
    """

    init: InitFn
    update: UpdateFn


def default_float():
    """float32, or float64 when ``jax_enable_x64`` is on: the dtype schedules compute in."""
    return jnp.result_type(float)


# ---------------------------------------------------------------- hyperparameters


def real_in_range(value, name, **bounds):
    """A real number within ``bounds`` (see ``fdl._checks.real_scalar``) as a Python float.

    Returning a Python float (a weakly typed scalar in JAX) keeps a hyperparameter from
    changing the dtype of the arrays it multiplies. Tracers pass through unchecked.
    """
    value = _checks.real_scalar(value, name, **bounds)
    return value if isinstance(value, jax.core.Tracer) else float(value)


def positive_float(value, name):
    """A real number > 0 (a Python float lr, a max norm)."""
    return real_in_range(value, name, low=0.0, low_open=True)


def nonnegative_float(value, name):
    """A real number >= 0 (``eps``, ``weight_decay``, a decay constant ``k``)."""
    return real_in_range(value, name, low=0.0)


def unit_interval(value, name):
    """A real number in ``[0, 1)``: a decay or momentum coefficient (``mu``, ``beta1``)."""
    return real_in_range(value, name, low=0.0, high=1.0, high_open=True)


def positive_int(value, name, *, allow_zero=False):
    """A Python/NumPy integer >= 1 (>= 0 with ``allow_zero``); bools are rejected."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    low = 0 if allow_zero else 1
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def make_schedule(lr, name="lr"):
    """Normalises a learning rate given as a float or a schedule into a schedule.

    A float ``lr`` must be > 0 and becomes the constant schedule ``step -> lr``. A
    callable is taken to be a schedule ``step -> lr``, where ``step`` is an ``int32``
    array counting the updates already done (0 for the first update).

    Raises:
      ValueError: a float ``lr`` that is not > 0 and finite.
      TypeError: ``lr`` neither a real number nor a callable (a string, say).
    """
    if callable(lr):
        return lr
    lr = positive_float(lr, name)
    return lambda step: jnp.asarray(lr, dtype=default_float())


def lr_at(schedule, step):
    """The schedule's value at ``step`` as a scalar in the default float dtype."""
    lr = jnp.asarray(schedule(step))
    if lr.shape != ():
        raise ValueError(f"a schedule must return a scalar, got shape {lr.shape}")
    return lr.astype(default_float())


def logged_lr(lr):
    """The lr as stored in every state's ``lr`` field: a float32 scalar, for logging."""
    return jnp.asarray(lr).astype(jnp.float32)


def current_lr(state):
    """The learning rate used by the latest update (the lr at step 0 before any update).

    Args:
      state: any state returned by an ``fdl.optim`` optimizer's ``init`` or ``update``.
    Returns:
      float32 scalar array.
    Raises:
      TypeError: ``state`` has no ``lr`` field.

    Examples:
      >>> import jax.numpy as jnp
      >>> from fdl import optim
      >>> opt = optim.sgd(optim.inverse_time_decay(1.0, k=1.0))
      >>> state = opt.init(jnp.zeros(2))
      >>> _, state = opt.update(jnp.zeros(2), jnp.ones(2), state)
      >>> _, state = opt.update(jnp.zeros(2), jnp.ones(2), state)
      >>> float(optim.current_lr(state))  # second update used step 1: 1 / (1 + 1)
      0.5
    """
    if not hasattr(state, "lr"):
        raise TypeError(
            f"state must be an fdl.optim optimizer state with an 'lr' field, "
            f"got {type(state).__name__}"
        )
    return state.lr


def initial_step_and_lr(schedule):
    """The ``(step, lr)`` pair every ``init`` starts from: step 0, the lr at step 0."""
    step = jnp.zeros((), dtype=jnp.int32)
    return step, logged_lr(lr_at(schedule, step))


# ---------------------------------------------------------------- trees


def check_state(state, cls, rule):
    """A ``TypeError`` unless ``state`` is the state class of the optimizer ``rule``."""
    if not isinstance(state, cls):
        raise TypeError(
            f"state must be the {cls.__name__} made by {rule}'s init, "
            f"got {type(state).__name__}"
        )


def check_floating_params(params):
    """Every leaf of ``params`` must have a floating dtype (there is no step on an int)."""
    paths, _ = jax.tree_util.tree_flatten_with_path(params)
    for path, leaf in paths:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.inexact):
            where = jax.tree_util.keystr(path) or "<root>"
            raise TypeError(
                f"params leaf {where} must have a floating dtype, got {dtype}"
            )


def check_same_tree(params, other, other_name="grads"):
    """Raises a ``ValueError`` naming both structures unless ``other`` matches ``params``.

    The trees must have the same structure and, leaf by leaf, the same shape. This is
    checked at trace time, so a mismatch never reaches XLA as a broadcasting error.
    """
    params_def = jax.tree.structure(params)
    other_def = jax.tree.structure(other)
    if params_def != other_def:
        raise ValueError(
            f"{other_name} must have the tree structure of params; "
            f"params: {params_def}, {other_name}: {other_def}"
        )
    paths, _ = jax.tree_util.tree_flatten_with_path(params)
    for (path, p), o in zip(paths, jax.tree.leaves(other)):
        if jnp.shape(p) != jnp.shape(o):
            where = jax.tree_util.keystr(path) or "<root>"
            raise ValueError(
                f"{other_name} leaf {where} must have the shape of the params leaf, "
                f"params: {jnp.shape(p)}, {other_name}: {jnp.shape(o)}"
            )


def compute_dtype(dtype):
    """The dtype a rule computes and keeps its state in: the parameter's, at least float32.

    Half-precision types cannot hold the rules' small quantities: in bfloat16,
    ``0.999`` rounds to 1, so Adam's bias correction ``1 - beta2**t`` would be 0.
    float32 and float64 parameters are computed in their own dtype, so a float64 model
    is not rounded through float32 (the float64 reference tests rely on that).
    """
    dtype = jnp.dtype(dtype)
    return dtype if jnp.finfo(dtype).bits >= 32 else jnp.dtype(jnp.float32)


def zeros_like_tree(params):
    """A tree of zeros shaped like ``params``, in each leaf's compute dtype (a moment)."""
    return jax.tree.map(
        lambda x: jnp.zeros(jnp.shape(x), compute_dtype(jnp.result_type(x))), params
    )


def apply_rule(rule, x, *arrays):
    """Runs a rule written for one array in the compute dtype of ``x``.

    ``rule(x, *arrays)`` returns the new ``x`` and the new state arrays. ``x`` and
    every array (gradient, state, lr, step) are cast to the compute dtype first; the new
    ``x`` is cast back to the parameter's dtype, the state stays in the compute dtype.
    Gradients in another dtype than the parameters (mixed precision) are accepted.
    """
    x = jnp.asarray(x)
    dtype = compute_dtype(x.dtype)
    new_x, *state = rule(x.astype(dtype), *(jnp.asarray(a).astype(dtype) for a in arrays))
    return (new_x.astype(x.dtype), *state)


def lift(leaf_rule, num_outputs, params, *trees):
    """Applies a rule written for one array to every leaf, and splits its outputs.

    ``leaf_rule(x, *others)`` returns a tuple of ``num_outputs`` arrays (the new
    parameter and the new state arrays), one leaf of each tree at a time; ``lift``
    returns a tuple of ``num_outputs`` trees, each with the structure of ``params``.
    """
    per_leaf = jax.tree.map(leaf_rule, params, *trees)
    return jax.tree.transpose(
        jax.tree.structure(params), jax.tree.structure((0,) * num_outputs), per_leaf
    )
