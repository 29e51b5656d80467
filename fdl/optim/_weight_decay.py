"""Which parameters weight decay applies to: decay masks.

Weight decay (the notes' L2 regularisation, applied to the weights rather than the loss)
is meant for the weights of dense and conv layers. Biases and batch-norm scales set the
offset and scale of a unit, not its complexity, and are usually left alone. A mask says
which leaves are decayed: a tree of bools with the structure of ``params``, or a function
that builds one from ``params``.
"""

import jax
import jax.numpy as jnp

from fdl import regularizers as _regularizers


def decay_mask_skip_biases(params):
    """A decay mask that is True for weight matrices and kernels, False for biases.

    A leaf is decayed when it is a weight in the sense of ``fdl.regularizers.weight_mask``
    (``ndim >= 2``: dense weights ``(D_in, D_out)`` and conv kernels ``(KH, KW, C_in,
    C_out)``); biases, batch-norm ``gamma``/``beta`` ``(C,)`` and scalars are not -- the
    same leaves ``fit(reg=...)`` penalises.

    Args:
      params: a pytree of arrays.
    Returns:
      A pytree of Python bools with the structure of ``params``.

    Examples:
      >>> import jax.numpy as jnp
      >>> decay_mask_skip_biases({"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)})
      {'b': False, 'w': True}
    """
    return _regularizers.weight_mask(params)


def check_mask_type(mask):
    """At construction: a mask is None, a callable, or a pytree (never a string)."""
    if isinstance(mask, (str, bytes)):
        raise TypeError(
            "mask must be None, a pytree of bools like params, or a callable "
            f"params -> such a tree, got {type(mask).__name__}"
        )


def resolve_mask(mask, params):
    """The mask for ``params`` as a tree of bools (scalars or leaf-shaped arrays).

    Raises:
      ValueError: the mask's tree structure differs from that of ``params``, or a mask
        leaf has neither shape ``()`` nor the shape of its parameter.
      TypeError: a mask leaf is not boolean.
    """
    if mask is None:
        return jax.tree.map(lambda _: True, params)
    if callable(mask):
        mask = mask(params)
    params_def, mask_def = jax.tree.structure(params), jax.tree.structure(mask)
    if params_def != mask_def:
        raise ValueError(
            f"mask must have the tree structure of params; params: {params_def}, "
            f"mask: {mask_def}"
        )
    paths, _ = jax.tree_util.tree_flatten_with_path(params)
    for (path, p), m in zip(paths, jax.tree.leaves(mask)):
        where = jax.tree_util.keystr(path) or "<root>"
        if jnp.result_type(m) != jnp.bool_:
            raise TypeError(f"mask leaf {where} must be a bool, got dtype {jnp.result_type(m)}")
        if jnp.shape(m) not in ((), jnp.shape(p)):
            raise ValueError(
                f"mask leaf {where} must have shape () or the params leaf's "
                f"{jnp.shape(p)}, got {jnp.shape(m)}"
            )
    return mask
