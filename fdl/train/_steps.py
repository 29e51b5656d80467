"""Compiled pieces of the training loop: one step, one scanned epoch, batched evaluation.

Every random draw derives from ``(key, epoch, step)`` only: epoch ``e`` shuffles with
``perm_key`` and step ``i`` of it draws dropout masks from ``fold_in(drop_key, i)``,
where ``perm_key, drop_key = split(fold_in(train_key, e))``, and augments its minibatch
(when ``fit`` is given ``augment``) with ``augment_key(drop_key, i)``. The scanned epoch and the
Python loop of steps run the same step function on the same keys, so they compute the
same parameters, and a run resumed after epoch ``k`` repeats the uninterrupted one.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

from fdl import _compiler
from fdl import regularizers as _regularizers
from fdl.train import _precision


def epoch_keys(train_key, epoch):
    """``(perm_key, drop_key)`` of an epoch."""
    perm_key, drop_key = jax.random.split(jax.random.fold_in(train_key, epoch))
    return perm_key, drop_key


# The one definition of "the weights" (penalised, decayed, reported): leaves with ndim >= 2.
weight_paths = _regularizers.weight_paths
weights = _regularizers.weights


def layer_labels(model, params):
    """Readable labels of the layers holding a weight: ``"<index path>:<layer name>"``."""
    labels = []
    for path, _ in weight_paths(params):
        layer, indices = model, []
        for entry in path[:-1]:
            index = getattr(entry, "idx", getattr(entry, "key", None))
            indices.append(str(index))
            subs = getattr(layer, "sublayers", ())
            if isinstance(index, int) and index < len(subs):
                layer = subs[index]
        where = ".".join(indices) if indices else "0"
        labels.append(f"{where}:{getattr(layer, 'name', '?')}")
    return labels


def update_ratios(before, after):
    """``||after - before|| / ||before||`` for each pair of weight arrays."""
    return jnp.stack([
        jnp.linalg.norm((a - b).ravel()) / jnp.maximum(jnp.linalg.norm(b.ravel()),
                                                      jnp.finfo(b.dtype).tiny)
        for b, a in zip(before, after)
    ]) if before else jnp.zeros((0,))


# Folded into a step's dropout key to give its augmentation key: a separate stream, so
# turning augmentation on leaves the dropout masks (and a run without it) unchanged.
AUGMENT_STREAM = 0x61756720  # "aug "


def augment_key(drop_key, i):
    """The key that augments minibatch ``i`` of an epoch: ``fold_in(fold_in(drop_key, i),
    AUGMENT_STREAM)``; it depends only on ``(key, epoch, step)``."""
    return jax.random.fold_in(jax.random.fold_in(drop_key, i), AUGMENT_STREAM)


def apply_augment(augment, key, xb):
    """``augment(key, xb)``, checked to keep the minibatch's shape and dtype (at trace time)."""
    out = augment(key, xb)
    if getattr(out, "shape", None) != xb.shape or getattr(out, "dtype", None) != xb.dtype:
        raise ValueError(
            f"fit: augment must return a batch of the shape and dtype it is given "
            f"({xb.shape} {xb.dtype}), got {getattr(out, 'shape', type(out).__name__)} "
            f"{getattr(out, 'dtype', '')}"
        )
    return out


def hyperparameters(reg=0.0, lr=None):
    """The traced hyperparameters a step takes: ``{"reg": ..., "lr": ...}``.

    A zero ``reg`` is left out (the step then computes no penalty at all); ``lr`` is given
    only when the step builds its optimizer from it (``make_step(optimizer=builder)``).
    Values are arrays of the default float dtype, so that changing them reuses the
    compiled program: a search over ``lr`` and ``reg`` compiles once.
    """
    dtype = jnp.result_type(float)
    hyper = {}
    if not (isinstance(reg, (int, float)) and reg == 0):
        hyper["reg"] = jnp.asarray(reg, dtype)
    if lr is not None:
        hyper["lr"] = jnp.asarray(lr, dtype)
    return hyper


