"""Inverted dropout: validation (automatic and manual twins), the statistics of the mask,
determinism in the key, the identity at test time, and the manual gradient being the mask."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl

DROPOUTS = [pytest.param(fdl.nn.dropout, id="nn"), pytest.param(fdl.manual.dropout, id="manual")]
SHAPE = (200, 500)
KEY = jax.random.key(0)


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_rejects_rate_outside_unit_interval(dropout, rate):
    with pytest.raises(ValueError, match=r"^rate must be"):
        dropout(jnp.ones(4), KEY, rate=rate, train=True)
    with pytest.raises(ValueError, match=r"^rate must be"):
        dropout(jnp.ones(4), KEY, rate=rate, train=False)


@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("rate", ["0.5", None])
def test_rejects_rate_of_wrong_type(dropout, rate):
    with pytest.raises(TypeError, match=r"^rate must be a real number"):
        dropout(jnp.ones(4), KEY, rate=rate, train=True)


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_training_without_a_key_is_an_error(dropout):
    with pytest.raises(ValueError, match=r"needs a PRNG key"):
        dropout(jnp.ones(4), None, rate=0.5, train=True)


@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("train", [1, "yes", None])
def test_train_must_be_a_bool(dropout, train):
    with pytest.raises(TypeError, match=r"^train must be True or False"):
        dropout(jnp.ones(4), KEY, rate=0.5, train=train)


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_rejects_integer_input(dropout):
    with pytest.raises(TypeError, match=r"^x must have a floating dtype"):
        dropout(jnp.ones(4, jnp.int32), KEY, rate=0.5, train=True)


# -- statistics of the mask ---------------------------------------------------------------

RATES = (0.1, 0.5, 0.8)


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_mask_statistics(dropout):
    # One compiled program for all rates: the PRNG dominates compile time.
    outs = jax.jit(lambda x, key: [dropout(x, key, rate=r, train=True) for r in RATES])(jnp.ones(SHAPE), KEY)
    for rate, out in zip(RATES, outs):
        out = np.asarray(out)
        keep = 1 - rate
        kept = out != 0
        # Each unit is kept independently with probability 1 - rate: the kept fraction
        # is a binomial proportion with standard error sqrt(p (1 - p) / n) (~1e-3
        # here); 5 SE makes a false failure a ~1e-6 event for a correct implementation.
        se = math.sqrt(keep * (1 - keep) / out.size)
        assert abs(kept.mean() - keep) < 5 * se, (rate, kept.mean(), se)
        # Survivors are scaled by exactly 1 / (1 - rate) (float32 division).
        np.testing.assert_allclose(out[kept], np.float32(1) / np.float32(keep), rtol=1e-7, err_msg=str(rate))
        # So the mean is preserved: mean(out) = kept fraction / keep, with SE se / keep.
        assert abs(out.mean() - 1.0) < 5 * se / keep, (rate, out.mean())


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_same_key_same_mask_different_key_different_mask(dropout):
    f = jax.jit(functools.partial(dropout, rate=0.25, train=True))
    x = jnp.asarray(np.random.default_rng(1).standard_normal((40, 50)), jnp.float32)
    a, b = f(x, jax.random.key(1)), f(x, jax.random.key(1))
    np.testing.assert_array_equal(a, b)
    c = f(x, jax.random.key(2))
    # Independent masks keep a unit in one and drop it in the other with probability 2 * 0.25 * 0.75.
    assert np.mean((np.asarray(a) != 0) != (np.asarray(c) != 0)) > 0.25
    # Arbitrary inputs: kept units are x / (1 - rate), the rest exactly zero.
    out = np.asarray(a)
    kept = out != 0
    assert out.shape == x.shape and out.dtype == np.float32
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(out[kept], np.asarray(x)[kept] / 0.75, rtol=1e-6)


def test_nn_and_manual_draw_the_same_mask():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((40, 50)), jnp.float32)
    auto, hand = jax.jit(lambda x, key: [f(x, key, rate=0.3, train=True)
                                         for f in (fdl.nn.dropout, fdl.manual.dropout)])(x, jax.random.key(7))
    np.testing.assert_array_equal(auto, hand)


# -- identities -----------------------------------------------------------------------------

@pytest.mark.parametrize("dropout", DROPOUTS)
@pytest.mark.parametrize("key", [KEY, None])
@pytest.mark.parametrize("rate", [0.0, 0.5, 0.99])
def test_eval_is_the_identity(dropout, key, rate):
    x = jnp.asarray(np.random.default_rng(2).standard_normal((6, 7)), jnp.float32)
    np.testing.assert_array_equal(dropout(x, key, rate=rate, train=False), x)
    np.testing.assert_array_equal(jax.jit(lambda x: dropout(x, key, rate=rate, train=False))(x), x)


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_rate_zero_in_training_is_the_identity_without_a_key(dropout):
    x = jnp.asarray(np.random.default_rng(3).standard_normal((6, 7)), jnp.float32)
    np.testing.assert_array_equal(dropout(x, None, rate=0.0, train=True), x)
    np.testing.assert_array_equal(dropout(x, KEY, rate=0.0, train=True), x)
    np.testing.assert_array_equal(jax.jit(lambda x: dropout(x, None, rate=0.0, train=True))(x), x)


# -- gradient ----------------------------------------------------------------------------

@pytest.mark.parametrize("dropout", DROPOUTS)
def test_gradient_is_the_mask(dropout):
    x = jnp.ones((40, 50))

    @jax.jit
    def forward_and_grad_of_sum(x):
        results = []
        for rate in (0.2, 0.5):
            out, vjp = jax.vjp(lambda x, rate=rate: dropout(x, KEY, rate=rate, train=True), x)
            results.append((out, vjp(jnp.ones_like(out))[0]))
        return results

    for rate, (out, grad) in zip((0.2, 0.5), forward_and_grad_of_sum(x)):
        np.testing.assert_array_equal(grad, out / x)
        # Dropped units pass no gradient; kept ones pass 1 / (1 - rate).
        assert set(np.unique(np.asarray(grad)).round(5)) == {0.0, round(1 / (1 - rate), 5)}


@pytest.mark.parametrize("dropout", DROPOUTS)
def test_gradient_in_eval_is_one(dropout):
    grad = jax.grad(lambda x: jnp.sum(dropout(x, None, rate=0.5, train=False)))(jnp.ones(5))
    np.testing.assert_array_equal(grad, 1.0)


def test_manual_forward_backward_pair_uses_the_same_mask():
    x = jnp.asarray(np.random.default_rng(4).standard_normal((10, 12)), jnp.float32)
    out, cache = jax.jit(functools.partial(fdl.manual.dropout_forward, rate=0.4, train=True))(x, KEY)
    dout = jnp.asarray(np.random.default_rng(5).standard_normal((10, 12)), jnp.float32)
    dx = fdl.manual.dropout_backward(dout, cache)
    mask = np.asarray(cache.mask)
    np.testing.assert_array_equal(out, np.asarray(x) * mask)
    np.testing.assert_array_equal(dx, np.asarray(dout) * mask)
    out_eval, cache_eval = fdl.manual.dropout_forward(x, None, rate=0.4, train=False)
    np.testing.assert_array_equal(out_eval, x)
    np.testing.assert_array_equal(fdl.manual.dropout_backward(dout, cache_eval), dout)
