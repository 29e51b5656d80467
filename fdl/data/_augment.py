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


class Augmentation:
    """A training-time augmentation ``augment(key, x) -> x``: a random crop, then a flip.

    Built by ``augmentation(...)``; ``fdl.train.fit(..., augment=...)`` calls it on every
    minibatch inside the compiled step. ``key`` is split into a crop key and a flip key,
    each split again into one key per example, so every image gets its own shift and
    coin flip. Two ``Augmentation`` objects with the same settings compare and hash
    equal, so ``fit`` reuses one compiled epoch for both.
    """

    __slots__ = ("crop_padding", "flip", "flip_prob", "__weakref__")

    def __init__(self, crop_padding, flip, flip_prob):
        self.crop_padding = crop_padding
        self.flip = flip
        self.flip_prob = flip_prob

    def _settings(self):
        return (self.crop_padding, self.flip, self.flip_prob)

    def __eq__(self, other):
        return isinstance(other, Augmentation) and self._settings() == other._settings()

    def __hash__(self):
        return hash(("Augmentation",) + self._settings())

    def __repr__(self):
        return (f"augmentation(crop_padding={self.crop_padding}, flip={self.flip}, "
                f"flip_prob={self.flip_prob})")

    def __call__(self, key, x):
        x = check_images(x)
        crop_key, flip_key = jax.random.split(key)
        if self.crop_padding != (0, 0):
            x = random_crop(crop_key, x, self.crop_padding)
        if self.flip:
            x = random_flip(flip_key, x, self.flip_prob)
        return x


def augmentation(*, crop_padding=0, flip=False, flip_prob=0.5):
    """The classic image augmentation as one function ``augment(key, x_batch) -> x_batch``.

    Random translations (``random_crop`` after zero padding of ``crop_padding`` pixels:
    shifts of up to that many pixels each way) and, with ``flip=True``, left-right
    mirroring with probability ``flip_prob``. The label of the image must not change
    under these transformations: a mirrored car is still a car, but a mirrored digit is
    not always the same digit, so leave ``flip`` off for digits and text. The output has
    the shape and dtype of the input, as ``fit``'s ``augment`` requires.

    Args:
      crop_padding: int >= 0 or a pair ``(pad_h, pad_w)``; 0 turns cropping off
        (typical: 4 for 32x32 CIFAR-10 images, 1 for the 8x8 digits).
      flip: bool, mirror images left-right at random.
      flip_prob: float in ``[0, 1]``, the probability that an image is mirrored.

    Returns:
      an ``Augmentation``, callable as ``augment(key, x)`` on ``(N, H, W, C)`` batches
      (jit-able: its settings are static).

    Raises:
      TypeError, ValueError: a padding that is not a non-negative int or pair, a ``flip``
        that is not a bool, or ``flip_prob`` outside ``[0, 1]``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> augment = augmentation(crop_padding=4, flip=True)
      >>> augment(jax.random.key(0), jnp.ones((2, 32, 32, 3))).shape
      (2, 32, 32, 3)
    """
    pad_h, pad_w = _checks.pair(crop_padding, "crop_padding", positive=False)
    if min(pad_h, pad_w) < 0:
        raise ValueError(f"augmentation: crop_padding must be >= 0, got {crop_padding}")
    if not isinstance(flip, (bool, np.bool_)):
        raise TypeError(f"augmentation: flip must be a bool, got {flip!r}")
    prob = float(_checks.real_scalar(flip_prob, "flip_prob", low=0.0, high=1.0))
    return Augmentation((int(pad_h), int(pad_w)), bool(flip), prob)
