"""Validation of what a user hands to ``fit``, ``evaluate`` and ``sanity_check``.

One place checks the data against the model before anything is compiled, on the host
and once per call: inside the compiled loop labels and pixels are tracers and a wrong
value would train silently (a label of -1 or 10 for a 10-class model indexes out of
range without an error) or surface later as a misleading "diverged" message (a NaN
pixel). Each message names the argument, the first bad example and what was expected.
"""

import jax
import jax.numpy as jnp
import numpy as np


def pair(data, argname):
    """``data`` as an ``(x, y)`` pair of arrays: a batch axis, ``(N,)`` integer labels."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{argname} must be an (x, y) pair, got {type(data).__name__}")
    x, y = data
    x, y = jnp.asarray(x), jnp.asarray(y)
    if x.ndim < 1 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"{argname}: x must have a batch axis and y be (N,) labels of the same N; got "
            f"x {x.shape}, y {y.shape}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{argname} is empty")
    if not jnp.issubdtype(y.dtype, jnp.integer):
        raise TypeError(f"{argname}: y must hold integer class labels, got {y.dtype}")
    return x, y


def positive_int(value, argname, allow_zero=False, caller="fit"):
    """``value`` as an int ``>= 1`` (``>= 0`` with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{caller}: {argname} must be an int, got {value!r}")
    if value < (0 if allow_zero else 1):
        raise ValueError(
            f"{caller}: {argname} must be {'>= 0' if allow_zero else 'positive'}, got {value}"
        )
    return int(value)


def num_classes(model, example_shape, argname):
    """The number of classes ``model`` scores for examples of ``example_shape``.

    The model's output shape is computed analytically; a shape the model cannot take is
    reported against ``argname``, not against the layer that first refuses it.
    """
    try:
        out = model.output_shape(tuple(example_shape))
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{argname}: examples of shape {tuple(example_shape)} do not fit the model "
            f"({err})"
        ) from None
    out = tuple(out)
    if len(out) != 1:
        raise ValueError(
            f"{argname}: the model gives scores of shape {out} per example; a classifier "
            "trained with integer labels must give one score per class, (C,)"
        )
    return out[0]


def _first_row(bad_rows):
    return int(np.argmax(bad_rows))


def check_labels(y, classes, argname):
    """Labels must be class indices in ``[0, classes)``: names the first one that is not.

    A model with one output scores a binary decision (``fdl.losses.binary_hinge`` takes
    labels -1/+1), so its labels are not class indices and are left to the loss.
    """
    if classes == 1:
        return
    host = np.asarray(jax.device_get(y))
    bad = (host < 0) | (host >= classes)
    if bad.any():
        i = _first_row(bad)
        raise ValueError(
            f"{argname}: y[{i}] = {host[i]} is not a class index of this model, which "
            f"scores {classes} classes (labels must lie in [0, {classes}); found "
            f"{host.min()}..{host.max()})"
        )


def check_finite(x, argname):
    """Floating inputs must be finite: names the first example holding a NaN or inf."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return
    host = np.asarray(jax.device_get(x))
    finite_rows = np.isfinite(host.reshape(host.shape[0], -1)).all(axis=1)
    if not finite_rows.all():
        i = _first_row(~finite_rows)
        value = host[i].ravel()[np.argmin(np.isfinite(host[i].ravel()))]
        raise ValueError(
            f"{argname}: x[{i}] holds a non-finite value ({value}); inputs must be finite "
            f"({int((~finite_rows).sum())} of {host.shape[0]} examples are not)"
        )


def examples(model, data, argname, like=None):
    """``(x, y)`` checked against ``model``: shape it accepts, labels in range, finite x.

    ``like``: the training ``x`` that ``data`` (validation or test data) must match
    example for example.
    """
    x, y = pair(data, argname)
    if like is not None and tuple(x.shape[1:]) != tuple(like.shape[1:]):
        raise ValueError(
            f"{argname}: examples of shape {tuple(x.shape[1:])}, but the training data's "
            f"are {tuple(like.shape[1:])}"
        )
    check_labels(y, num_classes(model, x.shape[1:], argname), argname)
    check_finite(x, argname)
    return x, y
