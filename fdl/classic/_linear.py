"""Linear classifiers: the multiclass SVM and the softmax classifier.

The lecture's parametric approach replaces "remember the training set" by a score
function with a few parameters. For an image flattened to a row ``x`` of ``D`` pixels,
the class scores are

    ``s = x W + b``,   ``W`` ``(D, C)``, ``b`` ``(C,)``, ``s`` ``(C,)``

(for a batch, ``S = X W + b`` with ``X`` ``(N, D)``). Column ``c`` of ``W`` is a
template of class ``c``: the score is its dot product with the image, so reshaped to the
image's shape it shows what the class "looks like" to the classifier
(``weight_templates``).

Training minimises the data loss plus an L2 penalty,
``L(W, b) = 1/N sum_i L_i + reg * sum_{d,c} W_dc^2`` (no ``1/2``: the notes'
``R(W) = sum W^2``; the bias is not penalised), with one of

- the multiclass SVM (hinge) loss ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``,
- the softmax (cross-entropy) loss ``L_i = -log(e^{s_{y_i}} / sum_j e^{s_j})``,

by minibatch gradient descent with an ``fdl.optim`` update rule, through
``fdl.train.fit``'s own step and compiled epoch (one ``lax.scan`` over its steps).
"""

import math
import numbers
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl import init as _init
from fdl import losses as _losses
from fdl import optim as _optim
from fdl.classic._distances import as_points
from fdl.layers._core import Layer

LOSSES = ("svm", "softmax")
"""Valid ``loss`` names: multiclass hinge, softmax cross-entropy."""

_DATA_LOSS = {"svm": _losses.svm, "softmax": _losses.softmax_cross_entropy}

# Defaults measured on the bundled digits (pixels in [0, 1], 1,197 training images):
# momentum SGD at these rates reaches ~96-97% test accuracy for both losses in well
# under a second, and 2-10x larger rates start to oscillate. The hinge loss has
# gradients of size ~1 per violated margin (up to C - 1 of them per example), the
# softmax loss at most 1 in total, hence the smaller SVM rate.
DEFAULT_LR = {"svm": 0.01, "softmax": 0.1}
DEFAULT_REG = 1e-4
DEFAULT_EPOCHS = 60
DEFAULT_BATCH_SIZE = 64


class LinearClassifier(NamedTuple):
    """The parameters of a linear classifier ``s = x W + b``.

    Attributes:
      w: ``(D, C)`` weights; column ``c`` is the template of class ``c``.
      b: ``(C,)`` biases.
    """

    w: jax.Array
    b: jax.Array


def check_loss(loss):
    """``loss`` if it names a known linear-classifier loss, else ``ValueError``."""
    if not isinstance(loss, str) or loss not in LOSSES:
        valid = ", ".join(repr(name) for name in LOSSES)
        raise ValueError(f"loss must be one of {valid}, got {loss!r}")
    return loss


def check_classifier(classifier, name="classifier"):
    """A ``LinearClassifier`` (or a ``(w, b)`` pair) with a 2-D ``w`` and matching ``b``."""
    if not isinstance(classifier, tuple) or len(classifier) != 2:
        raise TypeError(
            f"{name} must be a LinearClassifier(w, b), got {type(classifier).__name__}"
        )
    w, b = (jnp.asarray(a) for a in classifier)
    if w.ndim != 2:
        raise ValueError(f"{name}.w must have shape (D, C), got {tuple(w.shape)}")
    if b.shape != (w.shape[1],):
        raise ValueError(
            f"{name}.b must have shape ({w.shape[1]},) to match w {tuple(w.shape)}, "
            f"got {tuple(b.shape)}"
        )
    return LinearClassifier(w, b)


def _points(x, classifier, name="x"):
    """``x`` flattened to ``(N, D)`` in ``w``'s dtype, with ``D`` checked against ``w``."""
    x = as_points(x, name)
    if x.shape[1] != classifier.w.shape[0]:
        raise ValueError(
            f"{name} has D={x.shape[1]} features per example but the classifier's w "
            f"expects D={classifier.w.shape[0]}"
        )
    return x.astype(classifier.w.dtype)


