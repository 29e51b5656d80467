"""fdl's XLA:CPU options: when ``import fdl`` adds them to ``XLA_FLAGS`` (and when it must
not), that they really move convolutions off YNNPACK, and the per-jit fallback."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import _compiler

OPTION = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT"
KNOWN_RELEASE = _compiler.jaxlib_release() in _compiler._FLAG_RELEASES

# The child reports what import did and whether the compiled filter gradient of a conv
# (two convolutions and elementwise work, no dot) still hands anything to YNNPACK.
_CHILD = textwrap.dedent("""
    import json, os, sys
    if sys.argv[1] == "compute-first":
        import jax.numpy as jnp
        jnp.ones(2).block_until_ready()
    import fdl, jax, jax.numpy as jnp
    x, w = jnp.ones((8, 16, 16, 32)), jnp.ones((3, 3, 32, 64))
    conv = lambda w: jnp.sum(jax.lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2)
    hlo = jax.jit(jax.grad(conv)).lower(w).compile().as_text()
    print(json.dumps({"tuned": fdl.XLA_FLAGS_TUNED, "flags": os.environ.get("XLA_FLAGS", ""),
                      "off": fdl._compiler.library_convolutions_off(),
                      "ynn": "__ynn_fusion" in hlo}))
""")


def _child(mode="import-first", **env_changes):
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env.pop("FDL_TUNE_XLA", None)
    env.update(env_changes)
    out = subprocess.run([sys.executable, "-c", _CHILD, mode], env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_adds_the_option_on_a_known_jaxlib():
    report = _child()
    assert report["tuned"] is KNOWN_RELEASE
    assert (OPTION in report["flags"]) is KNOWN_RELEASE
    assert report["off"] is KNOWN_RELEASE
    if KNOWN_RELEASE:
        assert report["ynn"] is False  # the convolutions stayed on XLA's Eigen path


def test_import_keeps_the_users_flags_and_appends():
    report = _child(XLA_FLAGS="--xla_force_host_platform_device_count=2")
    assert report["flags"].startswith("--xla_force_host_platform_device_count=2")
    assert report["tuned"] is KNOWN_RELEASE


def test_opt_out_and_what_the_option_is_for():
    report = _child(FDL_TUNE_XLA="0")
    assert report["tuned"] is False and report["flags"] == "" and report["off"] is False
    # Without the option this jaxlib fuses the convolutions into YNNPACK.
    assert report["ynn"] is KNOWN_RELEASE


@pytest.mark.parametrize("value, opted_out", [("0", True), ("false", True), (" No ", True),
                                              ("1", False), ("", False), ("yes", False)])
def test_opt_out_values(monkeypatch, value, opted_out):
    # The values the fresh-process test above does not start a process for.
    monkeypatch.setenv(_compiler.OPT_OUT_VARIABLE, value)
    assert _compiler._opted_out() is opted_out


def test_a_users_own_setting_wins():
    mine = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"
    report = _child(XLA_FLAGS=mine)
    assert report["tuned"] is False and report["flags"] == mine and report["off"] is False


def test_too_late_after_the_first_computation():
    report = _child("compute-first")
    assert report["tuned"] is False and report["flags"] == ""


@pytest.mark.parametrize(
    "flags, off",
    [("", False), (OPTION, True), ("--other=1 " + OPTION, True),
     (OPTION.replace("INDIVIDUAL_DOT", "INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"), False),
     (OPTION + " " + OPTION.replace("INDIVIDUAL_DOT", "INDIVIDUAL_CONVOLUTION"), False),
     ("--xla_cpu_experimental_ynn_fusion_type=", True)],
)
def test_library_convolutions_off_reads_the_last_setting(flags, off):
    assert _compiler.library_convolutions_off(flags) is off


def test_compiler_options_on_cpu_and_jit_computes_the_same():
    options = _compiler.compiler_options()
    assert options == _compiler.CPU_COMPILER_OPTIONS  # this suite runs on CPU, jaxlib 0.10
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 6, 6, 3)), jnp.float32)
    w = jnp.asarray(np.random.default_rng(1).standard_normal((3, 3, 3, 4)), jnp.float32)

    def loss(w):
        out = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return jnp.sum(out ** 2)

    ours = _compiler.jit(jax.grad(loss))(w)
    plain = jax.jit(jax.grad(loss))(w)
    np.testing.assert_allclose(ours, plain, rtol=1e-5, atol=1e-5)


def test_compiler_options_off_when_opted_out(monkeypatch):
    monkeypatch.setenv("FDL_TUNE_XLA", "0")
    assert _compiler.compiler_options() is None
