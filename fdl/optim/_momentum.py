"""Gradient descent and its momentum variants: ``sgd``, ``momentum``, ``nesterov``.

Each rule is written once for a single array ``x`` with gradient ``dx``, in the notes'
own lines of NumPy (``_sgd_leaf``, ``_momentum_leaf``, ``_nesterov_leaf``), and lifted
over the parameter tree by the factory. ``lr`` is the learning rate of the current
update: a float, or a schedule evaluated at the number of updates already done.
"""

import functools
from typing import NamedTuple

import jax

from fdl._config import configured
from fdl.optim import _base


class SgdState(NamedTuple):
    """State of ``sgd``: nothing but the step count and the lr.

    Attributes:
      step: int32 scalar, the number of updates done.
      lr: float32 scalar, the learning rate of the latest update (at init: step 0's).
    """

    step: jax.Array
    lr: jax.Array


class MomentumState(NamedTuple):
    """State of ``momentum`` and ``nesterov``: the velocity ``v``.

    Attributes:
      step: int32 scalar, the number of updates done.
      v: the velocity, a tree like ``params`` (zeros at init).
      lr: float32 scalar, the learning rate of the latest update (at init: step 0's).
    """

    step: jax.Array
    v: _base.PyTree
    lr: jax.Array


def _sgd_leaf(x, dx, lr):
    """``x += -lr * dx`` for one array; returns ``(x,)``."""
    return (x - lr * dx,)


def _momentum_leaf(x, dx, v, lr, mu):
    """The notes' momentum update for one array; returns ``(x, v)``."""
    v = mu * v - lr * dx  # integrate velocity
    x = x + v  # integrate position
    return x, v


def _nesterov_leaf(x, dx, v, lr, mu):
    """The notes' Nesterov rewrite for one array; ``x`` is the look-ahead point ``phi``.

    Returns ``(x, v)``.
    """
    v_prev = v
    v = mu * v - lr * dx
    x = x + (-mu * v_prev + (1.0 + mu) * v)
    return x, v


@configured
def sgd(lr):
    """Vanilla (stochastic) gradient descent.

    $$x_{t+1} = x_t - \\alpha_t \\nabla f(x_t)$$

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
    Returns:
      An ``Optimizer``; its state is ``SgdState(step, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0.
      TypeError: ``lr`` neither a number nor a callable.

    Examples:
      >>> import jax.numpy as jnp
      >>> opt = sgd(0.5)
      >>> params = {"w": jnp.array([1.0, 2.0])}
      >>> state = opt.init(params)
      >>> params, state = opt.update(params, {"w": jnp.array([1.0, -2.0])}, state)
      >>> params["w"].tolist(), int(state.step)
      ([0.5, 3.0], 1)
    """
    schedule = _base.make_schedule(lr)

    def init(params):
        _base.check_floating_params(params)
        return SgdState(*_base.initial_step_and_lr(schedule))

    def update(params, grads, state):
        _base.check_state(state, SgdState, "sgd")
        _base.check_same_tree(params, grads)
        lr_t = _base.lr_at(schedule, state.step)

        def leaf(x, dx):
            return _base.apply_rule(_sgd_leaf, x, dx, lr_t)

        (params,) = _base.lift(leaf, 1, params, grads)
        return params, SgdState(state.step + 1, _base.logged_lr(lr_t))

    return _base.Optimizer(init, update)


@configured
def momentum(lr, mu=0.9):
    """Gradient descent with (heavy-ball) momentum, in the notes' form.

    $$v_{t+1} = \\mu v_t - \\alpha_t \\nabla f(x_t), \\qquad x_{t+1} = x_t + v_{t+1}$$

    The velocity ``v`` already carries the learning rate. For a constant ``alpha`` this
    is the same sequence of ``x`` as the other common form ``u = mu*u + dx; x -= alpha*u``
    (take ``v = -alpha u``); with a schedule the two differ, because here a change of
    ``alpha`` only affects new gradients, not the velocity already built up.

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      mu: momentum coefficient (the "friction"), in ``[0, 1)``; 0.9 or 0.99 typically.
    Returns:
      An ``Optimizer``; its state is ``MomentumState(step, v, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0, or ``mu`` outside ``[0, 1)``.
      TypeError: ``lr`` or ``mu`` of the wrong type.

    References:
      Polyak, "Some methods of speeding up the convergence of iteration methods", 1964.
    """
    schedule = _base.make_schedule(lr)
    mu = _base.unit_interval(mu, "mu")
    return _velocity_optimizer(schedule, mu, _momentum_leaf, "momentum")


@configured
def nesterov(lr, mu=0.9):
    """Nesterov's accelerated gradient, in the notes' rewritten (look-ahead) form.

    The definition evaluates the gradient at the point momentum is about to carry us to:

    $$v_t = \\mu v_{t-1} - \\alpha \\nabla f(\\theta_{t-1} + \\mu v_{t-1}), \\qquad
      \\theta_t = \\theta_{t-1} + v_t.$$

    A training loop only has the gradient at the parameters it holds, so the notes
    change variables to the look-ahead point ``phi = theta + mu v`` and keep ``phi`` as
    the parameters. Then the gradient is taken at the parameters, and

    $$v_t = \\mu v_{t-1} - \\alpha \\nabla f(\\phi_{t-1}), \\qquad
      \\phi_t = \\phi_{t-1} - \\mu v_{t-1} + (1 + \\mu) v_t,$$

    which is the code ``v_prev = v; v = mu*v - lr*dx; x += -mu*v_prev + (1+mu)*v``.
    The parameters this optimizer returns are ``phi``; ``theta = phi - mu v`` if ever
    needed. Both start at the same point, since ``v_0 = 0``.

    Args:
      lr: learning rate ``alpha``, a float > 0 or a schedule ``step -> lr``.
      mu: momentum coefficient, in ``[0, 1)``.
    Returns:
      An ``Optimizer``; its state is ``MomentumState(step, v, lr)``.
    Raises:
      ValueError: a float ``lr`` not > 0, or ``mu`` outside ``[0, 1)``.
      TypeError: ``lr`` or ``mu`` of the wrong type.

    References:
      Nesterov, "A method of solving a convex programming problem with convergence rate
      O(1/k^2)", 1983; Sutskever et al., "On the importance of initialization and
      momentum in deep learning", 2013; Bengio et al., "Advances in optimizing recurrent
      networks", 2013 (the rewrite).
    """
    schedule = _base.make_schedule(lr)
    mu = _base.unit_interval(mu, "mu")
    return _velocity_optimizer(schedule, mu, _nesterov_leaf, "nesterov")


def _velocity_optimizer(schedule, mu, leaf_rule, rule):
    """``momentum`` and ``nesterov`` share their state and differ only in the leaf rule."""

    def init(params):
        _base.check_floating_params(params)
        step, lr0 = _base.initial_step_and_lr(schedule)
        return MomentumState(step, _base.zeros_like_tree(params), lr0)

    def update(params, grads, state):
        _base.check_state(state, MomentumState, rule)
        _base.check_same_tree(params, grads)
        _base.check_same_tree(params, state.v, "state.v")
        lr_t = _base.lr_at(schedule, state.step)

        def leaf(x, dx, v):
            return _base.apply_rule(functools.partial(leaf_rule, mu=mu), x, dx, v, lr_t)

        params, v = _base.lift(leaf, 2, params, grads, state.v)
        return params, MomentumState(state.step + 1, v, _base.logged_lr(lr_t))

    return _base.Optimizer(init, update)
