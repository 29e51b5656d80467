"""Checkpoints: one ``.npz`` file, written atomically, verified when read.

Layout of the file (a NumPy ``.npz``, i.e. a zip archive whose members carry CRC-32s):

* ``header``: UTF-8 JSON as a ``uint8`` array: ``format`` (``FORMAT``), ``version``,
  the tree descriptions of ``params``, ``state`` and ``opt_state`` (nested dict / tuple /
  list / NamedTuple / None nodes, leaves with shape and dtype), ``fingerprint`` (SHA-256
  of the model and optimizer tree descriptions), ``step``, ``epoch``, the PRNG key
  (implementation name; its data is a leaf), ``history``, ``meta`` and ``sha256`` of
  every leaf's bytes.
* ``leaf_<i>``: the raw bytes of leaf ``i`` as ``uint8`` (any dtype, bfloat16 included).

Writing goes to a temporary file in the same directory, which is flushed and fsync'ed,
then renamed over the target with ``os.replace`` (atomic on POSIX and Windows), and the
directory is fsync'ed: a crash at any point leaves either the old file or the new one,
never a mixture. Reading checks the archive, the header, the checksum and (given
``like``) the tree structure, and raises ``CheckpointError`` on any mismatch.
"""

import collections
import hashlib
import io
import json
import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np

from fdl._io import atomic_open

FORMAT = "fdl.train.checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is missing, corrupt, truncated or does not match the model."""


# ------------------------------------------------------------------ tree descriptions


def _is_namedtuple(node):
    return isinstance(node, tuple) and hasattr(node, "_fields")


def _is_key(x):
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def describe(tree, arrays=None):
    """A JSON-able description of ``tree``; appends its leaves to ``arrays`` if given.

    Leaves may be arrays or ``jax.ShapeDtypeStruct`` (for templates).
    """
    if tree is None:
        return {"t": "none"}
    if isinstance(tree, dict):
        keys = sorted(tree)
        if not all(isinstance(k, str) for k in keys):
            raise TypeError(f"checkpoint trees need string dict keys, got {keys!r}")
        return {"t": "dict", "keys": keys, "c": [describe(tree[k], arrays) for k in keys]}
    if _is_namedtuple(tree):
        cls = type(tree)
        return {
            "t": "namedtuple",
            "cls": f"{cls.__module__}:{cls.__qualname__}",
            "fields": list(tree._fields),
            "c": [describe(v, arrays) for v in tree],
        }
    if isinstance(tree, (tuple, list)):
        return {"t": type(tree).__name__, "c": [describe(v, arrays) for v in tree]}
    if _is_key(tree):
        raise TypeError("checkpoint trees cannot hold PRNG keys; pass the key as key=")
    if isinstance(tree, jax.ShapeDtypeStruct):
        shape, dtype = tree.shape, np.dtype(tree.dtype)
    else:
        if isinstance(tree, jax.Array):
            tree = jax.device_get(tree)
        array = np.asarray(tree)
        shape, dtype = array.shape, array.dtype
        if arrays is not None:
            arrays.append(array)
    return {"t": "leaf", "shape": list(shape), "dtype": dtype.name}


