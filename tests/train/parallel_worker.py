"""Data-parallel training runs for ``test_parallel.py``, each in a fresh Python process.

JAX fixes its devices when it starts, so every data-parallel configuration runs in its own
process::

    python parallel_worker.py simulated OUT.npz          # 2 simulated CPU devices
    python parallel_worker.py process ID PORT OUT.npz    # process ID of 2 on 127.0.0.1:PORT

Each run trains the ``problems()`` below with ``fit(..., devices=...)`` over two devices
and saves the results (see ``results``) to ``OUT.npz``; ``simulated`` also saves the
single-device results under ``single/...`` and the results of ``evaluate``/``predict``
on inputs split over the devices, and (under ``errors/...``) the messages of ``fit``'s
argument errors on the two devices. The test compares them.
"""

import os
import sys

N_DEVICES = 2


def problems():
    """``{name: (model, (x, y), fit_kwargs)}``: tiny problems (the all-reduce on simulated
    CPU devices can stall on a busy 2-core machine unless the shapes are tiny)."""
    import jax
    import numpy as np

    from fdl import losses, models, optim

    rng = np.random.default_rng(0)
    x_vec = rng.standard_normal((64, 16)).astype(np.float32)
    y_vec = np.argmax(x_vec @ rng.standard_normal((16, 3)), axis=1).astype(np.int32)
    x_img = rng.standard_normal((32, 6, 6, 1)).astype(np.float32)
    y_img = (x_img.mean(axis=(1, 2, 3)) > 0).astype(np.int32) + (x_img[:, 0, 0, 0] > 0)
    common = dict(loss=losses.softmax_cross_entropy, key=jax.random.key(7), progress=False)
    return {
        # Batch norm checks that its statistics are taken over the whole global batch.
        "mlp_scan": (
            models.mlp([8], 3, batchnorm=True),
            (x_vec, y_vec),
            dict(common, optimizer=optim.momentum(0.1), epochs=2, batch_size=16,
                 loop="scan", reg=1e-3),
        ),
        "conv_steps": (
            models.convnet(blocks=((2,),), hidden=(), num_classes=3),
            (x_img, y_img.astype(np.int32)),
            dict(common, optimizer=optim.adam(1e-2), epochs=1, batch_size=8, loop="steps"),
        ),
    }


def results(params, state, history):
    """``{"params/i": leaf, "state/i": leaf, "loss": per-step losses}`` as NumPy arrays."""
    import jax
    import numpy as np

    out = {f"params/{i}": np.asarray(a) for i, a in enumerate(jax.tree.leaves(params))}
    out.update({f"state/{i}": np.asarray(a) for i, a in enumerate(jax.tree.leaves(state))})
    out["loss"] = np.asarray(history["loss"])
    return out


def train_all(devices=None, checkpoint_dir=None):
    """``{f"{name}/{key}": array}`` of every problem trained with ``devices``; also
    ``(name, model, data, params, state)`` tuples for further checks."""
    from fdl import train

    flat, trained = {}, []
    for name, (model, data, kwargs) in problems().items():
        checkpoint = None if checkpoint_dir is None else os.path.join(checkpoint_dir,
                                                                      f"{name}.npz")
        params, state, history = train.fit(model, data, devices=devices,
                                           checkpoint=checkpoint, **kwargs)
        flat.update({f"{name}/{k}": v for k, v in results(params, state, history).items()})
        trained.append((name, model, data, params, state))
    return flat, trained


def simulated(out):
    """Two simulated CPU devices: data-parallel and single-device runs, plus evaluate
    and predict on inputs split over the devices, into ``out``."""
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + f" --xla_force_host_platform_device_count={N_DEVICES}")
    import jax
    import numpy as np

    from fdl import losses, train

    devices = jax.devices()
    assert len(devices) == N_DEVICES, devices
    _compile_cheaply()  # after the backend started with its two devices
    flat, trained = train_all(devices)
    single, _ = train_all(None)
    flat.update({f"single/{k}": v for k, v in single.items()})
    mesh = jax.make_mesh((N_DEVICES,), ("data",), devices=devices,
                         axis_types=(jax.sharding.AxisType.Auto,))
    split = jax.NamedSharding(mesh, jax.P("data"))
    for name, model, (x, y), params, state in trained:
        x_split, y_split = jax.device_put(x, split), jax.device_put(y, split)
        result = train.evaluate(model, params, state, (x_split, y_split),
                                batch_size=16, loss=losses.softmax_cross_entropy)
        flat[f"{name}/eval_split"] = np.array([result["accuracy"], result["loss"]])
        flat[f"{name}/predict_split"] = np.asarray(
            train.predict(model, params, state, x_split, batch_size=16))
        params1, state1 = jax.device_get((params, state))
        result = train.evaluate(model, params1, state1, (x, y), batch_size=16,
                                loss=losses.softmax_cross_entropy)
        flat[f"{name}/eval_single"] = np.array([result["accuracy"], result["loss"]])
        flat[f"{name}/predict_single"] = np.asarray(
            train.predict(model, params1, state1, x, batch_size=16))
    flat.update({f"errors/{k}": np.array(v) for k, v in _error_messages(devices).items()})
    np.savez(out, **flat)


def _error_messages(devices):
    """``{case: "ErrorType: message"}`` of fit's argument errors on ``devices``."""
    from fdl import train

    model, data, kwargs = problems()["mlp_scan"]
    messages = {}
    try:
        train.fit(model, data, devices=devices, **dict(kwargs, batch_size=15))
    except Exception as e:  # noqa: BLE001 - the test inspects whatever was raised
        messages["indivisible"] = f"{type(e).__name__}: {e}"
    else:
        messages["indivisible"] = "no error"
    return messages


def _compile_cheaply():
    """fit's programs compiled the way run-once programs are (``programs.
    cheap_loop_options``, as conftest's ``quick_compiles`` does in the test processes):
    both sides of every comparison here are compiled alike, and the runs are a few tiny
    steps. Called once JAX's backend is up (its device count and processes are fixed then)."""
    from programs import cheap_loop_options

    from fdl import _compiler

    options = cheap_loop_options()
    if options is not None:
        _compiler.compiler_options = options


def process(process_id, port, out):
    """Process ``process_id`` of ``N_DEVICES`` processes with one CPU device each."""
    import jax
    import numpy as np

    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}",
                               num_processes=N_DEVICES, process_id=process_id,
                               initialization_timeout=60)
    devices = jax.devices()
    assert len(devices) == N_DEVICES and len(jax.local_devices()) == 1, devices
    _compile_cheaply()  # after jax.distributed joined the processes
    # Every process passes the whole data set and the same key; process 0 alone writes
    # the checkpoints, into the directory of ``out``.
    flat, _ = train_all(devices, checkpoint_dir=os.path.dirname(out))
    np.savez(out, **flat)
    jax.distributed.shutdown()


if __name__ == "__main__":
    tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.dirname(tests), tests]  # fdl, and the tests' helpers
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "simulated":
        simulated(*args)
    elif mode == "process":
        process(int(args[0]), int(args[1]), args[2])
    else:
        raise SystemExit(f"unknown mode {mode!r}")