def make_step(model, loss, optimizer, batch_size, batch_sharding=None, augment=None,
              compute_dtype=None):
    """``step(params, state, opt_state, hyper, x, y, perm, i, drop_key) -> (..., loss)``.

    Gathers minibatch ``i`` (rows ``perm[i*B:(i+1)*B]`` of the on-device ``x``, ``y``),
    applies ``augment(augment_key(drop_key, i), xb)`` when ``augment`` is given (inside
    the compiled step, so augmentation costs no extra dispatch), and takes one gradient
    step on ``loss(scores, y) + reg * l2(weights)`` (``fdl.regularizers.weights``).
    ``hyper`` (``hyperparameters``) holds the traced ``reg`` and, when ``optimizer`` is
    a builder ``lr -> Optimizer`` (``fdl.optim.adam``) rather than an optimizer, the
    traced ``lr`` it is built from. With ``compute_dtype`` (e.g. bfloat16) the forward
    and backward passes run in that dtype while the loss, the penalty, the gradients and
    the update stay in the parameters' dtype (``_precision``).

    This is the one training step of fdl: ``fit``, the linear classifiers and ``fdl
    tune`` all train through it.
    """

    def objective(params, state, xb, yb, key, reg):
        scores, new_state = _precision.apply_in(
            model, compute_dtype, params, state, xb, train=True, key=key
        )
        value = loss(scores, yb)
        if reg is not None:
            penalty = _regularizers.l2(weights(params))
            value = value + reg.astype(penalty.dtype) * penalty
        return value, new_state

    grad_fn = jax.value_and_grad(objective, has_aux=True)

    def update_rule(hyper):
        if hasattr(optimizer, "update"):  # an Optimizer, or any object with init/update
            return optimizer
        return optimizer(hyper["lr"])

    def gather(x, y, perm, i):
        idx = lax.dynamic_slice_in_dim(perm, i * batch_size, batch_size)
        # perm holds valid row indices: no out-of-bounds fill (a select over the batch).
        xb = x.at[idx].get(mode="promise_in_bounds")
        yb = y.at[idx].get(mode="promise_in_bounds")
        if batch_sharding is not None:
            xb = lax.with_sharding_constraint(xb, batch_sharding)
            yb = lax.with_sharding_constraint(yb, batch_sharding)
        return xb, yb

    def on_batch(params, state, opt_state, hyper, xb, yb, i, drop_key):
        if augment is not None:
            xb = apply_augment(augment, augment_key(drop_key, i), xb)
        key = jax.random.fold_in(drop_key, i) if model.needs_key else None
        (value, state), grads = grad_fn(params, state, xb, yb, key, hyper.get("reg"))
        params, opt_state = update_rule(hyper).update(params, grads, opt_state)
        return params, state, opt_state, value

    def step(params, state, opt_state, hyper, x, y, perm, i, drop_key):
        xb, yb = gather(x, y, perm, i)
        return on_batch(params, state, opt_state, hyper, xb, yb, i, drop_key)

    step.gather = gather
    step.on_batch = on_batch
    return step


