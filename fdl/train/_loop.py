"""``fit``, ``evaluate`` and ``predict``."""

import functools
import math
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from fdl import _compiler, _config
from fdl import optim as _optim
from fdl._io import remove_stale_temporaries
from fdl.train import _divergence, _parallel, _precision, _steps, _validation
from fdl.train._checkpoint import load_train_state, save_train_state
from fdl.train._history import History
from fdl.train._progress import Progress
from fdl.train._state import TrainState

# Training accuracy is measured on the first this-many training examples each epoch.
TRAIN_EVAL_LIMIT = 10_000


class TrainingDiverged(RuntimeError):
    """The loss became NaN/inf or grew past ``divergence_factor`` times its first value.

    Attributes:
      params, state: the model after the last good epoch (the initial ones if the first
        epoch diverged).
      opt_state: the optimizer state after the last good epoch.
      history: the ``History`` of the good epochs.
      epoch: the (0-based) epoch in which the loss diverged.
    """

    def __init__(self, message, *, params, state, opt_state, history, epoch):
        super().__init__(message)
        self.params, self.state, self.opt_state = params, state, opt_state
        self.history, self.epoch = history, epoch


# ------------------------------------------------------------------ helpers


def _has_conv(layer):
    if layer.name.startswith("Conv"):
        return True
    return any(_has_conv(sub) for sub in getattr(layer, "sublayers", ()))


def choose_loop(model):
    """``"steps"`` if the model holds a convolution (see PERFORMANCE.md), else ``"scan"``."""
    return "steps" if _has_conv(model) else "scan"


def _copy(tree):
    return jax.tree.map(lambda a: jnp.array(a, copy=True), tree)


def _is_key(key):
    return hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def _same_key(a, b):
    def data(k):
        return jax.random.key_data(k) if _is_key(k) else jnp.asarray(k)

    da, db = data(a), data(b)
    return da.shape == db.shape and bool(jnp.all(da == db))


# ------------------------------------------------------------------ evaluation


def _eval_batch_size(batch_size, n):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    return min(int(batch_size), n)


def evaluate(model, params, state, data, *, batch_size=1000, loss=None, compute_dtype=None):
    """Accuracy (and mean loss) of a model on ``data = (x, y)``, in eval mode.

    Runs a jitted forward pass over batches of ``batch_size`` rows; every batch has the
    same shape (the last one overlaps the previous and its repeated rows are masked), so
    one compilation serves the whole set. Arrays placed on several devices (``params``
    replicated, ``x`` replicated or split along its batch axis, as ``fit`` with
    ``devices`` leaves them) are computed where they lie.

    Args:
      model: a ``Layer``.
      params, state: as returned by ``model.init`` or ``fit``.
      data: ``(x, y)``, NumPy or JAX arrays, ``y`` integer labels.
      batch_size: rows per forward pass.
      loss: optional ``loss(scores, y) -> mean``; the result then has the mean loss.
      compute_dtype: ``None`` or e.g. ``jnp.bfloat16``: the forward pass runs on copies
        cast to it; the loss is computed in float32 (see ``fit``).
    Returns:
      ``{"accuracy": float, "loss": float or None}``.
    """
    x, y = _validation.examples(model, data, "data")
    return _evaluate(model, params, state, x, y, batch_size, loss, compute_dtype, "evaluate")


def _evaluate(model, params, state, x, y, batch_size, loss, compute_dtype, caller):
    """``evaluate`` on arrays already validated (``fit`` checks its data once, not per epoch)."""
    n = x.shape[0]
    bs = _eval_batch_size(batch_size, n)
    compute_dtype = _precision.compute_dtype_arg(compute_dtype, caller)
    f = _steps.make_eval_batch(model, loss, bs, n, compute_dtype)
    correct, total = 0, 0.0
    for start in range(0, n, bs):
        c, t = f(params, state, x, y, start)
        correct, total = correct + c, total + t
    return {
        "accuracy": float(correct) / n,
        "loss": None if loss is None else float(total) / n,
    }


