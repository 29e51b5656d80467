"""Data parallelism through ``jax.sharding``: a one-axis mesh over the given devices.

Parameters, optimizer state and the training set are *replicated* on every device of the
mesh; each minibatch is gathered from the replicated set and then constrained to be
*sharded* along its batch axis (``PartitionSpec("data")``). XLA's SPMD partitioner then
runs each device's share of the forward and backward pass and inserts the all-reduce
that sums the gradients; nothing here communicates by hand.

Several processes (``jax.distributed.initialize`` on each host, then the same ``fit``
call with ``devices=jax.devices()``) work the same way: every process passes the *whole*
dataset and the same key, so every process computes the same permutation and gathers the
same global minibatch; each device computes only its own rows. Arrays are built from the
process's identical local copy with ``jax.make_array_from_process_local_data``.
"""

import jax
import numpy as np

# The name of the mesh axis along which minibatches are split.
DATA_AXIS = "data"


def is_main_process():
    """True in process 0 (the one that writes files in a multi-process run)."""
    return jax.process_index() == 0


def _replicate(tree, sharding):
    """``tree`` with every leaf replicated over ``sharding``'s devices.

    When the mesh spans other processes' devices (not addressable here) the leaf is built
    from this process's copy, which must be identical in every process.
    """
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def leaf(a):
        local = np.asarray(jax.device_get(a))
        return jax.make_array_from_process_local_data(sharding, local, local.shape)

    return jax.tree.map(leaf, tree)


def data_parallel(devices, batch_size, fn="fit"):
    """``(place, batch_sharding)`` for training over ``devices``.

    Args:
      devices: ``None`` (JAX's default placement), or a non-empty list of JAX devices
        (across processes after ``jax.distributed.initialize``).
      batch_size: the global minibatch size; a multiple of ``len(devices)``.
      fn: the calling function's name, for error messages.
    Returns:
      ``place(tree) -> tree`` putting arrays where training needs them (replicated over
      the mesh), and the ``NamedSharding`` that splits a minibatch's leading axis over
      the devices (``None`` with fewer than two devices: nothing to split).
    """
    if devices is None:
        return (lambda tree: tree), None
    if isinstance(devices, jax.Device):
        raise TypeError(f"{fn}: devices must be a list of JAX devices, got one device; "
                        f"pass [device]")
    devices = list(devices)
    if not devices:
        raise ValueError(f"{fn}: devices must be a non-empty list of JAX devices or None")
    bad = [d for d in devices if not isinstance(d, jax.Device)]
    if bad:
        raise TypeError(f"{fn}: devices must hold JAX devices (e.g. jax.devices()), got {bad[0]!r}")
    if len(set(devices)) != len(devices):
        raise ValueError(f"{fn}: devices lists a device twice: {devices}")
    if len(devices) == 1:
        return (lambda tree: jax.device_put(tree, devices[0])), None
    if batch_size % len(devices):
        raise ValueError(
            f"{fn}: batch_size ({batch_size}) must be a multiple of the number of devices "
            f"({len(devices)}): each device takes batch_size / {len(devices)} examples"
        )
    # Auto axes: shardings propagate through the step from the constraint on the batch
    # (jax.make_mesh would default to Explicit axes, which type every intermediate).
    mesh = jax.make_mesh((len(devices),), (DATA_AXIS,),
                         axis_types=(jax.sharding.AxisType.Auto,), devices=devices)
    replicated = jax.NamedSharding(mesh, jax.P())
    batch = jax.NamedSharding(mesh, jax.P(DATA_AXIS))
    return (lambda tree: _replicate(tree, replicated)), batch
