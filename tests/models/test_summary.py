"""Parameter counts (the notes' rule) and the summary table."""

import re

import jax
import jax.numpy as jnp
import pytest

from fdl import layers as L
from fdl import models


def _count(model, input_shape):
    params, _ = jax.eval_shape(lambda k: model.init(k, input_shape), jax.random.key(0))
    return models.count_params(params)


def test_count_params_mlp():
    model = models.mlp([100], 10)
    assert _count(model, (64,)) == 64 * 100 + 100 + 100 * 10 + 10
    # Real arrays count the same as shape structs.
    params, _ = models.linear(5).init(jax.random.key(0), (2, 2, 2))
    assert models.count_params(params) == 8 * 5 + 5


def test_conv_count_from_the_notes():
    # 10 filters of 5x5 with padding 2 on a 32x32x3 input: (5*5*3 + 1) * 10 = 760.
    assert _count(L.Conv(10, 5, padding=2), (32, 32, 3)) == 760
    assert L.Conv(10, 5, padding=2).output_shape((32, 32, 3)) == (32, 32, 10)


def test_count_params_lenet5():
    conv1 = 5 * 5 * 1 * 6 + 6
    conv2 = 5 * 5 * 6 * 16 + 16
    fc = (5 * 5 * 16) * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10
    assert _count(models.lenet5(), (28, 28, 1)) == conv1 + conv2 + fc == 61706
    # 32x32 inputs work with the default padding, and give the original sizes without it.
    assert models.lenet5().output_shape((32, 32, 3)) == (10,)
    assert _count(models.lenet5(first_padding=0), (32, 32, 1)) == 61706


def test_count_params_convnet():
    model = models.convnet(((16, 16), (32,)), kernel_size=3, hidden=(128,), num_classes=10,
                           batchnorm=True)
    convs = (3 * 3 * 3 * 16 + 16) + (3 * 3 * 16 * 16 + 16) + (3 * 3 * 16 * 32 + 32)
    bn = 2 * (16 + 16 + 32 + 128)
    fc = (8 * 8 * 32) * 128 + 128 + 128 * 10 + 10  # 32x32 -> 16x16 -> 8x8
    assert _count(model, (32, 32, 3)) == convs + bn + fc


def test_summary_table():
    model = models.convnet(((4,), (8,)), hidden=(16,), num_classes=10, batchnorm=True,
                           dropout=0.5)
    text = models.summary(model, (8, 8, 1), costs=False)
    for layer, shape in [("Conv(4, 3x3, stride 1, pad 1)", "(8, 8, 4)"), ("BatchNorm", "(8, 8, 4)"),
                         ("MaxPool(2, stride 2)", "(4, 4, 4)"),
                         ("Conv(8, 3x3, stride 1, pad 1)", "(4, 4, 8)"),
                         ("Flatten", "(32,)"), ("Dense(16)", "(16,)"), ("Dropout(0.5)", "(16,)"),
                         ("Dense(10)", "(10,)")]:
        line = next(ln for ln in text.splitlines() if ln.startswith(layer) and shape in ln)
        assert line
    rows = {ln.split("  ")[0]: ln for ln in text.splitlines()}
    assert rows["Conv(4, 3x3, stride 1, pad 1)"].endswith(" 40")
    assert rows["Dense(16)"].endswith(" 528")
    total = 40 + 8 + 296 + 16 + 528 + 32 + 170
    assert f"Total params: {total:,}" in text
    assert "running statistics" in text


def test_summary_nested_and_single_layer():
    model = L.serial(L.serial(L.Dense(3), L.Relu()), L.Dense(2))
    text = models.summary(model, (4,))
    assert "Dense(3)" in text and "Dense(2)" in text and "Total params: 23" in text
    assert "Total params: 760" in models.summary(L.Conv(10, 5, padding=2), (32, 32, 3))
    with pytest.raises(ValueError, match="batch axis"):
        models.summary(models.lenet5(), (1, 28, 28, 1))
    with pytest.raises(TypeError, match="Layer"):
        models.summary(lambda x: x, (3,))


