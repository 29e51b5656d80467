"""Random and coarse-to-fine hyperparameter search, and early detection of divergence.

The lecture's recipe for hyperparameters such as the learning rate and the
regularisation strength:

- Sample them at random rather than on a grid. When one hyperparameter matters much
  more than another, a grid of ``n x n`` runs tries only ``n`` distinct values of the
  important one; random search tries ``n * n``.
- Sample scale-like hyperparameters in log space: ``reg = 10 ** uniform(-5, 5)``, so
  that each decade gets the same number of trials (``loguniform``).
- Go from coarse to fine: a first round of short runs over wide ranges, then narrow
  each range around the best configurations and search again with longer runs
  (``coarse_to_fine``). A best value at the edge of a range is a warning that the
  range should have been wider.
- Stop a run early when its cost explodes: more than 3 times the initial cost
  (``should_stop_early``, ``diverged``).

An objective that trains can stop as soon as it diverges, and report an infinite
loss so the search ranks it last::

    def objective(config):
        losses = []
        for step in range(num_steps):
            params, loss = train_step(params, batch, config["lr"], config["reg"])
            losses.append(float(loss))
            if should_stop_early(losses[-1], losses[0]):
                return float("inf")
        return validation_loss(params)

    trials = random_search(
        {"lr": loguniform(1e-6, 1e-3), "reg": loguniform(1e-5, 1e5)},
        100, jax.random.key(0), objective=objective,
    )
    best = trials[0]  # lowest score first
"""

import dataclasses
import math
import numbers
import zlib
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks
from fdl.train import _divergence
from fdl.tune._folds import _check_int

# Where the best value of a range counts as "at its edge": within this fraction of
# the range's width (in log space for log-uniform ranges) of either end.
_EDGE = 0.05


def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _check_range(low, high, kind):
    if low >= high:
        raise ValueError(f"{kind} needs low < high, got low={low}, high={high}")


@partial(jax.jit, static_argnames=("count",))
def _uniform_bits(key, count):
    # One key per trial: trial t's value depends only on (key, name, t), so asking
    # for more trials extends the list instead of changing it.
    trial_numbers = jnp.arange(count, dtype=jnp.uint32)
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, trial_numbers)
    return jax.vmap(lambda k: jax.random.bits(k, (), jnp.uint32))(keys)


def _uniform01(key, count):
    """``count`` floats in the open interval (0, 1), from 32 random bits each.

    Built from integer bits in float64 NumPy, so the values are the same whether or
    not JAX runs with x64 enabled.
    """
    bits = np.asarray(_uniform_bits(key, count), dtype=np.float64)
    return ((bits + 0.5) / 2.0**32).tolist()


@dataclasses.dataclass(frozen=True)
class Uniform:
    """Real values uniform in ``[low, high]``."""

    low: float
    high: float

    def from_unit(self, u):
        """Maps uniform draws ``u`` in (0, 1) to values of this distribution."""
        width = self.high - self.low
        return [min(max(self.low + x * width, self.low), self.high) for x in u]

    def position(self, value):
        """Where ``value`` lies in the range: 0 at ``low``, 1 at ``high``."""
        return (value - self.low) / (self.high - self.low)

    def narrowed(self, values, margin, bounds):
        """The span of ``values``, widened by ``margin`` widths, inside ``bounds``."""
        pad = margin * (self.high - self.low)
        low = max(bounds.low, min(values) - pad)
        high = min(bounds.high, max(values) + pad)
        return Uniform(low, high) if low < high else self


@dataclasses.dataclass(frozen=True)
class LogUniform:
    """Positive values whose logarithm is uniform in ``[log low, log high]``."""

    low: float
    high: float

    def from_unit(self, u):
        """``exp(log low + u (log high - log low))``, clamped against rounding."""
        lo, hi = math.log(self.low), math.log(self.high)
        return [min(max(math.exp(lo + x * (hi - lo)), self.low), self.high) for x in u]

    def position(self, value):
        """Where ``value`` lies in the range in log space: 0 at low, 1 at high."""
        lo, hi = math.log(self.low), math.log(self.high)
        return (math.log(value) - lo) / (hi - lo)

    def narrowed(self, values, margin, bounds):
        """As ``Uniform.narrowed``, in log space."""
        logs = [math.log(v) for v in values]
        pad = margin * (math.log(self.high) - math.log(self.low))
        low = max(bounds.low, math.exp(min(logs) - pad))
        high = min(bounds.high, math.exp(max(logs) + pad))
        return LogUniform(low, high) if low < high else self


