"""The ``fdl`` command, run in-process through ``fdl.cli.main``."""

import io
import json
import runpy
import sys

import jax
import jax.numpy as jnp
import pytest

import fdl
from fdl import cli

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

# The training runs that need only some model that learns: a softmax classifier with a
# constant rate, so that its optimizer (and compiled epoch) does not depend on --epochs
# and these runs compile one training program between them.
SOFTMAX = ["train", "--model", "softmax", "--optimizer", "sgd", "--lr", "0.5",
           "--schedule", "constant", "--batch-size", "64"]


def test_gradcheck_passes_and_prints_a_table(capsys):
    # One op (--only matches names containing it): each op is one compiled check, and
    # every op's check is tested by tests/test_registry.py.
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--only", "conv2d[s1,p1]"])
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
    case = fdl.gradcheck.Case(
        "bad_relu", bad_relu, lambda rng, dtype: (jnp.asarray(rng.standard_normal((3, 4)), dtype),))
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


def test_version_names_fdl_and_what_it_runs_on(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(f"fdl {fdl.__version__} (jax {jax.__version__}, jaxlib ")
    assert printed.count("\n") == 0 and "Python 3." in printed
    for command in ("evaluate", "predict"):  # the commands that use a trained model
        assert command in cli.build_parser().format_help()


def test_python_dash_m_fdl_help(monkeypatch, capsys):
    # What ``python -m fdl --help`` runs (fdl/__main__.py as __main__), in this process:
    # a subprocess would pay the imports of jax and fdl again.
    monkeypatch.setattr(sys, "argv", ["python -m fdl", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("fdl", run_name="__main__", alter_sys=True)
    assert exit_info.value.code == 0
    assert "gradcheck" in capsys.readouterr().out


def test_train_writes_metrics_checkpoint_and_plots(tmp_path, capsys):
    import json

    out = tmp_path / "run"
    status = cli.main(SOFTMAX + ["--epochs", "3", "--out", str(out)])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.85
    # The printed epoch loss, not the last minibatch's (kept as final_step_loss).
    assert metrics["final_train_loss"] == metrics["history"]["epoch_loss"][-1]
    assert metrics["final_step_loss"] == metrics["history"]["loss"][-1]
    # A linear model's looks inside (templates.png) as well as the curves and confusion.
    for name in ("checkpoint.npz", "loss.png", "accuracy.png", "confusion.png",
                 "templates.png", "activations.png"):
        assert (out / name).stat().st_size > 0
        # Every output, the checkpoint included, gets the umask's permissions (not 0600).
        assert (out / name).stat().st_mode & 0o777 == (out / "metrics.json").stat().st_mode & 0o777
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("test accuracy:")


def test_train_manual_gradients_reach_the_same_loss(tmp_path, monkeypatch):
    # The default model (conv, pool, dense, dropout: every op the other models use);
    # per-op and per-model agreement of the two backward passes is tested in float64
    # by tests/test_registry.py and tests/models/test_manual.py.
    losses = {}
    for grads in ("manual", "auto"):
        out = tmp_path / grads
        if grads == "auto":  # the same plots again: skipped, as without matplotlib
            for name in ("matplotlib", "matplotlib.pyplot"):
                monkeypatch.setitem(sys.modules, name, None)
        assert cli.main(["train", "--epochs", "1", "--seed", "3",
                         "--grads", grads, "--out", str(out)]) == 0
        losses[grads] = json.loads((out / "metrics.json").read_text())["final_train_loss"]
    # A conv model's looks inside: its first-layer filters and every layer's activations.
    for name in ("loss.png", "accuracy.png", "filters.png", "activations.png"):
        assert (tmp_path / "manual" / name).read_bytes().startswith(b"\x89PNG"), name
    assert not (tmp_path / "auto" / "filters.png").exists()
    # Both backward passes compute the same subgradients (relu'(0) = 0 included: the
    # convnet's zero background pixels sit exactly on the kink); what is left is float32
    # rounding of differently ordered sums, which Adam amplifies to about 1e-8 relative.
    # Taking 1/2 at relu's kink, as jnp.maximum does, made them differ by 3e-3.
    assert abs(losses["manual"] - losses["auto"]) <= 1e-4 * abs(losses["auto"])


@pytest.mark.parametrize("argv,fragment", [
    (["train", "--model", "resnet"], "unknown model"),
    (["train", "--optimizer", "lion"], "unknown optimizer"),
    (["train", "--lr", "-1"], "--lr must be a finite number > 0"),
    (["train", "--lr", "inf"], "--lr must be a finite number > 0"),
    (["train", "--reg", "nan"], "--reg must be a finite number"),
    (["train", "--batch-size", "100000"], "exceeds the 1197 training examples"),
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


def test_train_out_that_is_a_file_or_below_one_is_a_usage_error(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    for out, words in ((afile, "is not a directory"), (afile / "sub", "cannot create")):
        status = cli.main(["train", "--epochs", "1", "--out", str(out)])
        err = capsys.readouterr().err
        assert status == 2 and words in err and err.count("\n") == 1, err
    assert afile.read_text() == "mine"


def test_train_without_matplotlib_keeps_its_results_and_says_plots_skipped(
        tmp_path, capsys, without_matplotlib):
    import os

    out = tmp_path / "run"
    assert cli.main(SOFTMAX + ["--epochs", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "fdl train: plots skipped (plots need matplotlib" in captured.out + captured.err
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "metrics.json"]
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] > 0.85


def test_train_divergence_says_no_checkpoint_was_written(tmp_path, capsys):
    out = tmp_path / "run"
    # SOFTMAX's compiled epoch (the learning rate is traced) at a rate that diverges in
    # epoch 1 (the last --lr given counts).
    status = cli.main(SOFTMAX + ["--lr", "1e6", "--epochs", "2", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and "diverged" in err and "No checkpoint was written" in err, err
    assert "checkpoint holds" not in err
    assert not (out / "checkpoint.npz").exists()


def test_train_resume_continues_refuses_changes_and_finished_runs(
        tmp_path, capsys, without_matplotlib):
    out = tmp_path / "run"
    assert cli.main(SOFTMAX + ["--epochs", "1", "--out", str(out)]) == 0
    ckpt = str(out / "checkpoint.npz")
    capsys.readouterr()
    # A changed flag is refused, naming both values.
    assert cli.main(["train", "--resume", ckpt, "--epochs", "2", "--lr", "0.1"]) == 2
    err = capsys.readouterr().err
    assert "--lr 0.5" in err and "--lr 0.1" in err and err.count("\n") == 1
    # Nothing left to train: refused instead of rewriting the outputs.
    before = (out / "metrics.json").read_bytes()
    assert cli.main(["train", "--resume", ckpt]) == 2
    assert "already trained 1 of 1" in capsys.readouterr().err
    assert (out / "metrics.json").read_bytes() == before
    # Flags not given come from the checkpoint (softmax, batch 64); outputs stay in place.
    assert cli.main(["train", "--resume", ckpt, "--epochs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "resuming from epoch 1 of 2" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["model"] == "softmax" and metrics["config"]["batch_size"] == 64
    assert len(metrics["history"]["epoch_loss"]) == 2


def test_train_ctrl_c_prints_one_line_with_the_resume_command(tmp_path, capsys, monkeypatch):
    from fdl import train

    out = tmp_path / "run"
    real_fit = train.fit

    def fit_then_interrupt(*args, **kwargs):
        kwargs["epochs"] = 1
        real_fit(*args, **kwargs)  # one epoch completes and is checkpointed
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "fit", fit_then_interrupt)
    status = cli.main(SOFTMAX + ["--epochs", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 130
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    assert f"fdl train --resume {out / 'checkpoint.npz'} --epochs 3" in err


def test_stale_checkpoint_temporaries_are_removed(tmp_path):
    import jax

    from fdl import data, losses, models, optim, train

    stale = tmp_path / ".checkpoint.npz.abc123.tmp"  # left by a run killed mid-write
    stale.write_bytes(b"half")
    other = tmp_path / ".metrics.json.x.tmp"
    other.write_bytes(b"not ours")
    # The model, data and batch size of the SOFTMAX runs: their compiled programs serve.
    digits = data.load_digits(seed=0)
    train.fit(models.linear(10), (digits.train.x, digits.train.y),
              loss=losses.softmax_cross_entropy, optimizer=optim.sgd(0.1), epochs=1,
              batch_size=64, key=jax.random.key(0), checkpoint=str(tmp_path / "checkpoint.npz"))
    assert not stale.exists() and other.exists()
    assert (tmp_path / "checkpoint.npz").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_gradcheck_shows_progress_on_a_terminal_and_plain_lines_piped(tty, capsys):
    from fdl.commands import _gradcheck

    stream = _Terminal() if tty else io.StringIO()
    args = cli.build_parser().parse_args(["gradcheck", "--only", "relu", "--no-models"])
    with jax.enable_x64(True):
        assert _gradcheck.run_gradcheck(args, stream=stream) == 0
    shown = stream.getvalue()
    total = sum("relu" in case.name for case in fdl.gradcheck.CASES)
    assert shown.startswith(f"fdl gradcheck: checking {total} ops in float64\n")
    if tty:  # a transient line per case, naming it, then cleared
        assert f"\r  1/{total} " in shown and shown.endswith("\r\x1b[K")
    else:  # piped: no control characters, no per-op lines
        assert "\r" not in shown and "\x1b" not in shown and shown.count("\n") == 1
    assert "all gradients agree" in capsys.readouterr().out


def test_gradcheck_progress_prints_each_model_with_its_time():
    from fdl._status import StatusLine
    from fdl.commands._gradcheck import _Progress

    times = iter([0.0, 4.0, 10.0])
    stream = io.StringIO()
    progress = _Progress("models", StatusLine(stream), clock=lambda: next(times))
    progress(0, 2, "model:mlp")
    progress(1, 2, "model:lenet5")
    progress(2, 2, None)
    assert stream.getvalue().splitlines() == [
        "fdl gradcheck: checking 2 models in float64",
        "  model:mlp checked (4 s)",
        "  model:lenet5 checked (6 s)",
    ]
