"""Every layer: ``output_shape`` agrees with what ``apply`` returns (traced and run)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import layers as L

# Shapes are chosen so that many cases share parameter shapes (w (3, 3, 2, 3), w (8, 5)):
# each new shape costs a compilation of the random initialiser.
CASES = [
    ("dense-vector", lambda: L.Dense(5), (8,)),
    ("dense-image", lambda: L.Dense(5), (2, 2, 2)),
    ("dense-manual", lambda: L.Dense(5, manual=True), (8,)),
    ("conv", lambda: L.Conv(3, 3), (8, 8, 2)),
    ("conv-pairs", lambda: L.Conv(3, (3, 3), stride=(1, 2), padding=(1, 0)), (6, 7, 2)),
    ("conv-stride2", lambda: L.Conv(3, 3, stride=2, padding=1), (7, 7, 2)),
    ("conv-same", lambda: L.Conv(3, 3, padding="SAME"), (5, 5, 2)),
    ("conv-im2col", lambda: L.Conv(3, 3, padding=1, impl="im2col"), (5, 5, 2)),
    ("conv-manual", lambda: L.Conv(3, 3, padding=1, manual=True), (5, 5, 2)),
    ("conv-rect-kernel", lambda: L.Conv(3, (1, 3), padding=(0, 1)), (4, 4, 2)),
    ("conv-per-side", lambda: L.Conv(3, 3, stride=2, padding=((1, 0), (1, 0))), (8, 8, 2)),
    ("conv-no-bias-manual", lambda: L.Conv(3, 3, padding=1, bias=False, manual=True), (5, 5, 2)),
    ("maxpool", lambda: L.MaxPool(), (8, 8, 3)),
    ("maxpool-ceil-mode", lambda: L.MaxPool(3, 2, padding=((0, 1), (0, 1))), (6, 6, 2)),
    ("avgpool-padded-manual", lambda: L.AvgPool(3, 2, padding=1, manual=True), (5, 5, 2)),
    ("maxpool-pairs", lambda: L.MaxPool((2, 1), (2, 1)), (4, 3, 1)),
    ("avgpool-overlap", lambda: L.AvgPool(3, 1), (5, 5, 2)),
    ("avgpool-manual", lambda: L.AvgPool(manual=True), (4, 4, 2)),
    ("batchnorm-vector", lambda: L.BatchNorm(), (6,)),
    ("batchnorm-spatial", lambda: L.BatchNorm(momentum=0.5, manual=True), (4, 4, 3)),
    ("dropout", lambda: L.Dropout(0.3), (5,)),
    ("dropout-manual", lambda: L.Dropout(0.3, manual=True), (2, 2, 2)),
    ("flatten", lambda: L.Flatten(), (3, 4, 2)),
    ("relu", lambda: L.Relu(), (2, 3)),
    ("tanh", lambda: L.Tanh(), (4,)),
    ("sigmoid", lambda: L.Sigmoid(manual=True), (4,)),
    ("leaky_relu", lambda: L.LeakyRelu(0.1), (2, 3)),
    ("elu", lambda: L.Elu(0.5), (2, 3)),
    ("serial-nested", lambda: L.serial(
        L.Conv(3, 3, padding=1), L.serial(L.BatchNorm(), L.Relu(), L.MaxPool()),
        L.Flatten(), L.Dropout(0.5), L.Dense(5)), (4, 4, 2)),
]


def _case_inputs(make, input_shape):
    layer = make()
    params, state = layer.init(jax.random.key(0), input_shape)
    x = np.random.default_rng(1).standard_normal((3,) + input_shape).astype(np.float32)
    return layer, params, state, x


@functools.lru_cache(maxsize=None)
def _trained_runs():
    """Every case's layer applied in training mode (the mode that uses the key and the
    state) to its input, all in one compiled program: one per case compiled 29."""
    cases = [_case_inputs(make, input_shape) for _, make, input_shape in CASES]

    def run_all(inputs, key):
        return [layer.apply(params, state, x, train=True, key=key)
                for (layer, *_), (params, state, x) in zip(cases, inputs)]  # fmt: skip

    inputs = [case[1:] for case in cases]
    outputs = jax.device_get(jax.jit(run_all)(inputs, jax.random.key(2)))
    return dict(zip([c[0] for c in CASES], outputs))


@pytest.mark.parametrize("case, make, input_shape", CASES, ids=[c[0] for c in CASES])
def test_output_shape_matches_apply(case, make, input_shape):
    layer, params, state, x = _case_inputs(make, input_shape)
    key = jax.random.key(2)
    expected = layer.output_shape(input_shape)
    assert isinstance(expected, tuple)

    def run(params, state, x, key, train):
        return layer.apply(params, state, x, train=train, key=key)

    # The analytic shape is what JAX infers without running anything, in both modes
    # (tracing only: no compilation, which is what makes 29 cases cheap).
    for train in (False, True):
        out, new_state = jax.eval_shape(functools.partial(run, train=train), params, state, x, key)
        assert out.shape == (3,) + expected, train
        assert jax.tree.structure(new_state) == jax.tree.structure(state), train
    # One real (compiled) run in training mode, shared by all cases.
    out, new_state = _trained_runs()[case]
    assert out.shape == (3,) + expected
    assert jax.tree.structure(new_state) == jax.tree.structure(state)
    assert np.all(np.isfinite(out))


def test_init_is_deterministic_and_key_dependent():
    layer = L.serial(L.Dense(5), L.Relu(), L.Dense(5))
    p1, _ = layer.init(jax.random.key(0), (8,))
    p2, _ = layer.init(jax.random.key(0), (8,))
    p3, _ = layer.init(jax.random.key(1), (8,))
    for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p2)):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(p1[0]["w"], p3[0]["w"])
    assert p1[0]["w"].shape == (8, 5) and p1[2]["w"].shape == (5, 5)


def test_param_and_state_layout():
    model = L.serial(L.Conv(3, 3), L.BatchNorm(), L.Relu(), L.Flatten(), L.Dense(5))
    params, state = model.init(jax.random.key(0), (4, 4, 2))
    assert isinstance(params, tuple) and len(params) == 5
    assert set(params[0]) == {"w", "b"} and params[0]["w"].shape == (3, 3, 2, 3)
    assert set(params[1]) == {"gamma", "beta"}
    assert params[2] == {} and params[3] == {}
    assert state[0] == {} and set(state[1]) == {"mean", "var"}
    assert model.sublayers[0].name == "Conv(3, 3x3, stride 1, pad 0)"


@pytest.mark.parametrize("make, name", [
    (lambda: L.Conv(64, 7, stride=2, padding=((3, 2), (3, 2)), bias=False),
     "Conv(64, 7x7, stride 2, pad (3,2), no bias)"),
    (lambda: L.Conv(8, 3, stride=2, padding=((1, 0), (0, 1))), "Conv(8, 3x3, stride 2, pad (1,0)x(0,1))"),
    (lambda: L.Conv(8, 3, padding=(1, 0)), "Conv(8, 3x3, stride 1, pad 1x0)"),
    (lambda: L.Conv(8, 3, padding=((1, 1), (1, 1))), "Conv(8, 3x3, stride 1, pad 1)"),
    (lambda: L.MaxPool(3, 2, padding=((0, 1), (0, 1))), "MaxPool(3, stride 2, pad (0,1))"),
    (lambda: L.AvgPool(3, 2, padding=1), "AvgPool(3, stride 2, pad 1)"),
    (lambda: L.MaxPool(3, 2, padding=0), "MaxPool(3, stride 2)"),
])
def test_padding_and_bias_in_layer_names(make, name):
    assert make().name == name


def test_init_dtype_float64(x64):
    model = L.serial(L.Conv(3, 3), L.BatchNorm(), L.Flatten(), L.Dense(5))
    # The dtypes are fixed when init is traced: traced only, nothing is compiled (eagerly,
    # every float64 random draw would compile its own programs).
    params, state = jax.eval_shape(lambda: model.init(jax.random.key(0), (4, 4, 2), jnp.float64))
    assert {leaf.dtype for leaf in jax.tree.leaves((params, state))} == {jnp.dtype("float64")}


def test_layer_is_hashable_and_static_under_jit():
    model = L.serial(L.Dense(5), L.Relu(), L.Dense(5))
    assert hash(model) == hash(model) and model == model
    params, state = model.init(jax.random.key(0), (8,))
    x = np.ones((2, 8), np.float32)

    @jax.jit
    def closed(params, state, x):
        return model.apply(params, state, x)[0]

    static = jax.jit(lambda m, p, s, x: m.apply(p, s, x)[0], static_argnums=0)
    expected = closed(params, state, x)
    np.testing.assert_allclose(expected, static(model, params, state, x), rtol=1e-6)
    # (Compared with the closed-over program rather than an eager apply, whose every op
    # would compile on its own.)
    applied = jax.jit(model.apply, static_argnames="train")
    np.testing.assert_allclose(applied(params, state, x, train=True)[0], expected, rtol=1e-6)


def test_serial_accepts_a_hand_written_layer():
    """A user layer with the bare ``init(key, input_shape)`` signature composes."""
    double = L.Layer(
        init=lambda key, input_shape: ({}, {}),
        apply=lambda params, state, x, *, train=False, key=None: (2 * x, state),
        output_shape=lambda input_shape: tuple(input_shape),
        name="Double",
    )
    model = L.serial(L.Flatten(), double)
    params, state = model.init(jax.random.key(0), (2, 2))
    out, _ = model.apply(params, state, np.ones((3, 2, 2), np.float32))
    np.testing.assert_array_equal(out, 2.0)
    assert repr(model) == "serial(Flatten, Double)"
