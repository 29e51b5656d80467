"""fit(augment=...): augmentation inside the compiled step, deterministic and resumable.

(The scanned and the stepped loop agree with augmentation on, and a convnet learns with
random crops on the stepped loop: tests/train/test_fit.py, whose conv runs crop.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import data, losses, models, optim, train

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

CE = losses.softmax_cross_entropy
CROP = data.augmentation(crop_padding=1)
# One optimizer object for every fit: fit caches its compiled epoch per (model, loss,
# optimizer, ...), so fits of the same model in a test compile once.
MOMENTUM = optim.momentum(0.05)
# One model for every MLP fit here (dropout included, which the identity test needs):
# models compare by configuration, so the plain and the cropped programs compile once
# for the whole module.
MLP = models.mlp([16], 10, dropout=0.2)


@pytest.fixture(scope="module")
def digits_subset():
    splits = data.load_digits()
    return splits.train.x[:200], splits.train.y[:200]


def _fit(model, train_data, **overrides):
    kwargs = dict(loss=CE, optimizer=MOMENTUM, epochs=2, batch_size=20,
                  key=jax.random.key(0), progress=False)
    kwargs.update(overrides)
    return train.fit(model, train_data, **kwargs)


def _assert_same_params(a, b):
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(u, v)


def test_augmentation_changes_training_and_is_deterministic(digits_subset):
    p_plain, _, h_plain = _fit(MLP, digits_subset)
    p_aug, _, h_aug = _fit(MLP, digits_subset, augment=CROP)
    p_again, _, h_again = _fit(MLP, digits_subset, augment=CROP)
    assert h_aug["loss"] != h_plain["loss"]
    assert not np.allclose(p_aug[1]["w"], p_plain[1]["w"])
    _assert_same_params(p_aug, p_again)
    assert h_aug["loss"] == h_again["loss"]
    # Another key draws other crops.
    p_other, _, _ = _fit(MLP, digits_subset, augment=CROP, key=jax.random.key(1))
    assert not np.allclose(p_other[1]["w"], p_aug[1]["w"])


def test_identity_augmentation_sees_each_minibatch_and_leaves_training_unchanged(
        digits_subset):
    seen = []

    def record(key, x):
        seen.append((x.shape, key.dtype))
        return x

    p_plain, _, _ = _fit(MLP, digits_subset)
    p_identity, _, _ = _fit(MLP, digits_subset, augment=record)
    # The augmentation key is its own stream: it does not move the dropout masks.
    _assert_same_params(p_plain, p_identity)
    # Traced once (inside the scanned body) with the minibatch shape and a typed key.
    assert seen and all(shape == (20, 8, 8, 1) for shape, _ in seen)
    assert all(jnp.issubdtype(dtype, jax.dtypes.prng_key) for _, dtype in seen)


def test_resume_with_augmentation_repeats_the_uninterrupted_run(digits_subset, tmp_path):
    ckpt = str(tmp_path / "run.ckpt.npz")
    p_full, _, h_full = _fit(MLP, digits_subset, augment=CROP, epochs=3)
    _fit(MLP, digits_subset, augment=CROP, epochs=2, checkpoint=ckpt)
    p_resumed, _, h_resumed = _fit(MLP, digits_subset, augment=CROP, epochs=3,
                                   resume=ckpt)
    _assert_same_params(p_full, p_resumed)
    assert h_resumed["loss"] == h_full["loss"]


def test_bad_augment_arguments(digits_subset):
    with pytest.raises(TypeError, match="augment must be a function"):
        _fit(MLP, digits_subset, augment="crop")
    with pytest.raises(ValueError, match="augment must return a batch of the shape"):
        _fit(MLP, digits_subset, augment=lambda key, x: x[:, 1:], loop="steps")
    with pytest.raises(ValueError, match="shape and dtype"):
        _fit(MLP, digits_subset, augment=lambda key, x: x.astype(jnp.float16))


def test_augmentation_builder():
    augment = data.augmentation(crop_padding=2, flip=True)
    assert augment == data.augmentation(crop_padding=(2, 2), flip=True)
    assert hash(augment) == hash(data.augmentation(crop_padding=2, flip=True))
    assert augment != data.augmentation(crop_padding=2)
    x = jnp.arange(2 * 6 * 6 * 1, dtype=jnp.float32).reshape(2, 6, 6, 1)
    key = jax.random.key(3)
    out = jax.jit(augment)(key, x)
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, augment(key, x))  # same key, same images
    assert not np.array_equal(out, augment(jax.random.key(4), x))
    np.testing.assert_array_equal(data.augmentation()(key, x), x)  # nothing asked, nothing done
    # The flip alone mirrors whole images: every output is x or x mirrored.
    flipped = data.augmentation(flip=True, flip_prob=1.0)(key, x)
    np.testing.assert_array_equal(flipped, x[:, :, ::-1])
    with pytest.raises(ValueError, match="crop_padding"):
        data.augmentation(crop_padding=-1)
    with pytest.raises(TypeError, match="crop_padding"):
        data.augmentation(crop_padding=1.5)
    with pytest.raises(TypeError, match="flip"):
        data.augmentation(flip="yes")
    with pytest.raises(ValueError, match="flip_prob"):
        data.augmentation(flip=True, flip_prob=2.0)
