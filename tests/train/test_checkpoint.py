"""Checkpoints: exact resume, atomic writes, corruption and mismatch detection, divergence."""

import os

import jax
import numpy as np
import pytest

from fdl import init, losses, models, optim, train

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

CE = losses.softmax_cross_entropy


def _data(n=80, d=10, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.argmax(x @ rng.standard_normal((d, classes)), axis=1).astype(np.int32)
    return x, y


def _files(directory):
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_resume_equals_uninterrupted(tmp_path, dropout):
    x, y = _data()
    model = models.mlp([8], 3, dropout=dropout)
    opt = optim.momentum(0.05)
    kw = dict(loss=CE, optimizer=opt, batch_size=16, key=jax.random.key(7), val_data=(x, y))
    full, full_state, full_hist = train.fit(model, (x, y), epochs=3,
                                            checkpoint=tmp_path / "full.npz", **kw)
    path = tmp_path / "run.npz"
    train.fit(model, (x, y), epochs=1, checkpoint=path, **kw)
    assert train.load_checkpoint(path)["epoch"] == 1
    resumed, resumed_state, hist = train.fit(model, (x, y), epochs=3, checkpoint=path,
                                             resume=path, **kw)
    for a, b in zip(jax.tree.leaves(full), jax.tree.leaves(resumed)):
        np.testing.assert_array_equal(a, b)
    assert hist["loss"] == full_hist["loss"]
    assert hist["val_accuracy"] == full_hist["val_accuracy"]
    ckpt = train.load_checkpoint(path)
    assert ckpt["epoch"] == 3 and ckpt["step"] == 3 * (80 // 16)
    for a, b in zip(jax.tree.leaves(ckpt["params"]), jax.tree.leaves(full)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(jax.random.key_data(ckpt["key"]),
                                  jax.random.key_data(jax.random.key(7)))
    assert _files(tmp_path) == ["full.npz", "run.npz"]  # no temporary files left


def _state(seed=0):
    # The widths and input of test_resume_equals_uninterrupted's model (its initial draws
    # are compiled), with batch norm for a state to save.
    model = models.mlp([8], 3, batchnorm=True)
    params, state = model.init(jax.random.key(seed), (10,))
    opt = optim.adam(1e-3)
    return model, params, state, opt.init(params)


def _save(path, params, state, opt_state, epoch=1):
    train.save_checkpoint(path, params=params, state=state, opt_state=opt_state, step=10,
                          epoch=epoch, key=jax.random.key(3), history={"loss": [1.0, 0.5]},
                          meta={"note": "x"})


def test_round_trip_restores_trees(tmp_path):
    model, params, state, opt_state = _state()
    path = tmp_path / "c.npz"
    _save(path, params, state, opt_state)
    ckpt = train.load_checkpoint(path, like={"params": params, "state": state,
                                             "opt_state": opt_state})
    assert jax.tree.structure(ckpt["opt_state"]) == jax.tree.structure(opt_state)
    assert type(ckpt["opt_state"]) is type(opt_state)
    for a, b in zip(jax.tree.leaves((params, state, opt_state)),
                    jax.tree.leaves((ckpt["params"], ckpt["state"], ckpt["opt_state"]))):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert ckpt["history"] == {"loss": [1.0, 0.5]} and ckpt["meta"] == {"note": "x"}
    assert (ckpt["step"], ckpt["epoch"]) == (10, 1)


def test_train_state_round_trip_into_the_callers_structure(tmp_path):
    _, params, state, opt_state = _state()
    history = train.History({"loss": [2.0, 1.5], "epoch_loss": [1.75]})
    run = train.TrainState(params, state, opt_state, epoch=1, step=4, key=jax.random.key(7),
                           history=history)
    path = tmp_path / "run.npz"
    train.save_train_state(path, run, meta={"batch_size": 8})
    restored, meta = train.load_train_state(path, like=run)
    assert isinstance(restored, train.TrainState) and meta == {"batch_size": 8}
    assert (restored.epoch, restored.step) == (1, 4)
    assert type(restored.opt_state) is type(opt_state)  # the caller's class, not an import
    assert jax.tree.structure(restored.params) == jax.tree.structure(params)
    for a, b in zip(jax.tree.leaves((params, state, opt_state)),
                    jax.tree.leaves((restored.params, restored.state, restored.opt_state))):
        np.testing.assert_array_equal(a, b)
    assert isinstance(restored.history, train.History) and restored.history["loss"] == [2.0, 1.5]
    np.testing.assert_array_equal(jax.random.key_data(restored.key),
                                  jax.random.key_data(run.key))
    # Another model's state is refused with one clear error; so are foreign files.
    other = run._replace(params=jax.tree.map(lambda a: a[..., :1], params))
    with pytest.raises(train.CheckpointError, match="does not match|differ|shape"):
        train.load_train_state(path, like=other)
    (tmp_path / "foreign.npz").write_bytes(b"PK\x03\x04 not ours")
    with pytest.raises(train.CheckpointError):
        train.load_train_state(tmp_path / "foreign.npz", like=run)


def test_crash_mid_save_keeps_previous_file(tmp_path, monkeypatch):
    _, params, state, opt_state = _state()
    path = tmp_path / "c.npz"
    _save(path, params, state, opt_state, epoch=1)
    before = path.read_bytes()

    real_savez = np.savez

    def crashing_savez(f, **members):
        real_savez(f, **members)
        f.truncate(f.tell() // 2)  # half written, then the "power cut"
        raise OSError("simulated crash")

    monkeypatch.setattr(np, "savez", crashing_savez)
    with pytest.raises(OSError, match="simulated crash"):
        _save(path, params, state, opt_state, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert train.load_checkpoint(path)["epoch"] == 1
    assert _files(tmp_path) == ["c.npz"]

    def crashing_replace(src, dst):
        raise OSError("simulated crash in replace")

    monkeypatch.setattr(os, "replace", crashing_replace)
    with pytest.raises(OSError, match="replace"):
        _save(path, params, state, opt_state, epoch=2)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["c.npz"]


def test_corrupt_or_truncated_file_is_refused(tmp_path):
    _, params, state, opt_state = _state()
    path = tmp_path / "c.npz"
    _save(path, params, state, opt_state)
    good = path.read_bytes()
    for name, content in [
        ("truncated.npz", good[: len(good) // 2]),
        ("short.npz", good[:10]),
        ("empty.npz", b""),
        ("flipped.npz", good[:200] + bytes([good[200] ^ 0xFF]) + good[201:]),
        ("text.npz", b"not a checkpoint"),
    ]:
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(train.CheckpointError, match="corrupt|truncated|not"):
            train.load_checkpoint(bad)
    with pytest.raises(train.CheckpointError, match="cannot be read"):
        train.load_checkpoint(tmp_path / "missing.npz")
    assert issubclass(train.CheckpointError, ValueError)


def test_mismatched_model_is_refused_and_nothing_overwritten(tmp_path):
    x, y = _data()
    path = tmp_path / "c.npz"
    # The model, optimizer and data of test_resume_equals_uninterrupted[0.0]: its compiled epoch.
    kw = dict(loss=CE, optimizer=optim.momentum(0.05), batch_size=16, key=jax.random.key(0))
    train.fit(models.mlp([8], 3), (x, y), epochs=1, checkpoint=path, **kw)
    before = path.read_bytes()
    # A model with a layer more (batch norm; it draws what the saved model drew, so no
    # new draw compiles). A leaf of another shape is refused in
    # test_train_state_round_trip_into_the_callers_structure.
    with pytest.raises(train.CheckpointError, match="does not match this model"):
        train.fit(models.mlp([8], 3, batchnorm=True), (x, y), epochs=2, checkpoint=path,
                  resume=path, **kw)
    with pytest.raises(train.CheckpointError, match="does not match this optimizer"):
        train.fit(models.mlp([8], 3), (x, y), epochs=2, checkpoint=path, resume=path,
                  **{**kw, "optimizer": optim.adam(1e-3)})
    assert path.read_bytes() == before
    _, params, state, opt_state = _state()
    with pytest.raises(train.CheckpointError, match=r"expected 5"):
        train.load_checkpoint(path, like={"params": params})


# The model, data and batch size of the three tests below (divergence, and noise that is
# not divergence): with SGD (its learning rate is traced) they share one compiled epoch.
SMALL = models.mlp([4], 3)


def _noisy_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = (np.arange(64) % 3).astype(np.int32)  # labels unrelated to x: noisy losses
    return x, y


def test_divergence_raises_and_keeps_last_good_checkpoint(tmp_path):
    x, y = _noisy_data()
    x = x * 10
    path = tmp_path / "c.npz"
    with pytest.raises(train.TrainingDiverged, match="learning rate") as info:
        train.fit(SMALL, (x, y), loss=CE, optimizer=optim.sgd(1e3), epochs=5,
                  batch_size=8, key=jax.random.key(0), checkpoint=path)
    err = info.value
    assert isinstance(err, RuntimeError)
    good_epochs = err.history.epochs
    assert err.epoch == good_epochs
    if good_epochs:
        ckpt = train.load_checkpoint(path)
        assert ckpt["epoch"] == good_epochs
        for a, b in zip(jax.tree.leaves(ckpt["params"]), jax.tree.leaves(err.params)):
            np.testing.assert_array_equal(a, b)
    else:
        assert not path.exists()
    assert all(np.isfinite(v) for v in jax.tree.leaves(jax.tree.map(np.sum, err.params)))


def test_divergence_after_good_epochs_keeps_their_checkpoint(tmp_path):
    x, y = _noisy_data()
    path = tmp_path / "c.npz"
    kw = dict(loss=CE, batch_size=8, key=jax.random.key(0), checkpoint=path)
    train.fit(SMALL, (x, y), optimizer=optim.sgd(0.1), epochs=2, **kw)
    saved = path.read_bytes()
    with pytest.raises(train.TrainingDiverged) as info:
        train.fit(SMALL, (x * 10, y), optimizer=optim.sgd(1e3), epochs=4, resume=path, **kw)
    assert path.read_bytes() == saved
    assert info.value.history.epochs == 2


def test_noisy_small_batches_do_not_count_as_divergence():
    x, y = _noisy_data()
    # Kaiming weights in every layer (the score layer included): a first loss far from ln 3
    # and per-batch losses that swing by more than 3x. Drawn here (as fit would draw them
    # from its key) and handed to SMALL, whose compiled epoch the tests above made: the
    # initialiser is part of a model's configuration, not of its training step.
    kaiming = models.mlp([4], 3, w_init=init.kaiming_normal)
    init_key, _ = jax.random.split(jax.random.key(0))
    params, state = kaiming.init(init_key, (6,))
    _, _, history = train.fit(SMALL, (x, y), loss=CE, optimizer=optim.sgd(0.1), epochs=2,
                              batch_size=8, key=jax.random.key(0), params=params,
                              state=state)
    assert max(history["loss"]) > 3 * history["loss"][0]  # one step alone would trip it
    assert history.epochs == 2
