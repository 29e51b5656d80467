"""Layers, optimizers and schedules compare by configuration, and so share compilations."""

import jax
import numpy as np
import pytest
from compilations import count_compilations as _compilations

import fdl
from fdl import layers, models, optim


@pytest.mark.parametrize("build, other", [
    (lambda: optim.adam(1e-3), lambda: optim.adam(3e-3)),
    (lambda: optim.momentum(0.1, mu=0.9), lambda: optim.momentum(0.1, mu=0.5)),
    (lambda: optim.sgd(optim.cosine_decay(0.1, 100)), lambda: optim.sgd(optim.cosine_decay(0.1, 99))),
    (lambda: optim.chain_clip(optim.adam(1e-3), 1.0), lambda: optim.chain_clip(optim.adam(1e-3), 2.0)),
    (lambda: optim.adamw(1e-3, mask=optim.decay_mask_skip_biases),
     lambda: optim.adamw(1e-3, mask=None)),
    (lambda: layers.Dense(10), lambda: layers.Dense(11)),
    (lambda: layers.Conv(8, 3, padding=1), lambda: layers.Conv(8, 3, padding=1, manual=True)),
    (lambda: models.mlp((32,), 10, dropout=0.5), lambda: models.mlp((32,), 10, dropout=0.25)),
    (lambda: models.convnet(blocks=((8,),), hidden=(16,), num_classes=10),
     lambda: models.convnet(blocks=((8,),), hidden=(16,), num_classes=10, impl="xla")),
    (lambda: models.lenet5(), lambda: models.lenet5(manual=True)),
], ids=["adam", "momentum", "schedule", "clip", "adamw-mask", "dense", "conv", "mlp",
        "convnet", "lenet5"])
def test_equal_by_configuration(build, other):
    a, b = build(), build()
    assert a is not b and a == b and hash(a) == hash(b)
    assert a != other()


def test_positional_and_keyword_arguments_are_one_configuration():
    assert optim.momentum(0.1, 0.9) == optim.momentum(lr=0.1, mu=0.9) == optim.momentum(0.1)
    assert optim.adam(1) != optim.adam(1.0)  # arguments compare by type as well


def test_unhashable_arguments_keep_identity():
    # An array learning rate cannot be a cache key: the optimizer equals only itself.
    a = optim.sgd(np.array(0.1))
    assert a == a and a != optim.sgd(np.array(0.1))
    hand_made = layers.Layer(lambda k, s: ({}, {}), lambda p, s, x, **kw: (x, s),
                             lambda s: s, "identity")
    assert hand_made == hand_made
    assert hand_made != layers.Layer(hand_made.init, lambda p, s, x, **kw: (x, s),
                                     hand_made.output_shape, "identity")


def test_configured_functions_stay_usable():
    opt = optim.adam(1e-3)
    init, update = opt  # still the (init, update) pair
    params = {"w": jax.numpy.ones((2, 2))}
    state = init(params)
    new, _ = jax.jit(update)(params, {"w": jax.numpy.ones((2, 2))}, state)
    assert new["w"].shape == (2, 2)
    assert "adam(lr=0.001" in repr(opt.update)
    assert optim.adam.__name__ == "adam" and "Adam" in optim.adam.__doc__


_DIGITS = fdl.data.load_digits()


def _fit(model, optimizer, loop, reg=0.0):
    return fdl.train.fit(model, (_DIGITS.train.x[:128], _DIGITS.train.y[:128]),
                         loss=fdl.losses.softmax_cross_entropy, optimizer=optimizer, epochs=1,
                         batch_size=32, key=jax.random.key(0), reg=reg, loop=loop, progress=False)


@pytest.mark.parametrize("loop", ["scan", "steps"])
def test_identical_models_and_optimizers_share_one_compilation(loop):
    # An Adam configuration (beta2) no other test uses, so the first fit compiles here. A
    # linear classifier (mlp without hidden layers) on both loops: the compiled programs
    # are cached by model equality, whatever the layers (equality of conv layers and
    # models is tested above), and its step compiles in half an MLP's time.
    build = lambda: models.mlp((), 10)  # noqa: E731
    first = _compilations(lambda: _fit(build(), optim.adam(1.7e-3, beta2=0.9917), loop,
                                       reg=1e-3))
    assert first >= 1
    # Freshly built but identical model and optimizer, another reg and another learning
    # rate (both traced): no new training program.
    assert _compilations(lambda: _fit(build(), optim.adam(2.3e-3, beta2=0.9917), loop,
                                      reg=2e-3)) == 0
    # Another setting of the rule itself is another program: exactly one.
    assert _compilations(lambda: _fit(build(), optim.adam(2.3e-3, beta2=0.9923), loop,
                                      reg=2e-3)) == 1


def test_a_traced_learning_rate_trains_as_a_constant_one():
    """fit traces the lr of fdl's optimizers; a hand-made optimizer (the same rule, not
    from a configured builder) keeps its lr a constant of the compiled program. Same
    float32 arithmetic on the same value: the same parameters."""
    opt = optim.momentum(0.031)
    hand_made = optim.Optimizer(opt.init.fn, opt.update.fn)
    traced, _, h_traced = _fit(models.mlp((), 10), opt, "scan")
    constant, _, h_constant = _fit(models.mlp((), 10), hand_made, "scan")
    for a, b in zip(jax.tree.leaves(traced), jax.tree.leaves(constant)):
        np.testing.assert_array_equal(a, b)
    assert h_traced["lr"] == h_constant["lr"] == pytest.approx([0.031])