def predict(model, params, state, x, *, batch_size=1000, compute_dtype=None):
    """Predicted class labels (``argmax`` of the scores), eval mode, batched and jitted.

    ``compute_dtype`` (``None`` or e.g. ``jnp.bfloat16``) is the dtype the forward pass
    runs in, as in ``evaluate``.

    Returns:
      ``(N,)`` int32 ``jax.Array``.
    """
    return _predict_batches(model, params, state, x, batch_size, compute_dtype, "predict",
                            scores=False)


def predict_scores(model, params, state, x, *, batch_size=1000, compute_dtype=None):
    """The model's class scores ``f(x)`` in eval mode, batched and jitted, as float32.

    ``predict`` is their ``argmax``; ``fdl.nn.softmax`` of them gives a softmax
    classifier's class probabilities (an SVM's scores are margins, not probabilities).

    Returns:
      ``(N, C)`` float32 ``jax.Array``.
    """
    return _predict_batches(model, params, state, x, batch_size, compute_dtype,
                            "predict_scores", scores=True)


def _predict_batches(model, params, state, x, batch_size, compute_dtype, caller, *, scores):
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{caller}: x must have a non-empty batch axis, got shape {x.shape}")
    n = x.shape[0]
    bs = _eval_batch_size(batch_size, n)
    compute_dtype = _precision.compute_dtype_arg(compute_dtype, caller)
    f = _steps.make_predict_batch(model, bs, n, compute_dtype, scores)
    parts = []
    for start in range(0, n, bs):
        rows = f(params, state, x, start)
        if start + bs > n:  # the clamped last batch: keep only the new rows
            rows = rows[bs - (n - start):]
        parts.append(rows)
    return parts[0] if len(parts) == 1 else jnp.concatenate(parts)


# ------------------------------------------------------------------ fit


