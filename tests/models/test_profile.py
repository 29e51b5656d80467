"""``fdl.models.profile``: parameters, activation memory and FLOPs, checked against counts
made by hand from each architecture's layer table (written out here, independently of
the builders and of the walk), and against the published approximations."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import pytest

from fdl import layers as L
from fdl import models

IMAGENET = (224, 224, 3)


@functools.cache
def _profile(name):
    """The profile of one named architecture (each traced once for the module)."""
    build = {
        "lenet5": lambda: (models.lenet5(first_padding=0), (32, 32, 1)),
        "alexnet": lambda: (models.alexnet(), IMAGENET),
        "vgg16": lambda: (models.vgg(16), IMAGENET),
        "googlenet": lambda: (models.googlenet(), IMAGENET),
        "resnet18": lambda: (models.resnet(18), IMAGENET),
        "resnet50": lambda: (models.resnet(50), IMAGENET),
    }[name]
    return models.profile(*build())


def _conv(h, kernel, c_in, c_out, stride=1, pad=0):
    """``(output size, multiply-adds)`` of a square conv on an ``h x h x c_in`` map, by
    PyTorch's floor rule, the arithmetic of the reference definitions."""
    out = (h + 2 * pad - kernel) // stride + 1
    return out, out * out * kernel * kernel * c_in * c_out


# ---------------------------------------------------------------- LeNet-5, exactly

def test_lenet5_exact():
    p = _profile("lenet5")
    # 32x32x1 -> C1 5x5x6 28x28 -> S2 14x14 -> C3 5x5x16 10x10 -> S4 5x5 -> 120 -> 84 -> 10
    macs = 28 * 28 * 5 * 5 * 1 * 6 + 10 * 10 * 5 * 5 * 6 * 16 + 400 * 120 + 120 * 84 + 84 * 10
    assert p.flops == 2 * macs == 833_040
    values = 32 * 32 + 28 * 28 * 6 + 14 * 14 * 6 + 10 * 10 * 16 + 5 * 5 * 16 + 120 + 84 + 10
    assert p.activations == values == 9_118
    assert p.activation_bytes == 4 * values  # float32
    assert p.params == 61_706 and p.param_bytes == 4 * 61_706
    assert p.state == 0 and p.depth == 5


# ---------------------------------------------------------------- VGG-16, the notes' table

def _vgg16_by_hand():
    """(multiply-adds, activations) of VGG-16 from the notes' table: INPUT, each CONV3
    (3x3, stride 1, pad 1), each POOL2 and each FC output."""
    h, c = 224, 3
    macs, values = 0, h * h * c
    for stage_width, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            h, m = _conv(h, 3, c, stage_width, 1, 1)
            c = stage_width
            macs += m
            values += h * h * c
        h //= 2
        values += h * h * c  # POOL2
    for d_in, d_out in ((7 * 7 * 512, 4096), (4096, 4096), (4096, 1000)):
        macs += d_in * d_out
        values += d_out
    return macs, values


def test_vgg16_matches_the_notes_table():
    p = _profile("vgg16")
    macs, values = _vgg16_by_hand()
    assert p.flops == 2 * macs == 30_940_528_640
    # The notes' rows add up to 15.2M values (61 MB); their TOTAL line says "24M * 4
    # bytes ~= 93MB", which is not the sum of the rows (cs231n.github.io issue #88).
    assert p.activations == values == 15_237_608
    assert p.activation_bytes == 4 * values
    assert p.params == 138_357_544 and p.depth == 16
    # The published "~15.5G multiply-adds" is rounded to three significant digits.
    assert abs(macs / 15.5e9 - 1) < 0.005


# ---------------------------------------------------------------- AlexNet (torchvision)

def test_alexnet():
    h, conv1 = _conv(224, 11, 3, 64, 4, 2)   # 55
    h = (h - 3) // 2 + 1                     # 27
    h, conv2 = _conv(h, 5, 64, 192, 1, 2)
    h = (h - 3) // 2 + 1                     # 13
    _, conv3 = _conv(h, 3, 192, 384, 1, 1)
    _, conv4 = _conv(h, 3, 384, 256, 1, 1)
    _, conv5 = _conv(h, 3, 256, 256, 1, 1)
    fc = 6 * 6 * 256 * 4096 + 4096 * 4096 + 4096 * 1000
    macs = conv1 + conv2 + conv3 + conv4 + conv5 + fc
    p = _profile("alexnet")
    assert p.flops == 2 * macs
    assert p.depth == 8
    # torchvision quotes 0.71 G multiply-adds, two significant digits (0.6% of rounding).
    assert abs(macs / 0.71e9 - 1) < 0.01


