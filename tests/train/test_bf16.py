"""fit/evaluate/predict with compute_dtype=bfloat16: float32 parameters, bf16 compute."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import losses, models, optim, train

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

CE = losses.softmax_cross_entropy
BF16 = jnp.bfloat16


def _random_data(n=96, d=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((d, classes)), axis=1).astype(np.int32)
    return x, y


def _fit(model, data, **kwargs):
    kwargs = dict(dict(loss=CE, optimizer=optim.momentum(0.1), epochs=6, batch_size=16,
                       key=jax.random.key(0), progress=False), **kwargs)
    return train.fit(model, data, **kwargs)


class _RecordingOptimizer:
    """Momentum SGD that records the dtypes of the gradients it is handed (at trace time)."""

    def __init__(self, lr):
        self.inner = optim.momentum(lr)
        self.grad_dtypes = set()

    def init(self, params):
        return self.inner.init(params)

    def update(self, params, grads, state):
        self.grad_dtypes.update(str(g.dtype) for g in jax.tree.leaves(grads))
        return self.inner.update(params, grads, state)


@pytest.fixture(scope="module")
def batchnorm_run():
    """A batch-norm MLP trained in bfloat16 by an optimizer that records the dtypes of its
    gradients (and otherwise is momentum(0.1), the default of ``_fit``):
    ``(model, params, state, history, recorder)``. Its compiled epoch serves the tests
    below that train this model in bfloat16 on the scanned loop."""
    model = models.mlp([16], 3, batchnorm=True)
    recorder = _RecordingOptimizer(0.1)
    params, state, history = _fit(model, _random_data(), optimizer=recorder,
                                  compute_dtype=BF16)
    return model, params, state, history, recorder


@pytest.fixture(scope="module")
def float32_run(batchnorm_run):
    """The same model, data, key and updates in float32 on the scanned loop (the loops
    agree: tests/train/test_fit.py): ``(params, history)``."""
    params, _, history = _fit(batchnorm_run[0], _random_data(), loop="scan")
    return params, history


@pytest.mark.timeout(120)
def test_bf16_keeps_float32_params_and_learns(batchnorm_run):
    x, y = _random_data()
    _, params, state, history, recorder = batchnorm_run
    for leaf in jax.tree.leaves((params, state)):
        assert leaf.dtype == jnp.float32, leaf.dtype
    # The update sees float32 gradients: the cast to bfloat16 is inside the gradient.
    assert recorder.grad_dtypes == {"float32"}
    steps = len(y) // 16
    first, last = np.mean(history["loss"][:steps]), np.mean(history["loss"][-steps:])
    assert last < 0.6 * first, (first, last)  # float32 goes from 1.18 to 0.46 here
    assert history["train_accuracy"][-1] > 0.8


@pytest.mark.timeout(120)
@pytest.mark.parametrize("loop", ["scan", "steps"])
def test_bf16_differs_from_float32_only_modestly(batchnorm_run, float32_run, loop):
    x, y = _random_data()
    model = batchnorm_run[0]
    # The float32 reference of both loops is the scanned one (the module's run): the two
    # loops compute the same float32 parameters, so only bfloat16's steps program is new.
    p32, h32 = float32_run
    if loop == "scan":  # the module's bfloat16 run: the same model, data, key and updates
        _, p16, _, h16, _ = batchnorm_run
    else:
        p16, _, h16 = _fit(model, (x, y), loop=loop, compute_dtype=BF16)
    flat32 = np.concatenate([np.ravel(a) for a in jax.tree.leaves(p32)])
    flat16 = np.concatenate([np.ravel(a) for a in jax.tree.leaves(p16)])
    change = np.linalg.norm(flat16 - flat32) / np.linalg.norm(flat32)
    # The option took effect: bfloat16 keeps 8 significant bits, so results move...
    assert change > 0
    # ...but only by a few bf16 roundings (2**-8 = 0.4% each) accumulated over 36 steps
    # (0.003-0.013 for keys 0-2 with batch norm, 0.005-0.016 without).
    assert change < 0.05, change
    np.testing.assert_allclose(h16["loss"], h32["loss"], rtol=0.05, atol=0.02)


@pytest.mark.timeout(120)
def test_bf16_conv_steps_loop():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((96, 6, 6, 1)).astype(np.float32)  # _random_data's n: one permutation
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int32)
    model = models.convnet(blocks=((2,),), hidden=(), num_classes=2, batchnorm=True)
    params, state, history = _fit(model, (x, y), optimizer=optim.adam(1e-2), epochs=2,
                                  batch_size=8, compute_dtype=BF16)
    assert train.choose_loop(model) == "steps"
    for leaf in jax.tree.leaves((params, state)):
        assert leaf.dtype == jnp.float32
    assert np.all(np.isfinite(history["loss"]))


def test_bf16_evaluate_and_predict_match_float32(batchnorm_run):
    x, y = _random_data()
    model, params, state, _, _ = batchnorm_run  # float32 parameters (trained in bfloat16)
    r32 = train.evaluate(model, params, state, (x, y), loss=CE)
    r16 = train.evaluate(model, params, state, (x, y), loss=CE, compute_dtype=BF16)
    # bf16 scores carry ~3 significant digits: the loss moves by well under 1%, and
    # at most a few examples with near-tied scores change class.
    assert r16["loss"] == pytest.approx(r32["loss"], rel=0.01)
    assert abs(r16["accuracy"] - r32["accuracy"]) <= 3 / len(y)
    labels16 = train.predict(model, params, state, x, compute_dtype=BF16)
    labels32 = train.predict(model, params, state, x)
    assert labels16.dtype == jnp.int32
    assert np.mean(np.asarray(labels16) != np.asarray(labels32)) <= 3 / len(y)


@pytest.mark.timeout(120)
def test_bf16_checkpoint_resume_repeats_the_run(batchnorm_run, tmp_path):
    x, y = _random_data()
    # The module's bfloat16 run's model and optimizer: its compiled epoch.
    # (Resuming with dropout, whose keys do not depend on the dtype, is tested in float32.)
    model, _, _, _, recorder = batchnorm_run
    path = tmp_path / "run.npz"
    kw = dict(optimizer=recorder, compute_dtype=BF16)
    full, _, _ = _fit(model, (x, y), epochs=2, **kw)
    _fit(model, (x, y), epochs=1, checkpoint=path, **kw)
    ckpt = train.load_checkpoint(path)
    for leaf in jax.tree.leaves((ckpt["params"], ckpt["state"], ckpt["opt_state"])):
        if jnp.issubdtype(leaf.dtype, jnp.floating):
            assert leaf.dtype == jnp.float32, leaf.dtype
    resumed, _, _ = _fit(model, (x, y), epochs=2, resume=path, **kw)
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(full)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("bad, error", [
    (jnp.int32, ValueError), (jnp.complex64, ValueError), ("nonsense", TypeError),
    (3, TypeError),
])
def test_compute_dtype_is_checked(batchnorm_run, bad, error):
    x, y = _random_data(n=32)
    model, params, state = batchnorm_run[:3]  # refused before anything is compiled
    with pytest.raises(error, match="compute_dtype"):
        _fit(model, (x, y), epochs=1, compute_dtype=bad)
    with pytest.raises(error, match="compute_dtype"):
        train.evaluate(model, params, state, (x, y), compute_dtype=bad)
    with pytest.raises(error, match="compute_dtype"):
        train.predict(model, params, state, x, compute_dtype=bad)


def test_float64_compute_needs_x64():
    x, y = _random_data(n=32)
    model = models.mlp([4], 3)
    with pytest.raises(ValueError, match="compute_dtype float64 needs jax_enable_x64"):
        _fit(model, (x, y), epochs=1, compute_dtype=jnp.float64)
