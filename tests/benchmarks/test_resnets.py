"""The residual-network benchmarks: R1 (ResNet-20 on the CPU) and ``fdl bench --gpu``.

Tiny shapes only: these check that every row is produced and recorded, that the
analytic FLOP counts and the peers' networks match the published architectures, and
that the GPU script fails in one line without a GPU and runs its own code path on the
CPU with ``--tiny``. No timing is asserted.
"""

import json

import jax
import numpy as np
import pytest

import fdl
import fdl.cli
from fdl.bench import cli, flops, gpu, options, peers, resnet
from fdl.bench.workload import Config

TIMED = {"ms", "ms_each_round", "examples_per_s", "gflops"}


def test_step_flops_are_three_forward_passes_of_the_profiled_model():
    # Forward multiply-adds: ResNet-20 40.6M (He et al. 2016: ~41M), ResNet-9 0.38G on
    # 32x32, ResNet-18 1.81G at 224x224 (torchvision's model card); a step is 3 forwards
    # at 2 FLOPs a multiply-add. (fdl.models.profile's own counts are derived layer by
    # layer in tests/models/test_profile.py.)
    assert flops.step_flops(fdl.models.resnet_cifar(20), (32, 32, 3), 4) == 6 * 40_551_040 * 4
    assert flops.step_flops(fdl.models.resnet9(), (32, 32, 3), 2) == 6 * 379_261_952 * 2
    assert flops.step_flops(fdl.models.resnet(18), (224, 224, 3), 1) == 6 * 1_814_073_344


def test_r1_tiny_rows(quick_compiles):
    # ResNet-8 (n = 1) on batches of 4: every implementation's row, fdl's always timed.
    res = resnet.run("R1", Config(calls=1, repeats=1), None, depth=8, batch=4)
    assert res["examples_per_unit"] == 4
    assert res["flops_per_unit"] == flops.step_flops(fdl.models.resnet_cifar(8), (32, 32, 3), 4)
    names = [row["implementation"] for row in res["rows"]]
    assert names == ["fdl (fit: donated jitted steps)", "PyTorch eager (channels_last)",
                     "Flax linen + Optax"]
    fdl_row = res["rows"][0]
    assert fdl_row["status"] == "ok" and set(fdl_row) >= TIMED
    for row, needs in zip(res["rows"][1:], (("torch",), ("flax", "optax"))):
        if peers.missing(needs):
            assert row["status"].startswith("not installed")
        else:
            assert row["status"] == "ok" and set(row) >= TIMED, row["status"]


def test_option_lists_match_the_harness():
    assert options.WORKLOAD_KEYS == tuple(cli.WORKLOADS)
    assert options.GPU_MODELS == tuple(gpu.MODELS)
    assert "R1" in cli.select(None, quick=True)


@pytest.mark.parametrize("argv, message", [
    (["--gpu", "--only", "W1"], "--gpu-only picks models"),
    (["--tiny"], "--tiny goes with --gpu"),
    (["--gpu-only", "resnet7"], "unknown GPU model 'resnet7'"),
])
def test_gpu_usage_mistakes_in_one_line(argv, message, capsys):
    assert fdl.cli.main(["bench", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


@pytest.mark.skipif(jax.devices()[0].platform == "gpu", reason="a GPU is present")
def test_gpu_without_a_gpu_fails_in_one_line(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert fdl.cli.main(["bench", "--gpu", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no CUDA GPU" in err and "--tiny" in err
    assert not out.exists()


def test_gpu_tiny_runs_the_gpu_code_path(tmp_path, capsys, quick_compiles):
    # The GPU script's own code on JAX's default device, batch 2, ResNet-9 on 8x8 images.
    out = tmp_path / "gpu.json"
    assert fdl.cli.main(["bench", "--gpu-only", "resnet9", "--tiny", "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    assert results["length"] == "tiny" and results["bf16_matmul_tflops"] > 0
    assert results["versions"]["jax"] == jax.__version__
    entry = results["models"]["resnet9"]
    assert list(results["models"]) == ["resnet9"]
    assert entry["batch"] == 2 and entry["image"] == [8, 8, 3]
    rows = {row["implementation"]: row for row in entry["rows"]}
    assert list(rows) == [name for name, _, _ in gpu.IMPLEMENTATIONS]
    has_torch = not peers.missing(["torch"])
    for name, framework, bf16 in gpu.IMPLEMENTATIONS:
        row = rows[name]
        if framework == "torch" and not has_torch:
            assert row["status"] == "not installed (torch)"
            continue
        assert row["status"] == "ok", row["status"]
        assert row["dtype"] == ("bfloat16" if bf16 else "float32")
        assert len(row["ms_each_round"]) == 2 and row["ms"] > 0 and row["tflops"] > 0
        assert np.isfinite([row["loss_first"], row["loss_last"]]).all()
        assert row["params"] == rows["fdl float32"]["params"]
    assert rows["fdl float32"]["vs_torch"] is None or not has_torch or \
        rows["fdl float32"]["vs_torch"] > 0
    printed = capsys.readouterr()
    assert "| fdl bfloat16 |" in printed.out and str(out) in printed.out
    assert "resnet9 fdl float32:" in printed.err  # the progress line of each implementation
