"""Per-parameter adaptive learning rates: ``adagrad``, ``rmsprop``, ``adam``, ``adamw``.

Each scales the step of every coordinate by a running measure of its squared gradients,
so steep directions take small steps and flat ones large steps. The rules are written for
one array in the notes' own lines (``cache``, ``m``, ``v``), with ``eps`` added *outside*
the square root as the notes write it, and lifted over the parameter tree.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from fdl._config import configured
from fdl.optim import _base, _weight_decay


class AdagradState(NamedTuple):
    """State of ``adagrad``.

    Attributes:
      step: int32 scalar, the number of updates done.
      cache: the running sum of squared gradients, a tree like ``params``.
      lr: float32 scalar, the learning rate of the latest update (at init: step 0's).
    """

    step: jax.Array
    cache: _base.PyTree
    lr: jax.Array


class RmspropState(NamedTuple):
    """State of ``rmsprop``.

    Attributes:
      step: int32 scalar, the number of updates done.
      cache: the leaky (exponential moving) average of squared gradients.
      lr: float32 scalar, the learning rate of the latest update (at init: step 0's).
    """

    step: jax.Array
    cache: _base.PyTree
    lr: jax.Array


class AdamState(NamedTuple):
    """State of ``adam`` and ``adamw``.

    Attributes:
      step: int32 scalar ``t - 1``, the number of updates done (the bias correction of
        the next update uses ``t = step + 1``).
      m: first moment, the moving average of gradients, a tree like ``params``.
      v: second moment, the moving average of squared gradients.
      lr: float32 scalar, the learning rate of the latest update (at init: step 0's).
    """

    step: jax.Array
    m: _base.PyTree
    v: _base.PyTree
    lr: jax.Array


def _adagrad_leaf(x, dx, cache, lr, eps):
    """The notes' AdaGrad update for one array; returns ``(x, cache)``."""
    cache = cache + dx**2
    x = x - lr * dx / (jnp.sqrt(cache) + eps)
    return x, cache


def _rmsprop_leaf(x, dx, cache, lr, decay_rate, eps):
    """The notes' RMSProp update for one array; returns ``(x, cache)``."""
    cache = decay_rate * cache + (1.0 - decay_rate) * dx**2
    x = x - lr * dx / (jnp.sqrt(cache) + eps)
    return x, cache


def _adam_moments(dx, m, v, t, beta1, beta2):
    """Moment updates and their bias corrections; ``t`` counts from 1."""
    m = beta1 * m + (1.0 - beta1) * dx  # first moment
    v = beta2 * v + (1.0 - beta2) * dx**2  # second moment
    mb = m / (1.0 - beta1**t)  # correct bias
    vb = v / (1.0 - beta2**t)  # correct bias
    return m, v, mb, vb


def _adam_leaf(x, dx, m, v, t, lr, beta1, beta2, eps):
    """The notes' Adam update (with bias correction) for one array; returns ``(x, m, v)``."""
    m, v, mb, vb = _adam_moments(dx, m, v, t, beta1, beta2)
    x = x - lr * mb / (jnp.sqrt(vb) + eps)
    return x, m, v


def _adamw_leaf(x, dx, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """Adam with decoupled weight decay for one array; returns ``(x, m, v)``.

    The decay acts on the parameters before this update, alongside the Adam step.
    """
    m, v, mb, vb = _adam_moments(dx, m, v, t, beta1, beta2)
    x = x - lr * (mb / (jnp.sqrt(vb) + eps) + weight_decay * x)
    return x, m, v


@configured
def adagrad(lr, eps=1e-7):
    """AdaGrad: each coordinate's step is divided by the root of its summed squared gradients.

    $$c_t = c_{t-1} + g_t^2, \\qquad
      x_t = x_{t-1} - \\alpha_t \\frac{g_t}{\\sqrt{c_t} + \\epsilon}$$

    (elementwise). The cache only grows, so the effective learning rate decays to zero
    over a long run: convex problems welcome this, deep networks stop learning too soon.

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      eps: ``epsilon`` >= 0, added outside the square root to avoid division by zero.
    Returns:
      An ``Optimizer``; its state is ``AdagradState(step, cache, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0, or ``eps`` < 0.
      TypeError: a hyperparameter of the wrong type.

    References:
      Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning and
      stochastic optimization", JMLR 2011.
    """
    schedule = _base.make_schedule(lr)
    eps = _base.nonnegative_float(eps, "eps")

    def init(params):
        _base.check_floating_params(params)
        step, lr0 = _base.initial_step_and_lr(schedule)
        return AdagradState(step, _base.zeros_like_tree(params), lr0)

    def update(params, grads, state):
        _base.check_state(state, AdagradState, "adagrad")
        _base.check_same_tree(params, grads)
        _base.check_same_tree(params, state.cache, "state.cache")
        lr_t = _base.lr_at(schedule, state.step)

        def leaf(x, dx, cache):
            rule = functools.partial(_adagrad_leaf, eps=eps)
            return _base.apply_rule(rule, x, dx, cache, lr_t)

        params, cache = _base.lift(leaf, 2, params, grads, state.cache)
        return params, AdagradState(state.step + 1, cache, _base.logged_lr(lr_t))

    return _base.Optimizer(init, update)


@configured
def rmsprop(lr, decay_rate=0.99, eps=1e-7):
    """RMSProp: AdaGrad with a leaky cache, so the step size does not decay to zero.

    $$c_t = \\rho c_{t-1} + (1 - \\rho) g_t^2, \\qquad
      x_t = x_{t-1} - \\alpha_t \\frac{g_t}{\\sqrt{c_t} + \\epsilon}$$

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      decay_rate: ``rho`` in ``[0, 1)``, how much of the old cache is kept per step.
      eps: ``epsilon`` >= 0, added outside the square root.
    Returns:
      An ``Optimizer``; its state is ``RmspropState(step, cache, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0, ``decay_rate`` outside ``[0, 1)``, ``eps`` < 0.
      TypeError: a hyperparameter of the wrong type.

    References:
      Tieleman & Hinton, Coursera "Neural networks for machine learning", lecture 6.5, 2012.
    """
    schedule = _base.make_schedule(lr)
    decay_rate = _base.unit_interval(decay_rate, "decay_rate")
    eps = _base.nonnegative_float(eps, "eps")

    def init(params):
        _base.check_floating_params(params)
        step, lr0 = _base.initial_step_and_lr(schedule)
        return RmspropState(step, _base.zeros_like_tree(params), lr0)

    def update(params, grads, state):
        _base.check_state(state, RmspropState, "rmsprop")
        _base.check_same_tree(params, grads)
        _base.check_same_tree(params, state.cache, "state.cache")
        lr_t = _base.lr_at(schedule, state.step)

        def leaf(x, dx, cache):
            rule = functools.partial(_rmsprop_leaf, decay_rate=decay_rate, eps=eps)
            return _base.apply_rule(rule, x, dx, cache, lr_t)

        params, cache = _base.lift(leaf, 2, params, grads, state.cache)
        return params, RmspropState(state.step + 1, cache, _base.logged_lr(lr_t))

    return _base.Optimizer(init, update)


@configured
def adam(lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam: momentum on the gradient and RMSProp scaling, both bias-corrected.

    With ``t = 1, 2, ...`` the update number:

    $$m_t = \\beta_1 m_{t-1} + (1 - \\beta_1) g_t, \\qquad
      v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2,$$
    $$\\hat m_t = \\frac{m_t}{1 - \\beta_1^t}, \\qquad
      \\hat v_t = \\frac{v_t}{1 - \\beta_2^t}, \\qquad
      x_t = x_{t-1} - \\alpha_t \\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon}.$$

    The moments start at zero, so early on they underestimate the gradient's moments;
    dividing by ``1 - beta**t`` corrects exactly that bias.

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      beta1: decay of the first moment, in ``[0, 1)``.
      beta2: decay of the second moment, in ``[0, 1)``.
      eps: ``epsilon`` >= 0, added outside the square root.
    Returns:
      An ``Optimizer``; its state is ``AdamState(step, m, v, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0, ``beta1``/``beta2`` outside ``[0, 1)``, ``eps`` < 0.
      TypeError: a hyperparameter of the wrong type.

    References:
      Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015 (Algorithm 1).
    """
    schedule = _base.make_schedule(lr)
    beta1 = _base.unit_interval(beta1, "beta1")
    beta2 = _base.unit_interval(beta2, "beta2")
    eps = _base.nonnegative_float(eps, "eps")

    def leaf_rule(x, dx, m, v, t, lr, decay):
        del decay  # plain Adam has none
        return _adam_leaf(x, dx, m, v, t, lr, beta1, beta2, eps)

    return _adam_optimizer(schedule, leaf_rule, "adam", decay_mask=None)


@configured
def adamw(lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, mask=None):
    """AdamW: Adam with weight decay decoupled from the gradient.

    L2 regularisation added to the loss passes through Adam's per-coordinate scaling, so
    weights with large gradients are barely decayed. AdamW instead shrinks the weights
    directly, by the same learning rate as the step:

    $$x_t = x_{t-1} - \\alpha_t \\left(\\frac{\\hat m_t}{\\sqrt{\\hat v_t} + \\epsilon}
      + \\lambda x_{t-1}\\right)$$

    with ``m``, ``v`` and the bias corrections exactly as in ``adam``. The decay acts on
    the parameters *before* this update, alongside the Adam step; since the Adam step does
    not depend on ``x`` this is the same as decaying first, ``x *= 1 - alpha_t lambda``,
    then taking the step. ``alpha_t`` is the scheduled learning rate, so the decay follows
    the schedule, as Loshchilov & Hutter's schedule multiplier ``eta_t`` does (their
    paper keeps a separate ``alpha``; here ``alpha_t`` multiplies both terms, so this
    ``weight_decay`` is their ``lambda`` divided by ``alpha``, as in PyTorch and optax).

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      beta1: decay of the first moment, in ``[0, 1)``.
      beta2: decay of the second moment, in ``[0, 1)``.
      eps: ``epsilon`` >= 0, added outside the square root.
      weight_decay: ``lambda`` >= 0.
      mask: which leaves are decayed: ``None`` (all), a tree of bools with the structure
        of ``params``, or a callable ``params -> such a tree`` (for example
        ``decay_mask_skip_biases``, which decays only leaves with ``ndim >= 2``).
    Returns:
      An ``Optimizer``; its state is ``AdamState(step, m, v, lr)``.
    Raises:
      ValueError: bad hyperparameters as in ``adam``, or ``weight_decay`` < 0; at
        ``update``, a ``mask`` tree that does not match ``params``.
      TypeError: a hyperparameter of the wrong type.

    References:
      Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019
      (Algorithm 2).
    """
    schedule = _base.make_schedule(lr)
    beta1 = _base.unit_interval(beta1, "beta1")
    beta2 = _base.unit_interval(beta2, "beta2")
    eps = _base.nonnegative_float(eps, "eps")
    weight_decay = _base.nonnegative_float(weight_decay, "weight_decay")
    _weight_decay.check_mask_type(mask)

    def leaf_rule(x, dx, m, v, t, lr, decay):
        return _adamw_leaf(x, dx, m, v, t, lr, beta1, beta2, eps, decay * weight_decay)

    return _adam_optimizer(schedule, leaf_rule, "adamw", decay_mask=mask)


def _adam_optimizer(schedule, leaf_rule, rule, decay_mask):
    """``adam`` and ``adamw`` share their state; ``decay`` is 1.0 where a leaf is decayed."""

    def init(params):
        _base.check_floating_params(params)
        step, lr0 = _base.initial_step_and_lr(schedule)
        zeros = _base.zeros_like_tree(params)
        return AdamState(step, zeros, zeros, lr0)

    def update(params, grads, state):
        _base.check_state(state, AdamState, rule)
        _base.check_same_tree(params, grads)
        _base.check_same_tree(params, state.m, "state.m")
        _base.check_same_tree(params, state.v, "state.v")
        decay = _weight_decay.resolve_mask(decay_mask, params)
        lr_t = _base.lr_at(schedule, state.step)
        t = state.step + 1

        def leaf(x, dx, m, v, decay):
            return _base.apply_rule(leaf_rule, x, dx, m, v, t, lr_t, decay)

        params, m, v = _base.lift(leaf, 3, params, grads, state.m, state.v, decay)
        return params, AdamState(t, m, v, _base.logged_lr(lr_t))

    return _base.Optimizer(init, update)
