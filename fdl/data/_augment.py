"""Data augmentation on NHWC batches: random crops and horizontal flips.

Every example draws from its own key. ``key`` may be a single PRNG key, split with
``jax.random.split(key, N)`` into one key per example (example ``i`` uses the ``i``-th),
or already a batch of ``N`` keys. With a batch of keys an example's augmentation
depends only on its image and its key, never on the rest of the batch, so the same
example with the same key gets the same crop however batches are formed.

Both functions are pure and work under ``jax.jit`` (``padding`` is static) and
``jax.vmap``. They keep the shape and dtype of their input, so they apply to uint8
images as well as floats.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _checks


def check_images(x):
    x = _checks.as_array(x, "x")
    _checks.check_rank(x, "x", 4, "(N, H, W, C)")
    return x


def example_keys(key, n):
    """One key per example: ``key`` split ``n`` ways, or ``key`` itself if it is already
    a batch of ``n`` keys (typed ``(n,)`` or raw ``(n, 2)``)."""
    if not isinstance(key, (jax.Array, np.ndarray)):
        raise TypeError(f"key must be a jax.random key, got {type(key).__name__}")
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    if not typed and key.dtype != jnp.uint32:
        raise TypeError(f"key must be a jax.random key, got dtype {key.dtype}")
    single = 0 if typed else 1
    if key.ndim == single:
        return jax.random.split(key, n)
    if key.ndim == single + 1 and key.shape[0] == n:
        return key
    raise ValueError(
        f"key must be a single key or a batch of {n} keys (one per example), "
        f"got shape {tuple(key.shape)}"
    )


def random_crop(key, x, padding):
    """Zero-pads each image by ``padding`` pixels and crops a random window of its size.

    The crop is uniform over the ``(2 * pad_h + 1) * (2 * pad_w + 1)`` positions, so an
    image moves by up to ``padding`` pixels in each direction and the uncovered border is
    zero. ``padding=0`` returns ``x`` unchanged. (Zero is the mean after centring: pad
    after ``mean_image``/``channel_mean`` so the border holds the average colour.)

    Args:
      key: a PRNG key, or a batch of ``N`` keys (see the module docstring).
      x: ``(N, H, W, C)`` images, any dtype.
      padding: int >= 0, or a pair ``(pad_h, pad_w)``.

    Returns:
      ``(N, H, W, C)``, the dtype of ``x``.

    Raises:
      ValueError: ``x`` not rank 4, negative padding, or keys not matching ``N``.
      TypeError: ``padding`` not an int or pair of ints, ``key`` not a key.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> x = jnp.ones((2, 32, 32, 3))
      >>> random_crop(jax.random.key(0), x, 4).shape
      (2, 32, 32, 3)
    """
    x = check_images(x)
    pad_h, pad_w = _checks.pair(padding, "padding", positive=False)
    if min(pad_h, pad_w) < 0:
        raise ValueError(f"padding must be >= 0, got {padding}")
    keys = example_keys(key, x.shape[0])
    if pad_h == pad_w == 0:
        return x
    return crop_windows(keys, x, pad_h, pad_w)


# Jitted so that eager calls (a Python data loop) compile once instead of dispatching
# every small op of the vmapped body; inside a caller's jit this is just inlined.
@functools.partial(jax.jit, static_argnums=(2, 3))
def crop_windows(keys, x, pad_h, pad_w):
    _, h, w, c = x.shape
    padded = jnp.pad(x, ((0, 0), (pad_h, pad_h), (pad_w, pad_w), (0, 0)))
    limits = jnp.array([2 * pad_h + 1, 2 * pad_w + 1])

    def crop(key, image):
        top, left = jax.random.randint(key, (2,), 0, limits)
        return jax.lax.dynamic_slice(image, (top, left, 0), (h, w, c))

    return jax.vmap(crop)(keys, padded)


def random_flip(key, x, prob=0.5):
    """Mirrors each image left-right with probability ``prob``, independently.

    Args:
      key: a PRNG key, or a batch of ``N`` keys (see the module docstring).
      x: ``(N, H, W, C)`` images, any dtype.
      prob: float in ``[0, 1]``, the probability that an image is flipped.

    Returns:
      ``(N, H, W, C)``, the dtype of ``x``. Flipping twice with the same key restores
      ``x``: the same examples are chosen.

    Raises:
      ValueError: ``x`` not rank 4, ``prob`` outside ``[0, 1]``, or keys not matching
        ``N``.
    """
    x = check_images(x)
    prob = _checks.real_scalar(prob, "prob", low=0.0, high=1.0)
    return flip_some(example_keys(key, x.shape[0]), x, prob)


@jax.jit
def flip_some(keys, x, prob):
    flip = jax.vmap(lambda k: jax.random.bernoulli(k, prob))(keys)
    return jnp.where(flip[:, None, None, None], x[:, :, ::-1, :], x)
