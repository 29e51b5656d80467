"""Smoke tests of the inspection examples (activation statistics, conv filters), run
quickly into a temporary directory, with the notes' qualitative facts checked."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

# Tiny training runs, checked for what they produce: compiled cheaply (conftest).
pytestmark = pytest.mark.usefixtures("quick_compiles")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_activation_statistics_reproduces_the_notes(tmp_path, capsys):
    assert _example("activation_statistics").main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tanh, W ~ Xavier" in out and "relu, W ~ Kaiming" in out
    for act in ("tanh", "relu"):
        for init in ("small", "large", "xavier", "kaiming"):
            assert (tmp_path / f"{act}_{init}.png").read_bytes()[:8] == PNG_MAGIC
    stats = json.loads((tmp_path / "statistics.json").read_text())
    std = {name: np.array(s["std"]) for name, s in stats.items()}
    mean = {name: np.array(s["mean"]) for name, s in stats.items()}
    assert all(len(s) == 10 for s in std.values())
    # 0.01 * N(0, 1): tanh activations collapse toward 0 in the deep layers.
    assert std["tanh_small"][-1] < 1e-6 and np.abs(mean["tanh_small"][-1]) < 1e-6
    assert np.all(np.diff(std["tanh_small"]) < 0)
    # 1.0 * N(0, 1): tanh saturates, every unit near -1 or +1 (std near 1, mean near 0).
    assert np.all(std["tanh_large"] > 0.9)
    # Xavier with tanh and Kaiming with ReLU keep the spread of the same order through
    # all ten layers (Xavier/tanh drifts down slowly, as in the notes' plots, but by far
    # less than the factor ~0.2 per layer of the small init).
    assert std["tanh_xavier"][-1] > 0.25 * std["tanh_xavier"][0] and std["tanh_xavier"][-1] > 0.1
    ratio = std["relu_kaiming"][-1] / std["relu_kaiming"][0]
    assert 0.5 < ratio < 2.0
    # Xavier with ReLU halves the variance per layer: it fades, Kaiming does not.
    assert std["relu_xavier"][-1] < 0.1 * std["relu_xavier"][0]


def test_conv_filters_writes_both_pngs(tmp_path, capsys):
    assert _example("conv_filters").main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.5  # one epoch already learns the digits well above chance (0.1)
    for name in ("filters_init.png", "filters_trained.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filters_init.png",
                                                           "filters_trained.png"]


def test_architectures_table_and_plot(tmp_path, capsys):
    assert _example("architectures").main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| Model | Year |")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["architectures.json",
                                                           "architectures.png"]
    assert (tmp_path / "architectures.png").read_bytes()[:8] == PNG_MAGIC
    records = {r["model"]: r for r in json.loads((tmp_path / "architectures.json").read_text())}
    assert list(records) == ["LeNet-5", "AlexNet", "VGG-16", "GoogLeNet", "ResNet-18",
                             "ResNet-50"]
    # The papers' depths in weight layers, and the notes' parameter story: VGG-16 the
    # largest, GoogLeNet about 12x smaller than AlexNet (9.2x here: torchvision's
    # single-tower AlexNet has 61M parameters, the paper's 60M).
    assert [r["depth"] for r in records.values()] == [5, 8, 16, 22, 18, 50]
    assert records["VGG-16"]["params"] == 138_357_544
    assert records["AlexNet"]["params"] > 9 * records["GoogLeNet"]["params"]
    assert records["VGG-16"]["activations"] == 15_237_608
    # Each step of the chart lowers the error; ResNet-50 costs about a quarter of
    # VGG-16's FLOPs.
    errors = [records[m]["top5_error"] for m in ("AlexNet", "VGG-16", "GoogLeNet", "ResNet-50")]
    assert errors == sorted(errors, reverse=True) and records["LeNet-5"]["top5_error"] is None
    assert 0.2 < records["ResNet-50"]["flops"] / records["VGG-16"]["flops"] < 0.3
    assert "| VGG-16 | 2014 | 224x224x3 | 16 | 138M | 15.2M | 60.95 | 30.94 | 7.3% |" in out
