"""Parameter counts and a per-layer summary table."""

import dataclasses
import math

import jax
import numpy as np

from fdl.layers._core import Layer, wiring


def _size(leaf):
    shape = getattr(leaf, "shape", None)
    return math.prod(shape) if shape is not None else int(np.size(leaf))


def count_params(params):
    """Number of scalars in a params pytree (e.g. a conv's ``KH*KW*C_in*C_out + C_out``).

    Works on arrays and on ``jax.ShapeDtypeStruct`` leaves (``jax.eval_shape(model.init,
    ...)``), so a model can be counted without allocating it.
    """
    return sum(_size(leaf) for leaf in jax.tree.leaves(params))


# How a branching combinator's branches are titled, and the row of its join.
_JOINS = {"residual": "= block + shortcut", "concat": "= concatenate", "parallel": "= tuple"}


def _branch_titles(layer):
    if layer.kind == "residual":
        return ("block:", "shortcut:")
    return tuple(f"branch {i}:" for i in range(len(layer.sublayers)))


def _rows(layer, params, state, input_shape, indent, rows):
    """Appends ``(name, output shape, param count, state count)`` rows for ``layer``, its
    name indented by ``indent`` levels; returns its output shape.

    A serial model lists its layers at ``indent`` (a serial nested in a serial one level
    deeper). A branching combinator (``residual``, ``concat``, ``parallel``) gets a title
    row, then each branch under a heading (``block:``, ``shortcut:``, ``branch i:``) with
    its layers two levels deeper, then a row for the join with the combinator's output
    shape and no parameters (the join has none), so the Params column adds up to the
    total. Title and heading rows have blank shape and count cells (None).
    """
    pad = "  " * indent
    kind = wiring(layer)
    if kind is None:
        out = layer.output_shape(input_shape)
        rows.append((pad + layer.name, _tupled(out), count_params(params), count_params(state)))
        return out
    if kind == "serial":
        shape = input_shape
        for sub, p, s in zip(layer.sublayers, params, state):
            sub_indent = indent + 1 if wiring(sub) == "serial" else indent
            shape = _rows(sub, p, s, shape, sub_indent, rows)
        return shape
    if layer.join is None:  # a hand-made combinator: one row, as a single layer
        return _rows(dataclasses.replace(layer, sublayers=(), kind=None), params, state,
                     input_shape, indent, rows)
    rows.append((pad + layer.name, None, None, None))
    inputs = input_shape if kind == "parallel" else (input_shape,) * len(layer.sublayers)
    for title, sub, p, s, x in zip(_branch_titles(layer), layer.sublayers, params, state, inputs):
        rows.append((pad + "  " + title, None, None, None))
        _rows(sub, p, s, x, indent + 2, rows)
    out = layer.output_shape(input_shape)
    rows.append((pad + "  " + _JOINS.get(kind, "= join"), _tupled(out), 0, 0))
    return out


def _tupled(shape):
    """A shape, or a tuple of shapes, as nested tuples (for printing)."""
    if isinstance(shape, (tuple, list)):
        return tuple(_tupled(s) for s in shape)
    return shape


def summary(model, input_shape):
    """A table of the layers of ``model`` for one example of shape ``input_shape``.

    One row per layer (nested ``serial`` models are listed layer by layer, indented):
    the layer's name, its output shape (per example, without the batch axis) and its
    number of parameters; then the total. A ``residual``, ``concat`` or ``parallel``
    shows its branches one under the other, each under a heading (``block:``,
    ``shortcut:``, ``branch 0:``, ...) and indented, then a ``= ...`` row for the join
    (the addition, the concatenation) with the combined output shape. Running statistics
    (batch norm state) are not trainable and are counted separately. Nothing is
    allocated: shapes come from ``jax.eval_shape``.

    Returns:
      The table as a string (print it).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a Layer, got {type(model).__name__}")
    params, state = jax.eval_shape(lambda key: model.init(key, input_shape), jax.random.key(0))
    rows = [("Input", _tupled(input_shape), 0, 0)]
    _rows(model, params, state, _tupled(input_shape), 0, rows)
    total, total_state = count_params(params), count_params(state)
    cells = [(name, "" if shape is None else str(shape), "" if n is None else f"{n:,}")
             for name, shape, n, _ in rows]
    header = ("Layer", "Output shape", "Params")
    w0 = max(len(c[0]) for c in cells + [header])
    w1 = max(len(c[1]) for c in cells + [header])
    w2 = max(len(c[2]) for c in cells + [header, ("", "", f"{total:,}")])
    line = "-" * (w0 + w1 + w2 + 4)
    fmt = "{:<%d}  {:<%d}  {:>%d}" % (w0, w1, w2)
    out = [fmt.format(*header), line]
    out += [fmt.format(*c).rstrip() for c in cells]
    out += [line, f"Total params: {total:,}"]
    if total_state:
        out.append(f"Non-trainable state (running statistics): {total_state:,}")
    return "\n".join(out)