def fit(model, data, *, loss, optimizer, epochs, batch_size, key, val_data=None,
        devices=None, params=None, state=None, reg=0.0, loop="auto", checkpoint=None,
        resume=None, progress=None, divergence_factor=_divergence.FACTOR, augment=None,
        compute_dtype=None, meta=None):
    """Trains ``model`` on ``data`` with minibatch gradient descent.

    Each epoch shuffles the training set with a permutation drawn from the epoch's key
    and takes ``N // batch_size`` steps on full minibatches (the remaining
    ``N % batch_size`` examples of that permutation are skipped in that epoch; a new
    permutation next epoch includes them). All randomness derives from ``(key, epoch,
    step)``: ``init_key, train_key = split(key)``; epoch ``e`` uses
    ``fold_in(train_key, e)`` for its permutation and dropout keys, and step ``i`` of it
    ``fold_in(drop_key, i)``. So a run resumed from a checkpoint after epoch ``k`` ends
    with bit-identical parameters to an uninterrupted run.

    Args:
      model: a ``Layer`` (e.g. ``fdl.models.mlp([100], 10)``).
      data: ``(x, y)`` training pair (NumPy or JAX arrays; moved to the device once).
      loss: ``loss(scores, y) -> scalar mean``, e.g. ``fdl.losses.softmax_cross_entropy``.
      optimizer: an ``fdl.optim`` optimizer (``init``/``update``). When built with a
        number as its ``lr`` (``optim.adam(1e-3)``), the learning rate is an argument of
        the compiled epoch, like ``reg``: runs that differ only in ``lr`` or ``reg``
        compile once.
      epochs: the total number of epochs (counting those already in a resumed checkpoint).
      batch_size: examples per step (the global batch when ``devices`` has several).
      key: a ``jax.random.key``; initialises the model (unless ``params`` is given),
        shuffles and draws dropout masks.
      val_data: optional ``(x, y)``; its accuracy and loss are recorded each epoch.
      devices: optional list of JAX devices: parameters are replicated on all of them and
        each minibatch is split along its batch axis (data parallelism through
        ``jax.sharding``; XLA inserts the gradient all-reduce). ``batch_size`` must be a
        multiple of ``len(devices)``. The result equals single-device training up to
        float rounding. Across processes (after ``jax.distributed.initialize``, with
        ``devices=jax.devices()``) every process passes the whole ``data`` and the same
        ``key`` and gets the same result; only process 0 writes the checkpoint.
      params, state: start from these instead of ``model.init`` (they are copied, never
        modified). ``model.init`` uses ``x``'s dtype when it is a float dtype.
      reg: L2 strength ``lambda``: the objective is ``loss + lambda * sum w**2`` over the
        weights only (``fdl.regularizers.weights``: dense and conv weights, the leaves
        with ``ndim >= 2``); biases and batch-norm parameters are not penalised.
        ``history["loss"]`` records this objective.
      loop: ``"scan"`` (each epoch is one compiled ``lax.scan``), ``"steps"`` (a Python
        loop of jitted steps with donated buffers) or ``"auto"``: ``"steps"`` when the
        model contains a ``Conv`` layer (XLA:CPU runs conv backprop inside a loop body
        many times slower), else ``"scan"``.
      checkpoint: a file path; a checkpoint is written (atomically) after every epoch.
        Temporaries a killed earlier run left beside it are removed first.
      resume: a checkpoint path to continue from (often the same as ``checkpoint``); the
        run continues at the saved epoch, with the saved key, and ``epochs`` is the total.
        A missing file is an error (``CheckpointError``).
      progress: ``None`` (one line per epoch on stderr, only when it is a terminal),
        ``False`` (silent), ``True`` (stderr always) or a file-like object.
      divergence_factor: training stops with ``TrainingDiverged`` when a step's loss is
        NaN/inf, or when the loss averaged over 10 consecutive steps exceeds
        ``divergence_factor`` times the initial loss (the run's first step loss; averaging
        keeps one noisy minibatch from stopping a healthy run; ``fdl.train._divergence``). Checked
        at the end of each epoch. ``None`` disables the size check
        (NaN/inf still stop training).
      augment: optional data augmentation ``augment(key, x_batch) -> x_batch`` (same
        shape and dtype), e.g. ``fdl.data.augmentation(crop_padding=4, flip=True)``.
        It runs on every training minibatch inside the compiled step, with a key that
        depends only on ``(key, epoch, step)`` (so resuming and the two loops still
        agree); evaluation and ``val_data`` see the images unchanged. Pass the same
        function object across calls to reuse the compiled epoch.
      compute_dtype: ``None`` (compute in the parameters' dtype) or a dtype such as
        ``jnp.bfloat16``: the forward and backward passes run on copies of the
        parameters and minibatch cast to it, while the parameters, optimizer state and
        batch-norm statistics stay float32 and the loss is computed in float32 from the
        scores cast back; gradients reach the update in float32. Evaluation during
        training uses it too.
      meta: optional JSON-able dict stored in every checkpoint's ``meta`` (e.g. the
        command line that trained it), beside fit's own entries.
    Returns:
      ``(params, state, history)``; ``history`` is a ``History`` (a dict of lists: see
      ``fdl.train.History``). Training accuracy is measured in eval mode on at most the
      first ``TRAIN_EVAL_LIMIT`` (10,000) training examples, for speed.
    Raises:
      TrainingDiverged: see ``divergence_factor``; it carries the last good
        ``params``/``state``/``history``, and the checkpoint file (if any) keeps the
        last good epoch.
    """
    x, y = _validation.examples(model, data, "data")
    epochs, batch_size, reg, divergence_factor, loop = _check_fit_arguments(
        model, x.shape[0], loss, optimizer, epochs, batch_size, reg, loop, divergence_factor,
        key, augment, meta)
    reporter = Progress(progress)
    compute_dtype = _precision.compute_dtype_arg(compute_dtype, "fit")
    place, batch_sharding = _parallel.data_parallel(devices, batch_size)
    x, y = place(x), place(y)
    val = None
    if val_data is not None:
        val = tuple(place(a) for a in _validation.examples(model, val_data, "val_data", like=x))
    n = x.shape[0]
    train_eval = (x[:TRAIN_EVAL_LIMIT], y[:TRAIN_EVAL_LIMIT]) if n > TRAIN_EVAL_LIMIT else (x, y)

    run = _start(model, optimizer, x, key, params, state, place, resume, batch_size)
    _, train_key = jax.random.split(run.key)
    run_epoch, hyper, compiles = epoch_program(
        model, loss, optimizer, batch_size, n, loop, reg=reg, batch_sharding=batch_sharding,
        augment=augment, compute_dtype=compute_dtype)
    labels = _steps.layer_labels(model, run.params)
    meta = {**(meta or {}), "batch_size": batch_size, "model": repr(model), "loop": loop}
    if checkpoint is not None and _parallel.is_main_process():
        remove_stale_temporaries(checkpoint)
    first_loss = _initial_loss(run.history["loss"]) if run.history["loss"] else None

    start_epoch = run.epoch
    for epoch in range(start_epoch, epochs):
        first = compiles and epoch == start_epoch
        if first:
            reporter.compiling("the training step" if loop == "steps" else "the epoch")
        reporter.start_epoch()
        good = run
        run, losses, ratios, elapsed = _train_epoch(
            run, run_epoch, hyper, x, y, train_key,
            report=lambda done, value, epoch=epoch: reporter.step(
                epoch, epochs, done, n // batch_size, value))
        if first_loss is None:
            first_loss = _initial_loss(losses)
        bad = _divergence.explosion(losses, first_loss, divergence_factor)
        if bad is not None:
            lr = float(_optim.current_lr(run.opt_state))
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1}: {bad} (initial loss "
                f"{first_loss:.4g}). The learning rate is likely too high (lr = {lr:.3g}) "
                "— try lowering it (by 3-10x), or check the data and the loss. The "
                "params, state and history of the last good epoch are attached"
                + (" and the checkpoint holds that epoch." if checkpoint and epoch > 0 else "."),
                params=good.params, state=good.state, opt_state=good.opt_state,
                history=good.history, epoch=epoch,
            )
        _record(run, losses, ratios, elapsed, labels, batch_size, model, loss, compute_dtype,
                train_eval, val)
        # Every process holds the same replicated values; one writer avoids several
        # processes renaming over the same file.
        if checkpoint is not None and _parallel.is_main_process():
            save_train_state(checkpoint, run, meta)
        reporter.epoch(epoch, epochs, run.history, compiled=first)
    return run.params, run.state, run.history


def _check_fit_arguments(model, n, loss, optimizer, epochs, batch_size, reg, loop,
                         divergence_factor, key, augment, meta):
    """fit's argument checks, at the public boundary: the normalised
    ``(epochs, batch_size, reg, divergence_factor, loop)``."""
    epochs = _validation.positive_int(epochs, "epochs", allow_zero=True)
    batch_size = _validation.positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(f"fit: batch_size ({batch_size}) exceeds the number of examples ({n})")
    if loop not in ("auto", "scan", "steps"):
        raise ValueError(f"fit: loop must be 'auto', 'scan' or 'steps', got {loop!r}")
    if not callable(loss):
        raise TypeError(f"fit: loss must be a function (scores, y) -> scalar, got {loss!r}")
    if not (hasattr(optimizer, "init") and hasattr(optimizer, "update")):
        raise TypeError("fit: optimizer must have init and update (an fdl.optim optimizer)")
    reg = float(reg)
    if not math.isfinite(reg) or reg < 0:
        raise ValueError(f"fit: reg must be a finite number >= 0, got {reg}")
    if divergence_factor is not None:
        divergence_factor = float(divergence_factor)
        if not divergence_factor > 1.0:
            raise ValueError(f"fit: divergence_factor must be > 1 or None, got {divergence_factor}")
    if not (_is_key(key) or (hasattr(key, "dtype") and key.dtype == jnp.uint32)):
        raise TypeError("fit: key must be a jax.random.key (or a raw uint32 PRNG key)")
    if augment is not None and not callable(augment):
        raise TypeError(
            f"fit: augment must be a function (key, x_batch) -> x_batch or None, got {augment!r}"
        )
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"fit: meta must be a dict or None, got {type(meta).__name__}")
    loop = choose_loop(model) if loop == "auto" else loop
    return epochs, batch_size, reg, divergence_factor, loop