def _labels(y, n, num_classes=None):
    """Integer labels ``(n,)``; returns them as int32 with the class count."""
    try:
        y = jnp.asarray(y)
    except (TypeError, ValueError) as err:
        raise TypeError(f"y must be an array of integer labels, got {type(y).__name__}") from err
    if y.dtype == jnp.bool_ or not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(
            f"y must have shape ({n},), one label per example of x, got {tuple(y.shape)}"
        )
    if num_classes is not None:
        if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
            raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__}")
        if num_classes < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
    if not isinstance(y, jax.core.Tracer) and n:
        low, high = int(jnp.min(y)), int(jnp.max(y))
        if low < 0:
            raise ValueError(f"y must hold non-negative class labels, got {low}")
        if num_classes is None:
            num_classes = max(high + 1, 2)
        elif high >= num_classes:
            raise ValueError(
                f"y holds label {high}, outside [0, {num_classes}) for "
                f"num_classes={num_classes}"
            )
    elif num_classes is None:
        raise ValueError("num_classes must be given when y is traced or empty")
    return y.astype(jnp.int32), int(num_classes)


def _scores(classifier, x):
    # HIGHEST: on GPUs a float32 matmul would otherwise round its inputs to TF32.
    return jnp.dot(x, classifier.w, precision=lax.Precision.HIGHEST) + classifier.b


def linear_scores(classifier, x):
    """Class scores ``S = X W + b`` of a linear classifier.

    Args:
      classifier: a ``LinearClassifier`` with ``w`` ``(D, C)``, ``b`` ``(C,)``.
      x: ``(N, ...)`` examples; every axis after the first is flattened, so NHWC images
        ``(N, H, W, C)`` need ``H * W * C = D``.

    Returns:
      float ``(N, C)``.

    Raises:
      ValueError: a feature count other than ``D``; a malformed classifier.
    """
    classifier = check_classifier(classifier)
    return _scores(classifier, _points(x, classifier))


def linear_predict(classifier, x):
    """Predicted labels ``argmax_c s_c`` of a linear classifier: int32 ``(N,)``."""
    return jnp.argmax(linear_scores(classifier, x), axis=1).astype(jnp.int32)


def _objective(classifier, x, y, reg, loss):
    """Mean data loss plus ``reg * sum W^2`` (the bias is not penalised)."""
    data_loss = _DATA_LOSS[loss](_scores(classifier, x), y)
    return data_loss + reg * jnp.sum(jnp.square(classifier.w))


def linear_loss(classifier, x, y, *, loss="svm", reg=0.0):
    """The training objective ``1/N sum_i L_i + reg * sum W^2`` of a linear classifier.

    ``L_i`` is the multiclass hinge ``sum_{j != y_i} max(0, s_j - s_{y_i} + 1)``
    (``loss="svm"``) or the cross-entropy ``-log softmax(s)_{y_i}`` (``"softmax"``) of
    the scores ``s = x W + b``. Differentiable with ``jax.grad`` in the classifier:
    ``dL/dW = X^T dS / N + 2 reg W``, ``dL/db = sum_i dS_i / N``.

    Args:
      classifier: a ``LinearClassifier``.
      x: ``(N, ...)`` examples with ``D`` features. y: int ``(N,)`` labels in ``[0, C)``.
      loss: ``"svm"`` or ``"softmax"``.
      reg: the L2 strength ``>= 0``.

    Returns:
      a scalar.
    """
    classifier = check_classifier(classifier)
    loss = check_loss(loss)
    x = _points(x, classifier)
    y, _ = _labels(y, x.shape[0], classifier.w.shape[1])
    reg = _check_reg(reg)
    return _objective(classifier, x, y, reg, loss)


def _check_reg(reg):
    if isinstance(reg, jax.core.Tracer):
        return reg
    if isinstance(reg, bool) or not isinstance(reg, numbers.Real):
        raise TypeError(f"reg must be a real number, got {type(reg).__name__}")
    if not math.isfinite(reg) or reg < 0:
        raise ValueError(f"reg must be a finite number >= 0, got {reg}")
    return float(reg)


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def _apply_linear(params, state, x, *, train=False, key=None):
    del train, key
    return _scores(params, x), state


