"""Parameter counts and a per-layer summary table."""

import math

import jax
import numpy as np

from fdl.layers._core import Layer


def _size(leaf):
    shape = getattr(leaf, "shape", None)
    return math.prod(shape) if shape is not None else int(np.size(leaf))


def count_params(params):
    """Number of scalars in a params pytree (e.g. a conv's ``KH*KW*C_in*C_out + C_out``).

    Works on arrays and on ``jax.ShapeDtypeStruct`` leaves (``jax.eval_shape(model.init,
    ...)``), so a model can be counted without allocating it.
    """
    return sum(_size(leaf) for leaf in jax.tree.leaves(params))


def _rows(layer, params, state, input_shape, depth, rows):
    """Appends ``(name, output_shape, param count, state count)`` for each leaf layer."""
    if layer.sublayers:
        shape = input_shape
        for sub, p, s in zip(layer.sublayers, params, state):
            shape = _rows(sub, p, s, shape, depth + 1, rows)
        return shape
    out = tuple(layer.output_shape(input_shape))
    rows.append(("  " * max(depth - 1, 0) + layer.name, out, count_params(params),
                 count_params(state)))
    return out


def summary(model, input_shape):
    """A table of the layers of ``model`` for one example of shape ``input_shape``.

    One row per layer (nested ``serial`` models are listed layer by layer, indented):
    the layer's name, its output shape (per example, without the batch axis) and its
    number of parameters; then the total. Running statistics (batch norm state) are not
    trainable and are counted separately. Nothing is allocated: shapes come from
    ``jax.eval_shape``.

    Returns:
      The table as a string (print it).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a Layer, got {type(model).__name__}")
    params, state = jax.eval_shape(lambda key: model.init(key, input_shape), jax.random.key(0))
    rows = [("Input", tuple(input_shape), 0, 0)]
    _rows(model, params, state, tuple(input_shape), 0, rows)
    total, total_state = count_params(params), count_params(state)
    cells = [(name, str(shape), f"{n:,}") for name, shape, n, _ in rows]
    header = ("Layer", "Output shape", "Params")
    w0 = max(len(c[0]) for c in cells + [header])
    w1 = max(len(c[1]) for c in cells + [header])
    w2 = max(len(c[2]) for c in cells + [header, ("", "", f"{total:,}")])
    line = "-" * (w0 + w1 + w2 + 4)
    fmt = "{:<%d}  {:<%d}  {:>%d}" % (w0, w1, w2)
    out = [fmt.format(*header), line]
    out += [fmt.format(*c) for c in cells]
    out += [line, f"Total params: {total:,}"]
    if total_state:
        out.append(f"Non-trainable state (running statistics): {total_state:,}")
    return "\n".join(out)
