"""Decay masks: which leaves weight decay touches."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import optim


def test_skip_biases_mask_decays_weights_and_kernels_only():
    params = {
        "dense": {"w": jnp.ones((4, 3)), "b": jnp.ones(3)},
        "conv": (jnp.ones((3, 3, 1, 8)), jnp.ones(8)),
        "bn": {"gamma": jnp.ones(8), "beta": jnp.zeros(8)},
        "temperature": jnp.asarray(1.0, jnp.float32),
    }
    mask = optim.decay_mask_skip_biases(params)
    assert mask == {
        "dense": {"w": True, "b": False},
        "conv": (True, False),
        "bn": {"gamma": False, "beta": False},
        "temperature": False,
    }


def test_elementwise_array_mask():
    """A bool array the shape of its leaf decays only the selected entries."""
    params = {"w": jnp.full((2, 2), 2.0)}
    mask = {"w": jnp.array([[True, False], [False, True]])}
    opt = optim.adamw(0.1, weight_decay=0.5, mask=mask)
    new, _ = opt.update(params, {"w": jnp.zeros((2, 2))}, opt.init(params))
    np.testing.assert_allclose(new["w"], [[1.9, 2.0], [2.0, 1.9]], rtol=1e-6)


def test_mask_leaf_of_wrong_shape_is_rejected():
    params = {"w": jnp.ones((2, 2))}
    opt = optim.adamw(0.1, mask={"w": jnp.array([True, False, True])})
    with pytest.raises(ValueError, match=r"mask leaf \['w'\] must have shape \(\)"):
        opt.update(params, params, opt.init(params))


def test_callable_mask_is_evaluated_on_the_params_under_jit():
    calls = []

    def mask(params):
        calls.append(jax.tree.structure(params))
        return optim.decay_mask_skip_biases(params)

    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    opt = optim.adamw(0.1, weight_decay=1.0, mask=mask)
    new, _ = jax.jit(opt.update)(params, jax.tree.map(jnp.zeros_like, params), opt.init(params))
    assert calls == [jax.tree.structure(params)]
    np.testing.assert_allclose(new["w"], 0.9, rtol=1e-6)
    np.testing.assert_array_equal(new["b"], params["b"])
