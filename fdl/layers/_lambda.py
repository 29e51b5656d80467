"""``Lambda``: any parameter-free, stateless function of the batch as a layer."""

import jax
import jax.numpy as jnp

from fdl._config import configured
from fdl.layers._core import check_input_shape, parameter_free

# The batch size of the stand-in input that output_shape traces fn with. Not 1, so that
# a fn that drops or merges the batch axis (a squeeze, a reshape) is caught.
_PROBE_BATCH = 2


def _probe(input_shape, name):
    """``ShapeDtypeStruct``s of a ``_PROBE_BATCH``-example batch for ``input_shape`` (one
    shape, or a tuple of shapes after ``fan_out``/``parallel``)."""
    if isinstance(input_shape, (tuple, list)) and input_shape and all(
            isinstance(s, (tuple, list)) for s in input_shape):
        return tuple(_probe(s, name) for s in input_shape)
    shape = check_input_shape(input_shape, name)
    return jax.ShapeDtypeStruct((_PROBE_BATCH, *shape), jnp.float32)


def _shapes(out, name):
    """Per-example shape(s) of ``fn``'s output on the probe batch."""
    if isinstance(out, (tuple, list)):
        return tuple(_shapes(o, name) for o in out)
    shape = getattr(out, "shape", None)
    if shape is None:
        raise TypeError(f"{name}: fn must return an array or a tuple of arrays, got {out!r}")
    if len(shape) == 0 or shape[0] != _PROBE_BATCH:
        raise ValueError(
            f"{name}: fn must keep the batch axis first: a batch of {_PROBE_BATCH} examples "
            f"gave an output of shape {tuple(shape)}"
        )
    return tuple(shape[1:])


@configured
def Lambda(fn, name):
    """A layer computing ``out = fn(x)``, with no parameters and no state.

    ``fn`` maps a batch (batch axis first, or a tuple of batches after ``fan_out`` /
    ``parallel``) to a batch or a tuple of batches, e.g. ``Lambda(lambda xs: xs[0] +
    xs[1], "add")`` or ``Lambda(jnp.abs, "abs")``. It must be traceable by JAX and
    differentiable where gradients flow through it. ``output_shape`` traces ``fn`` on a
    stand-in batch (``jax.eval_shape``: nothing is computed), so per-example shapes are
    ``input_shape -> fn's output shape without the batch axis``.

    Two ``Lambda`` layers are equal (and share compiled programs) when they wrap the
    same function object and name: define ``fn`` once rather than writing a new
    ``lambda`` for every model.

    Args:
      fn: a function of the batch.
      name: how ``summary`` and ``intermediates`` show the layer, a non-empty str.
    """
    if not callable(fn):
        raise TypeError(f"Lambda: fn must be callable (a function of the batch), got {fn!r}")
    if not isinstance(name, str) or not name:
        raise TypeError(f"Lambda: name must be a non-empty str, got {name!r}")

    def output_shape(input_shape):
        probe = _probe(input_shape, name)
        try:
            out = jax.eval_shape(fn, probe)
        except (TypeError, ValueError) as err:
            raise type(err)(
                f"{name}: fn fails on a batch of per-example shape {input_shape}: {err}"
            ) from err
        return _shapes(out, name)

    return parameter_free(name, output_shape, fn)
