"""random_crop and random_flip: per-example keys, shapes, crops as shifted windows."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import data


def distinct_images(n, h=6, w=5, c=2):
    """Images whose every pixel value is unique (and nonzero), so a window or a mirror
    image can be recognised."""
    return (np.arange(n * h * w * c, dtype=np.float32) + 1).reshape(n, h, w, c)


# Most tests use one batch shape (N, 6, 5, 2), padding 2 and these callables, so that
# each compiled program (crop_windows, flip_some, splitting a key N ways, the jitted
# wrappers) is compiled once for the module.
N = 6
SUBSET = np.array([2, 0, 5])  # a smaller batch, in another order, with other neighbours
crop2 = functools.partial(data.random_crop, padding=2)
# The crops' smaller batch: N of the 300 examples of test_crops_are_windows_of_the_padded_input,
# so both batch shapes are ones other tests compile anyway.
CROP_BATCH = 300
CROP_SUBSET = np.array([250, 3, 117, 0, 299, 42])


def crop_each(key, *xs):
    """``crop2`` of each batch: under jit, one compiled program for every dtype."""
    return [crop2(key, x) for x in xs]


def crop_offsets(out, x, pad_h, pad_w):
    """The (top, left) window of the zero-padded input each output equals."""
    padded = np.pad(x, ((0, 0), (pad_h, pad_h), (pad_w, pad_w), (0, 0)))
    h, w = x.shape[1:3]
    found = []
    for i in range(len(x)):
        hits = [
            (top, left)
            for top in range(2 * pad_h + 1)
            for left in range(2 * pad_w + 1)
            if np.array_equal(out[i], padded[i, top : top + h, left : left + w])
        ]
        assert len(hits) == 1, f"example {i} is not a window of its padded input"
        found.append(hits[0])
    return found


def test_crop_preserves_shape_and_dtype(variant):
    xs = (distinct_images(N), distinct_images(N).astype(np.uint8))
    for x, out in zip(xs, variant(crop_each)(jax.random.key(0), *xs)):
        assert out.shape == x.shape and out.dtype == x.dtype


def test_zero_padding_is_identity():
    x = distinct_images(N)
    np.testing.assert_array_equal(data.random_crop(jax.random.key(1), x, 0), x)


@pytest.mark.parametrize("padding", [2, (1, 3)])
def test_crops_are_windows_of_the_padded_input(padding):
    x = distinct_images(CROP_BATCH)
    out = np.asarray(data.random_crop(jax.random.key(2), x, padding))
    pad_h, pad_w = (padding, padding) if isinstance(padding, int) else padding
    offsets = crop_offsets(out, x, pad_h, pad_w)
    # Every one of the (2p_h + 1)(2p_w + 1) <= 35 positions turns up among 300 crops:
    # the chance that a given one is missed is (34/35)^300 < 2e-4.
    assert set(offsets) == {
        (t, left) for t in range(2 * pad_h + 1) for left in range(2 * pad_w + 1)
    }  # fmt: skip


def test_crop_depends_only_on_the_example_and_its_key():
    x = distinct_images(CROP_BATCH)
    key = jax.random.key(3)
    out = np.asarray(data.random_crop(key, x, 2))
    keys = jax.random.split(key, CROP_BATCH)
    np.testing.assert_array_equal(data.random_crop(keys, x, 2), out)
    # Keys indexed as raw data in NumPy (indexing typed keys eagerly compiles gathers).
    key_data = np.asarray(jax.random.key_data(keys))
    # A smaller batch, reordered, with other neighbours: the same crop for each example.
    mixed = data.random_crop(jax.random.wrap_key_data(key_data[CROP_SUBSET]), x[CROP_SUBSET], 2)
    np.testing.assert_array_equal(mixed, out[CROP_SUBSET])
    # Its neighbours replaced by other images with other keys: example 3's crop stays.
    others = distinct_images(N) + 1e6
    others[1] = x[3]
    other_keys = np.array(jax.random.key_data(jax.random.split(jax.random.key(33), N)))
    other_keys[1] = key_data[3]
    moved = data.random_crop(jax.random.wrap_key_data(other_keys), others, 2)
    np.testing.assert_array_equal(moved[1], out[3])


def test_crop_same_key_same_result_jit_matches_eager():
    x = distinct_images(N)
    key = jax.random.key(4)
    eager = data.random_crop(key, x, 2)
    np.testing.assert_array_equal(data.random_crop(key, x, 2), eager)
    # The program test_crop_preserves_shape_and_dtype compiled.
    jitted, _ = jax.jit(crop_each)(key, x, x.astype(np.uint8))
    np.testing.assert_array_equal(jitted, eager)
    assert not np.array_equal(data.random_crop(jax.random.key(5), x, 2), eager)


def test_raw_uint32_keys_work():
    x = distinct_images(N)
    key = jax.random.PRNGKey(0)
    out = data.random_crop(key, x, 2)
    np.testing.assert_array_equal(data.random_crop(jax.random.split(key, N), x, 2), out)
    flipped = data.random_flip(key, x)
    np.testing.assert_array_equal(data.random_flip(jax.random.split(key, N), x), flipped)


def flipped_mask(out, x):
    out = np.asarray(out)
    same = np.all(out == x, axis=(1, 2, 3))
    mirrored = np.all(out == x[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(same ^ mirrored), "every output must be the image or its mirror"
    return mirrored


def test_flip_each_image_or_its_mirror(variant):
    x = distinct_images(N)
    out = variant(data.random_flip)(jax.random.key(6), x, 0.5)  # prob given: one jit program
    assert out.shape == x.shape and out.dtype == x.dtype
    flipped_mask(out, x)


def test_about_half_are_flipped():
    n = 4000
    x = distinct_images(n, 2, 3, 1)
    count = int(flipped_mask(data.random_flip(jax.random.key(7), x), x).sum())
    # Binomial(4000, 0.5): standard deviation 31.6, so 200 is over six of them.
    assert abs(count - n / 2) < 200
    count = int(flipped_mask(data.random_flip(jax.random.key(7), x, prob=0.2), x).sum())
    assert abs(count - 0.2 * n) < 6 * np.sqrt(n * 0.2 * 0.8)


def test_flip_twice_with_the_same_key_restores():
    x = distinct_images(N)
    key = jax.random.key(8)
    once = data.random_flip(key, x)
    assert 0 < flipped_mask(once, x).sum() < N  # some flipped, some not
    np.testing.assert_array_equal(data.random_flip(key, x), once)
    np.testing.assert_array_equal(data.random_flip(key, once), x)


def test_flip_probability_extremes_and_traced_prob():
    x = distinct_images(N)
    key = jax.random.key(9)
    np.testing.assert_array_equal(data.random_flip(key, x, prob=0.0), x)
    np.testing.assert_array_equal(data.random_flip(key, x, prob=1.0), x[:, :, ::-1])
    np.testing.assert_array_equal(jax.jit(data.random_flip)(key, x, 1.0), x[:, :, ::-1])


def test_flip_depends_only_on_the_example_and_its_key():
    x = distinct_images(N)
    key = jax.random.key(10)
    out = data.random_flip(key, x)
    keys = jax.random.split(key, N)
    np.testing.assert_array_equal(data.random_flip(keys, x), out)
    # A smaller batch, reordered, with other neighbours: the same choice for each example.
    # (Keys indexed as raw data in NumPy: indexing typed keys eagerly compiles gathers.)
    subset_keys = jax.random.wrap_key_data(np.asarray(jax.random.key_data(keys))[SUBSET])
    np.testing.assert_array_equal(data.random_flip(subset_keys, x[SUBSET]),
                                  np.asarray(out)[SUBSET])


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda k, x: data.random_crop(k, x[0], 1), ValueError, "x must have rank 4"),
        (lambda k, x: data.random_flip(k, x[:, :, :, :, None]), ValueError, "rank 4"),
        (lambda k, x: data.random_crop(k, x, -1), ValueError, "padding must be >= 0"),
        (lambda k, x: data.random_crop(k, x, (1, -2)), ValueError, "padding"),
        (lambda k, x: data.random_crop(k, x, 1.5), TypeError, "padding"),
        (lambda k, x: data.random_flip(k, x, prob=1.5), ValueError, "prob"),
        (lambda k, x: data.random_flip(k, x, prob=-0.1), ValueError, "prob"),
        (lambda k, x: data.random_flip(k, x, prob="half"), TypeError, "prob"),
        (lambda k, x: data.random_crop(jax.random.split(k, N)[SUBSET], x, 1), ValueError,
         f"{N} keys"),
        (lambda k, x: data.random_flip(0, x), TypeError, "key"),
        (lambda k, x: data.random_flip(jnp.zeros(2), x), TypeError, "key"),
        (lambda k, x: data.random_crop(k, "images", 1), TypeError, "x must be an array"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call(jax.random.key(0), distinct_images(N))
