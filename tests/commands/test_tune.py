"""``fdl tune``, run in-process through ``fdl.cli.main``."""

import json
import math

import pytest

from fdl import cli

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")


def _tune(out, *extra):
    # Every search here takes minibatches of 32 (not the default 64), so that a model's
    # searches share one compiled epoch and the best command carries a non-default size.
    return cli.main(["tune", "--trials", "3", "--epochs", "2", "--seed", "7",
                     "--batch-size", "32", "--out", str(out), *extra])


def test_random_search_writes_trials_best_and_plot(tmp_path, capsys):
    out = tmp_path / "tune"
    assert _tune(out, "--model", "softmax") == 0
    stdout = capsys.readouterr().out
    trials = json.loads((out / "trials.json").read_text())
    best = json.loads((out / "best.json").read_text())
    assert (out / "trials.png").read_bytes().startswith(b"\x89PNG")
    assert len(trials) == 3 and stdout.count("trial ") >= 3
    accuracies = [t["val_accuracy"] for t in trials]
    assert accuracies == sorted(accuracies, reverse=True)  # best first
    assert best["lr"] == trials[0]["lr"] and best["reg"] == trials[0]["reg"]
    assert best["val_accuracy"] == trials[0]["val_accuracy"]
    for t in trials:
        assert 1e-4 <= t["lr"] <= 1 and 1e-6 <= t["reg"] <= 1e-1  # the default ranges
    assert stdout.strip().splitlines()[-1].startswith("best: lr")


def test_same_seed_same_search(tmp_path, capsys, without_matplotlib):
    assert _tune(tmp_path / "a", "--model", "linear-svm") == 0
    assert _tune(tmp_path / "b", "--model", "linear-svm") == 0
    a = json.loads((tmp_path / "a" / "trials.json").read_text())
    b = json.loads((tmp_path / "b" / "trials.json").read_text())
    keys = ("lr", "reg", "val_accuracy", "final_loss")
    assert [[t[k] for k in keys] for t in a] == [[t[k] for k in keys] for t in b]
    assert _tune(tmp_path / "c", "--model", "linear-svm", "--seed", "8") == 0
    c = json.loads((tmp_path / "c" / "trials.json").read_text())
    assert sorted(t["lr"] for t in c) != sorted(t["lr"] for t in a)


def test_diverged_trials_are_stopped_and_ranked_last(tmp_path, capsys, without_matplotlib):
    out = tmp_path / "hot"
    # Learning rates from 0.01 (trains) to 1000 (explodes at once); the softmax
    # classifier of the first test (its compiled epoch): the search does not depend on
    # the model, which fdl train's model builder makes (tested with fdl train).
    assert _tune(out, "--model", "softmax", "--lr-range", "1e-2,1e3", "--trials", "4") == 0
    stdout = capsys.readouterr().out
    trials = json.loads((out / "trials.json").read_text())
    diverged = [t for t in trials if t["diverged"]]
    assert diverged and "stopped: diverged" in stdout
    assert all(t["val_accuracy"] is None for t in diverged)
    assert trials[-len(diverged):] == diverged
    for t in diverged:  # stopped by the lecture's rule: loss above 3x the initial loss
        assert not math.isfinite(t["final_loss"]) or t["final_loss"] > 3 * t["initial_loss"]


def test_refine_adds_narrower_rounds(tmp_path, capsys, without_matplotlib):
    out = tmp_path / "refine"
    assert _tune(out, "--refine", "1", "--trials", "3") == 0
    trials = json.loads((out / "trials.json").read_text())
    assert sorted(t["round"] for t in trials) == [1, 1, 1, 2, 2, 2]
    assert "2 rounds" in capsys.readouterr().out


def test_every_trial_diverging_is_a_usage_error(tmp_path, capsys, without_matplotlib):
    status = _tune(tmp_path / "hot", "--lr-range", "1e3,1e4", "--trials", "2")
    err = capsys.readouterr().err
    assert status == 2 and "every trial diverged" in err and err.strip().count("\n") == 0


@pytest.mark.parametrize("argv,fragment", [
    (["--model", "convnet"], "unknown model 'convnet'"),
    (["--optimizer", "lion"], "unknown optimizer 'lion'"),
    (["--trials", "0"], "--trials must be >= 1"),
    (["--epochs", "0"], "--epochs must be >= 1"),
    (["--lr-range", "0.1"], "--lr-range must be two numbers"),
    (["--lr-range", "1,0.1"], "--lr-range needs 0 < LO < HI"),
    (["--reg-range", "0,1"], "--reg-range needs 0 < LO < HI"),
    (["--refine", "-1"], "--refine must be >= 0"),
    (["--data", "/no/such/dir"], "--data"),
    (["--batch-size", "100000"], "exceeds the 1197 training examples"),
])
def test_user_mistakes_exit_2_with_one_line(argv, fragment, tmp_path, capsys):
    status = cli.main(["tune", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert fragment in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err


def test_best_train_command_repeats_the_whole_configuration(tmp_path, capsys,
                                                            without_matplotlib):
    out = tmp_path / "tune"
    assert _tune(out, "--model", "softmax") == 0
    best = json.loads((out / "best.json").read_text())
    command = best["train_command"].split()
    assert command[:2] == ["fdl", "train"]
    args = cli.build_parser().parse_args(command[1:])
    assert (args.model, args.optimizer, args.epochs, args.batch_size, args.seed) == (
        "softmax", "momentum", 2, 32, 7)
    assert math.isclose(args.lr, best["lr"], rel_tol=1e-3)  # printed to 4 significant digits
    assert math.isclose(args.reg, best["reg"], rel_tol=1e-3)


def test_trials_plot_marks_the_best_trial():
    from fdl.commands._tune import trials_figure
    from fdl.viz._files import pyplot

    records = [
        {"trial": 1, "lr": 1e-2, "reg": 1e-4, "val_accuracy": 0.90, "diverged": False},
        {"trial": 2, "lr": 1e-1, "reg": 1e-3, "val_accuracy": 0.95, "diverged": False},
        {"trial": 3, "lr": 3e-1, "reg": 1e-5, "val_accuracy": 0.95, "diverged": False},
        {"trial": 4, "lr": 1.0, "reg": 1e-5, "val_accuracy": None, "diverged": True},
    ]
    fig = trials_figure(records)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["best: trial 2, val acc 0.9500", "diverged"]  # the first of the ties
    pyplot().close(fig)


def test_results_are_written_before_plots_and_kept_without_matplotlib(
        tmp_path, capsys, monkeypatch):
    import os
    import sys

    for name in ("matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)  # `import matplotlib` now fails
    out = tmp_path / "tune"
    assert _tune(out, "--model", "softmax") == 0
    stdout = capsys.readouterr().out
    assert sorted(os.listdir(out)) == ["best.json", "trials.json"]
    assert "fdl tune: plots skipped (plots need matplotlib" in stdout
    assert stdout.strip().splitlines()[-1].startswith("best: lr")
