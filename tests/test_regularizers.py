"""Regularisation penalties over parameter pytrees (and their manual twins) and the
max-norm projection."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl

L2S = [pytest.param(fdl.regularizers.l2, id="l2"), pytest.param(fdl.manual.l2_regularizer, id="manual.l2")]
L1S = [pytest.param(fdl.regularizers.l1, id="l1"), pytest.param(fdl.manual.l1_regularizer, id="manual.l1")]
ENS = [pytest.param(fdl.regularizers.elastic_net, id="elastic_net"),
       pytest.param(fdl.manual.elastic_net, id="manual.elastic_net")]


def _params(dtype=np.float64):
    rng = np.random.default_rng(0)
    return {
        "conv": {"w": rng.standard_normal((3, 3, 2, 4)).astype(dtype),
                 "b": rng.standard_normal(4).astype(dtype)},
        "layers": [rng.standard_normal((5, 3)).astype(dtype), (rng.standard_normal(3).astype(dtype),)],
        "scale": np.asarray(rng.standard_normal(), dtype),
    }


def _leaves(tree):
    return [np.asarray(leaf, np.float64) for leaf in jax.tree_util.tree_leaves(tree)]


# -- values -------------------------------------------------------------------------------

@pytest.mark.parametrize("l2", L2S)
def test_l2_over_nested_pytree_has_no_half(l2, x64):
    params = _params()
    expected = sum(np.sum(leaf ** 2) for leaf in _leaves(params))
    np.testing.assert_allclose(l2(params), expected, rtol=1e-13)
    np.testing.assert_allclose(l2({"w": jnp.array([3.0, 4.0])}), 25.0)  # not 12.5


@pytest.mark.parametrize("l1", L1S)
def test_l1_over_nested_pytree(l1, x64):
    params = _params()
    np.testing.assert_allclose(l1(params), sum(np.sum(np.abs(leaf)) for leaf in _leaves(params)), rtol=1e-13)


@pytest.mark.parametrize("elastic_net", ENS)
@pytest.mark.parametrize("beta", [0.0, 0.3, 2.0])
def test_elastic_net_over_nested_pytree(elastic_net, beta, x64):
    params = _params()
    expected = sum(np.sum(beta * leaf ** 2 + np.abs(leaf)) for leaf in _leaves(params))
    np.testing.assert_allclose(elastic_net(params, beta), expected, rtol=1e-13)
    if beta == 0.0:
        np.testing.assert_allclose(elastic_net(params, beta), fdl.regularizers.l1(params), rtol=1e-13)


@pytest.mark.parametrize("fn, local", [
    (fdl.manual.l2_regularizer, lambda w: 2 * w),
    (fdl.manual.l1_regularizer, np.sign),
    (lambda p: fdl.manual.elastic_net(p, 0.7), lambda w: 1.4 * w + np.sign(w)),
    (fdl.regularizers.l2, lambda w: 2 * w),
    (lambda p: fdl.regularizers.elastic_net(p, 0.7), lambda w: 1.4 * w + np.sign(w)),
], ids=["manual.l2", "manual.l1", "manual.elastic_net", "l2", "elastic_net"])
def test_gradient_over_pytree_keeps_structure(fn, local, x64):
    params = _params()
    grads = jax.jit(jax.grad(fn))(params)
    assert jax.tree_util.tree_structure(grads) == jax.tree_util.tree_structure(params)
    for g, w in zip(_leaves(grads), _leaves(params)):
        np.testing.assert_allclose(g, local(w), rtol=1e-13)


@pytest.mark.parametrize("fn", [*L2S, *L1S])
def test_penalty_works_under_jit_and_in_float32(fn):
    params = _params(np.float32)
    out = jax.jit(fn)(params)
    assert out.dtype == jnp.float32 and out.shape == ()
    np.testing.assert_allclose(out, fn(params), rtol=1e-6)


# -- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [*L2S, *L1S, *[pytest.param(lambda p, f=f: f(p, 0.5), id=i)
                                              for f, i in ((fdl.regularizers.elastic_net, "elastic_net"),
                                                           (fdl.manual.elastic_net, "manual.elastic_net"))]])
@pytest.mark.parametrize("params", [{}, [], {"a": {}, "b": []}, None])
def test_empty_params_are_rejected(fn, params):
    with pytest.raises(ValueError, match=r"^params must contain at least one array"):
        fn(params)


@pytest.mark.parametrize("fn", [*L2S, *L1S])
def test_integer_leaves_are_rejected(fn):
    with pytest.raises(TypeError, match=r"^params leaf must have a floating dtype"):
        fn({"w": jnp.ones(3), "count": jnp.arange(3)})


@pytest.mark.parametrize("elastic_net", ENS)
def test_elastic_net_rejects_negative_beta(elastic_net):
    with pytest.raises(ValueError, match=r"^beta must be >= 0"):
        elastic_net({"w": jnp.ones(3)}, -0.1)


@pytest.mark.parametrize("c", [0.0, -1.0, 0])
def test_max_norm_rejects_non_positive_c(c):
    with pytest.raises(ValueError, match=r"^c must be > 0"):
        fdl.regularizers.max_norm({"w": jnp.ones((2, 2))}, c)


def test_max_norm_rejects_non_numeric_c_and_integer_leaves():
    with pytest.raises(TypeError, match=r"^c must be a real number"):
        fdl.regularizers.max_norm({"w": jnp.ones((2, 2))}, "3")
    with pytest.raises(TypeError, match=r"^params leaf must have a floating dtype"):
        fdl.regularizers.max_norm({"w": jnp.ones((2, 2), jnp.int32)}, 1.0)


# -- max norm ----------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(6, 5), (3, 3, 2, 5)], ids=["dense", "conv"])
@pytest.mark.parametrize("c", [0.5, 3.0])
def test_max_norm_caps_each_unit_and_keeps_directions(shape, c, x64):
    rng = np.random.default_rng(1)
    w = 2 * rng.standard_normal(shape)
    # Unit 0 well inside the ball, so it must stay as it is.
    w[..., 0] *= 0.1 / np.linalg.norm(w[..., 0])
    bias = rng.standard_normal(shape[-1])
    out = jax.jit(lambda p: fdl.regularizers.max_norm(p, c))({"w": w, "b": bias})
    assert set(out) == {"w", "b"}
    np.testing.assert_array_equal(out["b"], bias)  # 1-D leaves are unchanged
    before = np.linalg.norm(w.reshape(-1, shape[-1]), axis=0)
    after = np.linalg.norm(np.asarray(out["w"]).reshape(-1, shape[-1]), axis=0)
    np.testing.assert_allclose(after, np.minimum(before, c), rtol=1e-12)
    # Directions are unchanged: each unit is a non-negative multiple of the old one.
    scale = after / before
    np.testing.assert_allclose(out["w"], w * scale, rtol=1e-12)
    np.testing.assert_array_equal(np.asarray(out["w"])[..., 0], w[..., 0])
    assert np.any(before > c)  # the test exercises the projection


def test_max_norm_per_output_unit_not_per_row():
    # Columns are the units of a dense (D_in, D_out) weight.
    w = jnp.array([[3.0, 0.0], [4.0, 0.5]])
    out = fdl.regularizers.max_norm([w], 1.0)[0]
    np.testing.assert_allclose(out, [[0.6, 0.0], [0.8, 0.5]], rtol=1e-6)


def test_max_norm_zero_unit_stays_zero_and_dtype_is_kept():
    w = jnp.zeros((4, 3), jnp.float32).at[:, 1].set(10.0)
    out = fdl.regularizers.max_norm({"w": w}, 2.0)["w"]
    assert out.dtype == jnp.float32
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 0], 0.0)
    np.testing.assert_allclose(np.linalg.norm(out[:, 1]), 2.0, rtol=1e-6)


def test_max_norm_is_idempotent():
    w = jnp.asarray(np.random.default_rng(2).standard_normal((7, 4)) * 3, jnp.float32)
    once = fdl.regularizers.max_norm(w, 1.5)
    np.testing.assert_allclose(fdl.regularizers.max_norm(once, 1.5), once, rtol=1e-6)
