"""Regularisation penalties ``R(W)`` (lecture: "Regularization").

The full loss is ``L = 1/N sum_i L_i + lambda R(W)``: the data loss says "fit the
training data", the penalty says "stay simple" (Occam's razor). Each penalty sums over
EVERY leaf of a params pytree; pass only the weights (not biases) if biases should go
unpenalised, as is usual.
"""

import jax
import jax.numpy as jnp

from fdl import _checks


def weight_mask(params):
    """Which leaves of ``params`` are *weights*: a tree of bools, True where ``ndim >= 2``.

    The one definition fdl uses for "the weights" -- in ``fit(reg=...)``'s penalty, in
    weight decay's default mask (``fdl.optim.decay_mask_skip_biases``), in the update
    ratios and the gradient checks. Dense weights ``(D_in, D_out)``, conv kernels
    ``(KH, KW, C_in, C_out)`` and maxout's ``(pieces, D_in, D_out)`` are weights; biases,
    batch-norm ``gamma``/``beta`` ``(C,)`` and scalars are not: they set a unit's offset
    and scale, not its complexity (lecture: "Regularization"). For fdl's layers these
    are exactly the leaves named ``"w"``.

    Examples:
      >>> import jax.numpy as jnp
      >>> weight_mask({"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)})
      {'b': False, 'w': True}
    """
    return jax.tree_util.tree_map(_is_weight, params)


def _is_weight(leaf):
    return jnp.ndim(leaf) >= 2


def weight_paths(params):
    """``[(path, leaf)]`` of the weights of ``params`` (see ``weight_mask``), in tree order."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return [(path, leaf) for path, leaf in flat if _is_weight(leaf)]


def weights(params):
    """The weight leaves of ``params`` (see ``weight_mask``) as a list, in tree order."""
    return [leaf for _, leaf in weight_paths(params)]


def check_params(params):
    """The floating leaves of ``params``; raises if there are none or one is not float."""
    return _leaves(params)


def _leaves(params):
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must contain at least one array")
    return [_checks.float_array(leaf, "params leaf") for leaf in leaves]


def l2(params):
    """L2 penalty ``R(W) = sum_k sum_l W_kl^2`` (weight decay; no 1/2, as in the notes)."""
    return sum(jnp.sum(jnp.square(w)) for w in _leaves(params))


def l1(params):
    """L1 penalty ``R(W) = sum |W_kl|``; drives weights to exactly zero (sparsity)."""
    return sum(jnp.sum(jnp.abs(w)) for w in _leaves(params))


def elastic_net(params, beta):
    """Elastic net ``R(W) = sum beta W_kl^2 + |W_kl|`` (L1 + L2)."""
    _checks.real_scalar(beta, "beta", low=0.0)
    return sum(jnp.sum(beta * jnp.square(w) + jnp.abs(w)) for w in _leaves(params))


def max_norm(params, c):
    """Max-norm constraint: project each unit's incoming weights onto ``||w||_2 <= c``.

    Not a penalty but a projection applied after each update. For a dense ``(D_in,
    D_out)`` weight each column (one output unit) is rescaled; for an HWIO conv kernel,
    each output filter ``w[:, :, :, o]``. Leaves of rank < 2 (biases) are unchanged.

    Returns:
      A pytree shaped like ``params``.
    """
    _checks.real_scalar(c, "c", low=0.0, low_open=True)

    def project(w):
        w = _checks.float_array(w, "params leaf")
        if w.ndim < 2:
            return w
        axes = tuple(range(w.ndim - 1))
        norms = jnp.sqrt(jnp.sum(jnp.square(w), axis=axes, keepdims=True))
        scale = jnp.minimum(1.0, c / jnp.maximum(norms, jnp.finfo(w.dtype).tiny))
        return w * scale.astype(w.dtype)

    return jax.tree_util.tree_map(project, params)
