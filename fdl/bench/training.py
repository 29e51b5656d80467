"""Pieces shared by the training workloads: data, fdl's loop, an optax loop, torch setup.

Every implementation trains on the same random float32 data (standard normal inputs,
uniform labels over 10 classes), ``calls`` minibatches per timed call, with the same
optimizer hyperparameters. fdl is measured the way ``fdl.train.fit`` trains: the very
epoch function ``fit`` compiles (a scanned epoch for dense models, a Python loop of
jitted, buffer-donating steps for convolutional ones), which also shuffles and gathers
each minibatch on device. The peers step through minibatches prepared in advance, the
usual loop in each library.
"""

import os

import jax
import jax.numpy as jnp
import numpy as np

CLASSES = 10
LR_SGD = 0.01
MOMENTUM = 0.9
LR_ADAM = 1e-3


def make_data(n, example_shape, seed=0):
    """``(x, y)``: ``n`` standard-normal float32 examples and labels in ``[0, 10)``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + tuple(example_shape), dtype=np.float32)
    y = rng.integers(0, CLASSES, n).astype(np.int32)
    return x, y


def minibatches(x, y, batch):
    """Consecutive ``(x, y)`` minibatches as NumPy arrays (``len(x) // batch`` of them)."""
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, len(x) - batch + 1, batch)]


def fdl_runner(model, optimizer, x, y, batch, seed=0):
    """One ``fit`` epoch over ``(x, y)`` per call: ``len(x) // batch`` steps.

    Uses ``fit``'s own compiled epoch (``epoch_program``: the loop strategy ``fit``
    picks for this model, the learning rate traced as ``fit`` traces it).
    """
    import fdl
    from fdl.train import _loop

    n = x.shape[0]
    loop = fdl.train.choose_loop(model)
    epoch, hyper, _ = _loop.epoch_program(
        model, fdl.losses.softmax_cross_entropy, optimizer, batch, n, loop)
    params, state = model.init(jax.random.key(seed), tuple(x.shape[1:]))
    # Fresh buffers: the epoch donates them, and optimizer states may share one buffer.
    carry = jax.tree.map(lambda a: jnp.array(a, copy=True), (params, state, optimizer.init(params)))
    xd, yd = jax.device_put((x, y))
    perm_key, drop_key = jax.random.split(jax.random.key(seed + 1))

    def run():
        nonlocal carry
        params, state, opt_state, losses, _ = epoch(*carry, hyper, xd, yd, perm_key, drop_key)
        carry = (params, state, opt_state)
        losses.block_until_ready()

    return run


def optax_runner(apply_fn, params, tx, batches):
    """A jitted, donating optax step in a Python loop over on-device ``batches``.

    ``apply_fn(params, x) -> scores``; the loss is the mean softmax cross-entropy.
    """
    import optax

    def loss_fn(p, xb, yb):
        return optax.softmax_cross_entropy_with_integer_labels(apply_fn(p, xb), yb).mean()

    def step(p, opt_state, xb, yb):
        value, grads = jax.value_and_grad(loss_fn)(p, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), opt_state, value

    step = jax.jit(step, donate_argnums=(0, 1))
    device_batches = jax.device_put(batches)
    carry = jax.tree.map(lambda a: jnp.array(a, copy=True), (params, tx.init(params)))

    def run():
        nonlocal carry
        p, o = carry
        for xb, yb in device_batches:
            p, o, value = step(p, o, xb, yb)
        carry = (p, o)
        value.block_until_ready()

    return run


def optax_state_runner(apply_fn, params, state, tx, batches):
    """``optax_runner`` for a model with state (batch norm's running statistics).

    ``apply_fn(params, state, x) -> (scores, new_state)`` in training mode.
    """
    import optax

    def loss_fn(p, s, xb, yb):
        scores, s = apply_fn(p, s, xb)
        return optax.softmax_cross_entropy_with_integer_labels(scores, yb).mean(), s

    def step(p, s, opt_state, xb, yb):
        (value, s), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, s, xb, yb)
        updates, opt_state = tx.update(grads, opt_state, p)
        return optax.apply_updates(p, updates), s, opt_state, value

    step = jax.jit(step, donate_argnums=(0, 1, 2))
    device_batches = jax.device_put(batches)
    carry = jax.tree.map(lambda a: jnp.array(a, copy=True), (params, state, tx.init(params)))

    def run():
        nonlocal carry
        p, s, o = carry
        for xb, yb in device_batches:
            p, s, o, value = step(p, s, o, xb, yb)
        carry = (p, s, o)
        value.block_until_ready()

    return run


def torch_threads():
    """PyTorch on every core (its default may be fewer), as a tuned user would set it."""
    import torch

    torch.set_num_threads(os.cpu_count())
    return torch


def torch_runner(net, optimizer, batches):
    """PyTorch eager: zero_grad, forward, cross-entropy, backward, step, per minibatch."""
    import torch

    def run():
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(net(xb), yb)
            loss.backward()
            optimizer.step()
        loss.item()  # eager already ran; item() makes the last value concrete

    return run


def torch_batches(batches, channels_last=False):
    """NumPy minibatches as PyTorch tensors (NHWC images become NCHW, channels_last)."""
    torch = torch_threads()
    out = []
    for xb, yb in batches:
        xt = torch.from_numpy(np.ascontiguousarray(xb))
        if xt.ndim == 4:
            xt = xt.permute(0, 3, 1, 2)
            xt = xt.contiguous(memory_format=torch.channels_last if channels_last
                               else torch.contiguous_format)
        out.append((xt, torch.from_numpy(yb.astype(np.int64))))
    return out