def test_summary_residual_and_inception_like_concat():
    block = L.serial(L.Conv(8, 3, padding=1), L.BatchNorm(), L.Relu(), L.Conv(8, 3, padding=1))
    model = L.serial(
        L.Conv(8, 3, padding=1),
        L.residual(block),
        L.residual(L.Conv(16, 2, stride=2), L.serial(L.Subsample(2), L.PadChannels(4, 4))),
        L.concat(L.Conv(4, 1), L.serial(L.Conv(2, 1), L.Conv(6, 3, padding=1)), L.Identity()),
        L.GlobalAvgPool(), L.Dense(10))
    lines = models.summary(model, (8, 8, 3), costs=False).splitlines()
    names = [ln.split("  (")[0].rstrip() for ln in lines]

    def row(name, start=0):
        """The cells after ``name`` in the first row at or after ``start`` showing it."""
        i = names.index(name, start)
        return i, lines[i][len(name):].split()

    # The residual: a title row, the block's layers two levels in, the shortcut, the sum.
    i, cells = row("residual")
    assert cells == []  # a title, no shape or count of its own
    assert names[i + 1: i + 7] == ["  block:", "    Conv(8, 3x3, stride 1, pad 1)",
                                   "    BatchNorm(momentum=0.9)", "    Relu",
                                   "    Conv(8, 3x3, stride 1, pad 1)", "  shortcut:"]
    assert row("    Conv(8, 3x3, stride 1, pad 1)")[1] == ["(8,", "8,", "8)", "584"]
    assert row("    Identity")[1] == ["(8,", "8,", "8)", "0"]
    assert row("  = block + shortcut", i)[1] == ["(8,", "8,", "8)", "0"]
    # The projection-free shortcut of the strided block: subsample, then zero channels.
    j, _ = row("residual", i + 1)
    assert row("    Subsample(2)", j)[1] == ["(4,", "4,", "8)", "0"]
    assert row("  = block + shortcut", j)[1] == ["(4,", "4,", "16)", "0"]
    # The Inception-like concat: one heading per branch, then the joined channels.
    k, _ = row("concat")
    assert [n for n in names[k:] if n.startswith("  branch")] == [
        "  branch 0:", "  branch 1:", "  branch 2:"]
    assert row("    Conv(6, 3x3, stride 1, pad 1)", k)[1] == ["(4,", "4,", "6)",
                                                            str(3 * 3 * 2 * 6 + 6)]
    assert row("  = concatenate", k)[1] == ["(4,", "4,", "26)", "0"]
    assert row("GlobalAvgPool")[1] == ["(26,)", "0"]
    convs = (3 * 3 * 3 * 8 + 8) + 2 * (3 * 3 * 8 * 8 + 8) + (2 * 2 * 8 * 16 + 16)
    inception = (16 * 4 + 4) + (16 * 2 + 2) + (3 * 3 * 2 * 6 + 6)
    total = convs + 2 * 8 + inception + 26 * 10 + 10
    assert lines[-2] == f"Total params: {total:,}"
    # The Params column adds up to the total: joins and titles count nothing twice.
    counted = sum(int(ln.split()[-1].replace(",", "")) for ln in lines[2:-3]
                  if ln.split()[-1].replace(",", "").isdigit())
    assert counted == total


def test_summary_fan_out_and_parallel():
    text = models.summary(L.serial(L.fan_out(2), L.parallel(L.Dense(3), L.Tanh())), (5,),
                          costs=False)
    assert "fan_out(2)    ((5,), (5,))" in text
    assert "  = tuple     ((3,), (5,))" in text and "Total params: 18" in text


def _cells(line):
    """The cells of a table row, split on runs of two or more spaces."""
    return re.split(r"\s{2,}", line.strip())