def _start(model, optimizer, x, key, params, state, place, resume, batch_size):
    """The ``TrainState`` a run starts from: fresh (``model.init`` from ``split(key)[0]``,
    or the caller's ``params``/``state``, copied) or restored from ``resume``."""
    init_key, _ = jax.random.split(key)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    if params is None or state is None:
        p0, s0 = model.init(init_key, tuple(x.shape[1:]), dtype)
        params = p0 if params is None else params
        state = s0 if state is None else state
    params, state = place(_copy(params)), place(_copy(state))
    # Copied: an optimizer may hand out one zeros buffer for several state leaves
    # (Adam's m and v), and a buffer cannot be donated twice in one call.
    opt_state = place(_copy(optimizer.init(params)))
    run = TrainState(params, state, opt_state, epoch=0, step=0, key=key, history=History())
    if resume is None:
        return run
    saved, meta = load_train_state(resume, like=run)
    saved_bs = meta.get("batch_size")
    if saved_bs is not None and saved_bs != batch_size:
        warnings.warn(
            f"fit: resuming a run trained with batch_size={saved_bs} with "
            f"batch_size={batch_size}; it will not repeat the original run",
            stacklevel=3,
        )
    if not _same_key(saved.key, key):
        warnings.warn(
            "fit: key differs from the checkpoint's key; continuing with the "
            "checkpoint's key so that the run repeats the original",
            stacklevel=3,
        )
    return saved._replace(params=place(saved.params), state=place(saved.state),
                          opt_state=place(saved.opt_state))


