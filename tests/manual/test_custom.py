"""The plumbing of ``fdl.manual``: ``Cache`` as a pytree, ``custom_op`` turning a
hand-written (forward, backward) pair into a differentiable JAX op, the
``counterpart``/``reference`` links, and a small model trained on manual gradients
matching the ``jax.grad`` one step for step."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl
from fdl.manual import Cache, custom_op

# -- Cache ----------------------------------------------------------------------------------


def _cache():
    return Cache({"stride": (2, 1), "pads": ((1, 1), (0, 0)), "train": True},
                 x=jnp.arange(6.0).reshape(2, 3), w=jnp.ones(4))


def test_cache_attributes():
    cache = _cache()
    np.testing.assert_array_equal(cache.x, np.arange(6.0).reshape(2, 3))
    assert cache.stride == (2, 1) and cache.pads == ((1, 1), (0, 0)) and cache.train is True
    with pytest.raises(AttributeError, match="no entry 'missing'"):
        _ = cache.missing
    with pytest.raises(AttributeError):
        _ = cache._private


def test_cache_round_trips_through_flatten_unflatten():
    cache = _cache()
    leaves, treedef = jax.tree_util.tree_flatten(cache)
    assert len(leaves) == 2  # only the arrays are children
    doubled = jax.tree_util.tree_unflatten(treedef, [2 * leaf for leaf in leaves])
    assert isinstance(doubled, Cache)
    np.testing.assert_array_equal(doubled.x, 2 * cache.x)
    np.testing.assert_array_equal(doubled.w, 2 * cache.w)
    assert doubled.stride == (2, 1) and doubled.pads == cache.pads and doubled.train is True
    mapped = jax.tree_util.tree_map(lambda a: a + 1, cache)
    np.testing.assert_array_equal(mapped.w, 2.0)


def test_cache_crosses_jit_with_static_fields_preserved():
    @jax.jit
    def f(cache):
        assert cache.stride == (2, 1)  # static metadata is plain Python inside the trace
        return Cache({"stride": cache.stride, "seen": True}, y=cache.x * 3)

    out = f(_cache())
    assert isinstance(out, Cache)
    assert out.stride == (2, 1) and out.seen is True
    np.testing.assert_array_equal(out.y, 3 * np.arange(6.0).reshape(2, 3))


def test_cache_with_only_static_fields():
    cache = Cache({"shape": (2, 3)})
    leaves, treedef = jax.tree_util.tree_flatten(cache)
    assert leaves == []
    assert jax.tree_util.tree_unflatten(treedef, []).shape == (2, 3)


# -- custom_op --------------------------------------------------------------------------------

def _cube_forward(x):
    return x ** 3, Cache(x=x)


def _cube_backward(dout, cache):
    return 3 * cache.x ** 2 * dout


def _cube(x):
    return custom_op(_cube_forward, _cube_backward, (x,))


def _wrong_forward(x):
    return x ** 3, Cache(x=x)


def _wrong_backward(dout, cache):
    # Deliberately not the derivative: proves jax.grad runs this, not autodiff.
    return 7.0 * jnp.ones_like(cache.x) * dout


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_custom_op_uses_the_hand_written_backward(transform):
    x = jnp.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(transform(_cube)(x), x ** 3, rtol=1e-6)
    grad = transform(jax.grad(lambda x: jnp.sum(_cube(x))))(x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-6)
    wrong = transform(jax.grad(lambda x: jnp.sum(custom_op(_wrong_forward, _wrong_backward, (x,)))))(x)
    np.testing.assert_array_equal(wrong, 7.0)


def test_custom_op_chains_and_second_use():
    x = jnp.array(1.5)
    # d/dx (x^3)^3 = 9 x^8
    np.testing.assert_allclose(jax.grad(lambda x: _cube(_cube(x)))(x), 9 * 1.5 ** 8, rtol=1e-6)
    # vmap over a batch of scalars goes through the same rule.
    xs = jnp.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(jax.vmap(jax.grad(_cube))(xs), 3 * xs ** 2, rtol=1e-6)


def _scale_forward(x, power=1):
    return x ** power, Cache({"power": power}, x=x)


def _scale_backward(dout, cache):
    return cache.power * cache.x ** (cache.power - 1) * dout


def test_custom_op_static_arguments():
    x = jnp.array([1.0, 2.0])
    for power in (2, 4):
        f = lambda x, p=power: jnp.sum(custom_op(_scale_forward, _scale_backward, (x,), {"power": p}))  # noqa: E731
        np.testing.assert_allclose(f(x), np.sum(np.asarray(x) ** power), rtol=1e-6)
        np.testing.assert_allclose(jax.grad(f)(x), power * np.asarray(x) ** (power - 1), rtol=1e-6)


def _pick_forward(x, idx):
    return x[jnp.arange(x.shape[0]), idx], Cache(shape=jnp.zeros(x.shape, x.dtype), idx=idx)


def _pick_backward(dout, cache):
    n = cache.idx.shape[0]
    return cache.shape.at[jnp.arange(n), cache.idx].add(dout)


def test_integer_inputs_get_no_gradient():
    transform = jax.jit
    x = jnp.arange(12.0).reshape(4, 3)
    idx = jnp.array([0, 2, 2, 1])
    pick = lambda x, idx: custom_op(_pick_forward, _pick_backward, (x, idx), diff=(True, False))  # noqa: E731
    np.testing.assert_array_equal(transform(pick)(x, idx), [0.0, 5.0, 8.0, 10.0])
    grad = transform(jax.grad(lambda x, idx: jnp.sum(pick(x, idx) * jnp.arange(1.0, 5.0))))(x, idx)
    np.testing.assert_array_equal(grad, np.eye(3)[np.asarray(idx)] * np.arange(1.0, 5.0)[:, None])
    # Asking for a gradient with respect to the integer labels is a JAX type error.
    with pytest.raises(TypeError):
        jax.grad(lambda x, idx: jnp.sum(pick(x, idx)), argnums=1)(x, idx)


def test_library_losses_with_integer_labels_under_grad_and_jit():
    scores = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)), jnp.float32)
    y = jnp.array([0, 2, 1, 1])
    for loss in (fdl.manual.softmax_cross_entropy, fdl.manual.svm, fdl.manual.zero_one):
        g = jax.jit(jax.grad(loss))(scores, y)
        assert g.shape == scores.shape and np.all(np.isfinite(g))


# -- counterpart / reference --------------------------------------------------------------------

@pytest.mark.parametrize("auto, hand", [
    (fdl.nn.relu, fdl.manual.relu), (fdl.nn.conv2d, fdl.manual.conv2d),
    (fdl.nn.batch_norm, fdl.manual.batch_norm), (fdl.nn.dropout, fdl.manual.dropout),
    (fdl.losses.softmax_cross_entropy, fdl.manual.softmax_cross_entropy),
    (fdl.losses.l2, fdl.manual.l2), (fdl.regularizers.l2, fdl.manual.l2_regularizer),
    (fdl.regularizers.elastic_net, fdl.manual.elastic_net),
], ids=lambda f: f.__name__)
def test_counterpart_and_reference(auto, hand):
    assert fdl.manual.counterpart(auto) is hand
    assert hand.reference is auto
    assert fdl.manual.counterpart(hand) is hand  # already manual


@pytest.mark.parametrize("fn", [jnp.tanh, fdl.init.normal, fdl.regularizers.max_norm, fdl.nn.conv_output_size,
                                lambda x: x, fdl.manual.relu_backward])
def test_counterpart_of_an_unrelated_function_is_none(fn):
    assert fdl.manual.counterpart(fn) is None


def test_relu_identities():
    assert fdl.manual.counterpart(fdl.nn.relu) is fdl.manual.relu
    assert fdl.manual.relu.reference is fdl.nn.relu
    assert fdl.manual.l2 is not fdl.manual.l2_regularizer


# -- a two-layer model on manual gradients ----------------------------------------------------

def _model(ops, losses):
    def loss_fn(params, x, y):
        h = ops.relu(ops.affine(x, params["w1"], params["b1"]))
        return losses.softmax_cross_entropy(ops.affine(h, params["w2"], params["b2"]), y)
    return loss_fn


AUTO = _model(fdl.nn, fdl.losses)
HAND = _model(fdl.manual, fdl.manual)


def _problem():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((16, 2, 3)))  # flattened to 6 features by affine
    y = jnp.asarray(rng.integers(0, 4, 16))
    params = {"w1": jnp.asarray(0.5 * rng.standard_normal((6, 10))),
              "b1": jnp.asarray(0.1 * rng.standard_normal(10)),
              "w2": jnp.asarray(0.5 * rng.standard_normal((10, 4))), "b2": jnp.zeros(4)}
    return params, x, y


def test_manual_model_loss_and_gradient_equal_automatic(x64):
    params, x, y = _problem()
    (l_auto, g_auto), (l_hand, g_hand) = jax.jit(
        lambda p: (jax.value_and_grad(AUTO)(p, x, y), jax.value_and_grad(HAND)(p, x, y)))(params)
    assert l_auto.dtype == jnp.float64
    np.testing.assert_allclose(l_hand, l_auto, rtol=1e-12)
    for key in params:
        assert g_hand[key].shape == params[key].shape
        np.testing.assert_allclose(g_hand[key], g_auto[key], rtol=1e-10, atol=1e-14, err_msg=key)
        assert np.any(np.asarray(g_auto[key]) != 0), key


def test_manual_model_trains_identically(x64):
    params, x, y = _problem()

    def train(loss_fn):
        @jax.jit
        def run(params):
            def step(p, _):
                value, grads = jax.value_and_grad(loss_fn)(p, x, y)
                return jax.tree_util.tree_map(lambda w, g: w - 0.5 * g, p, grads), value
            return jax.lax.scan(step, params, None, length=20)
        return run(params)

    p_auto, losses_auto = train(AUTO)
    p_hand, losses_hand = train(HAND)
    losses_auto, losses_hand = np.asarray(losses_auto), np.asarray(losses_hand)
    assert losses_auto[-1] < 0.8 * losses_auto[0], losses_auto
    assert np.all(np.diff(losses_auto) < 0), losses_auto  # full-batch GD with a small step
    np.testing.assert_allclose(losses_hand, losses_auto, rtol=1e-10)
    for key in params:
        np.testing.assert_allclose(p_hand[key], p_auto[key], rtol=1e-10, atol=1e-13, err_msg=key)