def test_summary_costs_columns_add_up():
    block = L.serial(L.Conv(8, 3, padding=1), L.BatchNorm(), L.Relu(), L.Conv(8, 3, padding=1))
    model = L.serial(
        L.Conv(8, 3, padding=1), L.residual(block),
        L.concat(L.Conv(4, 1), L.serial(L.Conv(2, 1), L.Conv(6, 3, padding=1)), L.Identity()),
        L.GlobalAvgPool(), L.Dense(10))
    lines = models.summary(model, (8, 8, 3)).splitlines()
    assert _cells(lines[0]) == ["Layer", "Output shape", "Params", "Activations", "Memory",
                                "FLOPs"]
    rows = {}
    for ln in lines[2:]:
        if ln.startswith("---"):
            break
        cells = _cells(ln)
        if len(cells) == 6:
            rows.setdefault(cells[0], []).append(cells[1:])
    # The input, counted as the notes count it, and the first conv: 2 x 8*8 x 3*3*3 x 8.
    assert rows["Input"] == [["(8, 8, 3)", "0", "192", "768 B", "0"]]
    assert rows["Conv(8, 3x3, stride 1, pad 1)"][0] == ["(8, 8, 8)", "224", "512", "2.05 KB",
                                                        "27.65K"]
    assert rows["Relu"] == [["(8, 8, 8)", "0", "0", "0 B", "0"]]
    assert rows["= block + shortcut"] == [["(8, 8, 8)", "0", "0", "0 B", "0"]]
    assert rows["= concatenate"] == [["(8, 8, 18)", "0", "1,152", "4.61 KB", "0"]]
    assert rows["Dense(10)"] == [["(10,)", "190", "10", "40 B", "360"]]

    def column(i):
        return sum(int(r[i].replace(",", "")) for rs in rows.values() for r in rs)

    params = 224 + 2 * 584 + 16 + 36 + 18 + 114 + 190
    values = 192 + 4 * 512 + 256 + 128 + 384 + 1_152 + 18 + 10
    flops = 2 * 64 * (27 * 8 + 2 * 72 * 8 + 8 * 4 + 8 * 2 + 18 * 6) + 2 * 18 * 10
    assert column(1) == params and column(2) == values
    totals = lines[lines.index(next(ln for ln in lines if ln.startswith("Total"))):]
    assert totals == [
        f"Total params: {params:,} ({params * 4 / 1e3:.2f} KB)",
        f"Activations per example: {values:,} values ({values * 4 / 1e3:.1f} KB) forward, "
        "~x2 with the backward pass",
        f"Forward FLOPs per example: {flops:,} ({flops / 1e3:.2f}K; {flops / 2e3:.2f}K "
        "multiply-adds of conv and dense layers)",
        "Non-trainable state (running statistics): 16",
    ]


def test_summary_vgg16_is_the_notes_table():
    lines = models.summary(models.vgg(16), (224, 224, 3)).splitlines()
    cells = [_cells(ln) for ln in lines]
    # The notes: "CONV3-64: [224x224x64] memory: 224*224*64=3.2M weights: (3*3*3)*64 =
    # 1,728" (+ 64 biases here), "POOL2: [112x112x64] memory: 112*112*64=800K".
    assert cells[2] == ["Input", "(224, 224, 3)", "0", "150,528", "602.1 KB", "0"]
    assert cells[3] == ["Conv(64, 3x3, stride 1, pad 1)", "(224, 224, 64)", "1,792",
                        "3,211,264", "12.8 MB", "173.41M"]
    assert cells[7] == ["MaxPool(2, stride 2)", "(112, 112, 64)", "0", "802,816", "3.21 MB",
                        "0"]
    fc6 = next(c for c in cells if c[0] == "Dense(4096)")
    assert fc6 == ["Dense(4096)", "(4096,)", "102,764,544", "4,096", "16.4 KB", "205.52M"]
    assert "Total params: 138,357,544 (553.4 MB)" in lines
    assert ("Activations per example: 15,237,608 values (61.0 MB) forward, ~x2 with the "
            "backward pass") in lines
    assert lines[-1].startswith("Forward FLOPs per example: 30,940,528,640 (30.94G; 15.47G")


def test_summary_bytes_at_the_dtype_and_bad_costs():
    text = models.summary(L.Dense(3), (5,), dtype=jnp.float16)
    assert "Total params: 18 (36 B)" in text
    assert "Activations per example: 8 values (16 B)" in text
    with pytest.raises(TypeError, match="costs"):
        models.summary(L.Dense(3), (5,), costs="yes")
