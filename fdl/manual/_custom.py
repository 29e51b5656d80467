"""Plumbing that turns a hand-written ``(forward, backward)`` pair into a JAX op.

``forward(*arrays, **static) -> (out, cache)`` and ``backward(dout, cache) -> grads``
are plain functions written from the chain rule. ``custom_op`` wraps them in a
``jax.custom_vjp`` so that ``jax.grad`` of anything built from the op runs the
hand-written backward instead of differentiating the forward.
"""

import functools

import jax
import numpy as np


@jax.tree_util.register_pytree_node_class
class Cache:
    """What a forward pass keeps for its backward pass.

    Arrays are pytree children (so they can cross ``jit`` and ``custom_vjp``
    boundaries); Python hyperparameters (stride, padding, shapes) ride along as static
    metadata. Both are read as attributes: ``cache.x``, ``cache.stride``.
    """

    def __init__(self, static=(), **arrays):
        self._arrays = arrays
        self._static = dict(static)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._arrays:
            return self._arrays[name]
        if name in self._static:
            return self._static[name]
        raise AttributeError(f"cache has no entry {name!r}")

    def tree_flatten(self):
        keys = tuple(self._arrays)
        return tuple(self._arrays[k] for k in keys), (keys, tuple(self._static.items()))

    @classmethod
    def tree_unflatten(cls, aux, children):
        keys, static = aux
        return cls(static, **dict(zip(keys, children)))


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (np.generic, np.ndarray)) and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer) and value.ndim == 0:
        return value.item()
    return value


@functools.lru_cache(maxsize=None)
def _bound(forward, backward, static_items, diff):
    static = dict(static_items)

    @jax.custom_vjp
    def op(*arrays):
        return forward(*arrays, **static)[0]

    def op_fwd(*arrays):
        return forward(*arrays, **static)

    def op_bwd(cache, dout):
        grads = backward(dout, cache)
        grads = grads if isinstance(grads, tuple) else (grads,)
        grads = iter(grads)
        # Non-differentiable inputs (integer labels, PRNG keys, running statistics)
        # get a None cotangent, which JAX reads as zero.
        return tuple(next(grads) if d else None for d in diff)

    op.defvjp(op_fwd, op_bwd)
    return op


def custom_op(forward, backward, arrays, static=None, diff=None):
    """Calls ``forward(*arrays, **static)[0]`` with ``backward`` as its VJP.

    Args:
      forward, backward: the hand-written pair.
      arrays: the positional array (or pytree) inputs.
      static: Python hyperparameters, hashed to cache one ``custom_vjp`` per setting.
      diff: one bool per array input; ``backward`` returns gradients for the True ones.
    """
    static = {k: _hashable(v) for k, v in (static or {}).items()}
    diff = tuple(diff) if diff is not None else (True,) * len(arrays)
    return _bound(forward, backward, tuple(sorted(static.items())), diff)(*arrays)
