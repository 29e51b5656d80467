"""Construction-time validation, the grads/params structure check, and ``current_lr``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import optim

# (factory, keyword arguments, the argument the message must name)
BAD_VALUES = [
    (optim.sgd, {"lr": 0.0}, "lr"),
    (optim.sgd, {"lr": -0.1}, "lr"),
    (optim.sgd, {"lr": float("nan")}, "lr"),
    (optim.momentum, {"lr": 0.1, "mu": 1.0}, "mu"),
    (optim.momentum, {"lr": 0.1, "mu": -0.1}, "mu"),
    (optim.nesterov, {"lr": -1.0}, "lr"),
    (optim.nesterov, {"lr": 0.1, "mu": 1.5}, "mu"),
    (optim.adagrad, {"lr": 0.1, "eps": -1e-8}, "eps"),
    (optim.rmsprop, {"lr": 0.1, "decay_rate": 1.0}, "decay_rate"),
    (optim.rmsprop, {"lr": 0.1, "decay_rate": -0.5}, "decay_rate"),
    (optim.rmsprop, {"lr": 0.1, "eps": -1.0}, "eps"),
    (optim.adam, {"lr": 0.1, "beta1": 1.0}, "beta1"),
    (optim.adam, {"lr": 0.1, "beta2": 1.2}, "beta2"),
    (optim.adam, {"lr": 0.1, "beta2": -0.1}, "beta2"),
    (optim.adam, {"lr": 0.1, "eps": -1e-8}, "eps"),
    (optim.adamw, {"lr": 0.1, "weight_decay": -0.01}, "weight_decay"),
    (optim.adamw, {"lr": 0.1, "beta1": 1.0}, "beta1"),
    (optim.adamw, {"lr": 0.0}, "lr"),
]


@pytest.mark.parametrize(("factory", "kwargs", "name"), BAD_VALUES)
def test_bad_hyperparameter_raises_value_error_naming_it(factory, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        factory(**kwargs)


@pytest.mark.parametrize(
    ("factory", "kwargs", "name"),
    [
        (optim.sgd, {"lr": "0.1"}, "lr"),
        (optim.adam, {"lr": None}, "lr"),
        (optim.momentum, {"lr": 0.1, "mu": "0.9"}, "mu"),
        (optim.adam, {"lr": 0.1, "beta1": True}, "beta1"),
        (optim.adamw, {"lr": 0.1, "weight_decay": [0.1]}, "weight_decay"),
    ],
)
def test_wrong_type_raises_type_error_naming_it(factory, kwargs, name):
    with pytest.raises(TypeError, match=rf"^{name} must"):
        factory(**kwargs)


def test_boundary_values_are_accepted():
    optim.momentum(0.1, mu=0.0)
    optim.rmsprop(0.1, decay_rate=0.0, eps=0.0)
    optim.adam(1e-3, beta1=0.0, beta2=0.0, eps=0.0)
    optim.adamw(1e-3, weight_decay=0.0)
    optim.sgd(np.float32(0.1))
    optim.sgd(jnp.asarray(0.1))


ALL = [
    optim.sgd(0.1),
    optim.momentum(0.1),
    optim.nesterov(0.1),
    optim.adagrad(0.1),
    optim.rmsprop(0.1),
    optim.adam(0.1),
    optim.adamw(0.1),
    optim.chain_clip(optim.sgd(0.1), 1.0),
    optim.with_max_norm(optim.adam(0.1), 3.0),
]


@pytest.mark.parametrize("opt", ALL)
def test_mismatched_grads_tree_names_both_structures(opt):
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    grads = {"w": jnp.ones((2, 3)), "bias": jnp.zeros(3)}
    state = opt.init(params)
    with pytest.raises(ValueError) as error:
        opt.update(params, grads, state)
    message = str(error.value)
    assert "grads" in message and "params" in message
    assert str(jax.tree.structure(params)) in message
    assert str(jax.tree.structure(grads)) in message


@pytest.mark.parametrize("opt", ALL)
def test_mismatched_grads_tree_raises_under_jit(opt):
    params = (jnp.ones(2), jnp.ones(3))
    state = opt.init(params)
    with pytest.raises(ValueError, match="tree structure"):
        jax.jit(opt.update)(params, (jnp.ones(2),), state)


@pytest.mark.parametrize("opt", ALL)
def test_mismatched_leaf_shape_names_the_leaf(opt):
    params = {"w": jnp.ones((2, 3))}
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"grads leaf \['w'\].*\(2, 3\).*\(3, 2\)"):
        opt.update(params, {"w": jnp.ones((3, 2))}, state)


def test_integer_params_are_rejected():
    with pytest.raises(TypeError, match=r"params leaf \['n'\] must have a floating dtype"):
        optim.adam(0.1).init({"n": jnp.arange(3)})


def test_state_of_another_optimizer_is_rejected():
    params = jnp.ones(2)
    with pytest.raises(TypeError, match="AdamState"):
        optim.adam(0.1).update(params, params, optim.sgd(0.1).init(params))


def test_current_lr_reads_the_lr_of_the_latest_update():
    opt = optim.momentum(optim.step_decay(1.0, every=2, factor=0.1))
    params = jnp.ones(2)
    state = opt.init(params)
    seen = [float(optim.current_lr(state))]
    for _ in range(4):
        params, state = opt.update(params, jnp.ones(2), state)
        seen.append(float(optim.current_lr(state)))
    # init reports step 0's rate; update k (k = 1..4) used the rate at step k - 1.
    np.testing.assert_allclose(seen, [1.0, 1.0, 1.0, 0.1, 0.1], rtol=1e-6)
    assert optim.current_lr(state).dtype == jnp.float32


def test_current_lr_rejects_other_objects():
    with pytest.raises(TypeError, match="state"):
        optim.current_lr({"lr": 0.1})


def test_schedule_must_return_a_scalar():
    opt = optim.sgd(lambda step: jnp.ones(2))
    with pytest.raises(ValueError, match="scalar"):
        opt.init(jnp.ones(2))
