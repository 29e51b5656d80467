"""Learning-rate schedules: functions ``step -> lr``, the notes' "decrease the lr over time".

Every optimizer accepts its ``lr`` as a float or as a schedule. A schedule is called with
``step``, the number of updates already done, an ``int32`` array starting at 0 for the
first update, and returns a scalar. All schedules here are written with ``jnp`` so they
work on a traced step inside ``jit`` (the step lives in the optimizer state), and compute
in the default float dtype (float32, or float64 under ``jax_enable_x64``).

The notes list three decays (with ``t`` the step, ``a0`` the initial rate):

- step decay: cut the rate by a factor every few epochs, ``a = a0 * factor**floor(t / every)``;
- exponential decay: ``a = a0 * exp(-k t)``;
- 1/t decay: ``a = a0 / (1 + k t)``;

to which this module adds the cosine decay of Loshchilov & Hutter (SGDR, 2017), a linear
warm-up (Goyal et al., 2017), and ``join_schedules`` to run schedules one after another.
"""

import math

import jax.numpy as jnp

from fdl._config import configured
from fdl.optim import _base


def _as_float_step(step):
    return jnp.asarray(step).astype(_base.default_float())


@configured
def constant(a0):
    """The constant schedule ``a(t) = a0`` (what a float ``lr`` becomes).

    Args:
      a0: the learning rate, a float > 0.
    Returns:
      A schedule ``step -> a0``.
    Raises:
      ValueError: ``a0`` not > 0.
    """
    return _base.make_schedule(a0, "a0")


