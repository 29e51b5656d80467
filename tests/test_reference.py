"""Sanity tests of the NumPy reference implementations themselves.

They are checked against hand-computed values (the lecture examples) and
against independent NumPy/SciPy routines, so that the references can be
trusted as oracles for the library.
"""

import os
import sys

import numpy as np
import pytest
from scipy import signal, special

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference as ref  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---------------------------------------------------------------------------
# Affine and activations
# ---------------------------------------------------------------------------


def test_affine_flattens_and_matches_einsum(rng):
    x = rng.normal(size=(3, 2, 4, 5))
    w = rng.normal(size=(40, 6))
    b = rng.normal(size=(6,))
    out = ref.affine(x, w, b)
    assert out.shape == (3, 6)
    expected = np.einsum("nhwc,hwco->no", x, w.reshape(2, 4, 5, 6)) + b
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_affine_hand_values():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.5]])
    b = np.array([0.5, -1.0, 0.0])
    np.testing.assert_allclose(ref.affine(x, w, b), [[5.5, 1.0, 0.0]])


def test_elementwise_activations_hand_values():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(ref.relu(x), [0.0, 0.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(ref.leaky_relu(x), [-0.02, -0.005, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(
        ref.leaky_relu(x, negative_slope=0.2), [-0.4, -0.1, 0.0, 0.5, 3.0]
    )
    np.testing.assert_allclose(
        ref.elu(x), [np.exp(-2.0) - 1, np.exp(-0.5) - 1, 0.0, 0.5, 3.0], rtol=1e-14
    )
    np.testing.assert_allclose(
        ref.elu(x, alpha=2.0),
        [2 * (np.exp(-2.0) - 1), 2 * (np.exp(-0.5) - 1), 0.0, 0.5, 3.0],
        rtol=1e-14,
    )
    np.testing.assert_allclose(ref.sigmoid(x), special.expit(x), rtol=1e-14)
    np.testing.assert_allclose(ref.tanh(x), np.tanh(x), rtol=1e-14)
    assert ref.sigmoid(np.array([0.0]))[0] == 0.5


def test_sigmoid_stable_at_extremes():
    x = np.array([-1000.0, -40.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = ref.sigmoid(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, special.expit(x), rtol=1e-12)
    np.testing.assert_allclose(ref.sigmoid(x) + ref.sigmoid(-x), 1.0)


def test_elu_no_overflow_for_large_positive():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = ref.elu(np.array([1000.0, -1000.0]))
    np.testing.assert_allclose(out, [1000.0, -1.0])


def test_softmax_sums_to_one_and_matches_scipy(rng):
    s = rng.normal(size=(5, 7)) * 10
    p = ref.softmax(s)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-14)
    assert np.all(p > 0)
    np.testing.assert_allclose(p, special.softmax(s, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(
        ref.log_softmax(s), special.log_softmax(s, axis=-1), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(np.exp(ref.log_softmax(s)), p, rtol=1e-12)


def test_softmax_stable_and_shift_invariant():
    s = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = ref.softmax(s)
        lp = ref.log_softmax(s)
    np.testing.assert_allclose(p[0], ref.softmax(np.array([0.0, 1.0, 2.0])), rtol=1e-14)
    np.testing.assert_allclose(p[1], [1 / 3] * 3, rtol=1e-14)
    assert np.all(np.isfinite(lp))


def test_softmax_last_axis_on_3d(rng):
    s = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(ref.softmax(s).sum(axis=-1), np.ones((2, 3)))


def test_maxout_hand_values_and_vs_loop(rng):
    x = np.array([[1.0, -1.0]])
    w = np.array([[[1.0], [0.0]], [[0.0], [1.0]]])  # (K=2, D=2, M=1)
    b = np.array([[0.0], [0.5]])
    # piece 0: 1.0, piece 1: -1 + 0.5 = -0.5 -> max = 1.0
    np.testing.assert_allclose(ref.maxout(x, w, b), [[1.0]])

    x = rng.normal(size=(4, 2, 3))
    w = rng.normal(size=(3, 6, 5))
    b = rng.normal(size=(3, 5))
    out = ref.maxout(x, w, b)
    assert out.shape == (4, 5)
    pieces = np.stack([x.reshape(4, 6) @ w[k] + b[k] for k in range(3)])
    np.testing.assert_allclose(out, pieces.max(axis=0))


# ---------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------


def test_conv2d_single_channel_vs_scipy_correlate(rng):
    x = rng.normal(size=(1, 7, 6, 1))
    w = rng.normal(size=(3, 2, 1, 1))
    out = ref.conv2d(x, w, np.zeros(1))
    expected = signal.correlate(x[0, :, :, 0], w[:, :, 0, 0], mode="valid")
    assert out.shape == (1, 5, 5, 1)
    np.testing.assert_allclose(out[0, :, :, 0], expected, rtol=1e-12, atol=1e-12)


def test_conv2d_multichannel_vs_scipy_correlate(rng):
    x = rng.normal(size=(2, 6, 5, 3))
    w = rng.normal(size=(3, 3, 3, 4))
    b = rng.normal(size=(4,))
    out = ref.conv2d(x, w, b, padding=1)
    assert out.shape == (2, 6, 5, 4)
    for n in range(2):
        for o in range(4):
            acc = np.zeros((6, 5))
            for c in range(3):
                xp = np.pad(x[n, :, :, c], 1)
                acc += signal.correlate(xp, w[:, :, c, o], mode="valid")
            np.testing.assert_allclose(out[n, :, :, o], acc + b[o], rtol=1e-12, atol=1e-12)


def test_conv2d_stride_matches_subsampled_stride1(rng):
    x = rng.normal(size=(2, 9, 8, 2))
    w = rng.normal(size=(3, 2, 2, 3))
    b = rng.normal(size=(3,))
    full = ref.conv2d(x, w, b, stride=1, padding=(1, 2))
    strided = ref.conv2d(x, w, b, stride=(2, 3), padding=(1, 2))
    np.testing.assert_allclose(strided, full[:, ::2, ::3, :], rtol=1e-12, atol=1e-12)
    assert strided.shape == (2, (9 + 2 - 3) // 2 + 1, (8 + 4 - 2) // 3 + 1, 3)


def test_conv2d_is_cross_correlation_hand_value():
    x = np.arange(9, dtype=float).reshape(1, 3, 3, 1)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(2, 2, 1, 1)
    out = ref.conv2d(x, w, np.array([10.0]))
    # window at (0,0): x[0,0] - x[1,1] = 0 - 4 = -4 ; all windows differ by -4
    np.testing.assert_allclose(out[0, :, :, 0], [[6.0, 6.0], [6.0, 6.0]])
    x2 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    w2 = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(2, 2, 1, 1)
    # cross-correlation (no kernel flip): 1 + 20 + 300 + 4000
    np.testing.assert_allclose(ref.conv2d(x2, w2, np.zeros(1)), [[[[4321.0]]]])


def test_conv2d_valid_equals_zero_padding(rng):
    x = rng.normal(size=(1, 5, 5, 2))
    w = rng.normal(size=(3, 3, 2, 2))
    b = rng.normal(size=(2,))
    np.testing.assert_array_equal(
        ref.conv2d(x, w, b, padding="VALID"), ref.conv2d(x, w, b, padding=0)
    )


@pytest.mark.parametrize(
    "size, kernel, stride, pads",
    [
        (7, 3, 1, (1, 1)),
        (7, 3, 2, (1, 1)),
        (8, 3, 2, (0, 1)),
        (6, 4, 1, (1, 2)),
        (5, 1, 3, (0, 0)),
        (4, 5, 2, (1, 2)),
    ],
)
def test_conv2d_same_padding(rng, size, kernel, stride, pads):
    x = rng.normal(size=(1, size, size, 1))
    w = rng.normal(size=(kernel, kernel, 1, 1))
    out = ref.conv2d(x, w, np.zeros(1), stride=stride, padding="SAME")
    out_size = -(-size // stride)
    assert out.shape == (1, out_size, out_size, 1)
    xp = np.pad(x[0, :, :, 0], (pads, pads))
    expected = signal.correlate(xp, w[:, :, 0, 0], mode="valid")[::stride, ::stride]
    np.testing.assert_allclose(out[0, :, :, 0], expected, rtol=1e-12, atol=1e-12)


def test_conv2d_same_stride1_keeps_size_and_lowercase(rng):
    x = rng.normal(size=(2, 5, 6, 3))
    w = rng.normal(size=(3, 3, 3, 4))
    b = np.zeros(4)
    out = ref.conv2d(x, w, b, padding="SAME")
    assert out.shape == (2, 5, 6, 4)
    np.testing.assert_array_equal(out, ref.conv2d(x, w, b, padding=1))
    np.testing.assert_array_equal(out, ref.conv2d(x, w, b, padding="same"))


def test_conv2d_rejects_bad_padding_and_channels(rng):
    x = rng.normal(size=(1, 4, 4, 2))
    with pytest.raises(ValueError):
        ref.conv2d(x, np.ones((3, 3, 2, 1)), np.zeros(1), padding="FULL")
    with pytest.raises(ValueError):
        ref.conv2d(x, np.ones((3, 3, 3, 1)), np.zeros(1))


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

LECTURE_POOL = np.array(
    [[0.0, 1.0, 2.0, 3.0], [5.0, 6.0, 7.0, 8.0], [3.0, 2.0, 1.0, 3.0], [0.0, 1.0, 3.0, 4.0]]
).reshape(1, 4, 4, 1)


def test_max_pool_lecture_example():
    out = ref.max_pool2d(LECTURE_POOL)
    assert out.shape == (1, 2, 2, 1)
    np.testing.assert_array_equal(out[0, :, :, 0], [[6.0, 8.0], [3.0, 4.0]])


def test_avg_pool_lecture_example():
    out = ref.avg_pool2d(LECTURE_POOL)
    assert out.shape == (1, 2, 2, 1)
    # windows: {0,1,5,6} -> 3, {2,3,7,8} -> 5, {3,2,0,1} -> 1.5, {1,3,3,4} -> 11/4
    np.testing.assert_allclose(out[0, :, :, 0], [[3.0, 5.0], [1.5, 2.75]])


def test_pool_vs_reshape_and_per_channel(rng):
    x = rng.normal(size=(3, 6, 8, 4))
    blocks = x.reshape(3, 3, 2, 4, 2, 4)
    np.testing.assert_allclose(ref.max_pool2d(x), blocks.max(axis=(2, 4)))
    np.testing.assert_allclose(ref.avg_pool2d(x), blocks.mean(axis=(2, 4)), rtol=1e-13)


def test_pool_overlapping_and_pair_args(rng):
    x = rng.normal(size=(1, 5, 7, 2))
    out = ref.max_pool2d(x, size=3, stride=2)
    assert out.shape == (1, 2, 3, 2)
    assert out[0, 1, 2, 1] == x[0, 2:5, 4:7, 1].max()
    out = ref.avg_pool2d(x, size=(2, 3), stride=(1, 2))
    assert out.shape == (1, 4, 3, 2)
    np.testing.assert_allclose(out[0, 3, 1, 0], x[0, 3:5, 2:5, 0].mean())


# ---------------------------------------------------------------------------
# Batch norm
# ---------------------------------------------------------------------------


def test_batch_norm_train_2d(rng):
    x = rng.normal(loc=3.0, scale=2.0, size=(50, 4))
    gamma = np.ones(4)
    beta = np.zeros(4)
    y, mean, var = ref.batch_norm_train(x, gamma, beta, eps=0.0)
    np.testing.assert_allclose(mean, x.mean(axis=0))
    np.testing.assert_allclose(var, x.var(axis=0))  # biased (ddof=0)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1.0, rtol=1e-12)

    gamma = np.array([1.0, 2.0, 0.5, -1.0])
    beta = np.array([0.0, 1.0, -2.0, 3.0])
    y2, _, _ = ref.batch_norm_train(x, gamma, beta, eps=1e-5)
    expected = gamma * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) + beta
    np.testing.assert_allclose(y2, expected, rtol=1e-12)


def test_batch_norm_train_hand_value():
    x = np.array([[1.0], [3.0]])
    y, mean, var = ref.batch_norm_train(x, np.array([2.0]), np.array([1.0]), eps=0.0)
    np.testing.assert_allclose(mean, [2.0])
    np.testing.assert_allclose(var, [1.0])
    np.testing.assert_allclose(y, [[-1.0], [3.0]])


def test_batch_norm_spatial_nhwc(rng):
    x = rng.normal(size=(3, 4, 5, 2))
    y, mean, var = ref.batch_norm_train(x, np.ones(2), np.zeros(2))
    assert mean.shape == (2,) and var.shape == (2,)
    flat = x.reshape(-1, 2)
    np.testing.assert_allclose(mean, flat.mean(0))
    np.testing.assert_allclose(var, flat.var(0))
    assert y.shape == x.shape


def test_batch_norm_eval_and_running_update(rng):
    x = rng.normal(size=(6, 3))
    gamma = rng.normal(size=3)
    beta = rng.normal(size=3)
    rm = rng.normal(size=3)
    rv = rng.uniform(0.5, 2.0, size=3)
    out = ref.batch_norm_eval(x, gamma, beta, rm, rv, eps=1e-3)
    np.testing.assert_allclose(out, gamma * (x - rm) / np.sqrt(rv + 1e-3) + beta)
    # eval with the batch's own statistics equals train mode
    y, mean, var = ref.batch_norm_train(x, gamma, beta)
    np.testing.assert_allclose(ref.batch_norm_eval(x, gamma, beta, mean, var), y)
    np.testing.assert_allclose(
        ref.update_running(np.array([0.0, 1.0]), np.array([1.0, 3.0])), [0.1, 1.2]
    )
    np.testing.assert_allclose(
        ref.update_running(np.array([2.0]), np.array([4.0]), momentum=0.5), [3.0]
    )


# ---------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------

# Lecture example: rows are classes (cat, car, frog), columns are examples.
LECTURE_SVM_SCORES = np.array(
    [[3.2, 1.3, 2.2], [5.1, 4.9, 2.5], [-1.7, 2.0, -3.1]]
).T  # -> (N, C)
LECTURE_SVM_LABELS = np.array([0, 1, 2])


def test_svm_lecture_example():
    losses = ref.svm(LECTURE_SVM_SCORES, LECTURE_SVM_LABELS)
    assert losses.shape == (3,)
    np.testing.assert_allclose(losses, [2.9, 0.0, 12.9], atol=1e-12)
    np.testing.assert_allclose(losses.mean(), 5.27, atol=1e-2)


def test_svm_squared_and_margin():
    losses = ref.svm(LECTURE_SVM_SCORES, LECTURE_SVM_LABELS, squared=True)
    np.testing.assert_allclose(losses, [2.9**2, 0.0, 6.3**2 + 6.6**2], atol=1e-12)
    losses = ref.svm(LECTURE_SVM_SCORES, LECTURE_SVM_LABELS, margin=0.0)
    np.testing.assert_allclose(losses, [1.9, 0.0, 10.9], atol=1e-12)


def test_svm_vs_vectorized(rng):
    s = rng.normal(size=(20, 6))
    y = rng.integers(0, 6, size=20)
    margins = np.maximum(0.0, s - s[np.arange(20), y][:, None] + 1.0)
    margins[np.arange(20), y] = 0.0
    np.testing.assert_allclose(ref.svm(s, y), margins.sum(axis=1))
    np.testing.assert_allclose(ref.svm(s, y, squared=True), (margins**2).sum(axis=1))
    # all-equal scores: each of the C-1 wrong classes contributes the margin
    np.testing.assert_allclose(ref.svm(np.zeros((2, 10)), [0, 3]), [9.0, 9.0])


def test_softmax_cross_entropy(rng):
    s = rng.normal(size=(8, 5)) * 5
    y = rng.integers(0, 5, size=8)
    losses = ref.softmax_cross_entropy(s, y)
    assert losses.shape == (8,)
    expected = -np.log(special.softmax(s, axis=1)[np.arange(8), y])
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    # uniform scores: loss = log(C)
    np.testing.assert_allclose(ref.softmax_cross_entropy(np.zeros((1, 10)), [4]), [np.log(10)])
    # stable for huge scores
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        big = ref.softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), [0, 0])
    np.testing.assert_allclose(big, [0.0, 1000.0], atol=1e-12)


def test_softmax_cross_entropy_lecture_example():
    # CS231n example: scores cat 3.2, car 5.1, frog -1.7 for a cat image -> about 2.04
    loss = ref.softmax_cross_entropy(np.array([[3.2, 5.1, -1.7]]), [0])
    np.testing.assert_allclose(loss, [2.04], atol=5e-3)


def test_l1_l2(rng):
    np.testing.assert_allclose(ref.l1(np.array([1.0, -2.0]), np.array([0.5, 1.0])), [0.5, 3.0])
    np.testing.assert_allclose(ref.l2(np.array([1.0, -2.0]), np.array([0.5, 1.0])), [0.25, 9.0])
    p = rng.normal(size=(4, 3, 2))
    t = rng.normal(size=(4, 3, 2))
    assert ref.l1(p, t).shape == (4,)
    np.testing.assert_allclose(ref.l1(p, t), np.abs(p - t).sum(axis=(1, 2)))
    np.testing.assert_allclose(ref.l2(p, t), ((p - t) ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(
        ref.l2(np.array([[3.0, 4.0]]), np.zeros((1, 2))), [25.0]
    )


def test_zero_one():
    s = np.array([[0.1, 0.9, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_array_equal(ref.zero_one(s, [1, 1, 2]), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(
        ref.zero_one(LECTURE_SVM_SCORES, LECTURE_SVM_LABELS), [1.0, 0.0, 1.0]
    )


def test_binary_hinge():
    score = np.array([2.0, 0.5, -0.5, -3.0, 0.0])
    y = np.array([1, 1, 1, -1, -1])
    np.testing.assert_allclose(ref.binary_hinge(score, y), [0.0, 0.5, 1.5, 0.0, 1.0])


def test_kl_divergence(rng):
    p = special.softmax(rng.normal(size=(5, 4)), axis=1)
    q = special.softmax(rng.normal(size=(5, 4)), axis=1)
    kl = ref.kl_divergence(p, q)
    assert kl.shape == (5,)
    np.testing.assert_allclose(kl, special.rel_entr(p, q).sum(axis=1), rtol=1e-12)
    assert np.all(kl >= 0)
    np.testing.assert_allclose(ref.kl_divergence(p, p), 0.0, atol=1e-15)
    # 0 * log(0 / q) = 0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        val = ref.kl_divergence(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))
    np.testing.assert_allclose(val, [np.log(2.0)])


# ---------------------------------------------------------------------------
# Regularisers
# ---------------------------------------------------------------------------


def test_regularizers_hand_values():
    params = {"w": np.array([[1.0, -2.0], [0.0, 3.0]]), "b": np.array([-1.0])}
    assert ref.reg_l2(params) == pytest.approx(1 + 4 + 9 + 1)
    assert ref.reg_l1(params) == pytest.approx(1 + 2 + 3 + 1)
    assert ref.reg_elastic_net(params, 0.5) == pytest.approx(0.5 * 15 + 7)
    as_list = [params["w"], [params["b"]]]
    assert ref.reg_l2(as_list) == pytest.approx(15.0)
    assert ref.reg_elastic_net(as_list, 0.0) == pytest.approx(ref.reg_l1(as_list))


def test_max_norm_dense_and_conv(rng):
    w = np.array([[3.0, 0.1], [4.0, 0.2]])  # column norms 5 and ~0.224
    b = np.array([10.0, -10.0])
    out = ref.max_norm({"w": w, "b": b}, 1.0)
    np.testing.assert_allclose(out["w"][:, 0], [0.6, 0.8])
    np.testing.assert_allclose(out["w"][:, 1], w[:, 1])  # already within the ball
    np.testing.assert_array_equal(out["b"], b)  # 1-D leaves unchanged
    np.testing.assert_array_equal(w, [[3.0, 0.1], [4.0, 0.2]])  # input untouched

    k = rng.normal(size=(3, 3, 2, 4)) * 3
    out = ref.max_norm([k], 2.0)
    assert isinstance(out, list) and out[0].shape == k.shape
    norms = np.sqrt((out[0] ** 2).sum(axis=(0, 1, 2)))
    orig = np.sqrt((k**2).sum(axis=(0, 1, 2)))
    np.testing.assert_allclose(norms, np.minimum(orig, 2.0))
    # direction preserved
    np.testing.assert_allclose(
        out[0] / norms, k / orig, rtol=1e-12
    )


# ---------------------------------------------------------------------------
# Sizes, dropout, numerical gradient
# ---------------------------------------------------------------------------


def test_conv_output_size_lecture_examples():
    assert ref.conv_output_size(7, 3, 1, 0) == 5
    assert ref.conv_output_size(7, 3, 2, 0) == 3
    with pytest.raises(ValueError):
        ref.conv_output_size(7, 3, 3, 0)
    assert ref.conv_output_size(7, 3, 3, 1) == 3
    assert ref.conv_output_size(32, 5, 1, 2) == 32
    assert ref.conv_output_size(227, 11, 4, 0) == 55
    assert isinstance(ref.conv_output_size(7, 3, 2, 0), int)


def test_conv_output_size_agrees_with_conv2d(rng):
    x = rng.normal(size=(1, 7, 7, 1))
    w = rng.normal(size=(3, 3, 1, 1))
    out = ref.conv2d(x, w, np.zeros(1), stride=3, padding=1)
    assert out.shape[1] == ref.conv_output_size(7, 3, 3, 1)


def test_dropout_expected_keep():
    assert ref.dropout_expected_keep(0.25) == pytest.approx(0.75)
    assert ref.dropout_expected_keep(0.0) == 1.0


def test_numerical_gradient(rng):
    x = rng.normal(size=(3, 4))
    x_before = x.copy()
    a = rng.normal(size=(3, 4))
    g = ref.numerical_gradient(lambda z: np.sum(a * z**2), x)
    np.testing.assert_allclose(g, 2 * a * x, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(x, x_before)  # caller's array untouched

    s = rng.normal(size=(4, 5))
    y = np.array([0, 2, 4, 1])
    g = ref.numerical_gradient(lambda z: ref.softmax_cross_entropy(z, y).sum(), s)
    onehot = np.eye(5)[y]
    np.testing.assert_allclose(g, special.softmax(s, axis=1) - onehot, rtol=1e-6, atol=1e-9)


def test_numerical_gradient_of_conv_matches_analytic(rng):
    x = rng.normal(size=(1, 4, 4, 2))
    w = rng.normal(size=(2, 2, 2, 3))
    b = rng.normal(size=(3,))
    dout = rng.normal(size=(1, 3, 3, 3))
    g_b = ref.numerical_gradient(lambda bb: np.sum(ref.conv2d(x, w, bb) * dout), b)
    np.testing.assert_allclose(g_b, dout.sum(axis=(0, 1, 2)), rtol=1e-7)
    g_w = ref.numerical_gradient(lambda ww: np.sum(ref.conv2d(x, ww, b) * dout), w)
    expected = np.zeros_like(w)
    for p in range(2):
        for q in range(2):
            expected[p, q] = np.einsum("nijc,nijo->co", x[:, p:p + 3, q:q + 3, :], dout)
    np.testing.assert_allclose(g_w, expected, rtol=1e-6, atol=1e-8)


def test_reference_module_does_not_import_jax():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.py")
    with open(path) as fh:
        src = fh.read()
    assert "import jax" not in src and "from jax" not in src
