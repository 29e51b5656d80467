"""The registry of every op with a hand-written backward pass, with small test inputs.

One ``Case`` per op (and per interesting setting of its hyperparameters). ``fdl
gradcheck`` runs ``check`` on each; the test suite checks forward values against
independent NumPy references, VJPs, jit and shapes for each. Adding an op to fdl is
one line here (plus its reference in the tests).

Inputs come from a NumPy generator (cheap: no compilation) and are drawn away from
kinks (ReLU at 0, hinge at the margin, ties inside a pooling window), where finite
differences would straddle two linear pieces.
"""

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from fdl import losses, nn, regularizers


class Case(NamedTuple):
    """One op to check: ``fn(*make_args(rng, dtype), **kwargs)``.

    ``argnums``: the arguments to differentiate (None: every floating one);
    ``select``: the differentiated part of the output (None: all of it).
    """

    name: str
    fn: Callable
    make_args: Callable  # (numpy Generator, dtype) -> tuple of positional arguments
    kwargs: dict = {}
    argnums: tuple | None = None
    select: Callable | None = None


def _array(values, dtype):
    """NumPy ``values`` as a JAX array of ``dtype``, cast by NumPy and copied to the device
    as they are. A conversion on the device (``jnp.asarray`` of float64 values as float32,
    or of an array without a ``dtype``) compiles a program for every shape, as does any
    arithmetic on JAX arrays; so the helpers below compute in float64 NumPy and cast once.
    """
    dtype = jax.dtypes.canonicalize_dtype(dtype)
    return jnp.asarray(np.asarray(values, dtype=dtype), dtype=dtype)


def _labels(values):
    """Integer class labels (int64 NumPy) as JAX's default integer type."""
    return _array(values, np.int64)


def _normal(rng, shape, dtype, scale=1.0, shift=0.0):
    return _array(scale * rng.standard_normal(shape) + shift, dtype)


def _off_kink(rng, shape, dtype, gap=0.05):
    """Normal samples pushed at least ``gap`` away from zero."""
    z = rng.standard_normal(shape)
    return _array(_away_from_zero(z, gap), dtype)


def _away_from_zero(z, gap):
    return np.sign(z) * (np.abs(z) + gap)


def _distinct(rng, shape, dtype):
    """A random permutation of evenly spaced values: no ties anywhere (for max)."""
    values = np.linspace(-2.0, 2.0, int(np.prod(shape)))
    return _array(rng.permutation(values).reshape(shape), dtype)


def _affine_args(rng, dtype):
    return _normal(rng, (4, 2, 3, 2), dtype), _normal(rng, (12, 5), dtype), _normal(rng, (5,), dtype)


def _unary_args(shape):
    return lambda rng, dtype: (_off_kink(rng, shape, dtype),)


def _maxout_args(rng, dtype):
    return _normal(rng, (4, 5), dtype), _normal(rng, (3, 5, 6), dtype), _normal(rng, (3, 6), dtype)


def _conv_args(x_shape, w_shape):
    def make(rng, dtype):
        return (_normal(rng, x_shape, dtype), _normal(rng, w_shape, dtype, 0.5),
                _normal(rng, w_shape[-1:], dtype))
    return make


def _pool_args(shape):
    return lambda rng, dtype: (_distinct(rng, shape, dtype),)


def _normal_args(*shapes):
    return lambda rng, dtype: tuple(_normal(rng, shape, dtype) for shape in shapes)


def _sequence_args(*shapes):
    """One positional argument: a list of arrays (``concatenate``'s ``xs``)."""
    return lambda rng, dtype: ([_normal(rng, shape, dtype) for shape in shapes],)


def _bn_args(shape):
    def make(rng, dtype):
        c = shape[-1]
        state = {"mean": _normal(rng, (c,), dtype, 0.1),
                 "var": _array(1.0 + rng.uniform(size=c), dtype)}
        return (_normal(rng, shape, dtype, 2.0, shift=0.5), _normal(rng, (c,), dtype, 0.2, shift=1.0),
                _normal(rng, (c,), dtype), state)
    return make


