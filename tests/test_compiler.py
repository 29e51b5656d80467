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

MINE = "--xla_cpu_experimental_ynn_fusion_type=LIBRARY_FUSION_TYPE_INDIVIDUAL_CONVOLUTION"

# A child process runs ``import fdl`` under each case's environment, in order, and
# reports what the import did and (where asked) whether the compiled filter gradient of a
# conv (two convolutions and elementwise work, no dot) still hands anything to YNNPACK.
# Starting a process costs ~3 s (importing JAX), so the cases share two: each case after
# a process's first re-executes fdl/__init__.py (``sys.modules["fdl"]`` dropped, JAX
# already imported) -- the same ``import fdl`` a fresh process does, as long as JAX's
# backend has not started; the first compilation starts it (with the XLA_FLAGS of that
# moment), so only the last cases of a process compute. The opted-out backend (no
# option) needs a process of its own.
_CHILD = textwrap.dedent("""
    import json, os, sys, traceback
    reports = {}
    def run(case, env, compute_first, compile_conv):
        for name in ("XLA_FLAGS", "FDL_TUNE_XLA"):
            os.environ.pop(name, None)
        os.environ.update(env)
        if compute_first:
            import jax.numpy as jnp
            jnp.ones(2).block_until_ready()
        sys.modules.pop("fdl", None)
        import fdl
        report = {"tuned": fdl.XLA_FLAGS_TUNED, "flags": os.environ.get("XLA_FLAGS", ""),
                  "off": fdl._compiler.library_convolutions_off()}
        if compile_conv:
            import jax, jax.numpy as jnp
            x, w = jnp.ones((8, 16, 16, 32)), jnp.ones((3, 3, 32, 64))
            conv = lambda w: jnp.sum(jax.lax.conv_general_dilated(
                x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) ** 2)
            hlo = jax.jit(jax.grad(conv)).lower(w).compile().as_text()
            report["ynn"] = "__ynn_fusion" in hlo
        reports[case] = report
    for case in json.loads(sys.argv[1]):
        try:
            run(*case)
        except Exception:
            reports["error"] = f"case {case[0]}: {traceback.format_exc()}"
            break
    print(json.dumps(reports))
""")

# (case, environment, compute before importing fdl, compile the conv after), per process.
_PROCESSES = (
    (("users_flags", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}, False, False),
     ("own_setting", {"XLA_FLAGS": MINE}, False, False),
     ("plain", {}, False, True),
     ("compute_first", {}, True, False)),
    (("opted_out", {"FDL_TUNE_XLA": "0"}, False, True),),
)


@pytest.fixture(scope="module")
def child():
    """``report(case)``: what the case's import did; the processes run at the same time."""
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    env.pop("FDL_TUNE_XLA", None)
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, json.dumps(cases)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for cases in _PROCESSES]
    reports, errors = {}, []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        lines = out.strip().splitlines()
        if proc.returncode or not lines:
            errors.append(err)
            continue
        got = json.loads(lines[-1])
        errors.append(got.pop("error", ""))
        reports.update(got)

    def report(case):
        assert case in reports, "\n".join(e for e in errors if e)
        return reports[case]

    return report


def test_import_adds_the_option_on_a_known_jaxlib(child):
    report = child("plain")
    assert report["tuned"] is KNOWN_RELEASE
    assert (OPTION in report["flags"]) is KNOWN_RELEASE
    assert report["off"] is KNOWN_RELEASE
    if KNOWN_RELEASE:
        assert report["ynn"] is False  # the convolutions stayed on XLA's Eigen path


def test_import_keeps_the_users_flags_and_appends(child):
    report = child("users_flags")
    assert report["flags"].startswith("--xla_force_host_platform_device_count=2")
    assert report["tuned"] is KNOWN_RELEASE


def test_opt_out_and_what_the_option_is_for(child):
    report = child("opted_out")
    assert report["tuned"] is False and report["flags"] == "" and report["off"] is False
    # Without the option this jaxlib fuses the convolutions into YNNPACK.
    assert report["ynn"] is KNOWN_RELEASE


@pytest.mark.parametrize("value, opted_out", [("0", True), ("false", True), (" No ", True),
                                              ("1", False), ("", False), ("yes", False)])
def test_opt_out_values(monkeypatch, value, opted_out):
    # The values the fresh-process test above does not start a process for.
    monkeypatch.setenv(_compiler.OPT_OUT_VARIABLE, value)
    assert _compiler._opted_out() is opted_out


def test_a_users_own_setting_wins(child):
    report = child("own_setting")
    assert report["tuned"] is False and report["flags"] == MINE and report["off"] is False


def test_too_late_after_the_first_computation(child):
    report = child("compute_first")
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


def test_cheap_jit_computes_what_jit_computes():
    """Run-once programs compile without LLVM's optimisations (and with the older loop
    emitter where the jaxlib has it): the same HLO, so the same values up to the rounding
    of sums XLA may order differently."""
    options = _compiler.cheap_options()
    assert options["xla_backend_optimization_level"] == 0  # this suite runs on CPU
    assert set(_compiler.CHEAP_CPU_OPTIONS) <= set(options)
    x = np.random.default_rng(2).standard_normal((5, 7)).astype(np.float32)

    def f(x):
        return jnp.tanh(x) @ x.T + jax.nn.logsumexp(x, axis=1)

    # float32 products of 7 terms: a reordered sum moves by a few ulps of |values| ~ 10.
    np.testing.assert_allclose(_compiler.cheap_jit(f)(x), jax.jit(f)(x), rtol=1e-5, atol=1e-5)