def make_scan_epoch(step, steps):
    """One jitted epoch: ``steps`` steps in a ``lax.scan`` over a given permutation.

    ``epoch(params, state, opt_state, hyper, x, y, perm, drop_key)`` trains on the
    minibatches ``perm[i*B:(i+1)*B]``; ``perm`` comes from ``permutation(perm_key, n)``,
    compiled on its own once per ``n`` (a sort: about half a second to compile on CPU)
    rather than into every model's epoch. Returns
    ``(params, state, opt_state, losses[steps], ratios)``, ``ratios`` the update ratios
    of the epoch's last update. Params, state and optimizer state are donated.

    Each iteration gathers the *next* minibatch into the loop carry while it trains on
    the current one. The batch a step trains on is then a plain buffer rather than a
    gather XLA may fuse into (and recompute inside) each consumer: on CPU, a weight
    gradient's transposed copy of the input fused with the gather ran 6x slower than
    one of a buffer (0.6 vs 0.1 ms for a 128x3072 batch). Same batches, same order.

    The step appears once in the program: the last iteration also keeps the weights it
    starts from (a ``lax.cond``; the other iterations pass the kept buffer through), and
    the ratios are computed from them after the loop. Running the last step after the
    loop instead, as fdl did, compiled the step twice; with the permutation inside as
    well, each model's epoch took 17-40% longer to compile (three MLPs and a linear model
    on CPU), for bit-identical results and no measurable difference in speed.
    """

    def epoch(params, state, opt_state, hyper, x, y, perm, drop_key):

        def body(carry, i):
            p, s, o, kept, xb, yb = carry
            # The last iteration re-gathers its own minibatch: perm holds no batch `steps`.
            upcoming = step.gather(x, y, perm, jnp.minimum(i + 1, steps - 1))
            kept = lax.cond(i == steps - 1, lambda: weights(p), lambda: kept)
            p, s, o, value = step.on_batch(p, s, o, hyper, xb, yb, i, drop_key)
            return (p, s, o, kept) + upcoming, value

        first = step.gather(x, y, perm, jnp.int32(0))
        kept = [jnp.zeros_like(w) for w in weights(params)]
        (params, state, opt_state, before, _, _), losses = lax.scan(
            body, (params, state, opt_state, kept) + first, jnp.arange(steps, dtype=jnp.int32)
        )
        return params, state, opt_state, losses, update_ratios(before, weights(params))

    return _compiler.jit(epoch, donate_argnums=(0, 1, 2))


@functools.partial(jax.jit, static_argnums=1)
def permutation(key, n):
    """``jax.random.permutation(key, n)``: an epoch's order of the ``n`` examples."""
    return jax.random.permutation(key, n)


@functools.lru_cache(maxsize=64)
def make_eval_batch(model, loss, batch_size, n, compute_dtype=None):
    """``f(params, state, x, y, start) -> (correct, loss_sum)`` over rows ``start:start+B``.

    The slice start is clamped to ``n - B`` so every call has the same shape (one
    compilation); rows already seen by the previous batch are masked out.
    """

    def per_example_loss(scores, y):
        return jax.vmap(lambda s, t: loss(s[None], t[None]))(scores, y)

    def f(params, state, x, y, start):
        begin = jnp.minimum(start, n - batch_size)
        xb = lax.dynamic_slice_in_dim(x, begin, batch_size)
        yb = lax.dynamic_slice_in_dim(y, begin, batch_size)
        valid = (begin + jnp.arange(batch_size)) >= start
        scores, _ = _precision.apply_in(model, compute_dtype, params, state, xb, train=False)
        correct = jnp.sum(jnp.where(valid, jnp.argmax(scores, axis=-1) == yb, False))
        if loss is None:
            total = jnp.zeros((), scores.dtype)
        else:
            total = jnp.sum(jnp.where(valid, per_example_loss(scores, yb), 0.0))
        return correct, total

    return _compiler.jit(f)


@functools.lru_cache(maxsize=64)
def make_predict_batch(model, batch_size, n, compute_dtype=None, scores=False):
    """``f(params, state, x, start)``: rows ``begin:begin+B`` (``begin`` clamped) -> their
    labels, or (``scores=True``) their float32 class scores."""

    def f(params, state, x, start):
        begin = jnp.minimum(start, n - batch_size)
        xb = lax.dynamic_slice_in_dim(x, begin, batch_size)
        out, _ = _precision.apply_in(model, compute_dtype, params, state, xb, train=False)
        if scores:
            return out.astype(jnp.float32)
        return jnp.argmax(out, axis=-1).astype(jnp.int32)

    return _compiler.jit(f)