def _init_unused(key, input_shape, dtype=None):
    raise TypeError("the linear classifier is initialised by init_linear_classifier")


# The classifier as a layer, so that it trains through fit's own step and epoch; one
# object, so that every training run shares its compiled epoch.
_LINEAR_MODEL = Layer(_init_unused, _apply_linear, lambda shape: shape,
                      "linear classifier s = x W + b")


def _train(classifier, x, y, reg, key, *, loss, optimizer, epochs, batch_size):
    """Minibatch descent with ``fdl.train.fit``'s compiled epoch: ``(classifier, losses)``.

    Each epoch draws a permutation and takes ``N // batch_size`` steps on its
    consecutive minibatches (fit's step and keys: ``reg * sum W^2`` penalises the
    weights, not the bias); ``losses`` ``(epochs, steps)`` holds each step's objective
    before its update. ``reg`` and the optimizer's ``lr`` are traced, so changing them
    does not recompile.
    """
    from fdl.train import _loop
    from fdl.train._history import History
    from fdl.train._state import TrainState

    epoch, hyper, _ = _loop.epoch_program(_LINEAR_MODEL, _DATA_LOSS[loss], optimizer,
                                          batch_size, x.shape[0], "scan", reg=reg)
    run = TrainState(classifier, (), optimizer.init(classifier), epoch=0, step=0, key=key,
                     history=History())
    losses = []
    for _ in range(epochs):
        run, epoch_losses, _, _ = _loop._train_epoch(run, epoch, hyper, x, y, key)
        losses.append(epoch_losses)
    # Stacked on the host (a device-side stack would compile once per epoch count), in the
    # dtype the steps computed them in.
    return run.params, np.stack(losses).astype(x.dtype)


def init_linear_classifier(key, num_features, num_classes, dtype=jnp.float32, std=0.01):
    """Small random weights ``W ~ N(0, std^2)`` ``(D, C)`` and zero biases, as in the notes.

    With ``std = 0.01`` all scores start near zero, so the initial loss is about
    ``C - 1`` (SVM) or ``ln C`` (softmax): a sanity check worth doing.
    """
    num_features = _check_count(num_features, "num_features")
    num_classes = _check_count(num_classes, "num_classes")
    w = _init.normal(key, (num_features, num_classes), dtype, std=std)
    return LinearClassifier(w, jnp.zeros((num_classes,), dtype))


