"""Classification losses (svm, softmax cross-entropy, zero-one, binary hinge):
validation of scores and labels (``fdl.losses`` and ``fdl.manual`` alike), stability at
extreme logits, the margin and squared variants, and the reductions."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from programs import cheap_jit as _jit
from programs import device_array as _array

import fdl


def _both(name):
    return [pytest.param(getattr(fdl.losses, name), id=f"losses.{name}"),
            pytest.param(getattr(fdl.manual, name), id=f"manual.{name}")]


SCORE_LOSSES = _both("svm") + _both("softmax_cross_entropy") + _both("zero_one")
ALL_LOSSES = SCORE_LOSSES + _both("binary_hinge")
XENTS = _both("softmax_cross_entropy")
SVMS = _both("svm")

# Arrays are made in NumPy and moved over: eager jnp calls (a cast, a scatter, a
# broadcast) compile one program per primitive and shape.
SCORES = jax.device_put(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))
LABELS = jax.device_put(np.array([0, 3, 1, 2, 2, 0], np.int32))





def _labels_with(index, value):
    """``LABELS`` with one entry replaced, as a jax.Array."""
    y = np.asarray(LABELS).copy()
    y[index] = value
    return _array(y)


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("loss", SCORE_LOSSES)
@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), ()])
def test_scores_must_be_rank_two(loss, shape):
    with pytest.raises(ValueError, match=r"^scores must have rank 2"):
        loss(np.ones(shape, np.float32), np.zeros(2, np.int32))


@pytest.mark.parametrize("loss", SCORE_LOSSES)
def test_integer_scores_are_rejected(loss):
    with pytest.raises(TypeError, match=r"^scores must have a floating dtype"):
        loss(_array(np.ones((6, 4), np.int32)), LABELS)


@pytest.mark.parametrize("loss", SCORE_LOSSES)
@pytest.mark.parametrize("y", [_array(LABELS, np.float32), np.array([0.0, 3, 1, 2, 2, 0]),
                               _array(np.ones(6, bool))])
def test_labels_must_be_integers(loss, y):
    with pytest.raises(TypeError, match=r"^y must hold integer class indices"):
        loss(SCORES, y)


@pytest.mark.parametrize("loss", SCORE_LOSSES)
@pytest.mark.parametrize("bad", [4, -1, 100])
def test_labels_must_be_in_range(loss, bad):
    y = _labels_with(2, bad)
    with pytest.raises(ValueError, match=r"^y must lie in \[0, 4\) for 4 classes"):
        loss(SCORES, y)


@pytest.mark.parametrize("loss", SCORE_LOSSES)
@pytest.mark.parametrize(
    "y", [_array(np.zeros(shape, np.int32)) for shape in (5, 7, (6, 1))])
def test_label_count_must_match_scores(loss, y):
    with pytest.raises(ValueError, match=r"^y must have shape \(6,\) to match the scores"):
        loss(SCORES, y)


@pytest.mark.parametrize("loss", SCORE_LOSSES)
def test_validation_under_jit(loss):
    # Shapes and dtypes are checked at trace time ...
    with pytest.raises(ValueError, match=r"^scores must have rank 2"):
        jax.jit(loss)(np.ones(4, np.float32), np.zeros(4, np.int32))
    with pytest.raises(TypeError, match=r"^y must hold integer class indices"):
        jax.jit(loss)(SCORES, np.asarray(LABELS, np.float32))
    # ... and concrete label values (closed over, not traced) still are range-checked.
    bad = _labels_with(0, 4)
    with pytest.raises(ValueError, match=r"^y must lie in \[0, 4\)"):
        jax.jit(lambda s: loss(s, bad))(SCORES)


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_numpy_labels_closed_over_under_jit_are_value_checked(loss):
    # Labels loaded with NumPy are as concrete as a jax.Array at trace time, so a bad one
    # must not slip through jit: the losses would return NaN (svm, softmax) or a silently
    # wrong count (zero_one, binary_hinge) instead.
    if "binary_hinge" in loss.__name__:
        score, bad, pattern = _array(np.ones(3)), np.array([1, 0, -1]), r"^y_pm1 must hold labels -1 or \+1"
    else:
        score, bad, pattern = SCORES, np.array([4, 3, 1, 2, 2, 0]), r"^y must lie in \[0, 4\)"
    with pytest.raises(ValueError, match=pattern):
        loss(score, bad)  # eagerly it is checked
    with pytest.raises(ValueError, match=pattern):
        jax.jit(lambda s: loss(s, bad))(score)


@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize("reduction", ["avg", "MEAN", None])
def test_unknown_reduction(loss, reduction):
    if "binary_hinge" in loss.__name__:
        args = (_array(np.ones(3)), _array([1, -1, 1]))
    else:
        args = (SCORES, LABELS)
    with pytest.raises(ValueError, match=r"^reduction must be 'mean', 'sum' or 'none'"):
        loss(*args, reduction=reduction)


@pytest.mark.parametrize("loss", SVMS)
def test_svm_rejects_negative_margin(loss):
    with pytest.raises(ValueError, match=r"^margin must be >= 0"):
        loss(SCORES, LABELS, margin=-1.0)


@pytest.mark.parametrize("loss", _both("binary_hinge"))
@pytest.mark.parametrize("y", [[0, 1, 1], [1, -1, 2], [0.5, 1, -1]])
def test_binary_hinge_labels_must_be_plus_minus_one(loss, y):
    with pytest.raises(ValueError, match=r"^y_pm1 must hold labels -1 or \+1"):
        loss(_array(np.ones(3)), _array(y))


@pytest.mark.parametrize("loss", _both("binary_hinge"))
def test_binary_hinge_shapes(loss):
    with pytest.raises(ValueError, match=r"^score must have rank 1"):
        loss(_array(np.ones((3, 1))), _array(np.ones(3)))
    with pytest.raises(ValueError, match=r"^y_pm1 must have shape \(3,\) like score"):
        loss(_array(np.ones(3)), _array(np.ones(4)))


@functools.lru_cache(maxsize=None)
def _value_and_grad(loss):
    return _jit(jax.value_and_grad(loss))


# -- softmax cross-entropy --------------------------------------------------------------

@pytest.mark.parametrize("loss", XENTS)
@pytest.mark.parametrize("label, expected", [(0, 0.0), (1, 2e4), (2, 1e4)])
def test_softmax_cross_entropy_stable_at_extreme_logits(loss, label, expected):
    scores = _array([[1e4, -1e4, 0.0]], np.float32)
    y = _array([label])
    value, grad = _value_and_grad(loss)(scores, y)  # y traced: one program for the labels
    assert np.isfinite(value) and np.all(np.isfinite(grad)), (value, grad)
    np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-6)
    # dL/ds = softmax(s) - onehot(y) = [1, 0, 0] - onehot(y).
    np.testing.assert_allclose(grad, np.array([[1.0, 0.0, 0.0]]) - np.eye(3)[label], atol=1e-6)


@pytest.mark.parametrize("loss", XENTS)
def test_softmax_cross_entropy_uniform_scores_is_log_c(loss):
    value = _jit(lambda s: loss(s, jnp.array([0, 4, 9])))(np.full((3, 10), 7.5, np.float32))
    np.testing.assert_allclose(value, np.log(10), rtol=1e-6)


@pytest.mark.parametrize("loss", XENTS)
def test_softmax_cross_entropy_is_minus_log_softmax(loss, x64):
    s = _array(np.random.default_rng(1).standard_normal((5, 7)) * 3)
    y = _array([0, 6, 3, 3, 1])
    per = _jit(lambda s: loss(s, y, reduction="none"))(s)
    logp = np.asarray(s) - np.log(np.exp(np.asarray(s)).sum(1, keepdims=True))
    np.testing.assert_allclose(per, -logp[np.arange(5), np.asarray(y)], rtol=1e-13)


# -- svm --------------------------------------------------------------------------------

@pytest.mark.parametrize("loss", SVMS)
@pytest.mark.parametrize("margin", [0.0, 0.5, 3.0])
def test_svm_margin_and_squared_variant(loss, margin, x64):
    s = np.random.default_rng(2).standard_normal((6, 4))
    y = np.asarray(LABELS)
    margins = np.maximum(0, s - s[np.arange(6), y][:, None] + margin)
    margins[np.arange(6), y] = 0
    plain, squared = _jit(lambda s: (loss(s, y, margin=margin, reduction="none"),
                                        loss(s, y, margin=margin, squared=True, reduction="none")))(s)
    np.testing.assert_allclose(plain, margins.sum(1), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(squared, (margins ** 2).sum(1), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("loss", SVMS)
@pytest.mark.parametrize("squared", [False, True])
def test_svm_zero_when_correct_class_wins_by_more_than_margin(loss, squared):
    s = _array([[5.0, 1.0, 2.9], [0.0, 10.0, 7.5]])
    y = _array([0, 1])
    # Just inside the margin (2.2): positive loss, 0.1 short for class 2 of example 0.
    (value, grad), per = _jit(lambda s: (
        jax.value_and_grad(lambda s: loss(s, y, margin=2.0, squared=squared))(s),
        loss(s, y, margin=2.2, squared=squared, reduction="none")))(s)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
    np.testing.assert_allclose(per, [0.01 if squared else 0.1, 0.0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("loss", SVMS)
def test_svm_of_equal_scores_is_c_minus_one(loss):
    # At initialisation (all scores ~equal) the loss is (C - 1) * margin.
    y = _array([0, 4, 9])
    ones, halves = _jit(lambda s: (loss(s, y), loss(s, y, margin=0.5)))(np.zeros((3, 10), np.float32))
    np.testing.assert_allclose(ones, 9.0, rtol=1e-6)
    np.testing.assert_allclose(halves, 4.5, rtol=1e-6)


# -- reductions ---------------------------------------------------------------------------

def _loss_args(loss):
    if "binary_hinge" in loss.__name__:
        return _array([0.3, -2.0, 0.9, 1.5, -0.2]), _array([1, 1, -1, 1, -1])
    return SCORES, LABELS


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_reductions_mean_sum_none(loss):
    scores, y = _loss_args(loss)
    n = scores.shape[0]
    default, mean, total, none = _jit(lambda s: (
        loss(s, y), loss(s, y, reduction="mean"), loss(s, y, reduction="sum"),
        loss(s, y, reduction="none")))(scores)
    none = np.asarray(none, np.float64)
    assert none.shape == (n,) and default.shape == mean.shape == total.shape == ()
    assert np.all(none >= 0)
    np.testing.assert_allclose(default, none.mean(), rtol=1e-6)
    np.testing.assert_allclose(mean, none.mean(), rtol=1e-6)
    np.testing.assert_allclose(total, none.sum(), rtol=1e-6)


@pytest.mark.parametrize("loss", SVMS + XENTS + _both("binary_hinge"))
def test_gradient_of_sum_is_n_times_gradient_of_mean(loss):
    scores, y = _loss_args(loss)
    n = scores.shape[0]
    g_mean, g_sum, g_none = _jit(lambda s: (
        jax.grad(lambda s: loss(s, y))(s),
        jax.grad(lambda s: loss(s, y, reduction="sum"))(s),
        jax.grad(lambda s: jnp.sum(loss(s, y, reduction="none") * 2.0))(s)))(scores)
    np.testing.assert_allclose(g_sum, n * g_mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(g_none, 2.0 * g_sum, rtol=1e-6, atol=1e-7)
    assert np.any(np.asarray(g_sum) != 0)


# -- zero-one and binary hinge -----------------------------------------------------------

@pytest.mark.parametrize("loss", _both("zero_one"))
def test_zero_one_is_the_error_rate(loss):
    s = _array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0], [1.0, 3.0, 2.0]])
    s_big = _array(np.random.default_rng(3).standard_normal((50, 5)), np.float32)
    y = _array(np.random.default_rng(4).integers(0, 5, 50))
    right, half, half_each, rate, grad = _jit(lambda s, s_big: (
        loss(s, jnp.array([1, 0, 2, 1])), loss(s, jnp.array([0, 0, 2, 2])),
        loss(s, jnp.array([0, 0, 2, 2]), reduction="none"), loss(s_big, y),
        jax.grad(lambda s: loss(s, y))(s_big)))(s, s_big)
    np.testing.assert_allclose(right, 0.0)
    np.testing.assert_allclose(half, 0.5)
    np.testing.assert_array_equal(half_each, [1, 0, 0, 1])
    np.testing.assert_allclose(rate, np.mean(np.argmax(s_big, 1) != np.asarray(y)), rtol=1e-6)
    # Piecewise constant: zero gradient.
    np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("loss", _both("binary_hinge"))
def test_binary_hinge_values_and_gradient(loss):
    score = _array([2.0, 0.5, -0.5, -3.0, 1.0])
    y = _array([1, 1, 1, -1, -1])
    y_float = _array(y, np.float32)
    each, mean, grad = _jit(lambda s: (
        loss(s, y, reduction="none"), loss(s, y_float),
        jax.grad(lambda s: loss(s, y, reduction="sum"))(s)))(score)
    np.testing.assert_allclose(each, [0.0, 0.5, 1.5, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(mean, 4.0 / 5, rtol=1e-6)
    np.testing.assert_allclose(grad, [0.0, -1.0, -1.0, 0.0, 1.0])


@pytest.mark.parametrize("loss", SVMS)
def test_svm_margin_exactly_zero_has_zero_gradient(loss):
    # s_j - s_y + margin = 0 exactly: the hinge's kink. Its subgradient is 1[margin > 0],
    # the same for jax.grad of fdl.losses and the hand-written backward pass.
    scores = _array([[2.0, 1.0, -5.0]], np.float32)
    grad = _jit(jax.grad(lambda s: loss(s, jnp.array([0]))))(scores)
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.0]])


@pytest.mark.parametrize("loss", _both("binary_hinge"))
def test_binary_hinge_kink_has_zero_gradient(loss):
    grad = _jit(jax.grad(lambda s: loss(s, jnp.array([1.0, -1.0]))))(_array([1.0, -1.0]))
    np.testing.assert_array_equal(grad, [0.0, 0.0])
