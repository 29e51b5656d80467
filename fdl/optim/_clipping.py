"""Norm constraints: gradient clipping by global norm, and the max-norm projection.

Two different guards against steps that are too large:

- ``clip_by_global_norm`` rescales the *gradient* of the whole model when its L2 norm
  exceeds a threshold (Pascanu et al., 2013), keeping its direction;
- ``max_norm_project`` constrains the *weights*: after each update, every unit's incoming
  weight vector is projected back onto the ball ``||w||_2 <= c`` (the notes' max-norm
  regularisation; Srivastava et al., 2014).

``chain_clip`` and ``with_max_norm`` wrap any optimizer with one or the other.
"""

import jax
import jax.numpy as jnp

from fdl import regularizers
from fdl._config import configured
from fdl.optim import _base


def global_norm(tree):
    """The L2 norm of all leaves together, as if concatenated into one vector.

    $$\\|g\\| = \\sqrt{\\textstyle\\sum_{\\text{leaves } \\ell} \\sum_i g_{\\ell,i}^2}$$

    Args:
      tree: a pytree of float arrays of any shapes.
    Returns:
      Scalar in the default float dtype (float32, float64 under ``jax_enable_x64``), so
      that low-precision leaves are summed without overflow. 0 for an empty tree.

    Examples:
      >>> import jax.numpy as jnp
      >>> float(global_norm({"a": jnp.array([3.0]), "b": jnp.array([[4.0]])}))
      5.0
    """
    dtype = _base.default_float()
    squares = [jnp.sum(jnp.square(jnp.asarray(x).astype(dtype))) for x in jax.tree.leaves(tree)]
    return jnp.sqrt(sum(squares, jnp.zeros((), dtype)))


def clip_by_global_norm(grads, max_norm):
    """Rescales ``grads`` so that their global norm is at most ``max_norm``.

    $$g \\leftarrow g \\cdot \\frac{c}{\\max(\\|g\\|, c)}$$

    Gradients already within the bound are returned unchanged (the factor is exactly 1);
    larger ones keep their direction and get norm ``c``.

    Args:
      grads: a pytree of float arrays.
      max_norm: ``c`` > 0.
    Returns:
      ``(clipped_grads, norm)``: a tree like ``grads`` (same dtypes) and the global norm
      before clipping, a scalar (log it: a rising norm is an early sign of divergence).
    Raises:
      ValueError: ``max_norm`` not > 0.

    References:
      Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural
      networks", ICML 2013.
    """
    max_norm = _base.positive_float(max_norm, "max_norm")
    norm = global_norm(grads)
    # c / max(norm, c) is min(1, c / norm) without dividing by a zero norm.
    scale = max_norm / jnp.maximum(norm, max_norm)
    clipped = jax.tree.map(lambda g: (g * scale.astype(jnp.result_type(g))), grads)
    return clipped, norm


def max_norm_project(params, c):
    """Projects each unit's incoming weights onto the L2 ball of radius ``c``.

    For a leaf with ``ndim >= 2`` the last axis indexes output units and the other axes
    hold one unit's incoming weights: a column of a dense ``(D_in, D_out)`` matrix, or a
    whole ``(KH, KW, C_in)`` filter of an HWIO conv kernel. Each such vector ``w`` becomes

    $$w \\leftarrow w \\cdot \\frac{c}{\\max(\\|w\\|_2, c)},$$

    unchanged when already inside the ball. Leaves with ``ndim < 2`` (biases, scales,
    scalars) are returned untouched.

    Args:
      params: a pytree of float arrays (dense ``(D_in, D_out)``, conv ``(KH, KW, C_in,
        C_out)``, biases ``(D,)``).
      c: the radius, a float > 0 (typically 3 or 4).
    Returns:
      A tree like ``params``, same dtypes.
    Raises:
      ValueError: ``c`` not > 0.

    Examples:
      >>> import jax.numpy as jnp
      >>> w = jnp.array([[3.0, 0.3], [4.0, 0.4]])  # column norms 5 and 0.5
      >>> projected = max_norm_project({"w": w}, 1.0)["w"]
      >>> [[round(float(v), 3) for v in row] for row in projected]
      [[0.6, 0.3], [0.8, 0.4]]

    References:
      Srivastava et al., "Dropout: a simple way to prevent neural networks from
      overfitting", JMLR 2014, section 5.1.
    """
    # One implementation, shared with the regulariser of the same name.
    return regularizers.max_norm(params, _base.positive_float(c, "c"))


@configured
def chain_clip(optimizer, max_norm):
    """Wraps an optimizer so that it clips the gradients by global norm first.

    ``update(params, grads, state)`` becomes
    ``optimizer.update(params, clip_by_global_norm(grads, max_norm)[0], state)``; the
    state is the wrapped optimizer's own (so ``current_lr`` still works).

    Args:
      optimizer: an ``Optimizer``.
      max_norm: ``c`` > 0.
    Returns:
      An ``Optimizer``.
    Raises:
      ValueError: ``max_norm`` not > 0.
      TypeError: ``optimizer`` not an ``Optimizer``.
    """
    _check_optimizer(optimizer)
    max_norm = _base.positive_float(max_norm, "max_norm")

    def update(params, grads, state):
        _base.check_same_tree(params, grads)
        clipped, _ = clip_by_global_norm(grads, max_norm)
        return optimizer.update(params, clipped, state)

    return _base.Optimizer(optimizer.init, update)


@configured
def with_max_norm(optimizer, c):
    """Wraps an optimizer so that every update is followed by ``max_norm_project(params, c)``.

    This is max-norm regularisation as the notes describe it: update as usual, then clamp
    each unit's weight vector to ``||w||_2 <= c``. It keeps the weights bounded even with a
    large learning rate. The state is the wrapped optimizer's own.

    Args:
      optimizer: an ``Optimizer``.
      c: the radius, a float > 0.
    Returns:
      An ``Optimizer``.
    Raises:
      ValueError: ``c`` not > 0.
      TypeError: ``optimizer`` not an ``Optimizer``.
    """
    _check_optimizer(optimizer)
    c = _base.positive_float(c, "c")

    def update(params, grads, state):
        params, state = optimizer.update(params, grads, state)
        return max_norm_project(params, c), state

    return _base.Optimizer(optimizer.init, update)


def _check_optimizer(optimizer):
    if not isinstance(optimizer, _base.Optimizer):
        raise TypeError(
            f"optimizer must be an fdl.optim Optimizer, got {type(optimizer).__name__}"
        )