# ---------------------------------------------------------------- GoogLeNet (torchvision)

# Szegedy et al. 2014, table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj;
# torchvision's "5x5" branch is a 3x3 convolution.
_INCEPTIONS = {
    28: [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)],
    14: [(192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
         (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)],
    7: [(256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)],
}


def test_googlenet():
    _, stem = _conv(224, 7, 3, 64, 2, 3)              # 112x112x64, then pool to 56
    macs = stem + 56 * 56 * 64 * 64 + 56 * 56 * 9 * 64 * 192
    c = 192
    for h in (28, 14, 7):                              # a pool before each group
        for c1, r3, c3, r5, c5, pp in _INCEPTIONS[h]:
            macs += h * h * (c * c1 + c * r3 + 9 * r3 * c3 + c * r5 + 9 * r5 * c5 + c * pp)
            c = c1 + c3 + c5 + pp
    macs += 1024 * 1000
    p = _profile("googlenet")
    assert p.flops == 2 * macs
    assert p.depth == 22  # "22 layers deep when counting only layers with parameters"
    # torchvision quotes 1.50 G multiply-adds (three significant digits).
    assert abs(macs / 1.5e9 - 1) < 0.005


# ---------------------------------------------------------------- ResNets (torchvision)

def _resnet_by_hand(blocks, bottleneck):
    """(multiply-adds, activations) of torchvision's ResNet: 7x7/2 stem, 3x3/2 pool,
    four stages (stride 2 in the first block of stages 2-4: in the 3x3 conv of a
    bottleneck), a 1x1 projection (+ BN) where the shape changes, global pool, FC.
    Activations by ``profile``'s rule: every conv, BN and pool output, fdl's subsampled
    projection input, the pooled features and the scores; ReLUs and sums in place."""
    h, macs = _conv(224, 7, 3, 64, 2, 3)
    values = 224 * 224 * 3 + 2 * h * h * 64          # input, conv, BN
    h = (h + 2 - 3) // 2 + 1
    values += h * h * 64                               # pool
    c = 64
    for stage, count in enumerate(blocks):
        width = 64 * 2 ** stage
        out = 4 * width if bottleneck else width
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            if bottleneck:
                _, a = _conv(h, 1, c, width)
                h2, b = _conv(h, 3, width, width, stride, 1)
                _, d = _conv(h2, 1, width, out)
                macs += a + b + d
                values += 2 * (h * h * width + h2 * h2 * width + h2 * h2 * out)
            else:
                h2, a = _conv(h, 3, c, width, stride, 1)
                _, b = _conv(h2, 3, width, width, 1, 1)
                macs += a + b
                values += 2 * 2 * h2 * h2 * width
            if stride > 1 or c != out:
                macs += h2 * h2 * c * out                 # 1x1 projection at stride
                values += (h2 * h2 * c if stride > 1 else 0) + 2 * h2 * h2 * out
            h, c = h2, out
    return macs + c * 1000, values + c + 1000


def test_resnet18():
    macs, values = _resnet_by_hand((2, 2, 2, 2), False)
    p = _profile("resnet18")
    assert p.flops == 2 * macs
    assert p.activations == values
    assert p.depth == 18  # the projections sit beside their blocks, off the longest path
    # The published "1.82 G" (He et al. 1.8, torchvision 1.81): rounding, < 0.5%.
    assert abs(macs / 1.82e9 - 1) < 0.005


def test_resnet50():
    macs, values = _resnet_by_hand((3, 4, 6, 3), True)
    p = _profile("resnet50")
    assert p.flops == 2 * macs
    assert p.activations == values
    assert p.depth == 50
    # torchvision's stride-in-3x3 ("v1.5") ResNet-50: "4.1 G" (two significant digits,
    # within 0.3%); the paper's 3.8 G put the stride on the first 1x1 conv.
    assert abs(macs / 4.1e9 - 1) < 0.005


# ---------------------------------------------------------------- the counting rules