def epoch_program(model, loss, optimizer, batch_size, n, loop, *, reg=0.0,
                  batch_sharding=None, augment=None, compute_dtype=None):
    """``(epoch, hyper, compiled_now)``: the compiled epoch a run trains with, the traced
    hyperparameters it takes (``_steps.hyperparameters``) and whether it was built now.

    ``reg`` is traced; so is the learning rate of an optimizer built by fdl with a number
    as its ``lr`` (``adam(1e-3)``: the epoch builds the rule from the traced value, and is
    cached by the rest of the optimizer's configuration). Runs that differ only in ``lr``
    or ``reg`` -- a search, a learning-rate sweep -- share one compilation. A schedule or
    a hand-made optimizer is part of the cache key as it is. The cache holds arguments
    that hash (fdl's builders do); others build the epoch for this run.
    """
    opened = _config.open_argument(optimizer, "lr")
    lr = None
    if opened is not None:
        optimizer, lr = opened
    hyper = _steps.hyperparameters(reg, lr=lr)
    args = (model, loss, optimizer, batch_size, n, loop, batch_sharding, augment, compute_dtype)
    misses = _compiled_epoch.cache_info().misses
    try:
        hash(args)
    except TypeError:  # an unhashable loss or optimizer: build without the cache
        return _compiled_epoch.__wrapped__(*args), hyper, True
    run_epoch = _compiled_epoch(*args)
    return run_epoch, hyper, _compiled_epoch.cache_info().misses != misses


def _train_epoch(run, run_epoch, hyper, x, y, train_key, report=None):
    """One epoch from ``run``: ``(next TrainState, step losses (float64), update ratios,
    seconds)``. ``run``'s own buffers stay valid -- the compiled epoch donates copies --
    so it is the last good state if this epoch diverges."""
    perm_key, drop_key = _steps.epoch_keys(train_key, run.epoch)
    carry = _copy((run.params, run.state, run.opt_state))
    t0 = time.perf_counter()
    params, state, opt_state, losses, ratios = run_epoch(
        *carry, hyper, x, y, perm_key, drop_key, report=report)
    losses = np.asarray(jax.device_get(losses), dtype=np.float64)
    elapsed = time.perf_counter() - t0
    # The history is the run's one record, appended to by _record once the epoch is good.
    return (run._replace(params=params, state=state, opt_state=opt_state, epoch=run.epoch + 1,
                         step=run.step + len(losses)),
            losses, ratios, elapsed)


