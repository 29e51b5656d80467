"""Sanity checks before a long training run (lecture: "Babysitting the learning process").

The notes' three checks, each a function returning a ``SanityResult``:

1. **Initial loss.** With small random weights every class gets about the same score,
   so the softmax loss starts at ``-ln(1/C) = ln C`` (2.303 for 10 classes) and the
   multiclass SVM loss (margin 1) at ``C - 1`` (each of the ``C - 1`` wrong classes
   contributes ``max(0, s_j - s_y + 1) ~ 1``). A loss far from that points at a wrong
   loss, wrong labels or a bad initialisation.
2. **Regularisation raises the loss.** Adding ``reg * sum w**2`` (the penalty ``fit``
   uses) with a large ``reg`` must make the initial loss go up; if it does not, the
   penalty is not reaching the weights.
3. **Overfit a small subset.** With no regularisation, a working model, loss and
   optimizer drive the training accuracy on ~20 examples to 100% and the loss towards
   zero. If they cannot, something is broken before any hyperparameter matters.

``sanity_check`` runs all three; ``format_sanity_table`` prints the results.
"""

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import losses as _losses
from fdl import manual as _manual
from fdl import regularizers as _regularizers
from fdl.train import _steps
from fdl.train._loop import TrainingDiverged, evaluate, fit
from fdl.train._validation import pair as _pair

# The initial loss passes when it lies within this factor of ln C (or C - 1). With small
# score-layer weights (the builders' default) the scores start nearly equal: on the
# digits, mlp/convnet/mlp+bn start at 2.300-2.317 against ln 10 = 2.303 over seeds 0-3.
# A Kaiming-initialised score layer starts at 2.6-4.3, weights of std 1 at 25-50.
INITIAL_LOSS_FACTOR = 1.05

# The notes crank the regularisation up to 1e3 to see the loss jump.
SANITY_REG = 1e3


class SanityResult(NamedTuple):
    """The outcome of one sanity check.

    Attributes:
      name: ``"initial_loss"``, ``"regularization_raises_loss"`` or
        ``"overfit_small_subset"``.
      passed: bool.
      measured: the number the check measured (a loss or an accuracy).
      expected: what it was compared with (see each check).
      message: one line saying what was measured and, on failure, what to look at.
    """

    name: str
    passed: bool
    measured: float
    expected: float
    message: str

    def to_dict(self):
        """A JSON-ready dict (NaN/inf measurements become ``None``)."""
        finite = lambda v: float(v) if math.isfinite(v) else None  # noqa: E731
        return {"name": self.name, "passed": bool(self.passed),
                "measured": finite(self.measured), "expected": finite(self.expected),
                "message": self.message}


# ------------------------------------------------------------------ expected loss


def _loss_kind(loss):
    """``("softmax" | "svm", keyword options)`` of a known loss, or ``None``."""
    if isinstance(loss, str):
        name = loss.lower().replace("-", "_")
        if name in ("softmax", "softmax_cross_entropy", "cross_entropy"):
            return "softmax", {}
        if name in ("svm", "multiclass_svm", "hinge"):
            return "svm", {}
        return None
    options = {}
    if isinstance(loss, functools.partial):
        if loss.args:
            return None
        options = dict(loss.keywords)
        loss = loss.func
    if loss in (_losses.softmax_cross_entropy, _manual.softmax_cross_entropy):
        return "softmax", options
    if loss in (_losses.svm, _manual.svm):
        return "svm", options
    return None


