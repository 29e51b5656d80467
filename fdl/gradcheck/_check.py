"""``check``: hand-written vs ``jax.grad`` vs numerical gradients of one function."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from fdl import manual
from fdl._compiler import cheap_jit
from fdl.gradcheck._numerical import centred_differences, rel_error

# Tolerances in float64: two analytic gradients differ by rounding only; centred
# differences with h = 1e-5 carry O(h^2) truncation error.
ANALYTIC_TOL = 1e-9
NUMERICAL_TOL = 1e-6
# Centred differences in float64 resolve a gradient only to ~1e-12 per entry (an ulp
# of f divided by 2h); against them, gradient norms below this floor are measured
# absolutely (error <= NUMERICAL_TOL * 1e-4 = 1e-10), so a piecewise-constant loss
# passes with its exact zero gradient instead of scoring a relative error of 1.
NUMERICAL_FLOOR = 1e-4


class ArgumentReport(NamedTuple):
    """Relative errors for the gradient with respect to one argument."""

    argument: str
    shape: tuple
    manual_vs_auto: float | None
    manual_vs_numerical: float | None
    auto_vs_numerical: float


class GradcheckReport(NamedTuple):
    """The result of ``check``: one row per differentiated argument.

    ``note``: what the numbers cover when that is not everything (a model's finite
    differences run on a sample of its coordinates); empty otherwise.
    """

    name: str
    rows: tuple
    analytic_tol: float
    numerical_tol: float
    note: str = ""

    @property
    def worst_analytic(self):
        """Largest manual-vs-``jax.grad`` error (None without a manual gradient)."""
        values = [r.manual_vs_auto for r in self.rows if r.manual_vs_auto is not None]
        return max(values) if values else None

    @property
    def worst_numerical(self):
        """Largest error of an analytic gradient against finite differences."""
        values = []
        for r in self.rows:
            values.append(r.auto_vs_numerical)
            if r.manual_vs_numerical is not None:
                values.append(r.manual_vs_numerical)
        return max(values) if values else 0.0

    @property
    def ok(self):
        analytic = self.worst_analytic
        return (analytic is None or analytic <= self.analytic_tol) and (
            self.worst_numerical <= self.numerical_tol
        )

    def __str__(self):
        lines = [f"{self.name}: {'ok' if self.ok else 'FAILED'}"]
        if self.note:
            lines.append(f"  ({self.note})")
        for r in self.rows:
            lines.append(
                f"  d/d{r.argument} {str(r.shape):>16}  manual-vs-auto {_fmt(r.manual_vs_auto)}"
                f"  manual-vs-numerical {_fmt(r.manual_vs_numerical)}"
                f"  auto-vs-numerical {_fmt(r.auto_vs_numerical)}"
            )
        return "\n".join(lines)


def _fmt(value):
    return "     n/a" if value is None else f"{value:.2e}"


def _unwrap(f):
    """``(function, keyword arguments)`` of a plain function or a functools.partial."""
    if isinstance(f, functools.partial):
        if f.args:
            raise TypeError("check accepts functools.partial with keyword arguments only")
        return f.func, dict(f.keywords)
    return f, {}


def _is_float_tree(tree):
    leaves = jax.tree_util.tree_leaves(tree)
    return bool(leaves) and all(
        hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating) for leaf in leaves
    )


def _projected(fn, kwargs, cotangents, select):
    """A scalar ``sum(out * g)`` over every floating output leaf: its gradient is the VJP
    with the random cotangent ``g``, which exercises the whole Jacobian."""

    def scalar(*args):
        out = select(fn(*args, **kwargs))
        leaves = [leaf for leaf in jax.tree_util.tree_leaves(out)
                  if jnp.issubdtype(leaf.dtype, jnp.floating)]
        return sum(jnp.sum(leaf * g) for leaf, g in zip(leaves, cotangents))

    return scalar


def _identity(out):
    return out


def check(f, *args, argnums=None, manual_fn=None, name=None, select=None, h=1e-5, seed=0,
          analytic_tol=ANALYTIC_TOL, numerical_tol=NUMERICAL_TOL):
    """Compares hand-written, ``jax.grad`` and numerical gradients of ``f`` at ``args``.

    ``f`` is an ``fdl.nn``/``fdl.losses``/``fdl.regularizers`` function (its manual twin
    is found with ``fdl.manual.counterpart``), an ``fdl.manual`` function (its
    ``.reference`` is the automatic one), a ``functools.partial`` of either with keyword
    hyperparameters, or any function (then pass ``manual_fn`` or get auto-vs-numerical
    only). Non-scalar outputs are contracted with a fixed random cotangent, so every
    entry of the Jacobian matters. Use float64 inputs (``jax_enable_x64``).

    Args:
      argnums: positions to differentiate; default every argument whose leaves are
        all floating arrays.
      select: picks the differentiated part of the output, e.g. ``lambda out: out[0]``
        for ``batch_norm``, whose running statistics carry no gradient.
      h: finite-difference step.
    Returns:
      A ``GradcheckReport``; ``report.ok`` applies ``analytic_tol`` to manual-vs-auto
      and ``numerical_tol`` to each analytic gradient against finite differences.
    """
    base, kwargs = _unwrap(f)
    hand = manual_fn if manual_fn is not None else manual.counterpart(base)
    auto = getattr(base, "reference", None) if hand is base else base
    if auto is None:
        auto = base
    select = select or _identity
    if argnums is None:
        argnums = tuple(i for i, a in enumerate(args) if _is_float_tree(a))
    argnums = tuple(argnums)
    if not argnums:
        raise ValueError("check needs at least one floating argument to differentiate")

    out_shapes = jax.eval_shape(lambda *a: select(auto(*a, **kwargs)), *args)
    out_leaves = [leaf for leaf in jax.tree_util.tree_leaves(out_shapes)
                  if jnp.issubdtype(leaf.dtype, jnp.floating)]
    rng = np.random.default_rng(seed)
    cotangents = [jnp.asarray(rng.standard_normal(leaf.shape), leaf.dtype) for leaf in out_leaves]

    auto_scalar = _projected(auto, kwargs, cotangents, select)
    hand_scalar = None if hand is None else _projected(hand, kwargs, cotangents, select)
    diff_args = tuple(args[i] for i in argnums)

    @cheap_jit
    def all_gradients(diff):
        # One compiled program for everything: automatic, manual, and every
        # finite-difference probe (one lax.map), instead of one compilation each; the
        # flattening to one vector and back is inside too (eagerly, each reshape,
        # concatenation and split would compile on its own).
        flat, unravel = ravel_pytree(diff)

        def along(v):
            new_args = list(args)
            for i, a in zip(argnums, unravel(v)):
                new_args[i] = a
            return new_args

        auto_g = jax.grad(lambda u: auto_scalar(*along(u)))(flat)
        hand_g = None if hand_scalar is None else jax.grad(lambda u: hand_scalar(*along(u)))(flat)
        numeric = centred_differences(lambda u: auto_scalar(*along(u)), flat, h)
        return (unravel(auto_g), None if hand_g is None else unravel(hand_g),
                unravel(numeric))

    auto_parts, hand_parts, numeric_parts = all_gradients(diff_args)

    rows = []
    for j, i in enumerate(argnums):
        shape = tuple(np.shape(args[i])) if hasattr(args[i], "shape") else "pytree"
        rows.append(ArgumentReport(
            argument=_arg_name(base, i),
            shape=shape,
            manual_vs_auto=None if hand_parts is None else rel_error(hand_parts[j], auto_parts[j]),
            manual_vs_numerical=None if hand_parts is None
            else rel_error(hand_parts[j], numeric_parts[j], NUMERICAL_FLOOR),
            auto_vs_numerical=rel_error(auto_parts[j], numeric_parts[j], NUMERICAL_FLOOR),
        ))
    title = name or getattr(base, "__name__", "f")
    return GradcheckReport(title, tuple(rows), analytic_tol, numerical_tol)


def _arg_name(fn, i):
    code = getattr(fn, "__code__", None)
    if code is not None and i < code.co_argcount:
        return code.co_varnames[i]
    return f"arg{i}"