def train_linear_classifier(
    x,
    y,
    *,
    loss="svm",
    reg=DEFAULT_REG,
    optimizer=None,
    epochs=DEFAULT_EPOCHS,
    batch_size=DEFAULT_BATCH_SIZE,
    key,
    num_classes=None,
    return_losses=False,
):
    """Trains a linear classifier ``s = x W + b`` by minibatch gradient descent.

    Minimises ``1/N sum_i L_i + reg * sum W^2`` (see ``linear_loss``) starting from
    ``init_linear_classifier`` (``W ~ N(0, 0.01^2)``, ``b = 0``). Each epoch shuffles
    the examples and takes ``N // batch_size`` steps of ``optimizer`` on consecutive
    minibatches of the shuffled order; each epoch is one compiled program, shared by
    every run of the same shapes, loss and optimizer.

    The defaults reach about 96% test accuracy on ``fdl.data.load_digits()`` for both
    losses in well under a second: momentum SGD (``mu = 0.9``) with ``lr = 0.01``
    (SVM) or ``0.1`` (softmax), ``reg = 1e-4``, 60 epochs of minibatches of 64.

    Args:
      x: ``(N, ...)`` examples, flattened to ``D`` features (images ``(N, H, W, C)``
        become rows of ``H * W * C`` pixels). Integer pixels are cast to float32.
      y: int ``(N,)`` labels in ``[0, num_classes)``.
      loss: ``"svm"`` (multiclass hinge) or ``"softmax"`` (cross-entropy).
      reg: L2 regularisation strength ``>= 0`` on ``W``.
      optimizer: an ``fdl.optim`` optimizer; default ``fdl.optim.momentum`` at the
        rate above for ``loss``.
      epochs: passes over the data, ``>= 1``.
      batch_size: examples per step, ``>= 1``; a value above ``N`` means full-batch.
      key: a JAX random key: initialisation and the shuffles. Same key, same result.
      num_classes: ``C``; default ``max(y) + 1``.
      return_losses: also return the objective of every step, a NumPy array
        ``(epochs, steps)``.

    Returns:
      a ``LinearClassifier``, or ``(classifier, losses)`` with ``return_losses``.

    Raises:
      ValueError: an unknown ``loss``, ``reg < 0``, counts below 1, a label count
        other than ``N``, labels out of range.
      TypeError: a ``key`` that is not a JAX key, an ``optimizer`` without
        ``init``/``update``, labels that are not integers.

    Examples:
      >>> import jax, fdl
      >>> digits = fdl.data.load_digits()
      >>> svm = fdl.classic.train_linear_classifier(
      ...     digits.train.x, digits.train.y, loss="svm", key=jax.random.key(0))
      >>> svm.w.shape
      (64, 10)
    """
    loss = check_loss(loss)
    reg = _check_reg(reg)
    epochs = _check_count(epochs, "epochs")
    batch_size = _check_count(batch_size, "batch_size")
    x = as_points(x, "x")
    if x.shape[0] == 0:
        raise ValueError("x must hold at least one example")
    y, num_classes = _labels(y, x.shape[0], num_classes)
    if optimizer is None:
        optimizer = _optim.momentum(DEFAULT_LR[loss])
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError(
            "optimizer must have init and update (an fdl.optim optimizer), got "
            f"{type(optimizer).__name__}"
        )
    if not (
        isinstance(key, jax.Array)
        and (jnp.issubdtype(key.dtype, jax.dtypes.prng_key) or key.dtype == jnp.uint32)
    ):
        raise TypeError(f"key must be a JAX random key, got {type(key).__name__}")
    init_key, train_key = jax.random.split(key)
    classifier = init_linear_classifier(init_key, x.shape[1], num_classes, x.dtype)
    classifier, losses = _train(
        classifier, x, y, reg, train_key,
        loss=loss, optimizer=optimizer, epochs=epochs,
        batch_size=min(batch_size, x.shape[0]),
    )
    return (classifier, losses) if return_losses else classifier


def linear_svm(x, y, *, key, **options):
    """``train_linear_classifier(x, y, loss="svm", ...)``: the multiclass SVM."""
    return train_linear_classifier(x, y, loss="svm", key=key, **options)


def softmax_classifier(x, y, *, key, **options):
    """``train_linear_classifier(x, y, loss="softmax", ...)``: softmax regression."""
    return train_linear_classifier(x, y, loss="softmax", key=key, **options)


def weight_templates(classifier, image_shape):
    """Each class's weights reshaped to an image: the lecture's "templates".

    Column ``c`` of ``W`` ``(D, C)`` scores class ``c`` by its dot product with the
    image, so it is an image-shaped template of the class. Returned unscaled (see
    ``fdl.viz.plot_weight_templates`` to draw them rescaled to ``[0, 1]``).

    Args:
      classifier: a ``LinearClassifier``, or a ``(D, C)`` weight matrix.
      image_shape: ``(H, W)`` or ``(H, W, channels)`` with ``H * W * channels = D``.

    Returns:
      ``(C, H, W, channels)`` (``channels = 1`` for a 2-D ``image_shape``).

    Raises:
      ValueError: an ``image_shape`` whose size is not ``D``.
    """
    if isinstance(classifier, tuple):
        w = check_classifier(classifier).w
    else:
        w = jnp.asarray(classifier)
        if w.ndim != 2:
            raise ValueError(
                f"classifier must be a LinearClassifier or a (D, C) weight matrix, "
                f"got shape {tuple(w.shape)}"
            )
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError as err:
        raise TypeError(
            f"image_shape must be (H, W) or (H, W, channels), got {image_shape!r}"
        ) from err
    if len(shape) == 2:
        shape = (*shape, 1)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be (H, W) or (H, W, channels) of positive sizes, "
            f"got {image_shape!r}"
        )
    if math.prod(shape) != w.shape[0]:
        raise ValueError(
            f"image_shape {shape} holds {math.prod(shape)} pixels but w has "
            f"D={w.shape[0]} rows"
        )
    return w.T.reshape(w.shape[1], *shape)