def expected_initial_loss(loss, num_classes):
    """The loss of a classifier whose ``C`` scores are all equal (small initial weights).

    - softmax cross-entropy: ``-ln(1/C) = ln C`` (2.303 for ``C = 10``);
    - multiclass SVM with margin ``Delta``: ``(C - 1) * Delta`` (``C - 1`` for the usual
      margin 1; ``(C - 1) * Delta**2`` for the squared hinge).

    Args:
      loss: ``fdl.losses.softmax_cross_entropy`` or ``fdl.losses.svm`` (or their
        ``fdl.manual`` twins, or a ``functools.partial`` of ``svm`` setting ``margin``
        /``squared``), or the name ``"softmax"`` / ``"svm"``.
      num_classes: ``C``, an int >= 2.
    Returns:
      float.
    Raises:
      ValueError: a loss whose value at equal scores is not known here, or
        ``num_classes < 2``.
      TypeError: ``num_classes`` not an int.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"expected_initial_loss: num_classes must be an int, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"expected_initial_loss: num_classes must be >= 2, got {num_classes}")
    kind = _loss_kind(loss)
    if kind is None:
        raise ValueError(
            f"expected_initial_loss: unknown loss {loss!r}; the expected initial loss is "
            "known for fdl.losses.softmax_cross_entropy (ln C) and fdl.losses.svm (C - 1)"
        )
    name, options = kind
    if name == "softmax":
        return math.log(num_classes)
    margin = float(options.get("margin", 1.0))
    per_class = margin ** 2 if options.get("squared", False) else margin
    return (num_classes - 1) * per_class


# ------------------------------------------------------------------ the checks


def _init_model(model, x, key, params, state):
    if params is not None and state is not None:
        return params, state
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    # fit's own derivation: model.init(split(key)[0]), so a check and fit(key=key) start
    # from the same weights.
    init_key, _ = jax.random.split(key)
    p0, s0 = model.init(init_key, tuple(x.shape[1:]), dtype)
    return (p0 if params is None else params), (s0 if state is None else state)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _initial_loss(model, loss, params, state, x, y):
    """Eval-mode loss of ``model`` on ``(x, y)``, the mean per-example spread (std) of
    its scores, and the number of classes; one compiled program (layers and losses
    hash by value, so a second check of the same model reuses it)."""
    scores, _ = model.apply(params, state, x, train=False)
    return loss(scores, y), jnp.mean(jnp.std(scores, axis=-1)), scores.shape[-1]


@jax.jit
def _l2_of_weights(params):
    return _regularizers.l2(_steps.weights(params))


def check_initial_loss(model, data, loss, key, *, params=None, state=None,
                       factor=INITIAL_LOSS_FACTOR):
    """Check 1: the loss of the freshly initialised model is near ``ln C`` (or ``C - 1``).

    ``C`` is the number of scores the model outputs. The loss is measured in eval mode
    on all of ``data``.

    Args:
      model: a ``Layer``. data: ``(x, y)``. loss: a loss known to
        ``expected_initial_loss``. key: initialises the model as ``fit(key=key)`` does.
      params, state: check these instead of a fresh ``model.init``.
      factor: passes when ``expected / factor <= measured <= expected * factor``.
    Returns:
      ``SanityResult("initial_loss", passed, measured, expected, message)``.
    """
    x, y = _pair(data, "data")
    factor = float(factor)
    if not factor > 1.0:
        raise ValueError(f"check_initial_loss: factor must be > 1, got {factor}")
    params, state = _init_model(model, x, key, params, state)
    measured, spread, num_classes = _initial_loss(model, loss, params, state, x, y)
    num_classes = int(num_classes)
    expected = expected_initial_loss(loss, num_classes)
    measured, spread = float(measured), float(spread)
    passed = math.isfinite(measured) and expected / factor <= measured <= expected * factor
    message = (f"initial loss {measured:.4g}, expected ~{expected:.4g} for {num_classes} "
               f"classes (scores std {spread:.3g})")
    if not passed:
        message += (
            "; too high: the scores are too large, initialise the weights smaller"
            if measured > expected else
            "; too low: check the labels and that the loss matches the scores"
        )
    return SanityResult("initial_loss", passed, measured, expected, message)


def check_regularization_raises_loss(model, data, loss, key, *, reg=SANITY_REG,
                                     params=None, state=None):
    """Check 2: adding ``reg * sum w**2`` makes the initial loss go up.

    The penalty is the one ``fit(reg=...)`` adds: the L2 norm squared of the weights,
    ``fdl.regularizers.weights`` (biases and batch-norm parameters excluded).

    Returns:
      ``SanityResult("regularization_raises_loss", passed, measured, expected, message)``
      with ``measured`` the regularised loss and ``expected`` the unregularised one (the
      check passes when ``measured > expected``).
    """
    x, y = _pair(data, "data")
    reg = float(reg)
    if not (math.isfinite(reg) and reg > 0):
        raise ValueError(f"check_regularization_raises_loss: reg must be > 0, got {reg}")
    params, state = _init_model(model, x, key, params, state)
    data_loss = float(_initial_loss(model, loss, params, state, x, y)[0])
    penalty = reg * float(_l2_of_weights(params))
    measured = data_loss + penalty
    passed = math.isfinite(measured) and measured > data_loss
    message = f"loss {data_loss:.4g} -> {measured:.4g} with reg {reg:g}"
    if not passed:
        message += "; the penalty added nothing: are there any non-zero weights named 'w'?"
    return SanityResult("regularization_raises_loss", passed, measured, data_loss, message)


def check_overfit_small_subset(model, data, loss, optimizer, key, *, n=20, epochs=200,
                               batch_size=None, target=1.0, params=None, state=None):
    """Check 3: with no regularisation the model fits ``n`` training examples perfectly.

    ``n`` examples drawn at random (from ``key``) are trained on for ``epochs`` epochs
    with ``fit(reg=0)`` (full batches by default: one step per epoch); the check passes
    when the training accuracy on them reaches ``target`` (100%). Layers inside the
    model (dropout, batch norm) stay as they are.

    Args:
      model, data, loss, optimizer, key: as for ``fit``.
      n: the subset size (the notes use 20).
      epochs: epochs to train.
      batch_size: minibatch size (default ``n``).
      target: the training accuracy to reach.
      params, state: start from these instead of a fresh ``model.init``.
    Returns:
      ``SanityResult("overfit_small_subset", passed, measured, expected, message)``
      with ``measured`` the final training accuracy and ``expected`` the ``target``.
    """
    x, y = _pair(data, "data")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(y):
        raise ValueError(
            f"check_overfit_small_subset: n must be an int in [1, {len(y)}], got {n!r}"
        )
    subset_key, fit_key = jax.random.split(key)
    # fit's jitted permutation (one program per data-set size, shared with fit's epochs)
    # rather than jax.random.permutation's eager ops, each compiled on its own.
    rows = _steps.permutation(subset_key, len(y))[:n]
    subset = (x[rows], y[rows])
    try:
        params, state, history = fit(
            model, subset, loss=loss, optimizer=optimizer, epochs=epochs,
            batch_size=batch_size or int(n), key=fit_key, params=params, state=state,
            reg=0.0, progress=False,
        )
    except TrainingDiverged as err:
        first_line = str(err).splitlines()[0].split(". ")[0]
        return SanityResult("overfit_small_subset", False, float("nan"), float(target),
                            f"{first_line}: lower the learning rate")
    accuracy = evaluate(model, params, state, subset, loss=loss)
    measured, final_loss = accuracy["accuracy"], accuracy["loss"]
    reached = [i for i, a in enumerate(history["train_accuracy"]) if a >= target]
    passed = measured >= target
    message = (f"train accuracy {measured:.0%} on {n} examples after {epochs} epochs, "
               f"loss {final_loss:.3g}")
    if reached:
        message += f" ({target:.0%} first at epoch {reached[0] + 1})"
    if not passed:
        message += ("; cannot overfit: check the model, the loss and the learning rate "
                    "(too low?)")
    return SanityResult("overfit_small_subset", passed, measured, float(target), message)


def sanity_check(model, data, loss, optimizer, key, *, reg=SANITY_REG, n=20, epochs=200,
                 batch_size=None, factor=INITIAL_LOSS_FACTOR):
    """Runs the three checks of the notes and returns their results, in order.

    The first two use the model as ``fit(key=key)`` would initialise it; the third
    trains a fresh copy on ``n`` examples.

    Returns:
      ``[SanityResult, SanityResult, SanityResult]``: initial loss, regularisation raises
      the loss, overfit a small subset. ``all(r.passed for r in results)`` is the verdict.
    """
    x, y = _pair(data, "data")
    params, state = _init_model(model, x, key, None, None)
    return [
        check_initial_loss(model, (x, y), loss, key, params=params, state=state,
                           factor=factor),
        check_regularization_raises_loss(model, (x, y), loss, key, reg=reg,
                                         params=params, state=state),
        check_overfit_small_subset(model, (x, y), loss, optimizer, key, n=n,
                                   epochs=epochs, batch_size=batch_size),
    ]


def format_sanity_table(results):
    """The results as a fixed-width text table, one row per check."""
    rows = [("check", "result", "measured", "expected", "detail")]
    for r in results:
        rows.append((r.name, "PASS" if r.passed else "FAIL", f"{r.measured:.4g}",
                     f"{r.expected:.4g}", r.message))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4]
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)
