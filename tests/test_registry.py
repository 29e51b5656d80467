"""The shared suite: every registered op (``fdl.gradcheck.CASES``) against its NumPy
reference, its hand-written VJP against ``jax.grad`` and finite differences, eager
against jit, and its output shapes and dtypes."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from programs import cheap_jit
from registry import REFERENCES, reference_for

import fdl
from fdl.gradcheck import CASES, check_case

IDS = [case.name for case in CASES]


def _args(case, dtype, seed=0):
    return case.make_args(np.random.default_rng(seed), dtype)


def _call(fn, case, args):
    return fn(*args, **case.kwargs)


def _assert_tree_close(actual, expected, rtol, atol):
    actual_leaves, actual_def = jax.tree_util.tree_flatten(actual)
    expected_leaves, expected_def = jax.tree_util.tree_flatten(expected)
    assert actual_def == expected_def, (actual_def, expected_def)
    for a, e in zip(actual_leaves, expected_leaves):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(e, dtype=np.float64),
                                   rtol=rtol, atol=atol)


def test_every_case_has_a_reference_and_a_manual_twin():
    for case in CASES:
        assert case.name.split("[")[0] in REFERENCES, case.name
        assert fdl.manual.counterpart(case.fn) is not None, case.name


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_numpy_reference(case, x64):
    args = _args(case, jnp.float64)
    expected = reference_for(case)(*args, **case.kwargs)
    got = _call(case.fn, case, args)
    _assert_tree_close(got, expected, rtol=1e-12, atol=1e-12)
    _assert_shapes_and_dtype(case, got, expected, jnp.float64)


def _assert_shapes_and_dtype(case, got, expected, dtype):
    """Every output has the reference's shape and the inputs' float dtype."""
    for g, want in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        assert g.shape == np.shape(want), case.name
        assert g.dtype == dtype, (case.name, g.dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_manual_forward_equals_automatic(case, x64):
    args = _args(case, jnp.float64)
    hand = fdl.manual.counterpart(case.fn)
    _assert_tree_close(_call(hand, case, args), _call(case.fn, case, args), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_agree(case, x64):
    report = check_case(case, seed=1)
    assert report.worst_analytic is not None
    assert report.worst_analytic <= 1e-9, str(report)
    assert report.worst_numerical <= 1e-6, str(report)


@functools.lru_cache(maxsize=None)
def _float64_program(index):
    """One compiled float64 program per case, read by the two tests below: the hand-written
    ``name_forward``/``name_backward`` pair called directly, ``jax.vjp`` of the automatic
    build, and both builds' forward values (eagerly, every primitive compiles on its own).

    Returns ``(args, pair_grads, vjp_grads, [automatic_out, manual_out])`` on the seed-2
    inputs, the results as NumPy arrays.
    """
    case = CASES[index]
    hand = fdl.manual.counterpart(case.fn)
    module = vars(fdl.manual)
    forward, backward = module[f"{hand.__name__}_forward"], module[f"{hand.__name__}_backward"]
    with jax.enable_x64(True):
        args = _args(case, jnp.float64, seed=2)
        bound_forward = functools.partial(forward, **case.kwargs)
        select = case.select or (lambda o: o)
        out_shape = select(jax.eval_shape(bound_forward, *args)[0])
        cotangent = jnp.asarray(np.random.default_rng(3).standard_normal(out_shape.shape),
                                out_shape.dtype)
        argnums = case.argnums or tuple(
            i for i, a in enumerate(args)
            if all(jnp.issubdtype(leaf.dtype, jnp.floating)
                   for leaf in jax.tree_util.tree_leaves(a))
        )

        def automatic(cot, *diff):
            _, vjp = jax.vjp(lambda *d: select(_call(case.fn, case, _replace(args, argnums, d))),
                             *diff)
            return vjp(cot)

        def program(cot, args):
            _, cache = bound_forward(*args)
            grads = backward(cot, cache)
            outputs = [_call(fn, case, args) for fn in (case.fn, hand)]
            return grads, automatic(cot, *[args[i] for i in argnums]), outputs

        grads, expected, outputs = jax.tree.map(np.asarray, cheap_jit(program)(cotangent, args))
    return args, (grads if isinstance(grads, tuple) else (grads,)), expected, outputs


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_backward_pair_matches_custom_vjp(case):
    """``name_forward``/``name_backward`` called directly give the VJP jax.grad uses."""
    _, grads, expected, _ = _float64_program(CASES.index(case))
    _assert_tree_close(grads, expected, rtol=1e-10, atol=1e-12)


def _replace(args, argnums, values):
    args = list(args)
    for i, v in zip(argnums, values):
        args[i] = v
    return args


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_eager_equals_jit_shapes_and_dtypes(case):
    """Both builds (automatic and manual) compiled by ``jax.jit`` in one program per dtype:
    in float64 equal to the eager calls up to round-off, in float32 equal to the NumPy
    reference run in float32, with float32 shapes and dtypes (float64's are checked with
    the forward values above).

    Both programs are compiled as ``fdl.gradcheck`` compiles its checks (``cheap_jit``:
    on CPU without LLVM's optimisation passes, under half the compile time); what is
    checked here, tracing the ops and their dtypes, does not depend on how XLA
    generates the code, and the rest of the suite runs the ops under the default options.

    The float64 program is the one the VJP test above compiles; the eager side runs in
    float64, whose primitives the forward tests above compiled already. Eager float32
    calls would compile every primitive of every op once more (~200 small programs, a
    third of this file's time) to check what float64 checks.
    """
    fns = (case.fn, fdl.manual.counterpart(case.fn))

    def both(*args):
        return [_call(fn, case, args) for fn in fns]

    args, _, _, jitted = _float64_program(CASES.index(case))
    with jax.enable_x64(True):
        for out, eager in zip(jitted, both(*args)):
            # The same float64 ops in a possibly different (fused) order.
            _assert_tree_close(out, eager, rtol=1e-12, atol=1e-13)
    args = _args(case, jnp.float32)
    expected = reference_for(case)(*args, **case.kwargs)
    for got in cheap_jit(both)(*args):
        # float32 against NumPy's float32 arithmetic in another order: a few ulps.
        _assert_tree_close(got, expected, rtol=1e-5, atol=1e-6)
        _assert_shapes_and_dtype(case, got, expected, jnp.float32)
