"""``fdl train --data DIR`` on a CIFAR-10 directory of small fake batches, in-process."""

import io
import json
import pickle

import numpy as np
import pytest

from fdl import cli, commands

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck")
# fdl train holds out the last 1,000 training images for validation (the CS231n split),
# so the five training batches must hold more than that: 5 x 220 leaves 100 to train on.
PER_TRAIN_BATCH = 220
PER_TEST_BATCH = 64


def write_cifar(directory, per_batch=PER_TRAIN_BATCH, seed=0):
    """The official layout: ``data_batch_1..5``, ``test_batch`` and ``batches.meta``,
    each a protocol-2 pickle with bytes keys and ``(N, 3072)`` uint8 CHW rows."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in files:
        n = PER_TEST_BATCH if name == "test_batch" else per_batch
        labels = rng.integers(0, 10, n)
        # A class-dependent brightness makes the labels learnable from the pixels.
        pixels = np.clip(rng.integers(0, 128, (n, 3072)) + 12 * labels[:, None], 0, 255)
        batch = {b"batch_label": name.encode(), b"labels": labels.tolist(),
                 b"data": pixels.astype(np.uint8)}
        (directory / name).write_bytes(pickle.dumps(batch, protocol=2))
    meta = {b"label_names": [n.encode() for n in NAMES], b"num_vis": 3072}
    (directory / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return directory


def test_train_mlp_on_a_cifar_directory(tmp_path, capsys, monkeypatch):
    data = write_cifar(tmp_path / "cifar-10-batches-py")
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path)  # --data given relative to the working directory
    status = cli.main(["train", "--data", ".", "--model", "softmax", "--epochs", "1",
                       "--batch-size", "20", "--lr", "1e-3", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    assert data.is_dir()
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert np.isfinite(metrics["final_train_loss"])
    assert len(metrics["history"]["loss"]) == 100 // 20  # 100 training images, one epoch
    for name in ("loss.png", "accuracy.png", "checkpoint.npz"):
        assert (out / name).stat().st_size > 0
    # Per class: the confusion matrix counts each test image once, in the row of its
    # true class, and its diagonal gives the reported test accuracy.
    cm = np.array(metrics["confusion_matrix"])
    test_labels = pickle.loads((data / "test_batch").read_bytes())[b"labels"]
    assert cm.shape == (10, 10) and cm.sum() == PER_TEST_BATCH
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(test_labels, minlength=10))
    per_class = metrics["per_class"]
    assert per_class["accuracy"] == metrics["test_accuracy"] == np.trace(cm) / PER_TEST_BATCH
    assert [c["name"] for c in per_class["classes"]] == list(NAMES)
    assert f"best class {per_class['best_class']} " in printed
    assert (out / "confusion.png").read_bytes().startswith(b"\x89PNG")
    assert printed.strip().splitlines()[-1].startswith("test accuracy:")
    assert "(100 train / 1000 val / 64 test)" in printed
    # The checkpoint records the data directory as an absolute path: fdl evaluate finds
    # it from any working directory and repeats the test accuracy.
    monkeypatch.chdir(out)
    evaluation = commands.run_evaluate("checkpoint.npz", stream=io.StringIO())
    assert evaluation["data"] == str(tmp_path)
    assert evaluation["accuracy"] == metrics["test_accuracy"]
    assert evaluation["per_class"]["classes"] == per_class["classes"]


def _one_line_error(capsys, argv):
    status = cli.main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    return err


def test_directory_without_batches_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    err = _one_line_error(capsys, ["train", "--data", str(tmp_path / "empty"), "--model", "mlp",
                                   "--epochs", "1", "--out", str(tmp_path / "run")])
    assert err.startswith("fdl train: error: --data")
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_missing_directory_is_a_usage_error(tmp_path, capsys):
    err = _one_line_error(capsys, ["train", "--data", str(tmp_path / "nowhere"), "--model",
                                   "mlp", "--epochs", "1", "--out", str(tmp_path / "run")])
    assert "--data" in err and "nowhere" in err


@pytest.mark.parametrize("damage", ["truncated", "wrong shape"])
def test_a_corrupt_batch_is_a_usage_error(tmp_path, capsys, damage):
    data = write_cifar(tmp_path, per_batch=PER_TRAIN_BATCH)
    target = data / "data_batch_3"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:100])
    else:
        batch = {b"labels": [0, 1], b"data": np.zeros((2, 100), np.uint8)}
        target.write_bytes(pickle.dumps(batch, protocol=2))
    err = _one_line_error(capsys, ["train", "--data", str(tmp_path), "--model", "mlp",
                                   "--epochs", "1", "--out", str(tmp_path / "run")])
    assert "data_batch_3" in err
