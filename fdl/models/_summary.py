"""Parameter counts and a per-layer summary table (the notes' VGG-16 table)."""

import jax.numpy as jnp

from fdl.models._profile import count_params as count_params
from fdl.models._profile import profile


def _count(n):
    return "" if n is None else f"{n:,}"


def format_bytes(n):
    """``n`` bytes in decimal units, as the notes write them: ``"588 B"``, ``"4.00 KB"``,
    ``"61.0 MB"``, ``"553.4 MB"`` (1 KB = 1000 bytes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}" if n < 10 * scale else f"{n / scale:.1f} {unit}"
    return f"{n} B"


def format_flops(n):
    """A FLOP count with an SI suffix: ``"0"``, ``"940"``, ``"235.20K"``, ``"3.70G"``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{n}"


def _table(header, cells, right):
    """Columns padded to their widest cell; ``right[i]`` right-aligns column ``i``."""
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(len(header))]
    fmt = "  ".join(("{:>%d}" if r else "{:<%d}") % w for w, r in zip(widths, right))
    line = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return [fmt.format(*header), line] + [fmt.format(*c).rstrip() for c in cells], line


def summary(model, input_shape, *, dtype=jnp.float32, costs=True):
    """A table of the layers of ``model`` for one example of shape ``input_shape``.

    One row per layer (nested ``serial`` models are listed layer by layer, indented):
    the layer's name, its output shape (per example, without the batch axis), its
    number of parameters, and with ``costs`` (the default) the values its forward pass
    writes per example, their bytes at ``dtype``, and its forward FLOPs; then the
    totals: parameters (and their bytes), activation memory per example (the notes'
    "TOTAL memory ... / image (only forward! ~*2 for bwd)") and FLOPs per example.
    The first row is the input, counted as the notes count it. A ``residual``,
    ``concat`` or ``parallel`` shows its branches one under the other, each under a
    heading (``block:``, ``shortcut:``, ``branch 0:``, ...) and indented, then a
    ``= ...`` row for the join (the addition, the concatenation) with the combined
    output shape; every count column adds up to its total. Running statistics (batch
    norm state) are not trainable and are counted separately.

    The counts are ``fdl.models.profile``'s (see it for what is counted: activation
    functions, dropout and residual additions run in place and add no memory; FLOPs
    are 2 x the multiply-adds of convolution and dense layers). Nothing is run or
    allocated: shapes come from ``jax.eval_shape``, so VGG-16 at 224x224x3 takes a
    fraction of a second.

    Args:
      model: a ``fdl.layers.Layer``.
      input_shape: one example's shape, without the batch axis.
      dtype: the dtype the model computes in; sets the byte counts.
      costs: False gives the narrow table (name, shape, params) and the plain totals.
    Returns:
      The table as a string (print it).
    """
    if not isinstance(costs, bool):
        raise TypeError(f"costs must be True or False, got {costs!r}")
    prof = profile(model, input_shape, dtype=dtype)
    counted = ("input", "layer", "join")
    cells = []
    for r in prof.layers:
        shown = r.role in counted
        row = ["  " * r.indent + r.name, str(r.output_shape) if shown else "",
               _count(r.params if shown else None)]
        if costs:
            row += [_count(r.activations if shown else None),
                    format_bytes(r.activation_bytes) if shown else "",
                    format_flops(r.flops) if shown else ""]
        cells.append(tuple(row))
    if not costs:
        header = ("Layer", "Output shape", "Params")
        cells.append(("", "", f"{prof.params:,}"))  # the total sets the column's width
        out, line = _table(header, cells, (False, False, True))
        out = out[:-1] + [line, f"Total params: {prof.params:,}"]
    else:
        header = ("Layer", "Output shape", "Params", "Activations", "Memory", "FLOPs")
        cells.append(("", "", f"{prof.params:,}", f"{prof.activations:,}", "", ""))
        out, line = _table(header, cells, (False, False, True, True, True, True))
        out = out[:-1] + [
            line,
            f"Total params: {prof.params:,} ({format_bytes(prof.param_bytes)})",
            f"Activations per example: {prof.activations:,} values "
            f"({format_bytes(prof.activation_bytes)}) forward, ~x2 with the backward pass",
            f"Forward FLOPs per example: {prof.flops:,} ({format_flops(prof.flops)}; "
            f"{format_flops(prof.flops // 2)} multiply-adds of conv and dense layers)",
        ]
    if prof.state:
        out.append(f"Non-trainable state (running statistics): {prof.state:,}")
    return "\n".join(out)
