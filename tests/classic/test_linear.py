"""Linear classifiers: accuracy on the digits, loss and gradient against NumPy, templates."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from compilations import count_compilations

import fdl
from fdl.classic import LinearClassifier

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")


@pytest.fixture(scope="module")
def digits():
    return fdl.data.load_digits()


def test_module_exports():
    for name in ("LinearClassifier", "train_linear_classifier", "linear_svm",
                 "softmax_classifier", "linear_scores", "linear_predict", "linear_loss",
                 "weight_templates", "init_linear_classifier"):
        assert hasattr(fdl.classic, name)


@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_digits_test_accuracy_with_the_defaults(digits, loss):
    classifier = fdl.classic.train_linear_classifier(
        digits.train.x, digits.train.y, loss=loss, key=jax.random.key(0)
    )
    assert classifier.w.shape == (64, 10) and classifier.b.shape == (10,)
    predictions = np.asarray(fdl.classic.linear_predict(classifier, digits.test.x))
    assert np.mean(predictions == digits.test.y) >= 0.94


def test_convenience_functions_equal_the_general_one(digits):
    # The data and batch size of the accuracy test above: its compiled epochs.
    key = jax.random.key(3)
    x, y = digits.train.x, digits.train.y
    for loss, convenience in (("svm", fdl.classic.linear_svm),
                              ("softmax", fdl.classic.softmax_classifier)):
        a = convenience(x, y, key=key, epochs=2)
        b = fdl.classic.train_linear_classifier(x, y, loss=loss, key=key, epochs=2)
        np.testing.assert_array_equal(a.w, b.w)
        np.testing.assert_array_equal(a.b, b.b)


def _numpy_objective_and_grads(w, b, x, y, loss, reg):
    """The notes' formulas, written out with loops where that is clearer."""
    n, num_classes = x.shape[0], w.shape[1]
    scores = x @ w + b
    dscores = np.zeros_like(scores)
    total = 0.0
    for i in range(n):
        if loss == "svm":
            for j in range(num_classes):
                if j == y[i]:
                    continue
                margin = scores[i, j] - scores[i, y[i]] + 1.0
                if margin > 0:
                    total += margin
                    dscores[i, j] += 1.0
                    dscores[i, y[i]] -= 1.0
        else:
            shifted = scores[i] - scores[i].max()
            p = np.exp(shifted) / np.exp(shifted).sum()
            total += -np.log(p[y[i]])
            dscores[i] = p
            dscores[i, y[i]] -= 1.0
    value = total / n + reg * np.sum(w * w)
    dw = x.T @ dscores / n + 2 * reg * w
    db = dscores.sum(axis=0) / n
    return value, dw, db


