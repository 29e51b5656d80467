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
        status = cli.main(["gradcheck"])
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
