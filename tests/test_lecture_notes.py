"""The lecture notes' worked examples, with their correct values.

Where a slide prints a wrong number the mathematics wins; each such case says what the
slide printed and why it is wrong.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl


def test_linear_scores_of_the_four_pixel_image():
    W = jnp.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]])
    x = jnp.array([[56.0, 231.0, 24.0, 2.0]])
    b = jnp.array([1.1, 3.2, -1.2])
    scores = fdl.nn.affine(x, W.T, b)  # fdl is batch-first: s = x W^T + b
    # The slide prints 61.95 for the ship score: 60.75 + 1.2, the bias added with the
    # wrong sign. 0*56 + 0.25*231 + 0.2*24 - 0.3*2 - 1.2 = 60.75.
    np.testing.assert_allclose(scores[0], [-96.8, 437.9, 60.75], rtol=1e-5)


# Three training examples (columns) and classes cat, car, frog (rows) on the slides.
THREE_SCORES = jnp.array([[3.2, 1.3, 2.2], [5.1, 4.9, 2.5], [-1.7, 2.0, -3.1]]).T
THREE_LABELS = jnp.array([0, 1, 2])


def test_three_example_svm_loss():
    per_example = fdl.losses.svm(THREE_SCORES, THREE_LABELS, reduction="none")
    np.testing.assert_allclose(per_example, [2.9, 0.0, 12.9], atol=1e-5)
    np.testing.assert_allclose(fdl.losses.svm(THREE_SCORES, THREE_LABELS), 15.8 / 3, rtol=1e-6)
    assert round(float(fdl.losses.svm(THREE_SCORES, THREE_LABELS)), 2) == 5.27


def test_three_example_softmax_loss():
    # The cat example: p(cat) = 0.13 and L = -ln 0.13 = 2.04. One slide prints 0.89,
    # which is -log10(0.13); the natural logarithm is the one whose gradient is p - 1.
    per_example = fdl.losses.softmax_cross_entropy(THREE_SCORES, THREE_LABELS, reduction="none")
    probs = fdl.nn.softmax(THREE_SCORES)
    np.testing.assert_allclose(probs[0], [0.13, 0.87, 0.00], atol=5e-3)
    np.testing.assert_allclose(per_example[0], 2.0404, atol=1e-4)
    expected = [math.log(sum(math.exp(v) for v in row)) - row[y]
                for row, y in zip(np.asarray(THREE_SCORES).tolist(), [0, 1, 2])]
    np.testing.assert_allclose(per_example, expected, rtol=1e-5)
    # The first deck's "L = -log(0.87) = 0.06" (the dog being correct) is also base 10.
    dog = fdl.losses.softmax_cross_entropy(THREE_SCORES[:1], jnp.array([1]))
    np.testing.assert_allclose(dog, -math.log(0.8698), atol=1e-3)
    assert abs(float(dog) - 0.06) > 0.05


def test_single_example_hinge_and_softmax_with_bias():
    W = jnp.array([[0.01, -0.05, 0.1, 0.05], [0.7, 0.2, 0.05, 0.16], [0.0, -0.45, -0.2, 0.03]])
    x = jnp.array([[-15.0, 22.0, -44.0, 56.0]])
    b = jnp.array([0.0, 0.2, -0.3])
    y = jnp.array([2])
    scores = fdl.nn.affine(x, W.T, b)
    np.testing.assert_allclose(scores[0], [-2.85, 0.86, 0.28], atol=1e-5)
    np.testing.assert_allclose(fdl.losses.svm(scores, y), 1.58, atol=1e-5)
    # p = [0.016, 0.631, 0.353]; the slide's 0.452 is -log10(0.353); -ln(0.353) = 1.04.
    np.testing.assert_allclose(fdl.nn.softmax(scores)[0], [0.016, 0.631, 0.353], atol=1e-3)
    np.testing.assert_allclose(fdl.losses.softmax_cross_entropy(scores, y), 1.0402, atol=1e-3)


def test_backprop_of_x_plus_y_times_z(x64):
    def f(x, y, z):
        return (x + y) * z

    args = (-2.0, 5.0, -4.0)
    assert f(*args) == -12.0
    assert jax.grad(f, (0, 1, 2))(*args) == (-4.0, -4.0, 3.0)
    numeric = [
        fdl.gradcheck.numerical_gradient(
            lambda v, i=i: f(*[v if j == i else a for j, a in enumerate(args)]), jnp.asarray(args[i]))
        for i in range(3)]
    np.testing.assert_allclose(numeric, [-4.0, -4.0, 3.0], rtol=1e-9)


def test_backprop_of_the_sigmoid_neuron():
    # f = sigmoid(w0 x0 + w1 x1 + w2), w = (2, -3, -3), x = (-1, -2): the slide's graph.
    x = jnp.array([[-1.0, -2.0]])
    w = jnp.array([[2.0], [-3.0]])
    b = jnp.array([-3.0])

    def neuron(x, w, b):
        return jnp.sum(fdl.manual.sigmoid(fdl.manual.affine(x, w, b)))

    assert float(neuron(x, w, b)) == pytest.approx(0.7311, abs=1e-4)
    dx, dw, db = jax.grad(neuron, (0, 1, 2))(x, w, b)
    local = 0.7311 * (1 - 0.7311)  # (1 - sigma) sigma = 0.1966, printed as 0.20
    np.testing.assert_allclose(dw[:, 0], [-1 * local, -2 * local], atol=1e-4)  # -0.20, -0.39
    np.testing.assert_allclose(dx[0], [2 * local, -3 * local], atol=1e-4)     # 0.39, -0.59
    np.testing.assert_allclose(db, [local], atol=1e-4)                          # 0.20


def test_backprop_of_the_squared_norm_of_wx():
    W = jnp.array([[0.1, 0.5], [-0.3, 0.8]])
    x = jnp.array([[0.2, 0.4]])

    def f(x, w):
        q = fdl.manual.affine(x, w, jnp.zeros(2))
        return fdl.manual.l2(q, jnp.zeros_like(q))  # ||q||^2 for the single example

    np.testing.assert_allclose(fdl.nn.affine(x, W.T, jnp.zeros(2))[0], [0.22, 0.26], atol=1e-6)
    np.testing.assert_allclose(f(x, W.T), 0.116, atol=1e-6)
    dx, dwT = jax.grad(f, (0, 1))(x, W.T)
    np.testing.assert_allclose(dwT.T, [[0.088, 0.176], [0.104, 0.208]], atol=1e-6)
    np.testing.assert_allclose(dx[0], [-0.112, 0.636], atol=1e-6)


POOL_INPUT = jnp.array([[0.0, 1, 2, 3], [5, 6, 7, 8], [3, 2, 1, 3], [0, 1, 3, 4]])[None, :, :, None]


def test_max_and_average_pooling_example():
    np.testing.assert_array_equal(fdl.nn.max_pool2d(POOL_INPUT)[0, :, :, 0], [[6, 8], [3, 4]])
    # The slide prints 4 for the last average; the window {1, 3, 3, 4} averages 2.75
    # (4 is its maximum).
    np.testing.assert_allclose(fdl.nn.avg_pool2d(POOL_INPUT)[0, :, :, 0], [[3, 5], [1.5, 2.75]])


@pytest.mark.parametrize("size,kernel,stride,padding,expected", [
    (7, 3, 1, 0, 5), (7, 3, 2, 0, 3), (7, 3, 3, 1, 3), (32, 5, 1, 2, 32), (32, 5, 1, 0, 28),
    (28, 5, 1, 0, 24), (32, 3, 1, 1, 32), (224, 2, 2, 0, 112),
])
def test_conv_output_sizes(size, kernel, stride, padding, expected):
    assert fdl.nn.conv_output_size(size, kernel, stride, padding) == expected


def test_the_stride_that_cannot_be_applied():
    with pytest.raises(ValueError, match="stride 3"):
        fdl.nn.conv_output_size(7, 3, 3, 0)
    x = jnp.zeros((1, 7, 7, 1))
    with pytest.raises(ValueError, match="cannot apply"):
        fdl.nn.conv2d(x, jnp.zeros((3, 3, 1, 1)), jnp.zeros(1), stride=3)
    # Padding by one makes it fit: (7 - 3 + 2) / 3 + 1 = 3.
    assert fdl.nn.conv2d(x, jnp.zeros((3, 3, 1, 1)), jnp.zeros(1), stride=3, padding=1).shape == (1, 3, 3, 1)


def test_conv_layer_parameter_counts():
    # 4 filters of 5x5x3: 5*5*3*4 weights + 4 biases = 304. The slide prints
    # 5*5*3*4 + 5*3*4 = 360, multiplying the biases as if they were weights.
    w = fdl.init.kaiming_normal(jax.random.key(0), (5, 5, 3, 4))
    b = fdl.init.zeros(None, (4,))
    assert w.size + b.size == 304
    out = fdl.nn.conv2d(jnp.zeros((1, 32, 32, 3)), w, b)
    assert out.shape == (1, 28, 28, 4)  # four 28x28 feature maps
    # 10 filters of 5x5x3 with stride 1 and pad 2 on 32x32x3: (75 + 1) * 10 = 760.
    w10 = jnp.zeros((5, 5, 3, 10))
    assert w10.size + 10 == 760
    assert fdl.nn.conv2d(jnp.zeros((1, 32, 32, 3)), w10, jnp.zeros(10), padding=2).shape == (1, 32, 32, 10)


def test_l1_distance_between_the_two_4x4_images():
    test = jnp.array([[56, 32, 10, 18], [90, 23, 128, 133], [24, 26, 178, 200], [2, 0, 255, 220]],
                     jnp.float32)
    train = jnp.array([[10, 20, 24, 17], [8, 10, 89, 100], [12, 16, 178, 170], [4, 32, 233, 112]],
                      jnp.float32)
    assert float(fdl.losses.l1(test[None], train[None])) == 456.0


@pytest.mark.parametrize("classes", [3, 10, 100])
def test_initial_loss_sanity(classes):
    """With small random weights all scores are ~0: softmax loss ~ ln C, SVM ~ C - 1."""
    rng = np.random.default_rng(classes)
    x = rng.standard_normal((500, 64)).astype(np.float32)
    y = rng.integers(0, classes, 500)

    @jax.jit  # one program (eagerly, each op compiles on its own)
    def losses(key):
        w = fdl.init.normal(key, (64, classes), std=1e-4)
        scores = fdl.nn.affine(x, w, jnp.zeros(classes))
        return fdl.losses.softmax_cross_entropy(scores, y), fdl.losses.svm(scores, y)

    softmax, svm = losses(jax.random.key(classes))
    # The Stanford deck prints log(10) = 2.03; ln 10 = 2.303.
    np.testing.assert_allclose(softmax, math.log(classes), rtol=1e-3)
    np.testing.assert_allclose(svm, classes - 1, rtol=1e-3)


def _stats(weight_init, activation):
    means, stds, _ = fdl.init.activation_statistics(
        jax.random.key(0), weight_init, activation, layers=10, width=500, batch=1000)
    return means, stds


def test_small_gaussian_init_collapses_deep_tanh_activations():
    _, stds = _stats(lambda k, s, d: fdl.init.normal(k, s, d, std=0.01), fdl.nn.tanh)
    # Each layer multiplies the std by ~0.01 * sqrt(500) = 0.22 (notes: 0.213, 0.048, ...).
    np.testing.assert_allclose(stds[0], 0.01 * math.sqrt(500), rtol=0.05)
    assert np.all(np.diff(stds) < 0)
    assert stds[-1] < 1e-5


def test_unit_gaussian_init_saturates_tanh():
    _, (_, _, outputs) = None, fdl.init.activation_statistics(
        jax.random.key(0), lambda k, s, d: fdl.init.normal(k, s, d, std=1.0), fdl.nn.tanh)
    saturated = float(jnp.mean(jnp.abs(outputs[-1]) > 0.99))
    assert saturated > 0.8  # almost every unit at +-1: gradients vanish


def test_xavier_keeps_tanh_alive_but_not_relu():
    _, tanh_stds = _stats(fdl.init.xavier_normal, fdl.nn.tanh)
    assert tanh_stds[-1] > 0.15  # notes: 0.228 at layer 10
    assert np.all(tanh_stds < 0.7)
    _, relu_stds = _stats(fdl.init.xavier_normal, fdl.nn.relu)
    assert relu_stds[-1] < 0.05 < relu_stds[0]  # notes: 0.58 -> 0.026, halving each layer


def test_kaiming_keeps_relu_alive():
    means, stds = _stats(fdl.init.kaiming_normal, fdl.nn.relu)
    # The notes: means ~0.55-0.62 and stds ~0.81-0.89 at every layer.
    assert np.all((stds > 0.5) & (stds < 1.3))
    assert np.all((means > 0.3) & (means < 0.9))