@pytest.mark.parametrize("loss", ["svm", "softmax"])
@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_loss_and_gradients_match_numpy(x64, loss, reg):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(3)
    y = np.array([0, 2, 1, 1, 0, 2])
    expected, dw, db = _numpy_objective_and_grads(w, b, x, y, loss, reg)
    classifier = LinearClassifier(jnp.asarray(w), jnp.asarray(b))
    value, grads = jax.value_and_grad(fdl.classic.linear_loss)(
        classifier, x, y, loss=loss, reg=reg
    )
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    np.testing.assert_allclose(grads.w, dw, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads.b, db, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss,initial", [("svm", 9.0), ("softmax", np.log(10))])
def test_initial_loss_is_the_sanity_value_and_training_lowers_it(digits, loss, initial):
    # The default batch size, as in the accuracy test above (its compiled epochs).
    _, losses = fdl.classic.train_linear_classifier(
        digits.train.x, digits.train.y, loss=loss, epochs=3, key=jax.random.key(1),
        return_losses=True,
    )
    batch = fdl.classic._linear.DEFAULT_BATCH_SIZE
    assert losses.shape == (3, len(digits.train.x) // batch)
    # Weights ~ N(0, 0.01^2) give scores near 0: loss ~ C - 1 (svm) or ln C (softmax).
    assert abs(float(losses[0, 0]) - initial) < 0.05 * initial
    assert float(losses[-1].mean()) < 0.5 * float(losses[0, 0])


def test_same_key_same_classifier_and_one_compilation(digits):
    x, y = digits.train.x[:200], digits.train.y[:200]
    first = fdl.classic.train_linear_classifier(x, y, key=jax.random.key(0), epochs=2)
    results = {}

    def again():
        results["again"] = fdl.classic.train_linear_classifier(
            x, y, key=jax.random.key(0), epochs=3)
        results["other_reg"] = fdl.classic.train_linear_classifier(
            x, y, key=jax.random.key(0), epochs=2, reg=0.5,
            optimizer=fdl.optim.momentum(fdl.classic._linear.DEFAULT_LR["svm"]))
        results["other_lr"] = fdl.classic.train_linear_classifier(
            x, y, key=jax.random.key(0), epochs=2, optimizer=fdl.optim.momentum(0.003))

    # reg and lr are traced, epochs only repeat the compiled epoch, and a freshly built
    # but identical optimizer equals the default one: no new training program.
    assert count_compilations(again) == 0
    second = fdl.classic.train_linear_classifier(x, y, key=jax.random.key(0), epochs=2)
    np.testing.assert_array_equal(first.w, second.w)
    assert not np.array_equal(first.w, results["other_reg"].w)
    assert not np.array_equal(first.w, results["other_lr"].w)
    assert not np.array_equal(first.w, results["again"].w)


def test_scores_and_predictions(digits):
    classifier = fdl.classic.init_linear_classifier(jax.random.key(0), 64, 10)
    images = digits.test.x[:7]
    scores = fdl.classic.linear_scores(classifier, images)
    assert scores.shape == (7, 10)
    flat = images.reshape(7, -1)
    np.testing.assert_allclose(scores, flat @ np.asarray(classifier.w) + classifier.b,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fdl.classic.linear_predict(classifier, flat),
                                  np.argmax(scores, axis=1))


@pytest.mark.parametrize("image_shape,expected", [
    ((8, 8, 1), (10, 8, 8, 1)),
    ((8, 8), (10, 8, 8, 1)),
    ((4, 4, 4), (10, 4, 4, 4)),
])
def test_weight_templates_shape_and_content(image_shape, expected):
    classifier = fdl.classic.init_linear_classifier(jax.random.key(0), 64, 10)
    templates = fdl.classic.weight_templates(classifier, image_shape)
    assert templates.shape == expected
    # Template c is column c of W, in the pixel order of a flattened image.
    np.testing.assert_array_equal(templates[3].reshape(-1), classifier.w[:, 3])
    np.testing.assert_array_equal(fdl.classic.weight_templates(classifier.w, image_shape),
                                  templates)


def _train(**overrides):
    x = np.zeros((10, 4), np.float32)
    y = np.arange(10) % 3
    args = dict(key=jax.random.key(0), epochs=1)
    args.update(overrides)
    x = args.pop("x", x)
    y = args.pop("y", y)
    return fdl.classic.train_linear_classifier(x, y, **args)


@pytest.mark.parametrize("overrides,error,match", [
    ({"loss": "hinge"}, ValueError, "loss must be one of 'svm', 'softmax'"),
    ({"reg": -1.0}, ValueError, "reg must be a finite number >= 0"),
    ({"reg": float("nan")}, ValueError, "reg must be"),
    ({"epochs": 0}, ValueError, "epochs must be >= 1"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"epochs": 1.5}, TypeError, "epochs must be an int"),
    ({"y": np.arange(9) % 3}, ValueError, r"y must have shape \(10,\)"),
    ({"y": np.linspace(0, 1, 10)}, TypeError, "integer class labels"),
    ({"y": np.arange(10) - 1}, ValueError, "non-negative"),
    ({"num_classes": 2}, ValueError, "outside \\[0, 2\\)"),
    ({"x": np.zeros((10,), np.float32)}, ValueError, "x must have rank >= 2"),
    ({"key": 0}, TypeError, "key must be a JAX random key"),
    ({"optimizer": "sgd"}, TypeError, "optimizer must have init and update"),
])
def test_training_bad_input(overrides, error, match):
    with pytest.raises(error, match=match):
        _train(**overrides)


def test_prediction_and_templates_bad_input():
    classifier = fdl.classic.init_linear_classifier(jax.random.key(0), 64, 10)
    with pytest.raises(ValueError, match="x has D=63 features.*D=64"):
        fdl.classic.linear_predict(classifier, np.zeros((2, 63), np.float32))
    with pytest.raises(ValueError, match=r"classifier.b must have shape \(10,\)"):
        fdl.classic.linear_scores(LinearClassifier(classifier.w, classifier.b[:3]),
                                  np.zeros((2, 64)))
    with pytest.raises(TypeError, match="LinearClassifier"):
        fdl.classic.linear_scores(classifier.w, np.zeros((2, 64)))
    with pytest.raises(ValueError, match="holds 49 pixels but w has D=64"):
        fdl.classic.weight_templates(classifier, (7, 7))
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, channels\)"):
        fdl.classic.weight_templates(classifier, (64,))
    with pytest.raises(ValueError, match="loss must be one of"):
        fdl.classic.linear_loss(classifier, np.zeros((2, 64)), [0, 1], loss="l2")
