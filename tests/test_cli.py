"""The ``fdl`` command, run in-process through ``fdl.cli.main``."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

import fdl
from fdl import cli


def test_gradcheck_passes_and_prints_a_table(capsys):
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--only", "conv2d"])
    out = capsys.readouterr().out
    assert status == 0
    assert "conv2d[s1,p1]" in out and "manual vs jax.grad" in out
    assert "all gradients agree" in out


def test_gradcheck_exits_non_zero_when_a_gradient_is_wrong(monkeypatch, capsys):
    @jax.custom_vjp
    def bad_relu(x):
        return fdl.nn.relu(x)

    bad_relu.defvjp(lambda x: (fdl.nn.relu(x), x), lambda x, g: (g,))  # forgets the mask
    bad_relu.reference = fdl.nn.relu
    case = fdl.gradcheck.Case("bad_relu", bad_relu, lambda rng, dtype: (jnp.asarray(rng.standard_normal((3, 4)), dtype),))
    monkeypatch.setattr(fdl.gradcheck, "CASES", (case,))
    monkeypatch.setattr(fdl.manual, "_COUNTERPART", {**fdl.manual._COUNTERPART, bad_relu: bad_relu})
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--no-models"])  # models have their own tests
    out = capsys.readouterr().out
    assert status == 1
    assert "FAIL" in out


def test_gradcheck_unknown_filter_is_a_usage_error(capsys):
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--only", "no-such-op"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().count("\n") == 0 and "no op matches" in err


def test_unknown_command_exits_with_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["frobnicate"])
    assert exit_info.value.code == 2


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "gradcheck" in capsys.readouterr().out


def test_python_dash_m_fdl_help():
    result = subprocess.run([sys.executable, "-m", "fdl", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "gradcheck" in result.stdout


def test_train_writes_metrics_checkpoint_and_plots(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    status = cli.main(["train", "--model", "softmax", "--optimizer", "sgd", "--lr", "0.5",
                       "--epochs", "3", "--batch-size", "64", "--out", str(out)])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.85
    assert metrics["final_train_loss"] == metrics["history"]["loss"][-1]
    for name in ("checkpoint.npz", "loss.png", "accuracy.png"):
        assert (out / name).stat().st_size > 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("test accuracy:")


def test_train_manual_gradients_reach_the_same_loss(tmp_path):
    import json

    losses = {}
    for grads in ("auto", "manual"):
        out = tmp_path / grads
        assert cli.main(["train", "--model", "mlp", "--epochs", "2", "--batch-size", "64",
                         "--grads", grads, "--out", str(out)]) == 0
        losses[grads] = json.loads((out / "metrics.json").read_text())["final_train_loss"]
    # float32 rounding differs between the two backward passes over ~40 steps.
    assert abs(losses["manual"] - losses["auto"]) <= 1e-4 * abs(losses["auto"])


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--model", "resnet"], "unknown model"),
    (["train", "--optimizer", "lion"], "unknown optimizer"),
    (["train", "--lr", "-1"], "--lr must be > 0"),
    (["train", "--data", "/no/such/dir"], "--data"),
    (["train", "--resume", "/no/such/checkpoint.npz"], "--resume"),
    (["train", "--model", "lenet5"], "28x28"),
])
def test_train_user_mistakes_exit_2_with_one_line(argv, fragment, tmp_path, capsys):
    status = cli.main(argv + ["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert fragment in err and err.strip().count("\n") == 0 and "Traceback" not in err


def test_train_refuses_a_corrupt_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a checkpoint")
    status = cli.main(["train", "--epochs", "1", "--resume", str(bad), "--out", str(tmp_path / "o")])
    assert status == 2
    assert "--resume" in capsys.readouterr().err