@dataclasses.dataclass(frozen=True)
class RandInt:
    """Integers uniform in ``[low, high)`` (``high`` excluded, as in ``range``)."""

    low: int
    high: int

    def from_unit(self, u):
        """``low + floor(u (high - low))``."""
        span = self.high - self.low
        return [self.low + min(int(x * span), span - 1) for x in u]


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of ``options``, each equally likely."""

    options: tuple

    def from_unit(self, u):
        """``options[floor(u len(options))]``."""
        count = len(self.options)
        return [self.options[min(int(x * count), count - 1)] for x in u]


_CONTINUOUS = (Uniform, LogUniform)


def uniform(low, high):
    """A real hyperparameter uniform in ``[low, high]``; ``low < high``."""
    low, high = _real(low, "low"), _real(high, "high")
    _check_range(low, high, "uniform")
    return Uniform(low, high)


def loguniform(low, high):
    """A positive hyperparameter sampled uniformly in log space.

    ``exp(uniform(log low, log high))``: the lecture's ``10 ** uniform(-5, 5)`` is
    ``loguniform(1e-5, 1e5)``. Use it for learning rates and regularisation
    strengths, whose effect is multiplicative.

    Raises:
      ValueError: ``low <= 0`` or ``low >= high``.
    """
    low, high = _real(low, "low"), _real(high, "high")
    if low <= 0:
        raise ValueError(f"loguniform needs low > 0, got low={low}")
    _check_range(low, high, "loguniform")
    return LogUniform(low, high)


def randint(low, high):
    """An integer hyperparameter uniform in ``[low, high)``; ``low < high``."""
    if any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in (low, high)
    ):
        raise TypeError(f"randint needs int bounds, got low={low!r}, high={high!r}")
    _check_range(low, high, "randint")
    return RandInt(int(low), int(high))


def choice(options):
    """A hyperparameter taking one of ``options`` (any values), each equally likely."""
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
        kind = type(options).__name__
        raise TypeError(f"choice needs a sequence of options, got {kind}")
    if not options:
        raise ValueError("choice needs at least one option")
    return Choice(tuple(options))


def _check_space(space):
    if not isinstance(space, Mapping) or not space:
        raise TypeError(
            "space must be a non-empty dict mapping names to distributions such as "
            f"loguniform(1e-5, 1e-1), got {space!r}"
        )
    for name, dist in space.items():
        if not isinstance(name, str):
            raise TypeError(f"space names must be strings, got {name!r}")
        if not isinstance(dist, (Uniform, LogUniform, RandInt, Choice)):
            raise TypeError(
                f"space[{name!r}] must be a distribution (uniform, loguniform, "
                f"randint, choice), got {dist!r}"
            )
    return space


def sample_configs(space, trials, key):
    """``trials`` configurations drawn from ``space``; see ``random_search``."""
    space = _check_space(space)
    trials = _check_int(trials, "trials", 1)
    key = _checks.prng_key(key)
    columns = {}
    for name, dist in space.items():
        # Each name has its own stream, so adding a hyperparameter to the space or
        # reordering it leaves the values of the others unchanged.
        name_key = jax.random.fold_in(key, zlib.crc32(name.encode()) & 0x7FFFFFFF)
        columns[name] = dist.from_unit(_uniform01(name_key, trials))
    return [{name: columns[name][t] for name in space} for t in range(trials)]


class Trial(NamedTuple):
    """One evaluated configuration."""

    config: dict  # hyperparameter name -> value
    score: float  # the objective's loss: lower is better; inf or nan when diverged
    info: Any = None  # the dict the objective returned, if it returned one


def _rank(score):
    """Sort key: NaN (a diverged run) ranks with +inf, after every finite score."""
    return math.inf if math.isnan(score) else score


def _evaluate(objective, config):
    result = objective(config)
    info = None
    if isinstance(result, Mapping):
        if "loss" not in result:
            raise ValueError(
                f"objective returned a dict without a 'loss' entry: {sorted(result)}"
            )
        info, result = dict(result), result["loss"]
    try:
        score = float(result)
    except (TypeError, ValueError) as err:
        raise TypeError(
            "objective must return a number (lower is better) or a dict with a "
            f"'loss' entry, got {type(result).__name__}"
        ) from err
    return Trial(config, score, info)


def random_search(space, trials, key, *, objective=None):
    """Random search over a hyperparameter space.

    Each trial draws every hyperparameter independently from its distribution. The
    draws depend only on ``key``, the hyperparameter's name and the trial's number:
    the same key gives the same trials, and more trials extend the list.

    Without ``objective``, returns the configurations to try. With one, evaluates
    ``objective(config)`` for each, in order, and returns the trials best first.

    Args:
      space: dict mapping names to ``loguniform(low, high)``, ``uniform(low,
        high)``, ``randint(low, high)`` or ``choice(options)``.
      trials: number of configurations, ``>= 1``.
      key: a JAX random key.
      objective: optional ``config -> loss`` (lower is better), or ``config -> dict``
        with a ``"loss"`` entry (the dict is kept as ``Trial.info``). Return
        ``float("inf")`` for a run stopped because it diverged.

    Returns:
      Without ``objective``: a list of ``trials`` dicts of Python floats, ints or
      chosen options. With it: a list of ``Trial(config, score, info)`` sorted by
      score, lowest first (NaN last; equal scores keep their sampling order).

    Raises:
      ValueError: ``trials < 1``.
      TypeError: a space that is not a dict of distributions, a key that is not a
        JAX key.

    Examples:
      >>> import jax, fdl.tune
      >>> space = {
      ...     "lr": fdl.tune.loguniform(1e-4, 1e-1),
      ...     "hidden": fdl.tune.choice([64, 128]),
      ... }
      >>> configs = fdl.tune.random_search(space, 3, jax.random.key(0))
      >>> len(configs), sorted(configs[0])
      (3, ['hidden', 'lr'])
    """
    configs = sample_configs(space, trials, key)
    if objective is None:
        return configs
    if not callable(objective):
        raise TypeError(f"objective must be callable, got {type(objective).__name__}")
    results = [_evaluate(objective, config) for config in configs]
    return sorted(results, key=lambda trial: _rank(trial.score))


class SearchResult(NamedTuple):
    """All trials of a coarse-to-fine search, and what it learned."""

    best: Trial  # the trial with the lowest score
    trials: list  # every Trial of every round, best first
    spaces: list  # the space searched in each round, the first being the given one
    at_edge: tuple  # names whose best value lies at an edge of the original range


def _narrowed(dist, values, margin, bounds):
    if isinstance(dist, _CONTINUOUS):
        return dist.narrowed(values, margin, bounds)
    return dist  # randint and choice are searched as given in every round


def coarse_to_fine(
    objective, space, *, key, rounds=2, trials_per_round=20, top=5, margin=0.1
):
    """Random search repeated over narrower and narrower ranges.

    Round 1 searches ``space``. After each round, every ``uniform`` and
    ``loguniform`` range is narrowed to the span of the ``top`` best configurations
    seen so far (in log space for ``loguniform``), widened by ``margin`` times the
    current range's width on each side, and kept inside the original range.
    ``randint`` and ``choice`` hyperparameters are searched unchanged. The best trial
    over all rounds never gets worse from one round to the next.

    The original ranges are the outer limits. ``at_edge`` names the hyperparameters
    whose best value lies within 5% of either end of its original range: the optimum
    may lie outside, and the search is worth repeating with a wider range.

    Args:
      objective: ``config -> loss`` (lower is better), or a dict with ``"loss"``.
      space: dict of distributions, as for ``random_search``.
      key: a JAX random key; round ``r`` uses ``fold_in(key, r)``.
      rounds: number of rounds, ``>= 1``.
      trials_per_round: trials in each round, ``>= 1``.
      top: how many of the best configurations set the next ranges, ``>= 1``.
      margin: widening of the next ranges, a fraction of the current width, ``> 0``.

    Returns:
      ``SearchResult(best, trials, spaces, at_edge)``.

    Raises:
      ValueError: ``rounds``, ``trials_per_round`` or ``top`` below 1, ``margin <= 0``.
    """
    space = dict(_check_space(space))
    key = _checks.prng_key(key)
    rounds = _check_int(rounds, "rounds", 1)
    trials_per_round = _check_int(trials_per_round, "trials_per_round", 1)
    top = _check_int(top, "top", 1)
    margin = _real(margin, "margin")
    if margin <= 0:
        raise ValueError(f"margin must be > 0, got {margin}")

    original = space
    spaces, trials = [], []
    for r in range(rounds):
        spaces.append(space)
        found = random_search(
            space, trials_per_round, jax.random.fold_in(key, r), objective=objective
        )
        trials = sorted(trials + found, key=lambda trial: _rank(trial.score))
        finite = [t for t in trials[:top] if math.isfinite(t.score)]
        if finite:
            space = {
                name: _narrowed(
                    dist, [t.config[name] for t in finite], margin, original[name]
                )
                for name, dist in space.items()
            }
    best = trials[0]
    at_edge = tuple(
        name
        for name, dist in original.items()
        if isinstance(dist, _CONTINUOUS)
        and math.isfinite(best.score)
        and not _EDGE <= dist.position(best.config[name]) <= 1 - _EDGE
    )
    return SearchResult(best, trials, spaces, at_edge)


def _explosion_limit(initial_loss, factor):
    """``factor * initial_loss``, after checking both."""
    initial_loss = float(initial_loss)
    if not math.isfinite(initial_loss) or initial_loss <= 0:
        raise ValueError(
            f"initial_loss must be positive and finite, got {initial_loss}"
        )
    factor = _real(factor, "factor")
    if factor <= 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    return factor * initial_loss


def should_stop_early(loss, initial_loss, factor=_divergence.FACTOR):
    """True when a training run's loss has exploded: stop it now.

    The lecture's rule: end a run whose cost exceeds ``factor`` (3) times the initial
    cost; a NaN or infinite loss has exploded too. Call it every few steps inside an
    objective (see the module docstring).

    Args:
      loss: the latest loss (a Python or JAX scalar).
      initial_loss: the loss at the start of the run, positive and finite.
      factor: how many times the initial loss counts as exploded, ``> 0``.

    Raises:
      ValueError: ``initial_loss`` not positive and finite, ``factor <= 0``.
    """
    limit = _explosion_limit(initial_loss, factor)
    loss = float(loss)
    return not math.isfinite(loss) or loss > limit


def diverged(losses, initial_loss=None, factor=_divergence.FACTOR, window=1):
    """True when a run's loss is NaN/infinite or its moving mean exceeds ``factor * initial_loss``.

    The rule ``fdl.train.fit`` and ``fdl tune`` stop runs by (``fdl.train._divergence``):
    with ``window=1`` every loss is compared on its own; ``fit`` uses a moving mean over
    ``window=10`` steps so that one noisy minibatch does not stop a healthy run.

    Args:
      losses: the losses of a run so far, ``(T,)``.
      initial_loss: the loss at the start, positive and finite; default
        ``losses[0]`` (a run whose first loss is already NaN or infinite diverged).
      factor: as for ``should_stop_early``.
      window: the moving mean's length, ``>= 1`` (shortened to ``T`` for shorter runs).

    Raises:
      ValueError: empty ``losses``, an ``initial_loss`` given that is not positive
        and finite, ``factor <= 0``.
    """
    losses = np.asarray(losses, dtype=np.float64).reshape(-1)
    if losses.size == 0:
        raise ValueError("losses must hold at least one value")
    if initial_loss is None:
        initial_loss = losses[0]
        if not math.isfinite(initial_loss):
            return True
    _explosion_limit(initial_loss, factor)  # validates both
    window = _check_int(window, "window", 1)
    return _divergence.explosion(losses, float(initial_loss), float(factor), window) is not None