def test_conv_flops_use_per_side_padding_and_stride():
    # torchvision's 7x7/2 pad 3 stem on 224, written with per-side padding: 112x112 out.
    p = models.profile(L.Conv(64, 7, 2, ((3, 2), (3, 2)), bias=False), IMAGENET)
    assert p.flops == 2 * 112 * 112 * 7 * 7 * 3 * 64
    assert p.layers[-1].output_shape == (112, 112, 64)
    # A rectangular kernel and stride on a non-square map: (9 - 3) / 2 + 1 = 4 rows,
    # (10 - 1) / 3 + 1 = 4 columns.
    p = models.profile(L.Conv(5, (3, 1), (2, 3)), (9, 10, 2))
    assert p.flops == 2 * 4 * 4 * 3 * 1 * 2 * 5
    # A dense layer flattens its input: 2 x D_in x D_out.
    assert models.profile(L.Dense(10), (4, 4, 3)).flops == 2 * 48 * 10


def test_what_writes_memory_and_what_runs_in_place():
    block = L.serial(L.Conv(8, 3, padding=1), L.BatchNorm(), L.Relu(), L.Dropout(0.5))
    model = L.serial(
        L.Conv(8, 3, padding=1), L.Tanh(),
        L.residual(block),
        L.residual(L.Conv(16, 2, stride=2), L.serial(L.Subsample(2), L.PadChannels(4, 4))),
        L.concat(L.Conv(4, 1), L.MaxPool(3, 1, 1)),
        L.Flatten(), L.Dense(10), L.Sigmoid())
    p = models.profile(model, (8, 8, 3))
    by_name = {}
    for row in p.layers:
        by_name.setdefault(row.name.strip(), []).append(row.activations)
    assert by_name["Input"] == [8 * 8 * 3]
    # Convolutions, batch norm, pooling, subsampling, padding and the concatenation
    # write new arrays.
    assert by_name["Conv(8, 3x3, stride 1, pad 1)"] == [8 * 8 * 8] * 2
    assert by_name["BatchNorm(momentum=0.9)"] == [8 * 8 * 8]
    assert by_name["Subsample(2)"] == [4 * 4 * 8]
    assert by_name["PadChannels(4, 4)"] == [4 * 4 * 16]
    assert by_name["MaxPool(3, stride 1, pad 1)"] == [4 * 4 * 16]
    assert by_name["= concatenate"] == [4 * 4 * 20]
    assert by_name["Dense(10)"] == [10]
    # Activation functions, dropout, the residual sums, Identity and Flatten: in place.
    for name in ("Tanh", "Relu", "Dropout(0.5)", "Identity", "Flatten", "Sigmoid"):
        assert by_name[name] == [0], name
    assert by_name["= block + shortcut"] == [0, 0]
    assert p.activations == sum(sum(v) for v in by_name.values())
    # Titles and headings count nothing and have no shape.
    for row in p.layers:
        if row.role in ("title", "heading"):
            assert row.output_shape is None and row.activations == row.flops == 0
    # Depth: the first conv, one conv in each residual's block (their shortcuts have
    # none), the concat's longer branch (a conv; the pool has no weights), the dense.
    assert p.depth == 5
    assert p.state == 2 * 8  # the batch norm's running mean and variance


def test_bytes_follow_the_dtype():
    p = models.profile(models.lenet5(), (28, 28, 1), dtype=jnp.bfloat16)
    assert p.param_bytes == 2 * p.params == 2 * 61_706
    assert p.activation_bytes == 2 * p.activations
    assert p.dtype == jnp.bfloat16


def test_a_hand_made_layer_is_counted_by_its_weight_shape():
    dense = L.Dense(3)
    plain = L.Layer(dense.init, dense.apply, dense.output_shape, "my affine")
    p = models.profile(plain, (5,))
    assert p.flops == 2 * 5 * 3 and p.depth == 1
    assert p.activations == 5 + 3  # not a known in-place layer: its output is counted


def test_nothing_is_run_or_allocated():
    model = models.vgg(16)
    seen = []

    def init(key, input_shape, dtype=jnp.float32):
        seen.append(isinstance(key, jax.core.Tracer))
        return model.init(key, input_shape, dtype)

    def apply(*args, **kwargs):
        raise AssertionError("profile must not run the model")

    traced_only = dataclasses.replace(model, init=init, apply=apply)
    assert models.profile(traced_only, IMAGENET).params == 138_357_544
    assert "138,357,544" in models.summary(traced_only, IMAGENET)
    assert seen == [True, True]  # init only ever traced by jax.eval_shape


def test_bad_input():
    with pytest.raises(TypeError, match="model must be"):
        models.profile(lambda x: x, (3,))
    with pytest.raises(TypeError, match="dtype"):
        models.profile(models.lenet5(), (28, 28, 1), dtype=jnp.int32)
    with pytest.raises(ValueError, match="batch axis"):
        models.profile(models.lenet5(), (1, 28, 28, 1))