def _dropout_args(rng, dtype):
    return _normal(rng, (6, 7), dtype), jax.random.key(int(rng.integers(2**31)))


def _class_args(rng, dtype, n=6, c=4):
    return _normal(rng, (n, c), dtype, 2.0), _labels(rng.integers(0, c, n))


def _svm_args(rng, dtype, n=6, c=4):
    # Scores on a 0.25 grid plus distinct offsets of k/28 keep every margin
    # s_j - s_y + 1 at least 1/28 away from zero (the scores of _class_args, gridded).
    scores = 2.0 * rng.standard_normal((n, c))
    y = _labels(rng.integers(0, c, n))
    return _array(np.round(scores * 4) / 4 + np.arange(c) / 28, dtype), y


def _binary_args(rng, dtype):
    y = np.where(rng.uniform(size=8) < 0.5, 1, -1)
    z = rng.standard_normal(8)
    margin = np.sign(z) * (np.abs(z) + 0.05)  # y * score - 1, kept off the hinge
    return _array((1 + margin) * y, dtype), _labels(y)


def _regression_args(rng, dtype):
    pred = rng.standard_normal((5, 3))
    target = pred + _away_from_zero(rng.standard_normal((5, 3)), 0.05)
    return _array(pred, dtype), _array(target, dtype)


def _distribution_args(rng, dtype):
    def softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return _array(e / e.sum(axis=-1, keepdims=True), dtype)

    return softmax(rng.standard_normal((4, 5))), softmax(rng.standard_normal((4, 5)))


def _params_args(rng, dtype):
    return ({"w": _off_kink(rng, (4, 3), dtype), "b": _off_kink(rng, (3,), dtype)},)


def _first(out):
    return out[0]


_BN = {"argnums": (0, 1, 2), "select": _first}

