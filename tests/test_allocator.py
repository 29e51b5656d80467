"""fdl's allocator settings: XLA:CPU's per-call scratch memory is reused, not re-faulted."""

import os
import subprocess
import sys
import textwrap

import fdl
from fdl import _allocator

# A program whose 80 MB of temporary buffers (each above glibc's 32 MB mmap limit) XLA:CPU
# allocates on every call; the child prints the page faults of the later calls, per call.
_CHILD = textwrap.dedent("""
    import resource
    import fdl, jax, jax.numpy as jnp
    import numpy as np

    @jax.jit
    def f(x, w1, w2):
        a1 = x @ w1                   # two (4096, 2560) products: 40 MB each, both live
        a2 = x @ w2
        return jnp.sum(jnp.tanh(a1) * a2)

    # NumPy operands (eager jnp ones would each compile a program), put on the device once.
    args = jax.device_put((np.full((4096, 64), 1e-2, np.float32), np.ones((64, 2560), np.float32),
                           np.full((64, 2560), 0.5, np.float32)))
    f(*args).block_until_ready()
    f(*args).block_until_ready()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        f(*args).block_until_ready()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    print(fdl.ALLOCATOR_TUNED, (after - before) // 5)
""")


def _start_child(tune):
    # The allocator alone: XLA's library options (fdl/_compiler.py) off. With them, 2 of 6
    # runs of this child still showed ~8,600 faults per call (to be investigated).
    env = dict(os.environ, FDL_TUNE_MALLOC="1" if tune else "0", FDL_TUNE_XLA="0")
    env.pop("XLA_FLAGS", None)
    return subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _faults_per_call(child):
    """(whether the child's allocator was tuned, its page faults per call)."""
    stdout, stderr = child.communicate(timeout=120)
    assert child.returncode == 0, stderr
    out = stdout.split()
    return out[0] == "True", int(out[1])


def test_tuned_allocator_stops_page_faults_on_every_call():
    linux = sys.platform.startswith("linux")
    # Both children at once: each spends most of its time importing JAX. Page faults are
    # counted per process, so they do not disturb each other's counts.
    children = [_start_child(tune=True)] + ([_start_child(tune=False)] if linux else [])
    try:
        (tuned, faults_tuned), *rest = [_faults_per_call(child) for child in children]
    finally:
        for child in children:
            child.kill()  # a no-op once it has exited
    if not linux:  # glibc's mallopt only: nothing is tuned
        assert not tuned
        return
    [(untuned, faults_untuned)] = rest
    assert tuned and not untuned
    # Untuned, each call maps its scratch buffers afresh: thousands of 4 KiB pages.
    assert faults_untuned > 5_000, faults_untuned
    assert faults_tuned < faults_untuned / 20, (faults_tuned, faults_untuned)


def test_opt_out_variable_is_respected(monkeypatch):
    for value in ("0", "false", "No"):
        monkeypatch.setenv(_allocator.OPT_OUT_VARIABLE, value)
        assert _allocator.tune_on_import() is False


def test_tune_is_exported_and_reports_what_it_did():
    assert fdl.tune_cpu_allocator() is sys.platform.startswith("linux")
