"""Babysitting checks: initial loss ln C / C - 1, regularisation raises it, overfit 20."""

import functools
import math

import jax
import numpy as np
import pytest

from fdl import data, losses, manual, models, optim, train

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

CE = losses.softmax_cross_entropy

# The tests of failing checks use test_all_checks_pass_on_digits' MLP with Adam (the
# learning rate is traced, so every rate shares one compiled epoch), and give it the
# weights they need through the checks' params= rather than a model of their own: one
# model's programs serve them all.
MLP = models.mlp([100], 10)


@pytest.fixture(scope="module")
def digits_train():
    splits = data.load_digits()
    return splits.train.x, splits.train.y


def _mlp_params(digits_train, key, weights):
    """``MLP``'s initial params and state as the checks derive them from ``key``, each
    weight matrix ``w`` replaced by ``weights(w)`` (a NumPy array: nothing to compile)."""
    x, _ = digits_train
    params, state = MLP.init(jax.random.split(key)[0], x.shape[1:])
    params = tuple({k: (weights(v) if k == "w" else v) for k, v in layer.items()}
                   for layer in params)
    return params, state


def test_expected_initial_loss_values():
    assert train.expected_initial_loss(CE, 10) == pytest.approx(2.302585, abs=1e-6)
    assert train.expected_initial_loss(manual.softmax_cross_entropy, 10) == math.log(10)
    assert train.expected_initial_loss("softmax", 3) == math.log(3)
    assert train.expected_initial_loss(losses.svm, 10) == 9
    assert train.expected_initial_loss(manual.svm, 10) == 9
    assert train.expected_initial_loss(functools.partial(losses.svm, margin=2.0), 10) == 18
    assert train.expected_initial_loss(
        functools.partial(losses.svm, margin=2.0, squared=True), 10) == 36


def test_expected_initial_loss_matches_equal_scores():
    # The definition: every class gets the same score.
    scores = np.zeros((4, 10), np.float32)
    y = np.arange(4)
    # Jitted: one program per loss (eagerly, each of its ops compiles on its own).
    assert float(jax.jit(CE)(scores, y)) == pytest.approx(train.expected_initial_loss(CE, 10))
    assert float(jax.jit(losses.svm)(scores, y)) == pytest.approx(
        train.expected_initial_loss(losses.svm, 10))


def test_expected_initial_loss_bad_arguments():
    with pytest.raises(ValueError, match="unknown loss"):
        train.expected_initial_loss(losses.l2, 10)
    with pytest.raises(ValueError, match="unknown loss"):
        train.expected_initial_loss(lambda s, y: 0.0, 10)
    with pytest.raises(ValueError, match="num_classes"):
        train.expected_initial_loss(CE, 1)
    with pytest.raises(TypeError, match="num_classes"):
        train.expected_initial_loss(CE, 10.0)


@pytest.mark.parametrize("name, model, loss", [
    ("linear-svm", models.linear(10), losses.svm),
    ("mlp", MLP, CE),
    ("convnet", models.convnet(((4,),), hidden=(16,), num_classes=10), CE),  # small: cheap to compile
])
def test_all_checks_pass_on_digits(digits_train, name, model, loss):
    results = train.sanity_check(model, digits_train, loss, optim.adam(2e-3),
                                 jax.random.key(0))
    assert [r.name for r in results] == [
        "initial_loss", "regularization_raises_loss", "overfit_small_subset"]
    assert all(r.passed for r in results), train.format_sanity_table(results)
    initial, regularized, overfit = results
    assert initial.expected == pytest.approx(9.0 if loss is losses.svm else math.log(10))
    assert regularized.measured > regularized.expected == pytest.approx(initial.measured)
    assert overfit.measured == 1.0


def test_small_weights_start_at_ln_c(digits_train):
    # The notes' rule in its exact form: weights ~0.01 give scores ~0, loss ~ln C.
    result = train.check_initial_loss(models.linear(10), digits_train, CE, jax.random.key(1))
    assert result.passed
    assert result.measured == pytest.approx(math.log(10), abs=0.02)


def test_huge_initialisation_fails_the_initial_loss_check(digits_train):
    # Every weight drawn from N(0, 1), as init.normal(std=1.0) would.
    rng = np.random.default_rng(0)
    params, state = _mlp_params(digits_train, jax.random.key(0),
                                lambda w: rng.standard_normal(w.shape).astype(w.dtype))
    result = train.check_initial_loss(MLP, digits_train, CE, jax.random.key(0),
                                      params=params, state=state)
    assert not result.passed
    assert result.measured > 5 * math.log(10)
    assert "initialise the weights smaller" in result.message
    # The same model still has weights to penalise.
    assert train.check_regularization_raises_loss(
        MLP, digits_train, CE, jax.random.key(0), params=params, state=state).passed


def test_zero_weights_fail_regularization_and_overfit_checks(digits_train):
    # All-zero weights: every score equal (initial loss exactly ln C), nothing for the
    # penalty to grow, and ReLU units that never switch on, so nothing can be learned
    # but the output bias.
    key = jax.random.key(0)
    params, state = _mlp_params(digits_train, key, lambda w: np.zeros(w.shape, w.dtype))
    initial = train.check_initial_loss(MLP, digits_train, CE, key, params=params, state=state)
    assert initial.passed
    assert initial.measured == pytest.approx(math.log(10), abs=1e-6)
    assert not train.check_regularization_raises_loss(
        MLP, digits_train, CE, key, params=params, state=state).passed
    overfit = train.check_overfit_small_subset(MLP, digits_train, CE, optim.adam(2e-3), key,
                                               epochs=50, params=params, state=state)
    assert not overfit.passed
    assert overfit.measured < 0.5


def test_tiny_learning_rate_fails_only_the_overfit_check(digits_train):
    results = train.sanity_check(MLP, digits_train, CE, optim.adam(1e-7),
                                 jax.random.key(0), epochs=20)
    assert [r.passed for r in results] == [True, True, False]
    assert "cannot overfit" in results[2].message


def test_diverging_run_fails_the_overfit_check(digits_train):
    # Adam's first steps move every weight by about lr: the loss passes 1e10 in epoch 2
    # for keys 0-3.
    result = train.check_overfit_small_subset(
        MLP, digits_train, CE, optim.adam(1e4), jax.random.key(0), epochs=20)
    assert not result.passed and "diverged" in result.message


def test_results_serialise_and_format(digits_train):
    results = train.sanity_check(MLP, digits_train, CE, optim.adam(1e-7),
                                 jax.random.key(0), epochs=5)
    table = train.format_sanity_table(results)
    assert table.count("PASS") == 2 and table.count("FAIL") == 1
    records = [r.to_dict() for r in results]
    assert records[0]["name"] == "initial_loss" and records[2]["passed"] is False


def test_bad_check_arguments(digits_train):
    with pytest.raises(ValueError, match="n must be"):
        train.check_overfit_small_subset(models.linear(10), digits_train, CE,
                                         optim.sgd(0.1), jax.random.key(0), n=0)
    with pytest.raises(ValueError, match="reg must be > 0"):
        train.check_regularization_raises_loss(models.linear(10), digits_train, CE,
                                               jax.random.key(0), reg=0.0)
    with pytest.raises(ValueError, match="factor"):
        train.check_initial_loss(models.linear(10), digits_train, CE, jax.random.key(0),
                                 factor=0.5)