CASES = (
    Case("affine", nn.affine, _affine_args),
    Case("flatten", nn.flatten, _unary_args((3, 2, 2, 2))),
    Case("relu", nn.relu, _unary_args((4, 6))),
    Case("leaky_relu", nn.leaky_relu, _unary_args((4, 6)), {"negative_slope": 0.1}),
    Case("elu", nn.elu, _unary_args((4, 6)), {"alpha": 1.5}),
    Case("sigmoid", nn.sigmoid, _unary_args((4, 6))),
    Case("tanh", nn.tanh, _unary_args((4, 6))),
    Case("maxout", nn.maxout, _maxout_args),
    Case("softmax", nn.softmax, _unary_args((4, 5))),
    Case("log_softmax", nn.log_softmax, _unary_args((4, 5))),
    Case("conv2d[s1,p1]", nn.conv2d, _conv_args((2, 5, 5, 3), (3, 3, 3, 4)), {"stride": 1, "padding": 1}),
    Case("conv2d[s2,p0,im2col]", nn.conv2d, _conv_args((2, 7, 7, 2), (3, 3, 2, 3)),
         {"stride": 2, "padding": 0, "impl": "im2col"}),
    Case("conv2d[s2,SAME]", nn.conv2d, _conv_args((1, 6, 6, 2), (3, 3, 2, 2)),
         {"stride": 2, "padding": "SAME"}),
    Case("conv2d[2x3,s(1,2),VALID]", nn.conv2d, _conv_args((2, 4, 7, 2), (2, 3, 2, 3)),
         {"stride": (1, 2), "padding": "VALID"}),
    # Per-side padding: PyTorch's 7x7/2 pad 3 (here on 10x10), and unequal sides through im2col.
    Case("conv2d[7x7,s2,p((3,2),(3,2))]", nn.conv2d, _conv_args((1, 10, 10, 1), (7, 7, 1, 2)),
         {"stride": 2, "padding": ((3, 2), (3, 2))}),
    Case("conv2d[s2,p((1,0),(0,1)),im2col]", nn.conv2d, _conv_args((2, 6, 6, 2), (3, 3, 2, 3)),
         {"stride": 2, "padding": ((1, 0), (0, 1)), "impl": "im2col"}),
    Case("max_pool2d", nn.max_pool2d, _pool_args((2, 4, 4, 3))),
    Case("max_pool2d[3,s1]", nn.max_pool2d, _pool_args((1, 5, 5, 2)), {"size": 3, "stride": 1}),
    # -inf padding: ResNet's 3x3/2 pad 1 (here on 5x5) and a ceil-mode 3x3/2 on 6x6.
    Case("max_pool2d[3,s2,p1]", nn.max_pool2d, _pool_args((1, 5, 5, 2)),
         {"size": 3, "stride": 2, "padding": 1}),
    Case("max_pool2d[3,s2,p((0,1),(0,1))]", nn.max_pool2d, _pool_args((2, 6, 6, 2)),
         {"size": 3, "stride": 2, "padding": ((0, 1), (0, 1))}),
    Case("avg_pool2d", nn.avg_pool2d, _pool_args((2, 4, 4, 3))),
    Case("avg_pool2d[3,s2,p1]", nn.avg_pool2d, _pool_args((1, 5, 5, 2)),
         {"size": 3, "stride": 2, "padding": 1}),
    Case("avg_pool2d[2,s2,p((0,1),(1,0))]", nn.avg_pool2d, _pool_args((1, 5, 5, 2)),
         {"padding": ((0, 1), (1, 0))}),
    Case("avg_pool2d[3,s1]", nn.avg_pool2d, _pool_args((1, 5, 5, 2)), {"size": 3, "stride": 1}),
    Case("add", nn.add, _normal_args((2, 3, 4, 2), (2, 3, 4, 2))),
    Case("concatenate", nn.concatenate, _sequence_args((2, 3, 3, 2), (2, 3, 3, 1), (2, 3, 3, 3))),
    Case("concatenate[axis=1]", nn.concatenate, _sequence_args((2, 1, 3, 2), (2, 3, 3, 2)),
         {"axis": 1}),
    Case("global_avg_pool2d", nn.global_avg_pool2d, _normal_args((2, 3, 4, 3))),
    Case("global_max_pool2d", nn.global_max_pool2d, _pool_args((2, 3, 4, 3))),
    Case("subsample2d[s2]", nn.subsample2d, _normal_args((2, 5, 5, 2)), {"stride": 2}),
    Case("subsample2d[s(2,3)]", nn.subsample2d, _normal_args((1, 4, 7, 2)), {"stride": (2, 3)}),
    Case("pad_channels", nn.pad_channels, _normal_args((2, 3, 3, 2)), {"before": 1, "after": 2}),
    Case("pad_channels[(N,D)]", nn.pad_channels, _normal_args((4, 3)), {"before": 0, "after": 3}),
    Case("batch_norm[train]", nn.batch_norm, _bn_args((6, 4)), {"train": True}, **_BN),
    Case("batch_norm[train,NHWC]", nn.batch_norm, _bn_args((2, 3, 3, 4)), {"train": True}, **_BN),
    Case("batch_norm[eval]", nn.batch_norm, _bn_args((2, 3, 3, 4)), {"train": False}, **_BN),
    Case("dropout", nn.dropout, _dropout_args, {"rate": 0.3, "train": True}),
    Case("svm", losses.svm, _svm_args),
    Case("svm[squared,none]", losses.svm, _svm_args, {"squared": True, "reduction": "none"}),
    Case("softmax_cross_entropy", losses.softmax_cross_entropy, _class_args),
    Case("softmax_cross_entropy[none]", losses.softmax_cross_entropy, _class_args, {"reduction": "none"}),
    Case("zero_one", losses.zero_one, _class_args),
    Case("binary_hinge", losses.binary_hinge, _binary_args),
    Case("l1", losses.l1, _regression_args),
    Case("l2", losses.l2, _regression_args),
    Case("kl_divergence", losses.kl_divergence, _distribution_args),
    Case("regularizers.l2", regularizers.l2, _params_args),
    Case("regularizers.l1", regularizers.l1, _params_args),
    Case("regularizers.elastic_net", regularizers.elastic_net, _params_args, {"beta": 0.3}),
)
