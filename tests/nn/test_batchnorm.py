"""Batch normalisation: validation (automatic and manual twins), normalised statistics
in training (dense and spatial NHWC), the running-statistics update, eval mode, and
agreement of ``fdl.nn.batch_norm`` with ``fdl.manual.batch_norm``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl

BNS = [pytest.param(fdl.nn.batch_norm, id="nn"), pytest.param(fdl.manual.batch_norm, id="manual")]
SHAPES = [pytest.param((64, 5), id="dense"), pytest.param((4, 5, 6, 3), id="nhwc")]


def _data(shape, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    # Per-channel offsets and scales far from (0, 1), so normalisation has work to do.
    c = shape[-1]
    return (rng.standard_normal(shape) * np.linspace(0.5, 4.0, c) + np.linspace(-3, 5, c)).astype(dtype)


def _params(c, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2.0, c).astype(dtype), rng.standard_normal(c).astype(dtype),
            {"mean": rng.standard_normal(c).astype(dtype), "var": rng.uniform(0.5, 3.0, c).astype(dtype)})


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("name, shape", [("gamma", (4,)), ("gamma", (3, 1)), ("beta", (2,)), ("beta", ())])
def test_rejects_gamma_or_beta_of_wrong_shape(bn, name, shape):
    args = {"gamma": jnp.ones(3), "beta": jnp.zeros(3)}
    args[name] = jnp.ones(shape)
    with pytest.raises(ValueError, match=rf"^{name} must have shape \(3,\) for 3 features"):
        bn(jnp.ones((4, 3)), args["gamma"], args["beta"], fdl.nn.batch_norm_state(3), train=True)


@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("state", [
    {"mean": jnp.zeros(3)}, {"var": jnp.ones(3)}, {"mean": jnp.zeros(3), "variance": jnp.ones(3)},
    {"mean": jnp.zeros(3), "var": jnp.ones(3), "count": 0}, (jnp.zeros(3), jnp.ones(3)), None,
])
def test_rejects_state_without_the_two_keys(bn, state):
    with pytest.raises(TypeError, match=r"^state must be a dict \{'mean': \(C,\), 'var': \(C,\)\}"):
        bn(jnp.ones((4, 3)), jnp.ones(3), jnp.zeros(3), state, train=True)


@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("key", ["mean", "var"])
def test_rejects_state_entries_of_wrong_shape(bn, train, key):
    state = fdl.nn.batch_norm_state(3)
    state[key] = jnp.ones(4)
    with pytest.raises(ValueError, match=rf"^state\['{key}'\] must have shape \(3,\)"):
        bn(jnp.ones((4, 3)), jnp.ones(3), jnp.zeros(3), state, train=train)


@pytest.mark.parametrize("bn", BNS)
def test_rejects_rank_one_and_integer_x(bn):
    with pytest.raises(ValueError, match=r"^x must have rank >= 2"):
        bn(jnp.ones(3), jnp.ones(3), jnp.zeros(3), fdl.nn.batch_norm_state(3), train=True)
    with pytest.raises(TypeError, match=r"^x must have a floating dtype"):
        bn(jnp.ones((4, 3), jnp.int32), jnp.ones(3), jnp.zeros(3), fdl.nn.batch_norm_state(3), train=True)


@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("kwargs, name", [
    (dict(momentum=-0.1), "momentum"), (dict(momentum=1.5), "momentum"),
    (dict(eps=0.0), "eps"), (dict(eps=-1e-5), "eps"),
])
def test_rejects_momentum_and_eps_out_of_range(bn, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        bn(jnp.ones((4, 3)), jnp.ones(3), jnp.zeros(3), fdl.nn.batch_norm_state(3), train=True, **kwargs)


@pytest.mark.parametrize("bn", BNS)
def test_shape_errors_raise_under_jit(bn):
    f = jax.jit(lambda x, g, b, s: bn(x, g, b, s, train=True))
    with pytest.raises(ValueError, match=r"^gamma must have shape \(3,\)"):
        f(jnp.ones((4, 3)), jnp.ones(2), jnp.zeros(3), fdl.nn.batch_norm_state(3))


@pytest.mark.parametrize("num_features", [0, -1, 2.0, True, None])
def test_batch_norm_state_rejects_bad_sizes(num_features):
    with pytest.raises(ValueError, match=r"^num_features must be a positive int"):
        fdl.nn.batch_norm_state(num_features)


# -- training mode ------------------------------------------------------------------------

@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("shape", SHAPES)
def test_train_output_has_zero_mean_unit_variance_per_channel(bn, shape):
    x = _data(shape)
    c = shape[-1]
    y, _ = jax.jit(lambda x: bn(x, jnp.ones(c), jnp.zeros(c), fdl.nn.batch_norm_state(c), train=True))(x)
    axes = tuple(range(len(shape) - 1))  # N (and H, W for NHWC)
    y = np.asarray(y, np.float64)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-5)
    batch_var = np.asarray(x, np.float64).var(axis=axes)
    # Exactly var / (var + eps) (eps = 1e-5 in the denominator), within float32 rounding.
    np.testing.assert_allclose(y.var(axis=axes), batch_var / (batch_var + 1e-5), rtol=1e-5)
    np.testing.assert_allclose(y.var(axis=axes), 1.0, atol=1e-4)
    # Not over any other grouping: a single example's channels are not normalised.
    assert abs(y.reshape(-1, c)[0].mean()) > 1e-3 or abs(y.reshape(-1, c)[0].var() - 1) > 1e-3


@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("shape", SHAPES)
def test_train_applies_gamma_and_beta_and_updates_running_stats(bn, shape, x64):
    x = jnp.asarray(_data(shape, dtype=np.float64))
    c = shape[-1]
    gamma, beta, state = _params(c, dtype=np.float64)
    y, new_state = jax.jit(lambda x, g, b, s: bn(x, g, b, s, train=True))(x, gamma, beta, state)
    axes = tuple(range(len(shape) - 1))
    xs = np.asarray(x)
    mean, var = xs.mean(axis=axes), xs.var(axis=axes)  # biased (1/m) variance
    np.testing.assert_allclose(y, gamma * (xs - mean) / np.sqrt(var + 1e-5) + beta, rtol=1e-12, atol=1e-12)
    assert set(new_state) == {"mean", "var"}
    np.testing.assert_allclose(new_state["mean"], 0.9 * state["mean"] + 0.1 * mean, rtol=1e-13)
    np.testing.assert_allclose(new_state["var"], 0.9 * state["var"] + 0.1 * var, rtol=1e-13)
    unbiased = xs.reshape(-1, c).var(axis=0, ddof=1)
    assert not np.allclose(new_state["var"], 0.9 * state["var"] + 0.1 * unbiased, rtol=1e-6)


@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("momentum", [0.0, 0.5, 1.0])
def test_momentum_weights_the_old_value(bn, momentum, x64):
    x = jnp.asarray(_data((32, 4), dtype=np.float64))
    gamma, beta, state = _params(4, dtype=np.float64)
    _, new = bn(x, gamma, beta, state, train=True, momentum=momentum)
    mean, var = np.asarray(x).mean(0), np.asarray(x).var(0)
    np.testing.assert_allclose(new["mean"], momentum * state["mean"] + (1 - momentum) * mean, rtol=1e-13)
    np.testing.assert_allclose(new["var"], momentum * state["var"] + (1 - momentum) * var, rtol=1e-13)
    if momentum == 0.0:  # takes the batch statistics outright
        np.testing.assert_allclose(new["mean"], mean, rtol=1e-13)
        np.testing.assert_allclose(new["var"], var, rtol=1e-13)


@pytest.mark.parametrize("bn", BNS)
def test_running_stats_converge_over_repeated_batches(bn):
    x = _data((128, 3), seed=4)
    state = fdl.nn.batch_norm_state(3)
    step = jax.jit(lambda s: bn(x, jnp.ones(3), jnp.zeros(3), s, train=True)[1])
    for _ in range(60):
        state = step(state)
    # After 60 steps the initial state (zeros, ones) keeps the weight 0.9^60 ~ 2e-3.
    w = 0.9 ** 60
    np.testing.assert_allclose(state["mean"], (1 - w) * x.mean(0, dtype=np.float64), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(state["var"], w + (1 - w) * x.var(0, dtype=np.float64), rtol=1e-5)


# -- eval mode --------------------------------------------------------------------------

@pytest.mark.parametrize("bn", BNS)
@pytest.mark.parametrize("shape", SHAPES)
def test_eval_uses_running_stats_and_returns_the_same_state(bn, shape, x64):
    x = jnp.asarray(_data(shape, dtype=np.float64))
    c = shape[-1]
    gamma, beta, state = _params(c, dtype=np.float64)
    y, out_state = bn(x, gamma, beta, state, train=False)
    assert out_state is state
    expected = gamma * (np.asarray(x) - state["mean"]) / np.sqrt(state["var"] + 1e-5) + beta
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    # One example at a time gives the same answer: no batch statistics in eval.
    y0, _ = bn(x[:1], gamma, beta, state, train=False)
    np.testing.assert_allclose(y0, y[:1], rtol=1e-13)
    # eps is honoured.
    y_eps, _ = bn(x, gamma, beta, state, train=False, eps=0.5)
    np.testing.assert_allclose(y_eps, gamma * (np.asarray(x) - state["mean"]) / np.sqrt(state["var"] + 0.5)
                               + beta, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bn", BNS)
def test_eval_state_unchanged_under_jit(bn):
    gamma, beta, state = _params(3)
    _, out_state = jax.jit(lambda x, s: bn(x, gamma, beta, s, train=False))(_data((8, 3)), state)
    np.testing.assert_array_equal(out_state["mean"], state["mean"])
    np.testing.assert_array_equal(out_state["var"], state["var"])


@pytest.mark.parametrize("num_features", [1, 7])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_batch_norm_state_is_zeros_and_ones(num_features, dtype):
    state = fdl.nn.batch_norm_state(num_features, dtype)
    assert set(state) == {"mean", "var"}
    assert state["mean"].shape == state["var"].shape == (num_features,)
    assert state["mean"].dtype == state["var"].dtype == dtype
    np.testing.assert_array_equal(state["mean"], 0.0)
    np.testing.assert_array_equal(state["var"], 1.0)


# -- nn vs manual ---------------------------------------------------------------------------

@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_manual_and_nn_agree_on_output_state_and_gradients(train, shape, x64):
    x = jnp.asarray(_data(shape, dtype=np.float64))
    c = shape[-1]
    gamma, beta, state = _params(c, dtype=np.float64)
    g = jnp.asarray(np.random.default_rng(7).standard_normal(shape))

    @jax.jit
    def both(x, gamma, beta):
        results = []
        for bn in (fdl.nn.batch_norm, fdl.manual.batch_norm):
            def loss(x, gamma, beta, bn=bn):
                y, new_state = bn(x, gamma, beta, state, train=train)
                return jnp.sum(y * g), (y, new_state)
            grads, aux = jax.grad(loss, argnums=(0, 1, 2), has_aux=True)(x, gamma, beta)
            results.append((aux, grads))
        return results

    (auto_out, auto_grads), (hand_out, hand_grads) = both(x, gamma, beta)
    for a, h in zip(jax.tree_util.tree_leaves((auto_out, auto_grads)),
                    jax.tree_util.tree_leaves((hand_out, hand_grads))):
        np.testing.assert_allclose(h, a, rtol=1e-10, atol=1e-12)
    # Running statistics carry no gradient through either implementation.
    np.testing.assert_allclose(auto_out[1]["mean"], hand_out[1]["mean"], rtol=1e-13)