def _fingerprint(*descriptions):
    text = json.dumps(descriptions, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _difference(got, want, where="root"):
    """The first place where two descriptions differ, as a sentence; None if equal."""
    if got.get("t") != want.get("t"):
        return f"at {where}: the file has a {got.get('t')} node, expected a {want.get('t')}"
    kind = got["t"]
    if kind == "leaf":
        if got["shape"] != want["shape"] or got["dtype"] != want["dtype"]:
            return (
                f"at {where}: the file has an array of shape {tuple(got['shape'])} "
                f"{got['dtype']}, expected {tuple(want['shape'])} {want['dtype']}"
            )
        return None
    if kind == "dict" and got["keys"] != want["keys"]:
        return f"at {where}: the file has keys {got['keys']}, expected {want['keys']}"
    if kind == "namedtuple" and (got["cls"], got["fields"]) != (want["cls"], want["fields"]):
        return f"at {where}: the file has a {got['cls']}, expected a {want['cls']}"
    children_got, children_want = got.get("c", []), want.get("c", [])
    if len(children_got) != len(children_want):
        return (
            f"at {where}: the file has {len(children_got)} entries, expected "
            f"{len(children_want)}"
        )
    names = got["keys"] if kind == "dict" else got.get("fields") or range(len(children_got))
    for name, g, w in zip(names, children_got, children_want):
        found = _difference(g, w, f"{where}[{name!r}]" if kind == "dict" else f"{where}[{name}]")
        if found:
            return found
    return None


def _rebuild(desc, leaves):
    kind = desc["t"]
    if kind == "none":
        return None
    if kind == "leaf":
        return next(leaves)
    children = [_rebuild(c, leaves) for c in desc["c"]]
    if kind == "dict":
        return dict(zip(desc["keys"], children))
    if kind == "namedtuple":
        # A file never names code to import: without the caller's template, a plain
        # namedtuple with the saved fields stands in for the saved class.
        name = desc["cls"].rpartition(".")[2].rpartition(":")[2]
        if not name.isidentifier():
            name = "SavedTuple"
        return collections.namedtuple(name, desc["fields"])(*children)
    if kind == "list":
        return children
    return tuple(children)


# ------------------------------------------------------------------ writing


def save_checkpoint(path, *, params, state, opt_state, step, epoch, key, history=None,
                    meta=None):
    """Writes one checkpoint file atomically (the old file survives any failure).

    Args:
      path: the file to write (any name; ``.npz`` is conventional). Its directory is
        created if needed.
      params, state, opt_state: the model parameters, model state and optimizer state
        (pytrees of dicts, tuples, lists, NamedTuples and arrays).
      step: the number of optimizer updates done.
      epoch: the number of completed epochs.
      key: the run's PRNG key (a typed ``jax.random.key`` or a raw ``uint32`` key).
      history: a ``History`` or dict of lists (JSON-able).
      meta: any extra JSON-able dict.
    """
    arrays = []
    trees = {
        "params": describe(params, arrays),
        "state": describe(state, arrays),
        "opt_state": describe(opt_state, arrays),
    }
    key = jnp.asarray(key) if not _is_key(key) else key
    if _is_key(key):
        key_info = {"typed": True, "impl": str(jax.random.key_impl(key))}
        arrays.append(np.asarray(jax.device_get(jax.random.key_data(key))))
    else:
        key_info = {"typed": False}
        arrays.append(np.asarray(jax.device_get(key)))
    key_info["desc"] = describe(arrays[-1])
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    header = {
        "format": FORMAT,
        "version": VERSION,
        "trees": trees,
        "fingerprint": {
            "model": _fingerprint(trees["params"], trees["state"]),
            "optimizer": _fingerprint(trees["opt_state"]),
        },
        "step": int(step),
        "epoch": int(epoch),
        "key": key_info,
        "num_leaves": len(arrays),
        "sha256": digest.hexdigest(),
        "history": dict(history) if history is not None else None,
        "meta": meta or {},
    }
    members = {
        "header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    }
    for i, a in enumerate(arrays):
        members[f"leaf_{i}"] = np.frombuffer(np.ascontiguousarray(a).tobytes(), np.uint8)

    with atomic_open(path, "wb") as f:
        np.savez(f, **members)


# ------------------------------------------------------------------ reading


def _leaf_array(raw, desc, where):
    dtype = jnp.dtype(desc["dtype"])
    shape = tuple(desc["shape"])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if raw.size != expected:
        raise CheckpointError(f"{where}: a leaf has {raw.size} bytes, expected {expected}")
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)


def _leaf_descs(desc, out):
    if desc["t"] == "leaf":
        out.append(desc)
    for c in desc.get("c", []):
        _leaf_descs(c, out)
    return out


def _members(file, where, only=None):
    """The arrays of the ``.npz`` archive in the open ``file`` (those named in ``only``)."""
    try:
        archive = np.load(file, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy array
            raise CheckpointError(f"{where} is not an fdl.train checkpoint (one array, not "
                                  "an .npz archive)")
        with archive:
            return {name: archive[name] for name in (only or archive.files)
                    if name in archive.files}
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as err:
        raise CheckpointError(
            f"{where} is corrupt or truncated (not a readable .npz archive: {err})"
        ) from None


def _header(members, where):
    """The parsed header of an archive's members; ``CheckpointError`` if foreign."""
    try:
        header = json.loads(members["header"].tobytes().decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{where} is corrupt (bad header: {err})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{where} is not an fdl.train checkpoint")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{where} has format version {header.get('version')}; this fdl reads "
            f"version {VERSION}"
        )
    return header


def read_meta(path):
    """A checkpoint's ``meta`` dict, read from its header alone (no arrays are loaded).

    Raises:
      CheckpointError: the file is missing, not a readable archive or not an fdl
        checkpoint. (The arrays' checksums are verified by ``load_checkpoint``.)
    """
    where = f"checkpoint {os.fspath(path)!r}"
    try:
        with open(path, "rb") as f:
            members = _members(f, where, only=("header",))
    except OSError as err:
        raise CheckpointError(f"{where}: cannot be read ({err.strerror or err})") from None
    meta = _header(members, where).get("meta")
    return meta if isinstance(meta, dict) else {}


def load_checkpoint(path, *, like=None):
    """Reads a checkpoint written by ``save_checkpoint``.

    Args:
      path: the file.
      like: optional templates ``{"params": ..., "state": ..., "opt_state": ...}``
        (any subset; arrays or ``jax.ShapeDtypeStruct`` leaves): the file must hold the
        same tree structures, shapes and dtypes.
    Returns:
      ``dict(params, state, opt_state, step, epoch, key, history, meta, fingerprint)``
      with ``jax.Array`` leaves and the key as it was saved (typed keys rewrapped with
      ``jax.random.wrap_key_data``).
    Raises:
      CheckpointError: the file is missing, truncated, corrupt, not an fdl checkpoint,
        of an unknown version, or does not match ``like``.
    """
    where = f"checkpoint {os.fspath(path)!r}"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise CheckpointError(f"{where}: cannot be read ({err.strerror or err})") from None
    members = _members(io.BytesIO(data), where)
    try:
        header = _header(members, where)
        trees = header["trees"]
        descs = []
        for name in ("params", "state", "opt_state"):
            _leaf_descs(trees[name], descs)
        descs.append(header["key"]["desc"])
        if len(descs) != header["num_leaves"]:
            raise CheckpointError(f"{where}: the header is inconsistent")
        arrays = [
            _leaf_array(members[f"leaf_{i}"], d, where) for i, d in enumerate(descs)
        ]
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{where} is corrupt (bad header or missing data: {err})") from None
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(a.tobytes())
    if digest.hexdigest() != header["sha256"]:
        raise CheckpointError(f"{where} is corrupt (checksum mismatch)")

    if like:
        unknown = set(like) - {"params", "state", "opt_state"}
        if unknown:
            raise TypeError(f"load_checkpoint: like has unknown entries {sorted(unknown)}")
        for name, template in like.items():
            found = _difference(trees[name], describe(template), name)
            if found:
                what = "optimizer" if name == "opt_state" else "model"
                raise CheckpointError(
                    f"{where} does not match this {what}: {found}"
                )

    leaves = iter(jnp.asarray(a) for a in arrays)
    out = {}
    for name in ("params", "state", "opt_state"):
        if like and name in like:
            # Restored into the caller's structure (its NamedTuple classes included); the
            # descriptions matched, so the leaves come in the template's flattening order.
            treedef = jax.tree.structure(like[name])
            out[name] = jax.tree.unflatten(
                treedef, [next(leaves) for _ in range(treedef.num_leaves)])
        else:
            out[name] = _rebuild(trees[name], leaves)
    key_data = next(leaves)
    key_info = header["key"]
    out["key"] = (
        jax.random.wrap_key_data(key_data, impl=key_info["impl"])
        if key_info["typed"] else key_data
    )
    out.update(
        step=header["step"],
        epoch=header["epoch"],
        history=header["history"],
        meta=header["meta"],
        fingerprint=header["fingerprint"],
    )
    return out


# ------------------------------------------------------------------ TrainState


def save_train_state(path, run, meta=None):
    """Writes a ``TrainState`` as one checkpoint file (atomically; see ``save_checkpoint``)."""
    save_checkpoint(path, params=run.params, state=run.state, opt_state=run.opt_state,
                    step=run.step, epoch=run.epoch, key=run.key, history=run.history,
                    meta=meta)


def load_train_state(path, *, like):
    """Reads a checkpoint into the structure of the ``TrainState`` ``like``.

    The file must hold ``like``'s params, state and optimizer-state structures, shapes
    and dtypes; they are rebuilt as ``like``'s own containers (nothing named in the file
    is imported). Returns ``(TrainState, meta)``.

    Raises:
      CheckpointError: a missing, truncated, corrupt or foreign file, or one that does
        not match ``like``.
    """
    from fdl.train._history import History
    from fdl.train._state import TrainState

    ckpt = load_checkpoint(path, like={"params": like.params, "state": like.state,
                                       "opt_state": like.opt_state})
    run = TrainState(ckpt["params"], ckpt["state"], ckpt["opt_state"], epoch=ckpt["epoch"],
                     step=ckpt["step"], key=ckpt["key"], history=History(ckpt["history"] or {}))
    return run, ckpt["meta"]
