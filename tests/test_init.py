"""Weight initialisers: fans for dense and HWIO conv shapes, the sample standard
deviation of every scheme against its formula, truncation, uniform bounds, modes,
dtypes, determinism in the key, and bad options."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl

KEY = jax.random.key(0)
# 262,144 samples. For a Gaussian the sample std has relative standard error
# 1/sqrt(2n) ~ 0.14%; for a uniform, sqrt(0.8/n)/2 ~ 0.09%. A 2% bound is > 10 standard
# errors away from a correct implementation, yet catches any wrong factor (sqrt 2, sqrt 3,
# a fan mix-up) in the formulas below, all of which are off by >= 10%.
BIG = (512, 512)
STD_RTOL = 0.02
TRUNCATED_STD = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]

FAN_INITS = [fdl.init.xavier_normal, fdl.init.xavier_uniform, fdl.init.kaiming_normal,
             fdl.init.kaiming_uniform]
ALL_INITS = FAN_INITS + [fdl.init.normal, fdl.init.zeros]
NORMALS = [fdl.init.xavier_normal, fdl.init.kaiming_normal, fdl.init.normal]


def _name(fn):
    return fn.__name__


def _std(shape, name, mode=None, gain=None):
    fan_in, fan_out = fdl.init.fans(shape)
    if name.startswith("xavier"):
        mode, gain = mode or "fan_avg", 1.0 if gain is None else gain
    else:
        mode, gain = mode or "fan_in", math.sqrt(2.0) if gain is None else gain
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return gain / math.sqrt(fan)


# -- fans -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, expected", [
    ((784, 100), (784, 100)),
    ((3, 3, 16, 32), (144, 288)),
    ((5, 5, 3, 6), (75, 150)),
    ((1, 1, 64, 8), (64, 8)),
    ((2, 4, 3, 5, 7), (120, 168)),   # receptive field: product of all but the last two axes
    ([10, 20], (10, 20)),
])
def test_fans(shape, expected):
    assert fdl.init.fans(shape) == expected


@pytest.mark.parametrize("shape", [(5,), (), 5])
def test_fans_of_a_shape_without_fan(shape):
    with pytest.raises(ValueError, match=r"has no fan-in/fan-out"):
        fdl.init.fans(shape)


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
@pytest.mark.parametrize("shape", [(5,), ()])
def test_fan_based_inits_reject_shapes_without_fan(init, shape):
    with pytest.raises(ValueError, match=r"has no fan-in/fan-out"):
        init(KEY, shape)


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
def test_zero_fan_is_rejected(init):
    with pytest.raises(ValueError, match=r"has a zero fan"):
        init(KEY, (0, 5), mode="fan_in")


@pytest.mark.parametrize("shape", [(2.0, 3), (-1, 3), "33", (2, None)])
def test_bad_shapes_are_rejected(shape):
    with pytest.raises(TypeError, match=r"^shape must be a tuple of non-negative ints"):
        fdl.init.normal(KEY, shape)


# -- standard deviations -------------------------------------------------------------------

@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
@pytest.mark.parametrize("shape", [BIG, (3, 3, 64, 512)], ids=["dense", "conv"])
def test_sample_std_matches_formula(init, shape):
    w = init(KEY, shape)
    assert w.shape == shape and w.dtype == jnp.float32
    w = np.asarray(w, np.float64)
    expected = _std(shape, init.__name__)
    assert abs(w.std() / expected - 1) < STD_RTOL, (w.std(), expected)
    assert abs(w.mean()) < 5 * expected / math.sqrt(w.size)  # zero mean, 5 standard errors
    if "uniform" in init.__name__:
        limit = math.sqrt(3.0) * expected  # = sqrt(6 / (in + out)) or sqrt(6 / in) for the defaults
        assert np.all(np.abs(w) <= limit * (1 + 1e-6))
        # U(-a, a) fills the interval: both ends within 0.1% of the limit.
        assert w.max() > 0.999 * limit and w.min() < -0.999 * limit


def test_formulas_are_the_lecture_ones():
    # Xavier: 2 / (fan_in + fan_out); Kaiming: 2 / fan_in (ReLU gain sqrt 2).
    assert _std((100, 300), "xavier_normal") == pytest.approx(math.sqrt(2 / 400))
    assert _std((100, 300), "kaiming_normal") == pytest.approx(math.sqrt(2 / 100))


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
def test_mode_option(init, mode):
    shape = (3, 3, 64, 512)  # fan_in = 576, fan_out = 4608: modes differ by ~2.8x
    w = np.asarray(init(KEY, shape, mode=mode), np.float64)
    expected = _std(shape, init.__name__, mode=mode)
    assert abs(w.std() / expected - 1) < STD_RTOL, (mode, w.std(), expected)


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
def test_gain_option_scales_linearly(init):
    a = init(KEY, (16, 8), gain=1.0)
    b = init(KEY, (16, 8), gain=3.0)
    np.testing.assert_allclose(b, 3.0 * a, rtol=1e-6)


@pytest.mark.parametrize("init", NORMALS, ids=_name)
def test_truncated_keeps_std_and_bounds_samples(init):
    options = {"std": 0.05} if init is fdl.init.normal else {}
    w = np.asarray(init(KEY, BIG, truncated=True, **options), np.float64)
    std = 0.05 if init is fdl.init.normal else _std(BIG, init.__name__)
    assert abs(w.std() / std - 1) < STD_RTOL, (w.std(), std)
    # Truncated at 2 standard deviations of the underlying normal, whose scale is
    # std / 0.8796 so that the truncated samples still have standard deviation std.
    bound = 2 * std / TRUNCATED_STD
    assert np.all(np.abs(w) <= bound * (1 + 1e-6))
    assert np.abs(w).max() > 0.99 * bound  # the bound is reached, the tails are cut there
    plain = np.asarray(init(KEY, BIG, **options))
    assert np.abs(plain).max() > 1.2 * bound  # a plain normal goes well beyond it


def test_normal_std_option():
    w = np.asarray(fdl.init.normal(KEY, BIG), np.float64)
    assert abs(w.std() / 0.01 - 1) < STD_RTOL  # the notes' 0.01 * randn is the default
    w = np.asarray(fdl.init.normal(KEY, BIG, std=0.3), np.float64)
    assert abs(w.std() / 0.3 - 1) < STD_RTOL
    np.testing.assert_array_equal(fdl.init.normal(KEY, (3, 4), std=0.0), 0.0)
    assert fdl.init.normal(KEY, (7,)).shape == (7,)  # no fan needed


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 3, 5), (6,), ()])
def test_zeros(shape):
    w = fdl.init.zeros(KEY, shape)
    assert w.shape == shape and w.dtype == jnp.float32
    np.testing.assert_array_equal(w, 0.0)
    np.testing.assert_array_equal(fdl.init.zeros(None, shape), 0.0)  # no key needed


# -- keys and dtypes -----------------------------------------------------------------------

@pytest.mark.parametrize("init", ALL_INITS, ids=_name)
def test_same_key_same_array_different_key_different_array(init):
    a, b = init(jax.random.key(3), (16, 8)), init(jax.random.key(3), (16, 8))
    np.testing.assert_array_equal(a, b)
    c = init(jax.random.key(4), (16, 8))
    if init is fdl.init.zeros:
        np.testing.assert_array_equal(a, c)
    else:
        assert np.mean(np.asarray(a) != np.asarray(c)) > 0.9


def test_works_under_jit():
    key = jax.random.key(3)
    # One compiled program for every initialiser (drawing random bits dominates compile time).
    arrays = jax.jit(lambda key: [init(key, (16, 8)) for init in ALL_INITS])(key)
    for init, w in zip(ALL_INITS, arrays):
        np.testing.assert_allclose(w, init(key, (16, 8)), rtol=1e-6, err_msg=init.__name__)


def test_float64_under_x64(x64):
    # One compiled program for every initialiser (drawing random bits dominates compile time).
    arrays = jax.jit(lambda key: [init(key, (16, 8), jnp.float64) for init in ALL_INITS])(KEY)
    for init, w in zip(ALL_INITS, arrays):
        assert w.dtype == jnp.float64, init.__name__
        assert w.shape == (16, 8)
    assert all(np.asarray(w).std() > 0 for w in arrays[:-1])


# -- bad options -----------------------------------------------------------------------------

@pytest.mark.parametrize("init", ALL_INITS, ids=_name)
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.uint8, bool])
def test_integer_dtype_is_rejected(init, dtype):
    with pytest.raises(TypeError, match=r"^dtype must be a floating dtype"):
        init(KEY, (4, 3), dtype)


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
@pytest.mark.parametrize("mode", ["fan_sum", "FAN_IN", None])
def test_bad_mode_is_rejected(init, mode):
    with pytest.raises(ValueError, match=r"^mode must be 'fan_in', 'fan_out' or 'fan_avg'"):
        init(KEY, (4, 3), mode=mode)


@pytest.mark.parametrize("std", [-0.01, float("nan"), float("inf")])
def test_normal_rejects_bad_std(std):
    with pytest.raises(ValueError, match=r"^std must be"):
        fdl.init.normal(KEY, (4, 3), std=std)


@pytest.mark.parametrize("init", FAN_INITS, ids=_name)
def test_negative_gain_is_rejected(init):
    with pytest.raises(ValueError, match=r"^gain must be >= 0"):
        init(KEY, (4, 3), gain=-1.0)
