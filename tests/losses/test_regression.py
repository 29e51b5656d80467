"""Regression and divergence losses (l1, l2, kl_divergence): validation
(``fdl.losses`` and ``fdl.manual`` alike), per-example sums over features, and the KL
divergence's relation to the softmax loss."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl


def _both(name):
    return [pytest.param(getattr(fdl.losses, name), id=f"losses.{name}"),
            pytest.param(getattr(fdl.manual, name), id=f"manual.{name}")]


PAIR_LOSSES = _both("l1") + _both("l2")
KLS = _both("kl_divergence")
ALL = PAIR_LOSSES + KLS


def _probs(shape, seed):
    e = np.exp(np.random.default_rng(seed).standard_normal(shape))
    return e / e.sum(-1, keepdims=True)


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("loss", PAIR_LOSSES)
@pytest.mark.parametrize("a, b", [((4, 3), (4, 2)), ((4, 3), (3, 4)), ((4,), (4, 1)), ((4, 3), (4,))])
def test_l1_l2_reject_shape_mismatch(loss, a, b):
    with pytest.raises(ValueError, match=r"^target must have the shape of pred"):
        loss(jnp.ones(a), jnp.ones(b))


@pytest.mark.parametrize("loss", KLS)
def test_kl_rejects_shape_mismatch_and_rank_one(loss):
    with pytest.raises(ValueError, match=r"^q must have the shape of p \(2, 3\)"):
        loss(jnp.full((2, 3), 1 / 3), jnp.full((2, 4), 0.25))
    with pytest.raises(ValueError, match=r"^p must have rank >= 2"):
        loss(jnp.full(3, 1 / 3), jnp.full(3, 1 / 3))


@pytest.mark.parametrize("loss", ALL)
def test_reject_scalars_and_integers(loss):
    first = "p" if "kl" in loss.__name__ else "pred"
    second = "q" if "kl" in loss.__name__ else "target"
    with pytest.raises(ValueError, match=rf"^{first} must have rank >= 1"):
        loss(jnp.float32(1.0), jnp.float32(1.0))
    with pytest.raises(TypeError, match=rf"^{second} must have a floating dtype"):
        loss(jnp.ones((2, 3)), jnp.ones((2, 3), jnp.int32))
    with pytest.raises(TypeError, match=rf"^{first} must have a floating dtype"):
        loss(jnp.ones((2, 3), jnp.int32), jnp.ones((2, 3)))


@pytest.mark.parametrize("loss", ALL)
@pytest.mark.parametrize("reduction", ["avg", "Sum", ""])
def test_unknown_reduction(loss, reduction):
    with pytest.raises(ValueError, match=r"^reduction must be 'mean', 'sum' or 'none'"):
        loss(jnp.full((2, 3), 1 / 3), jnp.full((2, 3), 1 / 3), reduction=reduction)


@pytest.mark.parametrize("loss", ALL)
def test_shape_mismatch_raises_under_jit(loss):
    with pytest.raises(ValueError, match=r"must have the shape of"):
        jax.jit(loss)(jnp.ones((2, 3)), jnp.ones((2, 4)))


# -- l1 / l2 ------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", PAIR_LOSSES)
@pytest.mark.parametrize("shape", [(5,), (4, 2, 3)])
def test_l1_l2_sum_over_features_per_example(loss, shape, x64):
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    diff = (pred - target).reshape(shape[0], -1)
    per = np.abs(diff).sum(1) if "l1" in loss.__name__ else np.square(diff).sum(1)
    none, mean, total = jax.jit(lambda p, t: (loss(p, t, reduction="none"), loss(p, t),
                                             loss(p, t, reduction="sum")))(pred, target)
    assert none.shape == (shape[0],)
    np.testing.assert_allclose(none, per, rtol=1e-13)
    np.testing.assert_allclose(mean, per.mean(), rtol=1e-13)
    np.testing.assert_allclose(total, per.sum(), rtol=1e-13)


def test_l2_has_no_half_and_l1_is_robust():
    pred = jnp.array([[1.0, 2.0], [0.0, 0.0]])
    target = jnp.array([[0.0, 0.0], [0.0, 10.0]])
    for l2 in (fdl.losses.l2, fdl.manual.l2):
        np.testing.assert_allclose(l2(pred, target, reduction="none"), [5.0, 100.0])
    for l1 in (fdl.losses.l1, fdl.manual.l1):
        np.testing.assert_allclose(l1(pred, target, reduction="none"), [3.0, 10.0])


@pytest.mark.parametrize("loss", PAIR_LOSSES)
def test_l1_l2_gradients(loss, x64):
    rng = np.random.default_rng(1)
    pred, target = jnp.asarray(rng.standard_normal((4, 3))), jnp.asarray(rng.standard_normal((4, 3)))
    dp, dt = jax.jit(jax.grad(loss, argnums=(0, 1)))(pred, target)
    diff = np.asarray(pred - target)
    expected = np.sign(diff) / 4 if "l1" in loss.__name__ else 2 * diff / 4
    np.testing.assert_allclose(dp, expected, rtol=1e-13)
    np.testing.assert_allclose(dt, -expected, rtol=1e-13)


# -- KL divergence ------------------------------------------------------------------------

@pytest.mark.parametrize("loss", KLS)
def test_kl_with_one_hot_p_is_minus_log_q_y(loss, x64):
    y = np.array([0, 3, 1, 1, 2])
    p = np.eye(4)[y]
    q = _probs((5, 4), seed=2)
    per = jax.jit(functools.partial(loss, reduction="none"))(p, q)
    np.testing.assert_allclose(per, -np.log(q[np.arange(5), y]), rtol=1e-13)
    # ... which is the softmax cross-entropy of the scores log q.
    xent = fdl.losses.softmax_cross_entropy(jnp.log(q), jnp.asarray(y), reduction="none")
    np.testing.assert_allclose(per, xent, rtol=1e-12)


@pytest.mark.parametrize("loss", KLS)
def test_kl_is_non_negative_and_zero_iff_equal(loss, x64):
    p, q = _probs((6, 5), seed=3), _probs((6, 5), seed=4)
    f = jax.jit(functools.partial(loss, reduction="none"))
    assert np.all(np.asarray(f(p, q)) > 0)
    np.testing.assert_allclose(f(p, p), 0.0, atol=1e-15)
    # Zeros in p contribute nothing (0 log 0 = 0).
    p0 = np.array([[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(f(p0, p0), 0.0, atol=1e-15)
    np.testing.assert_allclose(f(p0, np.array([[0.25, 0.25, 0.5]])), np.log(2.0), rtol=1e-13)


@pytest.mark.parametrize("loss", KLS)
def test_kl_sums_over_every_non_batch_axis(loss, x64):
    p, q = _probs((3, 2, 4), seed=5), _probs((3, 2, 4), seed=6)
    per = jax.jit(functools.partial(loss, reduction="none"))(p, q)
    np.testing.assert_allclose(per, (p * np.log(p / q)).sum(axis=(1, 2)), rtol=1e-12)


@pytest.mark.parametrize("loss", KLS)
def test_kl_gradient_wrt_q_with_one_hot_p(loss, x64):
    y = np.array([2, 0])
    p = np.eye(3)[y]
    q = jnp.asarray(_probs((2, 3), seed=7))
    dq = jax.jit(jax.grad(lambda q: loss(p, q), argnums=0))(q)
    expected = -p / np.asarray(q) / 2
    np.testing.assert_allclose(dq, expected, rtol=1e-13)


@pytest.mark.parametrize("loss", KLS)
def test_kl_gradient_wrt_p_is_finite_where_p_is_zero(loss, x64):
    # A one-hot target is the documented use. d/dp [p log p - p log q] is log(p/q) + 1
    # where p > 0; where p = 0 the hand-written rule gives 0 (the 0 log 0 = 0 convention).
    # The automatic gradient must not turn those entries into NaN.
    p = jnp.asarray(np.eye(3)[[2, 0]])
    q = jnp.asarray(_probs((2, 3), seed=8))
    dp = jax.jit(jax.grad(lambda p: loss(p, q)))(p)
    assert np.all(np.isfinite(dp)), dp
    expected = np.where(np.asarray(p) > 0, (np.log(np.where(p > 0, p, 1)) - np.log(q) + 1) / 2, 0.0)
    np.testing.assert_allclose(dp, expected, rtol=1e-13, atol=1e-15)
