"""fit with devices=: data parallelism over two devices gives single-device results.

JAX fixes its devices at start-up, so the two-device runs happen in fresh processes (the
worker script ``parallel_worker.py`` next to this file): two simulated CPU devices in one
process, and two processes joined by ``jax.distributed`` on 127.0.0.1. ``make test`` runs
this file alone, after the rest of the suite (``SERIAL_TESTS`` in the Makefile): the
all-reduce between simulated devices or processes can stall when other tests compete for
a 2-core machine's cores.
"""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from fdl import train

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "parallel_worker.py")

# Seconds a worker may run (they take ~10-20 s); past that it is reported as stalled.
WORKER_TIMEOUT = 150

# Agreement with single-device training. Data parallelism only changes the order in
# which the gradient sum is added up, so the results agree to float32 rounding (~1e-7
# relative). The absolute part covers the bias of the Dense layer in front of batch
# norm: its true gradient is zero (batch norm removes any shift), so its values are
# rounding noise of order 1e-8 whose relative difference means nothing.
RTOL, ATOL = 1e-5, 1e-7


def _load_worker():
    """The worker module, imported by path (the tests directories are not packages)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("parallel_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _worker_env():
    env = dict(os.environ)
    # CPU only, whatever accelerator the machine has: the test is about the sharding.
    env["JAX_PLATFORMS"] = "cpu"
    env.pop("XLA_FLAGS", None)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(*args, log):
    return subprocess.Popen([sys.executable, WORKER, *map(str, args)], cwd=ROOT,
                            env=_worker_env(), stdout=log, stderr=subprocess.STDOUT)


def _finish(procs, logs, what):
    """Waits for ``procs``; fails with their output when one stalls or fails."""
    try:
        for proc in procs:
            proc.wait(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        for proc in procs:
            proc.kill()
            proc.wait()
        pytest.fail(
            f"{what} did not finish within {WORKER_TIMEOUT} s and was killed. Simulated CPU "
            "devices are known to stall in the gradient all-reduce on a busy machine with "
            "few cores (see PERFORMANCE.md, 'Several devices'); a stall here is that, or a "
            "collective waiting on a peer process that failed. Output:\n"
            + _logs_text(logs)
        )
    failed = [p.returncode for p in procs if p.returncode != 0]
    if failed:
        pytest.fail(f"{what} exited with status {failed} (an XLA abort after 40 s without "
                    f"progress is a stalled all-reduce). Output:\n" + _logs_text(logs))


def _logs_text(logs):
    texts = []
    for log in logs:
        log.flush()
        with open(log.name, errors="replace") as f:
            texts.append(f.read()[-4000:])
    return "\n----\n".join(texts)


def _assert_same(got, want, what):
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """The worker's results on two simulated CPU devices (one process for the module)."""
    tmp = tmp_path_factory.mktemp("simulated")
    out = tmp / "simulated.npz"
    with open(tmp / "log.txt", "w+") as log:
        _finish([_start("simulated", out, log=log)], [log],
                "the worker training on 2 simulated CPU devices")
    return np.load(out)


@pytest.mark.timeout(WORKER_TIMEOUT + 60)
def test_two_simulated_devices_match_one_device(simulated):
    """An MLP with batch norm (scanned epochs) and a conv net (jitted steps) trained on
    two simulated CPU devices end where single-device training ends; evaluate and
    predict on inputs split over the devices agree with single-device ones."""
    names = [k for k in simulated.files if not k.startswith(("single/", "errors/"))
             and "/eval_" not in k and "/predict_" not in k]
    assert {k.split("/")[0] for k in names} == {"mlp_scan", "conv_steps"}
    assert any(k.endswith("/state/0") for k in names)  # batch-norm running statistics
    for k in names:
        _assert_same(simulated[k], simulated[f"single/{k}"], k)
    for name in ("mlp_scan", "conv_steps"):
        _assert_same(simulated[f"{name}/eval_split"], simulated[f"{name}/eval_single"],
                     f"{name}: evaluate on split inputs")
        np.testing.assert_array_equal(simulated[f"{name}/predict_split"],
                                      simulated[f"{name}/predict_single"])


@pytest.mark.timeout(2 * WORKER_TIMEOUT + 60)  # the simulated fixture may start in its setup
def test_two_processes_match_one_process(tmp_path, simulated):
    """Two processes (jax.distributed on 127.0.0.1, one CPU device each, every process
    passing the whole data set) train to the single-process parameters; only process 0
    writes the checkpoint, and it holds those parameters."""
    port = _free_port()
    logs = [open(tmp_path / f"log{i}.txt", "w+") for i in range(2)]
    try:
        procs = [_start("process", i, port, tmp_path / f"out{i}.npz", log=logs[i])
                 for i in range(2)]
        _finish(procs, logs, "the two jax.distributed worker processes")
    finally:
        for log in logs:
            log.close()

    # The reference: the same problems trained on one device, which the simulated-devices
    # worker has already done (its single/... results).
    reference = {k[len("single/"):]: simulated[k] for k in simulated.files
                 if k.startswith("single/")}
    for i in range(2):
        got = np.load(tmp_path / f"out{i}.npz")
        assert sorted(got.files) == sorted(reference), i
        for k in reference:
            _assert_same(got[k], reference[k], f"process {i}: {k}")
    for name, (_, _, kwargs) in _load_worker().problems().items():
        ckpt = train.load_checkpoint(tmp_path / f"{name}.npz")
        assert ckpt["epoch"] == kwargs["epochs"]
        leaves = jax.tree.leaves(ckpt["params"])
        assert len(leaves) == sum(k.startswith(f"{name}/params/") for k in reference)
        for i, a in enumerate(leaves):
            _assert_same(np.asarray(a), reference[f"{name}/params/{i}"], f"{name}: checkpoint")
    # Process 0 wrote the checkpoint files; no temporary files were left by a second writer.
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(("log", "out"))) \
        == ["conv_steps.npz", "mlp_scan.npz"]


@pytest.mark.timeout(WORKER_TIMEOUT + 60)
def test_batch_size_must_divide_over_the_devices(simulated):
    message = str(simulated["errors/indivisible"])
    assert message.startswith("ValueError:"), message
    assert "batch_size (15)" in message and "number of devices (2)" in message, message


def test_device_list_is_checked():
    model, data, kwargs = _load_worker().problems()["mlp_scan"]
    with pytest.raises(ValueError, match="devices must be a non-empty list"):
        train.fit(model, data, devices=[], **kwargs)
    with pytest.raises(TypeError, match="devices must hold JAX devices"):
        train.fit(model, data, devices=["cpu"], **kwargs)
    with pytest.raises(TypeError, match="devices must be a list"):
        train.fit(model, data, devices=jax.devices()[0], **kwargs)
    with pytest.raises(ValueError, match="lists a device twice"):
        train.fit(model, data, devices=jax.devices()[:1] * 2, **kwargs)