@configured
def step_decay(a0, every, factor=0.5):
    """Step decay: ``a(t) = a0 * factor**floor(t / every)``.

    The notes' "after a few epochs, cut the learning rate in half": with ``every`` the
    number of updates in those epochs and the default ``factor=0.5``.

    Args:
      a0: initial learning rate, a float > 0.
      every: number of updates between two cuts, an int >= 1.
      factor: multiplier applied at each cut, a float in ``(0, 1]``.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: ``a0`` not > 0, ``every`` < 1 or ``factor`` outside ``(0, 1]``.

    Examples:
      >>> [float(step_decay(1.0, every=2)(t)) for t in range(5)]
      [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    a0 = _base.positive_float(a0, "a0")
    every = _base.positive_int(every, "every")
    factor = _base.real_in_range(factor, "factor", low=0.0, low_open=True, high=1.0)

    def schedule(step):
        cuts = jnp.floor_divide(jnp.asarray(step), every)
        return a0 * jnp.power(factor, _as_float_step(cuts))

    return schedule


@configured
def exponential_decay(a0, k):
    """Exponential decay: ``a(t) = a0 * exp(-k t)``.

    Args:
      a0: initial learning rate, a float > 0.
      k: decay constant per update, a float >= 0.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: ``a0`` not > 0 or ``k`` < 0.
    """
    a0 = _base.positive_float(a0, "a0")
    k = _base.nonnegative_float(k, "k")

    def schedule(step):
        return a0 * jnp.exp(-k * _as_float_step(step))

    return schedule


@configured
def inverse_time_decay(a0, k):
    """1/t decay: ``a(t) = a0 / (1 + k t)``.

    Args:
      a0: initial learning rate, a float > 0.
      k: decay constant per update, a float >= 0.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: ``a0`` not > 0 or ``k`` < 0.
    """
    a0 = _base.positive_float(a0, "a0")
    k = _base.nonnegative_float(k, "k")

    def schedule(step):
        return a0 / (1.0 + k * _as_float_step(step))

    return schedule


@configured
def cosine_decay(a0, total_steps, final=0.0):
    """Cosine decay from ``a0`` to ``final`` over ``total_steps`` updates, then ``final``.

    $$a(t) = a_{final} + (a_0 - a_{final}) \\frac{1 + \\cos(\\pi \\min(t, T) / T)}{2}$$

    ``final`` is the learning rate reached at ``t = T`` (an absolute rate, not a
    fraction of ``a0``).

    Args:
      a0: initial learning rate, a float > 0.
      total_steps: ``T``, the number of updates the decay lasts, an int >= 1.
      final: learning rate from step ``T`` on, a float in ``[0, a0]``.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: ``a0`` not > 0, ``total_steps`` < 1 or ``final`` outside ``[0, a0]``.

    References:
      Loshchilov & Hutter, "SGDR: Stochastic gradient descent with warm restarts", 2017.
    """
    a0 = _base.positive_float(a0, "a0")
    total_steps = _base.positive_int(total_steps, "total_steps")
    # The upper bound is checked only against a concrete a0 (not a traced one).
    final = _base.real_in_range(
        final, "final", low=0.0, high=a0 if isinstance(a0, float) else None
    )

    def schedule(step):
        progress = jnp.minimum(_as_float_step(step), float(total_steps)) / total_steps
        return final + (a0 - final) * 0.5 * (1.0 + jnp.cos(math.pi * progress))

    return schedule


@configured
def join_schedules(schedules, boundaries):
    """Runs schedules one after another, switching at the given steps.

    With boundaries ``b_1 < b_2 < ...``, schedule ``i`` is in force for
    ``b_i <= t < b_{i+1}`` (``b_0 = 0``) and sees the steps counted from its own
    boundary, ``s_i(t - b_i)``, so each schedule starts from its own step 0.

    Args:
      schedules: a sequence of ``n >= 1`` schedules or floats.
      boundaries: a sequence of ``n - 1`` strictly increasing ints >= 1.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: wrong number of boundaries, or boundaries not increasing from >= 1.
      TypeError: a schedule neither a float nor a callable.

    Examples:
      >>> s = join_schedules([0.1, step_decay(1.0, every=1)], boundaries=[2])
      >>> [round(float(s(t)), 6) for t in range(5)]
      [0.1, 0.1, 1.0, 0.5, 0.25]
    """
    schedules = [_base.make_schedule(s, f"schedules[{i}]") for i, s in enumerate(schedules)]
    boundaries = [_base.positive_int(b, f"boundaries[{i}]") for i, b in enumerate(boundaries)]
    if not schedules:
        raise ValueError("schedules must hold at least one schedule, got none")
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"boundaries must hold len(schedules) - 1 = {len(schedules) - 1} steps, "
            f"got {len(boundaries)}"
        )
    if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
        raise ValueError(f"boundaries must be strictly increasing, got {boundaries}")
    starts = [0] + boundaries

    def schedule(step):
        step = jnp.asarray(step)
        lr = _base.lr_at(schedules[0], step)
        for start, later in zip(starts[1:], schedules[1:]):
            # Clamp so a later schedule is never evaluated at a negative step (1/(1+kt)
            # could divide by zero there, and where() would still carry the inf).
            local = jnp.maximum(step - start, 0)
            lr = jnp.where(step >= start, _base.lr_at(later, local), lr)
        return lr

    return schedule


@configured
def warmup(schedule, warmup_steps, start=0.0):
    """A linear warm-up from ``start`` to ``schedule``, which then runs from its step 0.

    $$a(t) = \\begin{cases} a_{start} + (s(0) - a_{start})\\, t / W & t < W \\\\
                            s(t - W) & t \\ge W \\end{cases}$$

    The first update (``t = 0``) uses ``start`` (0 by default: a zero-lr step that only
    primes the moment estimates), and the wrapped schedule's decay begins once the
    warm-up is over.

    Args:
      schedule: a schedule or a float (a constant target rate).
      warmup_steps: ``W``, the number of warm-up updates, an int >= 0 (0: no warm-up).
      start: the learning rate at step 0, a float >= 0.
    Returns:
      A schedule ``step -> lr``.
    Raises:
      ValueError: ``warmup_steps`` < 0 or ``start`` < 0.

    Examples:
      >>> s = warmup(1.0, warmup_steps=4)
      >>> [float(s(t)) for t in range(6)]
      [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]

    References:
      Goyal et al., "Accurate, large minibatch SGD: training ImageNet in 1 hour", 2017.
    """
    target = _base.make_schedule(schedule, "schedule")
    warmup_steps = _base.positive_int(warmup_steps, "warmup_steps", allow_zero=True)
    start = _base.nonnegative_float(start, "start")
    if warmup_steps == 0:
        return target

    def ramp(step):
        peak = _base.lr_at(target, jnp.zeros((), jnp.int32))
        return start + (peak - start) * _as_float_step(step) / warmup_steps

    return join_schedules([ramp, target], [warmup_steps])
