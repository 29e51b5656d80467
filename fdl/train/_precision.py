"""Mixed precision: compute in a low-precision dtype, keep parameters in float32.

With ``compute_dtype=jnp.bfloat16`` the forward and backward passes run on bfloat16
copies of the parameters and inputs, while the parameters, the optimizer state and the
batch-norm running statistics stay in their own (float32) dtype. The scores are cast back
to float32 before the loss, so the softmax, the log and the mean over the batch are
computed in float32. Because the cast happens inside the differentiated function, the
gradient with respect to the float32 parameters comes back in float32.
"""

import jax
import jax.numpy as jnp
import numpy as np

# Dtypes a forward pass may be computed in.
COMPUTE_DTYPES = ("bfloat16", "float16", "float32", "float64")


def compute_dtype_arg(value, fn):
    """``value`` as a NumPy dtype of ``COMPUTE_DTYPES``, or ``None`` (the inputs' dtype).

    Raises:
      TypeError: ``value`` is not a dtype (or dtype name).
      ValueError: a dtype that is not a floating type fit for computing in.
    """
    if value is None:
        return None
    try:
        dtype = np.dtype(jnp.dtype(value))
    except TypeError:
        raise TypeError(
            f"{fn}: compute_dtype must be None or a floating dtype such as jnp.bfloat16, "
            f"got {value!r}"
        ) from None
    if dtype.name not in COMPUTE_DTYPES:
        raise ValueError(
            f"{fn}: compute_dtype must be one of {', '.join(COMPUTE_DTYPES)} (or None), "
            f"got {dtype.name}"
        )
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        raise ValueError(f"{fn}: compute_dtype float64 needs jax_enable_x64 turned on")
    return dtype


def cast_floats(tree, dtype):
    """``tree`` with every floating leaf cast to ``dtype`` (integer leaves untouched)."""
    if dtype is None:
        return tree
    return jax.tree.map(
        lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree
    )


def like(tree, reference):
    """``tree`` cast leaf by leaf to the dtypes of ``reference`` (same structure)."""
    return jax.tree.map(lambda a, r: a.astype(r.dtype), tree, reference)


def apply_in(model, dtype, params, state, x, *, train, key=None):
    """``model.apply`` computed in ``dtype``; scores are returned in float32 at least.

    In training the running statistics in ``state`` are not cast (their updates would
    lose precision in bfloat16) and the new state keeps the dtypes of ``state``; in eval
    mode the statistics are cast too, so that the whole forward pass runs in ``dtype``.
    Returns ``(scores, new_state)``.
    """
    if dtype is None:
        return model.apply(params, state, x, train=train, key=key)
    scores, new_state = model.apply(
        cast_floats(params, dtype), state if train else cast_floats(state, dtype),
        cast_floats(x, dtype), train=train, key=key,
    )
    out_dtype = jnp.promote_types(dtype, jnp.float32)
    return scores.astype(out_dtype), like(new_state, state)
