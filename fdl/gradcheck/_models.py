"""Whole-model gradient checks: the manual build vs ``jax.grad`` vs finite differences.

An op whose backward pass is right on its own can still be wired wrongly into a network
(a gradient not summed over the batch, a cache from the wrong layer, a key split
differently in the backward pass). So beyond the per-op cases, every built-in model is
checked end to end on the training objective

    J(params) = softmax_cross_entropy(model(x; params), y) + reg * sum_w ||w||^2

(the penalty on the weights only, ``fdl.regularizers.weights``, as ``fdl.train.fit``
applies it). Three
gradients of ``J`` with respect to every parameter are compared, in float64:

* the ``manual=True`` build, whose every layer and loss backpropagates through the
  hand-written rules of ``fdl.manual``;
* ``jax.grad`` of the ordinary build, with the same parameters;
* centred finite differences of ``J`` (the ordinary build), coordinate by coordinate.

Finite differences cost two forward passes per coordinate, so a model with more than
``max_coordinates`` parameters (LeNet-5 has 61,706) is probed on a random subset of its
coordinates: an equal share of the budget from every parameter array, drawn from the
seed, so the same seed probes the same coordinates. The two analytic gradients are
always compared on every coordinate.

Kinks (lecture: "gradient checking"): ReLU and max pooling are not differentiable where
two inputs of a max tie, and a probe ``theta +- h`` that crosses such a point gives a
numerical gradient that is simply wrong, though the analytic one is right. A LeNet-5
has ~10^4 ReLUs between a first-layer weight and the loss, so a crossing is not rare.
Each probed coordinate is therefore also differentiated with step ``h / 2``: away from
kinks the two estimates agree to ``O(h^2)``; where they disagree the coordinate
straddles a kink and is left out of the numerical comparison (the report's note counts them).
A wrong backward pass cannot hide there: it shows on every other coordinate, and the
manual-vs-``jax.grad`` comparison covers every coordinate regardless.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from fdl import layers, losses, manual, models, regularizers
from fdl._compiler import cheap_compiled
from fdl.gradcheck._check import (
    ANALYTIC_TOL,
    NUMERICAL_TOL,
    ArgumentReport,
    GradcheckReport,
)
from fdl.gradcheck._numerical import rel_error
from fdl.gradcheck._suite import run_cases

# Two centred differences with steps h and h/2 differ by (3/4) h^2 f'''/6 plus rounding
# of order eps |J| / h (~1e-11 for h = 1e-5): far below this bound. Straddling a kink
# shifts an estimate by the jump in slope times the fraction of the step past the kink,
# which is above it unless the kink is harmless anyway.
KINK_TOL = 1e-8


# Centred differences resolve a gradient entry only to the rounding of J over 2h: one
# ulp of J ~ 2 over 2e-5 is 1.1e-11, and a model's J, summed through many more ops than
# one op's, moves by several ulps between probes (about 10 seen on a gradient that is
# exactly zero). Below this norm a leaf's error against finite differences is measured
# absolutely (<= NUMERICAL_TOL * 1e-3 = 1e-9, room for ~100 such quanta); above it,
# relatively as usual. A wrong gradient of a small leaf still shows: its error is a
# fraction of the leaf's own gradient, far above 1e-9.
MODEL_NUMERICAL_FLOOR = 1e-3


class ModelCase(NamedTuple):
    """One model to check: ``build(manual)`` returns the model, on inputs ``input_shape``.

    ``train``: check the training-mode objective (batch statistics in batch norm, a
    dropout mask from a fixed key). ``reg``: strength of the L2 penalty on weights.
    """

    name: str
    build: Callable  # manual (bool) -> Layer
    input_shape: tuple
    num_classes: int
    batch: int = 3
    train: bool = False
    reg: float = 1e-2


# Every case is built with impl="xla": the automatic side is then the plain reference
# (fdl.nn's ops under plain jax.grad), not a tuned kernel with a derivative rule of its
# own (fdl.kernels), so the hand-written passes are compared with autodiff proper.
PLAIN = "xla"


def _mlp(**options):
    return lambda manual_ops: models.mlp([6, 5], 3, impl=PLAIN, manual=manual_ops, **options)


def _convnet(**options):
    return lambda manual_ops: models.convnet(((2,), (3,)), hidden=(6,), num_classes=3,
                                             impl=PLAIN, manual=manual_ops, **options)


def _bottleneck(manual_ops):
    # A stride-2 bottleneck with its projection shortcut (Subsample + 1x1 conv + BN).
    return layers.serial(
        layers.Conv(4, 3, 1, 1, bias=False, impl=PLAIN, manual=manual_ops),
        layers.BatchNorm(manual=manual_ops), layers.Relu(manual=manual_ops),
        models.bottleneck_block(2, 2, in_features=4, impl=PLAIN, manual=manual_ops),
        layers.GlobalAvgPool(manual=manual_ops),
        layers.Dense(3, impl=PLAIN, manual=manual_ops))


def _inception(manual_ops):
    # One Inception block: four branches (a max pool among them) joined by concatenation.
    return layers.serial(
        layers.Conv(3, 3, 1, 1, impl=PLAIN, manual=manual_ops), layers.Relu(manual=manual_ops),
        models.inception(2, 2, 3, 1, 2, 2, impl=PLAIN, manual=manual_ops),
        layers.GlobalAvgPool(manual=manual_ops),
        layers.Dense(3, impl=PLAIN, manual=manual_ops))


MODEL_CASES = (
    ModelCase("model:linear", lambda m: models.linear(3, impl=PLAIN, manual=m), (3, 3, 2), 3),
    ModelCase("model:mlp", _mlp(), (4, 4, 1), 3),
    ModelCase("model:mlp+bn+dropout", _mlp(batchnorm=True, dropout=0.5), (4, 4, 1), 3,
              batch=4, train=True),
    ModelCase("model:convnet", _convnet(), (8, 8, 1), 3),
    ModelCase("model:convnet+bn+dropout", _convnet(batchnorm=True, dropout=0.3), (8, 8, 1), 3,
              batch=4, train=True),
    ModelCase("model:lenet5", lambda m: models.lenet5(10, impl=PLAIN, manual=m), (28, 28, 1), 10,
              batch=2),
    # The landmark families in miniature: He et al.'s CIFAR ResNet (basic blocks, option A
    # shortcuts with subsampling and zero channels), a bottleneck with a projection
    # shortcut, and an Inception block. (VGG's stacked 3x3 convs are the convnet cases.)
    ModelCase("model:resnet_cifar", lambda m: models.resnet_cifar(8, width=2, num_classes=3,
                                                                  impl=PLAIN, manual=m),
              (4, 4, 1), 3, batch=4, train=True),
    ModelCase("model:bottleneck", _bottleneck, (4, 4, 2), 3, batch=3, train=True),
    ModelCase("model:inception", _inception, (4, 4, 2), 3),
)


def _float64():
    return jnp.zeros(()).dtype == jnp.float64


def _random_like(shapes, rng):
    """float64 values shaped like ``shapes`` (drawn by NumPy: no JAX kernels to compile).

    Weights get He's scale (so activations neither vanish nor explode through the
    layers), biases and ``beta`` a small spread, ``gamma`` and running variances a
    spread around 1 (variances kept positive).
    """

    def fill(path, leaf):
        last = getattr(path[-1], "key", None)
        z = rng.standard_normal(leaf.shape)
        if last == "var":
            return 1.0 + 0.3 * np.abs(z)
        if last == "gamma":
            return 1.0 + 0.3 * z
        if len(leaf.shape) >= 2:
            return z * np.sqrt(2.0 / np.prod(leaf.shape[:-1]))
        return 0.1 * z

    return jax.tree_util.tree_map_with_path(fill, shapes)


_penalised_weights = regularizers.weights  # the weights fit penalises (ndim >= 2)


def _leaf_name(path):
    """``"1.w"`` for ``params[1]["w"]``."""
    parts = []
    for entry in path:
        parts.append(str(getattr(entry, "idx", getattr(entry, "key", entry))))
    return ".".join(parts)


def _probed_coordinates(sizes, max_coordinates, rng):
    """Sorted flat indices to difference: all of them, or an equal share per leaf."""
    total = sum(sizes)
    if total <= max_coordinates:
        return np.arange(total)
    share = max(1, max_coordinates // len(sizes))
    chosen, offset = [], 0
    for size in sizes:
        chosen.append(offset + rng.choice(size, min(size, share), replace=False))
        offset += size
    return np.sort(np.concatenate(chosen))


def model_objective(model, loss, penalty, state, x, y, reg, train, key):
    """``J(params)``: the loss of ``model`` on ``(x, y)`` plus ``reg`` times the penalty."""

    def objective(params):
        scores, _ = model.apply(params, state, x, train=train, key=key)
        return loss(scores, y) + reg * penalty(_penalised_weights(params))

    return objective


def check_model(case, *, seed=0, max_coordinates=200, h=1e-5,
                analytic_tol=ANALYTIC_TOL, numerical_tol=NUMERICAL_TOL):
    """Checks one ``ModelCase`` in float64; returns a ``GradcheckReport``.

    One row per parameter array, named by where it sits (``"1.w"`` is
    ``params[1]["w"]``): manual vs ``jax.grad`` over all its entries, and each of them
    vs finite differences over its probed, kink-free coordinates. The report's
    ``note`` says how many coordinates were probed and how many left out at kinks.
    """
    if not _float64():
        raise RuntimeError("check_model needs float64: enable jax_enable_x64 first")
    rng = np.random.default_rng(seed)
    auto, hand = case.build(False), case.build(True)
    shapes = jax.eval_shape(lambda k: auto.init(k, case.input_shape, jnp.float64),
                            jax.random.key(0))
    params, state = _random_like(shapes, rng)
    x = jnp.asarray(rng.standard_normal((case.batch,) + tuple(case.input_shape)))
    y = jnp.asarray(rng.integers(0, case.num_classes, case.batch))
    key = jax.random.key(seed) if case.train and auto.needs_key else None
    common = (state, x, y, case.reg, case.train, key)
    auto_j = model_objective(auto, losses.softmax_cross_entropy, regularizers.l2, *common)
    hand_j = model_objective(hand, manual.softmax_cross_entropy, manual.l2_regularizer, *common)

    flat, unravel = ravel_pytree(params)
    paths_leaves = jax.tree_util.tree_flatten_with_path(params)[0]
    sizes = [int(np.size(leaf)) for _, leaf in paths_leaves]
    probed = _probed_coordinates(sizes, max_coordinates, rng)

    def along(u):
        return auto_j(unravel(u))

    def analytic(v):
        return jax.grad(along)(v), jax.grad(lambda u: hand_j(unravel(u)))(v)

    def objective_at(v, i, step):
        return along(v.at[i].add(step))

    # One compiled forward pass, called from Python for every probe theta +- h e_i,
    # theta +- (h/2) e_i. Vmapping the probes instead batches the model's *weights*, and
    # XLA:CPU runs a convolution with a batch of kernels very slowly (LeNet-5: 65 s for
    # 100 probes, against well under a second one by one).
    auto_g, hand_g = (np.asarray(a) for a in cheap_compiled(analytic, flat)(flat))
    zero = jnp.zeros((), flat.dtype)
    forward = cheap_compiled(objective_at, flat, jnp.int32(0), zero)
    steps = [jnp.asarray(s, flat.dtype) for s in (h, -h, h / 2, -h / 2)]
    values = np.asarray([
        [float(forward(flat, jnp.int32(i), s)) for s in steps] for i in probed
    ]).reshape(-1, 4)
    numeric = np.stack([(values[:, 0] - values[:, 1]) / (2 * h),
                        (values[:, 2] - values[:, 3]) / h], axis=1)
    numeric, half_step = numeric[: probed.size, 0], numeric[: probed.size, 1]
    smooth = np.abs(numeric - half_step) <= KINK_TOL * np.maximum(1.0, np.abs(numeric))

    # A leaf whose gradient is zero in exact arithmetic (the bias of a layer followed by
    # batch norm, which subtracts it right back out) holds only rounding noise in both
    # analytic gradients; below 1e-4 of the whole gradient's norm, its manual-vs-auto
    # error is measured against that instead of against its own noise.
    analytic_floor = max(1e-4 * float(np.linalg.norm(auto_g)), 1e-8)
    rows, offset, kinks = [], 0, int(np.sum(~smooth))
    for (path, leaf), size in zip(paths_leaves, sizes):
        inside = (probed >= offset) & (probed < offset + size) & smooth
        where, num = probed[inside], numeric[inside]
        rows.append(ArgumentReport(
            argument=_leaf_name(path),
            shape=tuple(np.shape(leaf)),
            manual_vs_auto=rel_error(hand_g[offset:offset + size], auto_g[offset:offset + size],
                                     analytic_floor),
            manual_vs_numerical=rel_error(hand_g[where], num, MODEL_NUMERICAL_FLOOR),
            auto_vs_numerical=rel_error(auto_g[where], num, MODEL_NUMERICAL_FLOOR),
        ))
        offset += size
    note = f"finite differences on {probed.size:,} of {flat.size:,} coordinates"
    if kinks:
        note += f", {kinks} straddling a kink left out"
    return GradcheckReport(case.name, tuple(rows), analytic_tol, numerical_tol, note)


def run_model_suite(cases=MODEL_CASES, *, seed=0, pattern=None, max_coordinates=200,
                    progress=None):
    """``check_model`` on every case whose name contains ``pattern``; a list of reports.

    ``progress`` is called as ``fdl.gradcheck.run_suite`` calls it.
    """
    if not _float64():
        raise RuntimeError("run_model_suite needs float64: enable jax_enable_x64 first")
    return run_cases(
        cases, lambda case, seed: check_model(case, seed=seed, max_coordinates=max_coordinates),
        seed=seed, pattern=pattern, progress=progress)
