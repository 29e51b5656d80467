"""Using a model ``fdl train`` saved: ``fdl evaluate``, ``fdl predict`` and the checkpoint's
rebuild record (``fdl.commands._trained``), run in-process through ``fdl.cli.main``."""

import csv
import io
import json
import sys

import jax
import numpy as np
import pytest

from fdl import cli, commands, data, models, train
from fdl.commands import _train, _trained

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

# Trained once for the module: an MLP with batch norm (running statistics in ``state``)
# and dropout (a layer that acts only in training), for one epoch: enough for
# predictions that differ between classes.
RUN = ["--model", "mlp", "--batchnorm", "--dropout", "0.2", "--batch-size", "64",
       "--epochs", "1"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(out directory, metrics.json)`` of the training run."""
    with pytest.MonkeyPatch.context() as patch:
        # Plots are tested with fdl train itself; here they would only cost time.
        for name in ("matplotlib", "matplotlib.pyplot"):
            patch.setitem(sys.modules, name, None)
        out = tmp_path_factory.mktemp("run")
        assert cli.main(["train", *RUN, "--out", str(out)]) == 0
    return out, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def digits():
    return data.load_digits(seed=0)


def test_evaluate_repeats_train_test_metrics_exactly(run, tmp_path, capsys):
    out, metrics = run
    capsys.readouterr()
    assert cli.main(["evaluate", str(out / "checkpoint.npz"), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    evaluation = json.loads((tmp_path / "evaluation.json").read_text())
    # Exact equality: the same split, parameters and evaluation code as fdl train's.
    assert evaluation["accuracy"] == metrics["test_accuracy"]
    assert evaluation["loss"] == metrics["test_loss"]
    assert evaluation["confusion_matrix"] == metrics["confusion_matrix"]
    assert evaluation["per_class"] == metrics["per_class"]
    assert evaluation["split"] == "test" and evaluation["examples"] == 300
    assert f"test accuracy: {metrics['test_accuracy']:.4f}" in printed
    assert "worst class" in printed


def test_evaluate_other_splits_and_the_val_accuracy(run):
    out, metrics = run
    result = _evaluate_quietly(out / "checkpoint.npz", split="val")
    assert result["accuracy"] == metrics["val_accuracy"]  # fit records it the same way
    assert result["examples"] == 300


def _evaluate_quietly(checkpoint, **kwargs):
    return commands.run_evaluate(str(checkpoint), stream=io.StringIO(), **kwargs)


def test_checkpoint_records_how_to_rebuild_the_model(run):
    out, _ = run
    meta = train.load_checkpoint(out / "checkpoint.npz")["meta"]
    spec = meta["rebuild"]
    assert spec["builder"] == "mlp"
    assert spec["args"] == [[100], 10]
    assert spec["kwargs"] == {"batchnorm": True, "dropout": 0.2, "manual": False}
    assert meta["config"]["model"] == "mlp"
    assert spec["loss"] == "softmax_cross_entropy"
    assert spec["input_shape"] == [8, 8, 1]
    assert spec["class_names"] == [str(c) for c in range(10)]
    assert spec["input_range"] == [0.0, 1.0]
    assert spec["data"] == "digits" and spec["compute_dtype"] is None
    assert meta["fdl_version"]


def _softmax_rows(scores):
    z = scores - scores.max(axis=1, keepdims=True)
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def test_predict_csv_gives_train_predict_classes_and_softmax_probabilities(
        run, digits, tmp_path, capsys):
    out, _ = run
    x = np.asarray(digits.test.x[:7])
    np.save(tmp_path / "x.npy", x)
    capsys.readouterr()
    assert cli.main(["predict", str(out / "checkpoint.npz"), str(tmp_path / "x.npy")]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    rows = list(csv.reader(io.StringIO(captured.out)))
    assert rows[0] == ["row", "class", "name"] + [f"probability_{c}" for c in range(10)]
    assert len(rows) == 1 + len(x)
    trained = commands.load_trained(str(out / "checkpoint.npz"))
    labels = np.asarray(train.predict(trained.model, trained.params, trained.state, x))
    assert len(set(labels.tolist())) > 3  # a model that tells digits apart
    scores = np.asarray(trained.model.apply(trained.params, trained.state, x)[0], np.float64)
    got = np.array([[float(v) for v in r[3:]] for r in rows[1:]])
    assert [int(r[1]) for r in rows[1:]] == labels.tolist()
    assert [r[2] for r in rows[1:]] == [str(k) for k in labels]
    # float32 scores (eager here, jitted in predict: sums may run in another order) carry
    # ~1e-6 relative error, which the softmax's exp passes on to the probabilities, and six
    # significant digits are printed: 2e-5 relative, with a floor for values near 0.
    np.testing.assert_allclose(got, _softmax_rows(scores), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)  # 10 rounded entries


def test_predict_json_accepts_flat_rows_and_one_example(run, digits, tmp_path, capsys):
    out, _ = run
    checkpoint = str(out / "checkpoint.npz")
    x = np.asarray(digits.test.x[:3])
    np.save(tmp_path / "flat.npy", x.reshape(3, 64))
    np.save(tmp_path / "one.npy", x[0])
    target = tmp_path / "predictions.json"
    assert cli.main(["predict", checkpoint, str(tmp_path / "flat.npy"), "--format", "json",
                     "--out", str(target)]) == 0
    result = json.loads(target.read_text())
    assert result["classes"] == [str(c) for c in range(10)]
    assert result["values"] == "probabilities"
    assert [p["row"] for p in result["predictions"]] == [0, 1, 2]
    capsys.readouterr()
    assert cli.main(["predict", checkpoint, str(tmp_path / "one.npy"), "--format", "json"]) == 0
    single = json.loads(capsys.readouterr().out)["predictions"]
    assert len(single) == 1
    assert single[0]["class"] == result["predictions"][0]["class"]
    assert single[0]["probabilities"] == pytest.approx(result["predictions"][0]["probabilities"],
                                                       rel=1e-6)  # one row vs three: same op


def test_predict_warns_when_values_are_off_the_training_scale(run, digits, tmp_path, capsys):
    out, _ = run
    np.save(tmp_path / "raw.npy", np.asarray(digits.test.x[:2]) * 16)  # 0..16, not 0..1
    assert cli.main(["predict", str(out / "checkpoint.npz"), str(tmp_path / "raw.npy")]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "[0, 1]" in err and err.count("\n") == 1


def _svm_checkpoint(path, record=True, **changes):
    """A hinge-loss linear model's checkpoint, written without training (fast). ``changes``
    replace entries of its rebuild record; ``record=False`` leaves the record out."""
    model = models.linear(3)
    params, state = model.init(jax.random.key(1), (4,))
    spec = _trained.rebuild_spec("linear", (3,), {"manual": False}, loss="svm",
                                 input_shape=(4,), class_names=("a", "b", "c"),
                                 input_range=(-1.0, 1.0), compute_dtype=None, data="digits")
    train.save_checkpoint(path, params=params, state=state, opt_state=(), step=0, epoch=0,
                          key=jax.random.key(0),
                          meta={"rebuild": dict(spec, **changes)} if record else None)
    return model, params, state


def test_predict_writes_an_svm_scores_not_probabilities(tmp_path, capsys):
    model, params, state = _svm_checkpoint(tmp_path / "svm.npz")
    x = np.random.default_rng(0).uniform(-1, 1, (5, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert cli.main(["predict", str(tmp_path / "svm.npz"), str(tmp_path / "x.npy")]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["row", "class", "name", "score_a", "score_b", "score_c"]
    scores = np.asarray(model.apply(params, state, x)[0])
    np.testing.assert_allclose([[float(v) for v in r[3:]] for r in rows[1:]], scores,
                               rtol=2e-6, atol=1e-7)  # six significant digits printed
    assert [r[2] for r in rows[1:]] == ["abc"[k] for k in scores.argmax(axis=1)]


@pytest.mark.parametrize("content, fragment", [
    (np.zeros((2, 5), np.float32), "expected rows of shape (4,)"),
    (np.array([["a", "b", "c", "d"]]), "expected numbers"),
    (np.array([[0.0, np.nan, 0.0, 0.0]], np.float32), "NaN"),
    (np.array([1, "x"], dtype=object), "not a readable .npy"),  # refuses to unpickle
])
def test_predict_bad_arrays_are_one_line_usage_errors(tmp_path, capsys, content, fragment):
    _svm_checkpoint(tmp_path / "svm.npz")
    np.save(tmp_path / "bad.npy", content, allow_pickle=True)
    assert cli.main(["predict", str(tmp_path / "svm.npz"), str(tmp_path / "bad.npy")]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_evaluate_and_predict_refuse_bad_checkpoints_in_one_line(tmp_path, capsys):
    np.save(tmp_path / "array.npy", np.zeros(3))
    (tmp_path / "truncated.npz").write_bytes(b"PK\x03\x04 not really")
    _svm_checkpoint(tmp_path / "bare.npz", record=False)
    _svm_checkpoint(tmp_path / "foreign.npz", builder="os.system")
    # The record says 5 classes, the parameters hold 3.
    _svm_checkpoint(tmp_path / "wrong.npz", args=[5])
    cases = {
        "missing.npz": "no checkpoint file",
        "array.npy": "not an fdl.train checkpoint",
        "truncated.npz": "corrupt or truncated",
        "bare.npz": "does not record how to rebuild",
        "foreign.npz": "not one of fdl train's",
        "wrong.npz": "does not match this model",
    }
    for name, fragment in cases.items():
        for command in (["evaluate"], ["predict"]):
            argv = [*command, str(tmp_path / name)] + (
                [str(tmp_path / "array.npy")] if command == ["predict"] else [])
            assert cli.main(argv) == 2, name
            err = capsys.readouterr().err
            assert fragment in err and err.count("\n") == 1, (name, err)


def test_evaluate_refuses_data_the_model_cannot_take(run, tmp_path, capsys):
    from fdl.commands._errors import UsageError

    _svm_checkpoint(tmp_path / "svm.npz")  # 4 features, 3 classes: not digits' shape
    with pytest.raises(UsageError, match=r"the model takes \(4,\) in 3 classes"):
        _evaluate_quietly(tmp_path / "svm.npz")


@pytest.mark.parametrize("model_name", _train.MODELS)
def test_every_train_model_rebuilds_from_its_record(model_name):
    # The record goes through JSON (lists for tuples) and back: the rebuilt model has the
    # same parameter structure and shapes as fdl train's.
    cfg = _train.TrainConfig(model=model_name, batchnorm=True)
    builder, args, kwargs, loss = _train._model_recipe(cfg, 10)
    spec = _trained.rebuild_spec(builder, args, kwargs, loss=loss, input_shape=(32, 32, 3),
                                 class_names=range(10), input_range=(0, 1),
                                 compute_dtype=None, data="cifar")
    rebuilt, loss_fn = _trained.build(json.loads(json.dumps(spec)))
    # Builders compare by configuration: the rebuilt model is fdl train's.
    assert rebuilt == getattr(models, builder)(*args, **kwargs)
    assert loss_fn.__name__ == loss