def _record(run, losses, ratios, elapsed, labels, batch_size, model, loss, compute_dtype,
            train_eval, val):
    """Appends an epoch's entries to ``run.history`` (see ``History``): its losses, time,
    rate, learning rate, update ratios, and the accuracy of the epoch's parameters."""

    def evaluate(data, data_loss):
        return _evaluate(model, run.params, run.state, *data, 1000, data_loss, compute_dtype,
                         "fit")

    history = run.history
    history["loss"].extend(float(v) for v in losses)
    history["epoch_loss"].append(float(np.mean(losses)))
    history["epoch_time"].append(elapsed)
    history["examples_per_sec"].append(len(losses) * batch_size / elapsed)
    history["lr"].append(float(_optim.current_lr(run.opt_state)))
    history["update_ratio"].append(
        dict(zip(labels, (float(r) for r in np.asarray(jax.device_get(ratios)))))
    )
    history["train_accuracy"].append(evaluate(train_eval, None)["accuracy"])
    if val is not None:
        result = evaluate(val, loss)
        history["val_accuracy"].append(result["accuracy"])
        history["val_loss"].append(result["loss"])


def _initial_loss(losses):
    """The reference loss: the run's first step loss (before any update)."""
    return float(losses[0])


@functools.lru_cache(maxsize=16)
def _compiled_epoch(model, loss, optimizer, batch_size, n, loop, batch_sharding,
                    augment=None, compute_dtype=None):
    """The epoch function ``epoch(params, state, opt_state, hyper, x, y, perm_key, drop_key,
    report=None)``, cached by value: models, optimizers and augmentations built by fdl
    compare by their configuration (``fdl._config``), so a resumed run, a second ``fit``
    with a freshly built but identical model, or a search over ``reg`` (traced, in
    ``hyper``) compiles once. ``optimizer`` may be a builder ``lr -> Optimizer``; then
    ``hyper`` carries the traced ``lr`` (``_steps.hyperparameters``)."""
    step = _steps.make_step(model, loss, optimizer, batch_size, batch_sharding, augment,
                            compute_dtype)
    if loop == "scan":
        scanned = _steps.make_scan_epoch(step, n // batch_size)

        def epoch(params, state, opt_state, hyper, x, y, perm_key, drop_key, report=None):
            del report  # one compiled call: nothing to report until it returns
            perm = _steps.permutation(perm_key, n)
            return scanned(params, state, opt_state, hyper, x, y, perm, drop_key)
    else:
        epoch = _make_steps_epoch(step, n // batch_size, n)
    return epoch


@jax.jit
def _copy_weights(params):
    return [jnp.array(w, copy=True) for w in _steps.weights(params)]


@jax.jit
def _update_ratios(before, params):
    return _steps.update_ratios(before, _steps.weights(params))


def _make_steps_epoch(step, steps, n):
    """An epoch as a Python loop of one jitted, donating step (for conv models on CPU)."""
    jstep = _compiler.jit(step, donate_argnums=(0, 1, 2))

    def epoch(params, state, opt_state, hyper, x, y, perm_key, drop_key, report=None):
        perm = _steps.permutation(perm_key, n)
        losses = []
        for i in range(steps):
            if i == steps - 1:
                before = _copy_weights(params)
            params, state, opt_state, value = jstep(
                params, state, opt_state, hyper, x, y, perm, jnp.int32(i), drop_key
            )
            losses.append(value)
            if report is not None:
                report(i + 1, value.item)
        return params, state, opt_state, jnp.stack(losses), _update_ratios(before, params)

    return epoch
