"""Combinators beyond ``serial`` (residual, concat, fan_out, parallel) and the
parameter-free layers of ResNet and GoogLeNet (global pooling, Subsample, PadChannels,
Lambda): shapes, values against direct jax.numpy compositions, state and keys per branch,
hand-written gradients, configured equality, error messages."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import layers as L
from fdl import nn, regularizers

KEY = jax.random.key(0)


def _x(shape, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _relu(x):
    return jnp.maximum(x, 0.0)


# ----------------------------------------------------------------- residual


def test_residual_identity_shortcut_values_and_params():
    model = L.residual(L.serial(L.Dense(4), L.Relu(), L.Dense(4)))
    params, state = model.init(KEY, (4,))
    (p1, _, p2), shortcut = params
    assert shortcut == {} and state == (({}, {}, {}), {})
    assert model.output_shape((4,)) == (4,)
    assert model.sublayers[1] == L.Identity() and model.kind == "residual"
    x = _x((3, 4))
    out, _ = model.apply(params, state, x)
    expected = _relu(x @ p1["w"] + p1["b"]) @ p2["w"] + p2["b"] + x
    # float32 matmuls of size 4 summed in a different order: a few ulps.
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    # The two weight matrices (ndim >= 2) are what regularisers see, biases are not.
    assert [w.shape for w in regularizers.weights(params)] == [(4, 4), (4, 4)]


def test_residual_projection_shortcut_equals_strided_1x1_conv():
    # Option B on a 7x7 map: a 1x1 conv at stride 2 reads exactly the subsampled pixels.
    shortcut = L.serial(L.Subsample(2), L.Conv(6, 1))
    block = L.Conv(6, 3, stride=2, padding=1)
    model = L.residual(block, shortcut)
    params, state = model.init(KEY, (7, 7, 3))
    assert model.output_shape((7, 7, 3)) == (4, 4, 6)
    x = _x((2, 7, 7, 3))
    out, _ = model.apply(params, state, x)
    (pb, (_, ps)) = params
    expected = (nn.conv2d(x, pb["w"], pb["b"], stride=2, padding=1)
                + nn.conv2d(x, ps["w"], ps["b"], stride=2))
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)  # same sums, ulps apart


def test_option_a_shortcut_values():
    shortcut = L.serial(L.Subsample(2), L.PadChannels(1, 2))
    assert shortcut.output_shape((5, 5, 3)) == (3, 3, 6)
    x = _x((2, 5, 5, 3))
    out, _ = shortcut.apply(*shortcut.init(KEY, (5, 5, 3)), x)
    expected = jnp.pad(x[:, ::2, ::2, :], ((0, 0), (0, 0), (0, 0), (1, 2)))
    np.testing.assert_array_equal(out, expected)  # copies and zeros: exact
    assert L.Subsample((1, 2)).output_shape((4, 5, 2)) == (4, 3, 2)
    assert L.PadChannels(0, 3).output_shape((7,)) == (10,)


def test_residual_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"residual: block gives \(8, 8, 32\), shortcut "
                                         r"\(16, 16, 16\)"):
        L.residual(L.Conv(32, 2, stride=2)).init(KEY, (16, 16, 16))
    with pytest.raises(ValueError, match=r"residual: block gives \(8, 8, 32\)"):
        L.residual(L.Conv(32, 2, stride=2)).output_shape((16, 16, 16))
    with pytest.raises(ValueError, match=r"residual block: Conv\(4, 3x3.*cannot be applied"):
        L.residual(L.Conv(4, 3, stride=2)).output_shape((8, 8, 4))
    with pytest.raises(TypeError, match=r"residual: block must be a Layer.*parentheses"):
        L.residual(L.Relu)
    with pytest.raises(TypeError, match=r"residual: shortcut must be a Layer or None"):
        L.residual(L.Relu(), shortcut="identity")


def test_manual_residual_uses_the_hand_written_add():
    x = jnp.ones((2, 3))

    def jaxpr(manual):
        model = L.residual(L.Identity(), manual=manual)
        return str(jax.make_jaxpr(lambda v: model.apply(({}, {}), ({}, {}), v)[0])(x))

    assert "custom_vjp" in jaxpr(True) and "custom_vjp" not in jaxpr(False)


# ----------------------------------------------------------------- concat


def test_concat_on_channels_and_on_height():
    model = L.concat(L.Dense(2), L.Tanh(), L.Identity())
    params, state = model.init(KEY, (3,))
    assert model.output_shape((3,)) == (8,) and len(params) == 3 and state == ({}, {}, {})
    x = _x((4, 3))
    out, _ = model.apply(params, state, x)
    expected = jnp.concatenate([x @ params[0]["w"] + params[0]["b"], jnp.tanh(x), x], axis=-1)
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)  # float32 ulps

    # axis counts on the batched arrays: 1 is the height of NHWC images.
    tall = L.concat(L.Identity(), L.Relu(), axis=1)
    assert tall.name == "concat(axis=1)" and tall.output_shape((3, 2, 2)) == (6, 2, 2)
    assert L.concat(L.Identity(), L.Relu(), axis=-3).output_shape((3, 2, 2)) == (6, 2, 2)
    xi = _x((2, 3, 2, 2))
    out, _ = tall.apply(*tall.init(KEY, (3, 2, 2)), xi)
    np.testing.assert_array_equal(out, jnp.concatenate([xi, _relu(xi)], axis=1))


def test_inception_like_concat_shape():
    inception = L.concat(
        L.Conv(4, 1),
        L.serial(L.Conv(2, 1), L.Conv(6, 3, padding=1)),
        L.serial(L.Conv(1, 1), L.Conv(2, 5, padding=2)),
        L.serial(L.MaxPool(3, 1), L.Lambda(lambda x: jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))),
                                           "pad1"), L.Conv(2, 1)),
    )
    assert inception.output_shape((8, 8, 3)) == (8, 8, 4 + 6 + 2 + 2)


def test_concat_errors_name_the_branch():
    with pytest.raises(ValueError, match=r"concat: branch 1 gives \(4, 4, 3\) but branch 0 "
                                         r"gives \(6, 6, 2\)"):
        L.concat(L.Conv(2, 1), L.Conv(3, 3)).init(KEY, (6, 6, 4))
    with pytest.raises(ValueError, match=r"concat branch 1 \(serial\): .*Conv\(3, 5x5"):
        L.concat(L.Conv(2, 1), L.serial(L.Relu(), L.Conv(3, 5))).output_shape((4, 4, 1))
    with pytest.raises(ValueError, match="batch axis"):
        L.concat(L.Relu(), L.Tanh(), axis=0)
    with pytest.raises(ValueError, match=r"axis 4 is out of range"):
        L.concat(L.Relu(), L.Tanh(), axis=4).output_shape((3, 2, 2))
    with pytest.raises(TypeError, match="axis must be an int"):
        L.concat(L.Relu(), axis=1.0)
    with pytest.raises(ValueError, match="at least one layer"):
        L.concat()


# ----------------------------------------------------------------- fan_out, parallel, Lambda


def test_fan_out_then_parallel():
    model = L.serial(L.fan_out(2), L.parallel(L.Dense(3), L.Tanh()))
    assert L.fan_out(3).output_shape((2, 2)) == ((2, 2), (2, 2), (2, 2))
    assert model.output_shape((5,)) == ((3,), (5,))
    params, state = model.init(KEY, (5,))
    x = _x((2, 5))
    (a, b), _ = model.apply(params, state, x)
    dense = params[1][0]
    np.testing.assert_allclose(a, x @ dense["w"] + dense["b"], rtol=1e-6, atol=1e-6)  # ulps
    np.testing.assert_array_equal(b, jnp.tanh(x))

    joined = L.serial(model, L.Lambda(lambda xs: jnp.concatenate(xs, axis=-1), "join"))
    assert joined.output_shape((5,)) == (8,)


def test_parallel_errors():
    both = L.parallel(L.Dense(3), L.Relu())
    with pytest.raises(ValueError, match=r"parallel: input_shape must be a tuple of 2 per-example "
                                         "shapes"):
        both.init(KEY, (5,))
    params, state = both.init(KEY, ((5,), (2,)))
    with pytest.raises(ValueError, match=r"parallel: x must be a tuple of 2, one per branch"):
        both.apply(params, state, jnp.ones((2, 5)))
    with pytest.raises(ValueError, match=r"fan_out\(0\): n must be a positive int"):
        L.fan_out(0)


def test_lambda_and_global_pools():
    x = _x((2, 3, 4, 5))
    for layer, ref in [(L.GlobalAvgPool(), jnp.mean(x, axis=(1, 2))),
                       (L.GlobalMaxPool(), jnp.max(x, axis=(1, 2)))]:
        assert layer.output_shape((3, 4, 5)) == (5,)
        out, _ = layer.apply(*layer.init(KEY, (3, 4, 5)), x)
        np.testing.assert_allclose(out, ref, rtol=1e-6)  # a mean of 12 floats: ulps
    with pytest.raises(ValueError, match=r"GlobalAvgPool: input_shape must be \(H, W, C\)"):
        L.GlobalAvgPool().init(KEY, (4, 5))

    square = L.Lambda(jnp.square, "square")
    assert square.name == "square" and square.output_shape((3, 2)) == (3, 2)
    out, _ = square.apply(*square.init(KEY, (3, 2)), x[:, 0, :2, :2])
    np.testing.assert_array_equal(out, x[:, 0, :2, :2] ** 2)
    with pytest.raises(ValueError, match="square: input_shape"):
        square.init(KEY, (0, 2))
    with pytest.raises(ValueError, match="mean: fn must keep the batch axis first"):
        L.Lambda(lambda v: jnp.mean(v, axis=0), "mean").output_shape((3,))
    with pytest.raises(TypeError, match="Lambda: fn must be callable"):
        L.Lambda("square", "square")
    with pytest.raises(TypeError, match="Lambda: name must be a non-empty str"):
        L.Lambda(jnp.square, None)


def test_shortcut_argument_errors():
    with pytest.raises(ValueError, match=r"Subsample: stride"):
        L.Subsample(0)
    with pytest.raises(ValueError, match=r"PadChannels: before must be an int >= 0"):
        L.PadChannels(-1, 2)
    with pytest.raises(TypeError, match=r"PadChannels: after must be an int >= 0"):
        L.PadChannels(1, 2.0)
    with pytest.raises(ValueError, match=r"Subsample\(2\): input_shape must be \(H, W, C\)"):
        L.Subsample(2).output_shape((8, 8))


# ----------------------------------------------------------------- state and keys per branch

# One network with batch norm and dropout inside branches: a residual block holding both,
# then an Inception-like concat with a second dropout and a batch norm in its branches
# (one jitted training step, shared by the tests below).
BLOCK = L.serial(L.Dense(4), L.BatchNorm(), L.Relu(), L.Dropout(0.5))
NET = L.serial(
    L.residual(BLOCK),
    L.concat(L.Dropout(0.5), L.serial(L.Dense(3), L.BatchNorm(momentum=0.5)), L.Identity()),
)
NET_PARAMS, NET_STATE = NET.init(KEY, (4,))
NET_X = _x((6, 4), seed=2)
NET_KEY = jax.random.key(7)
NET_APPLY = jax.jit(NET.apply, static_argnames="train")
NET_OUT, NET_NEW_STATE = NET_APPLY(NET_PARAMS, NET_STATE, NET_X, train=True, key=NET_KEY)


def test_state_is_threaded_through_every_branch():
    assert NET.output_shape((4,)) == (4 + 3 + 4,)
    dense = NET_PARAMS[0][0][0]
    h = NET_X @ dense["w"] + dense["b"]
    running = NET_NEW_STATE[0][0][1]
    # momentum 0.9 from zeros: running mean = 0.1 * batch mean.
    np.testing.assert_allclose(running["mean"], 0.1 * h.mean(axis=0), rtol=1e-5, atol=1e-7)
    inner = NET_PARAMS[1][1][0]
    residual_out = NET_OUT[:, 7:]  # the concat's Identity branch: its input
    h2 = residual_out @ inner["w"] + inner["b"]
    np.testing.assert_allclose(NET_NEW_STATE[1][1][1]["mean"], 0.5 * h2.mean(axis=0),
                               rtol=1e-5, atol=1e-7)  # float32 means of 6 values
    # Structure unchanged: the stateless branches keep their empty entries.
    assert jax.tree.structure(NET_NEW_STATE) == jax.tree.structure(NET_STATE)
    assert NET_NEW_STATE[1][0] == {} and NET_NEW_STATE[1][2] == {}


def test_keys_are_split_per_branch_that_needs_one():
    assert NET.needs_key and NET.sublayers[0].needs_key and NET.sublayers[1].needs_key
    assert not L.concat(L.Dense(2), L.Relu()).needs_key
    assert L.residual(L.Relu(), L.Dropout(0.1)).needs_key
    # Every combinator splits its key like serial: one sub-key per branch that draws
    # random numbers, in order. serial -> (residual, concat); the residual's only keyed
    # branch is the block; the concat's only keyed branch is its dropout (branch 0).
    k_res, k_cat = jax.random.split(NET_KEY, 2)
    (k_block,) = jax.random.split(k_res, 1)
    block_out, _ = BLOCK.apply(NET_PARAMS[0][0], NET_STATE[0][0], NET_X, train=True, key=k_block)
    h = block_out + NET_X
    np.testing.assert_allclose(NET_OUT[:, 7:], h, rtol=1e-6, atol=1e-6)  # jit vs eager: ulps
    (k_drop,) = jax.random.split(k_cat, 1)
    expected = nn.dropout(h, k_drop, rate=0.5, train=True)
    np.testing.assert_allclose(NET_OUT[:, :4], expected, rtol=1e-6, atol=1e-6)
    # A different key draws different masks (the compiled step again: the key is traced).
    other, _ = NET_APPLY(NET_PARAMS, NET_STATE, NET_X, train=True, key=jax.random.key(8))
    assert not np.allclose(other, NET_OUT)


def test_errors_inside_branches_name_the_branch():
    with pytest.raises(ValueError, match=r"layer 0: residual block \(serial\): layer 3: Dropout\(0.5\): "
                                         "training.*needs a PRNG key"):
        NET.apply(NET_PARAMS, NET_STATE, NET_X, train=True)
    with pytest.raises(ValueError, match=r"residual: params must be a tuple of 2 per-branch"):
        NET.sublayers[0].apply(NET_PARAMS[0][0], NET_STATE[0], NET_X)


# ----------------------------------------------------------------- manual gradients


def _grad_model(manual):
    m = dict(manual=manual)
    block = L.serial(L.Conv(3, 3, padding=1, **m), L.Relu(**m), L.Conv(3, 3, padding=1, **m))
    return L.serial(
        L.residual(block, **m),
        L.concat(L.Conv(2, 1, **m), L.Identity(), L.serial(L.Subsample(2, **m),
                                                           L.Conv(2, 1, **m), L.Lambda(
                                                               lambda v: jnp.repeat(
                                                                   jnp.repeat(v, 2, 1), 2, 2),
                                                               "upsample")), **m),
        L.residual(L.Relu(**m), L.PadChannels(0, 0, **m), **m),
        L.GlobalAvgPool(**m),
        L.Dense(2, **m),
    )


def test_manual_gradients_equal_autodiff_through_residual_and_concat(x64):
    auto, manual = _grad_model(False), _grad_model(True)
    # Any parameter values serve: the shapes from init (traced, not run: eager init
    # compiles every draw), the values from NumPy.
    shapes, state = jax.eval_shape(lambda: auto.init(KEY, (4, 4, 3), jnp.float64))
    assert shapes[0][0][0]["w"].dtype == jnp.float64 and not jax.tree.leaves(state)
    rng = np.random.default_rng(4)
    params = jax.tree.map(lambda s: 0.5 * rng.standard_normal(s.shape), shapes)
    x = jnp.asarray(_x((2, 4, 4, 3), dtype=np.float64))
    c = jnp.asarray(_x((2, 2), seed=3, dtype=np.float64))

    def grads(model):
        return jax.jit(jax.grad(lambda p: jnp.sum(model.apply(p, state, x)[0] * c)))(params)

    g_auto, g_manual = grads(auto), grads(manual)
    for a, b in zip(jax.tree.leaves(g_auto), jax.tree.leaves(g_manual)):
        # Two float64 evaluations of the same chain rule in different orders: ~1e-15
        # relative; 1e-9 leaves room without hiding a wrong rule (those are O(1) off).
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    assert any(float(jnp.abs(g).max()) > 1e-3 for g in jax.tree.leaves(g_auto))


# ----------------------------------------------------------------- configured equality


def test_identically_built_combinators_are_equal():
    assert L.residual(L.Dense(3)) == L.residual(L.Dense(3))
    assert hash(L.residual(L.Dense(3))) == hash(L.residual(L.Dense(3)))
    assert L.residual(L.Dense(3)) != L.residual(L.Dense(4))
    assert L.residual(L.Dense(3)) != L.residual(L.Dense(3), manual=True)
    assert L.concat(L.Relu(), L.Tanh()) == L.concat(L.Relu(), L.Tanh(), axis=-1)
    assert L.concat(L.Relu(), L.Tanh()) != L.concat(L.Relu(), L.Tanh(), axis=1)
    assert L.parallel(L.Relu(), L.Tanh()) == L.parallel(L.Relu(), L.Tanh())
    assert L.fan_out(2) == L.fan_out(2) != L.fan_out(3)
    assert L.Lambda(jnp.square, "sq") == L.Lambda(jnp.square, "sq") != L.Lambda(jnp.abs, "sq")
    assert L.Subsample(2) == L.Subsample(2) and L.PadChannels(1, 1) != L.PadChannels(1, 2)
    assert L.GlobalAvgPool() == L.GlobalAvgPool() != L.GlobalMaxPool()
