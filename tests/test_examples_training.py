"""The training examples run (``--quick``), write their plots and show what they claim."""

import importlib.util
import math
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


# The examples' tiny trainings compiled cheaply (conftest's quick_compiles).
pytestmark = pytest.mark.usefixtures("quick_compiles")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name, tmp_path, capsys):
    out = tmp_path / name
    returned = _load(name).main(["--quick", "--out", str(out)])
    printed = capsys.readouterr().out
    for plot in returned["plots"]:
        assert os.path.isfile(plot) and os.path.getsize(plot) > 1000, plot
        assert os.path.dirname(plot) == str(out)
    return returned, printed


def test_learning_rates(tmp_path, capsys):
    returned, printed = _run("learning_rates", tmp_path, capsys)
    r = returned["results"]
    assert "too low" in printed and "too high" in printed and "good" in printed
    # The good rate ends far lower than both bad ones; the too-low one has barely moved
    # from ln 10.
    assert r["good"]["final_loss"] < 0.5 * r["too high"]["final_loss"]
    assert r["good"]["final_loss"] < 0.5 * r["too low"]["final_loss"]
    assert r["too low"]["final_loss"] > 0.8 * math.log(10)
    assert r["good"]["val_accuracy"] > 0.85


def test_overfit_small_subset(tmp_path, capsys):
    returned, printed = _run("overfit_small_subset", tmp_path, capsys)
    result = returned["result"]
    assert result["train_accuracy"] == 1.0
    assert result["final_loss"] < 0.05 * result["initial_loss"]
    assert result["val_accuracy"] < 0.95  # memorised 20 examples, not learned the task
    assert "1.000" in printed


def test_batchnorm(tmp_path, capsys):
    returned, printed = _run("batchnorm", tmp_path, capsys)
    without, with_bn = returned["results"]["without batch norm"], returned["results"]["with batch norm"]
    assert without["final_loss"] == pytest.approx(math.log(10), abs=0.05)  # stuck at chance
    assert with_bn["final_loss"] < 0.5 * without["final_loss"]
    assert with_bn["val_accuracy"] > 0.8 > without["val_accuracy"]
    assert "with batch norm" in printed


def test_dropout(tmp_path, capsys):
    returned, printed = _run("dropout", tmp_path, capsys)
    plain, dropped = returned["results"]["no dropout"], returned["results"]["dropout 0.5"]
    assert plain["train_accuracy"] == 1.0 and plain["gap"] > 0.03  # overfitting shows
    # Dropout's noise keeps the training loss up: it regularises.
    assert dropped["final_train_loss"] > 2 * plain["final_train_loss"]
    assert "dropout 0.5" in printed


def test_features_and_boundaries(tmp_path, capsys):
    returned, printed = _run("features_and_boundaries", tmp_path, capsys)
    r = returned["results"]
    assert len(returned["plots"]) == 4
    # No line separates two rings: a linear classifier on (x, y) stays near chance (0.5);
    # on (r, theta) a threshold on r does, and the same classifier is (nearly) perfect.
    assert r["circles: linear on (x, y)"]["test_accuracy"] < 0.7
    assert r["circles: linear on (r, theta)"]["test_accuracy"] > 0.97
    # Three spiral arms: linear well below the 2-layer net (CS231n: ~50% vs ~98%).
    assert r["spiral: linear"]["test_accuracy"] < 0.65
    assert r["spiral: 2-layer net (100 hidden)"]["test_accuracy"] > 0.9
    assert "linear on (r, theta)" in printed
