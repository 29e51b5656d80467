"""``fdl train --sanity`` and ``--augment``, run in-process through ``fdl.cli.main``."""

import json
import math

import pytest

from fdl import cli, commands, data

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")


def test_sanity_passes_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "run"
    status = cli.main(["train", "--sanity", "--model", "softmax", "--lr", "0.05",
                       "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    for name in ("initial_loss", "regularization_raises_loss", "overfit_small_subset"):
        assert name in printed
    assert "all checks passed" in printed
    report = json.loads((out / "sanity.json").read_text())
    assert report["passed"] is True
    assert [c["name"] for c in report["checks"]] == [
        "initial_loss", "regularization_raises_loss", "overfit_small_subset"]
    initial = report["checks"][0]
    assert initial["expected"] == math.log(10)
    assert abs(initial["measured"] - math.log(10)) < 0.05  # a linear model starts tiny
    assert report["checks"][2]["measured"] == 1.0
    assert not (out / "metrics.json").exists()  # no full training
    assert not (out / "checkpoint.npz").exists()


def test_sanity_svm_expects_c_minus_1_and_fails_with_exit_1(tmp_path, capsys):
    # A learning rate far too small for 200 steps: the model cannot overfit 20 examples.
    out = tmp_path / "run"
    status = cli.main(["train", "--sanity", "--model", "linear-svm", "--optimizer", "sgd",
                       "--lr", "1e-7", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 1
    assert "FAILED: overfit_small_subset" in printed
    report = json.loads((out / "sanity.json").read_text())
    assert report["passed"] is False
    assert report["checks"][0]["expected"] == 9.0
    assert [c["passed"] for c in report["checks"]] == [True, True, False]


def test_sanity_usage_error_exits_2(tmp_path, capsys):
    status = cli.main(["train", "--sanity", "--model", "nope", "--out", str(tmp_path)])
    assert status == 2
    assert "unknown model" in capsys.readouterr().err


def test_augment_devices_and_bf16_flags_train_and_are_recorded(tmp_path, capsys,
                                                               without_matplotlib):
    # A linear model: the flags' plumbing is tested here, augmented training in
    # tests/train/test_augment.py and an MLP learning in bfloat16 in
    # tests/train/test_bf16.py; a smaller program to compile than an MLP's. One run for
    # the three flags, so one compiled epoch (data-parallel training itself: tests/train,
    # on simulated devices).
    out = tmp_path / "run"
    status = cli.main(["train", "--model", "softmax", "--epochs", "1", "--augment",
                       "--devices", "all", "--bf16", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["augment"] is True
    assert metrics["config"]["devices"] == "all"
    assert metrics["config"]["bf16"] is True
    # bfloat16 rounding does not stop it learning: 0.67, as in float32 with the crops
    # (0.84 in bfloat16 without them); chance is 0.1.
    assert metrics["test_accuracy"] > 0.5


def test_augmentation_choice_per_data_set():
    from fdl.commands import _train

    digits = _train._augmentation(commands.TrainConfig(data="digits", augment=True))
    assert digits == data.augmentation(crop_padding=1)  # no flip: digits are not symmetric
    cifar = _train._augmentation(commands.TrainConfig(data="/some/cifar", augment=True))
    assert cifar == data.augmentation(crop_padding=4, flip=True)
    assert _train._augmentation(commands.TrainConfig()) is None


def test_help_mentions_the_new_flags(capsys):
    try:
        cli.main(["train", "--help"])
    except SystemExit as exit_info:
        assert exit_info.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal
    assert "--sanity" in text and "--augment" in text and "flipped digit" in text


def test_bad_devices_are_usage_errors(tmp_path, capsys):
    import jax

    too_many = str(len(jax.devices()) + 1)
    for value, words in ((too_many, "available"), ("0", "positive"), ("two", "positive")):
        status = cli.main(["train", "--devices", value, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert status == 2
        assert err.count("\n") == 1 and "--devices" in err and words in err, err
