"""The notes' landmark ImageNet architectures and the CIFAR residual networks.

AlexNet (2012), VGG (2014), GoogLeNet (2014) and ResNet (2015) as torchvision defines
them, and He et al. 2016's CIFAR ResNets (6n+2 layers) and a ResNet-9 for fast CIFAR
training. Parameter counts equal the reference definitions and are stated per builder.

**Padding.** fdl keeps the notes' rule that a window must tile its padded input
(``(size + pad_before + pad_after - kernel) % stride == 0``). PyTorch instead drops a
last partial window, so several of torchvision's layers do not tile a 224x224 image
(7x7 stride 2 with 3 zeros a side; 3x3 stride 2 with 1 zero a side on an even size).
fdl writes the same computation with per-side padding: 3 zeros before and 2 after for
the 7x7/2 stem, 1 before and 0 after for a 3x3/2 layer -- the windows start at the same
pixels and read the same values as PyTorch's, and the one zero row PyTorch never reads
is simply not added. A 1x1 convolution at stride 2 (a ResNet projection shortcut) reads
every second pixel: ``Subsample(2)`` followed by a 1x1 convolution, the same values.
Ceil-mode max pooling (GoogLeNet) is one extra row of padding after, which max pooling
fills with -inf. The ImageNet builders therefore expect 224x224 inputs (any multiple of
32 works for ResNet and GoogLeNet).

Every builder takes ``manual=`` (hand-written backward passes through every op,
including the residual additions and the Inception concatenations) and ``impl=`` (the
convolution implementation, see ``fdl.nn.conv2d``; ``"xla"`` also gives the dense layers
their plain reference, see ``fdl.models.mlp``). Weights start Kaiming-normal
(right for ReLU networks), biases and batch-norm shifts at zero, batch-norm scales at
one; the score layer draws N(0, 0.01^2), so the initial loss is close to ln C as the
notes' first sanity check expects.
"""

from fdl import init as _init
from fdl.layers import (
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool,
    PadChannels,
    Relu,
    Subsample,
    concat,
    residual,
    serial,
)
from fdl.layers._core import positive_int
from fdl.models._builders import dense_impl

# Per-side padding that reproduces PyTorch's floor arithmetic on even input sizes
# (see the module docstring): ((top, bottom), (left, right)).
_STEM_7X7_S2 = ((3, 2), (3, 2))  # torch: kernel 7, stride 2, padding 3
_DOWN_3X3_S2 = ((1, 0), (1, 0))  # torch: kernel 3, stride 2, padding 1
_CEIL_POOL_3_S2 = ((0, 1), (0, 1))  # torch: MaxPool2d(3, 2, ceil_mode=True), even size


class _Builder:
    """The layer constructors of one model, with its ``manual`` and ``impl`` applied."""

    def __init__(self, manual, impl, bn_eps=1e-5):
        self.manual, self.impl, self.bn_eps = manual, impl, bn_eps

    def conv(self, features, kernel, stride=1, padding=0, *, bias=True):
        return Conv(features, kernel, stride, padding, bias=bias, impl=self.impl,
                    manual=self.manual)

    def conv_bn(self, features, kernel, stride=1, padding=0, *, relu=True):
        """``CONV (no bias) - BN [- RELU]``: the bias is redundant before batch norm."""
        layers = [self.conv(features, kernel, stride, padding, bias=False), self.bn()]
        return layers + [self.relu()] if relu else layers

    def bn(self):
        return BatchNorm(eps=self.bn_eps, manual=self.manual)

    def relu(self):
        return Relu(manual=self.manual)

    def pool(self, size=2, stride=2, padding=0):
        return MaxPool(size, stride, padding, manual=self.manual)

    def dense(self, features, w_init=_init.kaiming_normal):
        return Dense(features, w_init, impl=dense_impl(self.impl), manual=self.manual)

    def scores(self, num_classes):
        return Dense(num_classes, _init.normal, impl=dense_impl(self.impl), manual=self.manual)

    def dropout(self, rate):
        return Dropout(rate, manual=self.manual)


def _classes(num_classes, builder):
    return positive_int(num_classes, "num_classes", builder)


def alexnet(num_classes=1000, *, dropout=0.5, impl="auto", manual=False):
    """AlexNet (Krizhevsky et al. 2012) as torchvision defines it: one tower, 61.1M parameters.

    ``CONV11x11/4(64) - RELU - POOL3/2 - CONV5x5(192) - RELU - POOL3/2 - CONV3x3(384) - RELU
    - CONV3x3(256) - RELU - CONV3x3(256) - RELU - POOL3/2 - [DROPOUT - FC4096 - RELU] * 2 -
    FC(num_classes)``; feature maps 55 -> 27 -> 13 -> 6 on a 224x224x3 input.

    The paper's two-GPU model had 96/256/384/384/256 filters split over two towers;
    torchvision's single tower (64/192/384/256/256) is the reference here:
    61,100,840 parameters for 1000 classes. The first layer's 2 zeros before and 1 after
    reproduce torchvision's padding of 2 on a 224 input (see the module docstring); the
    notes' 227x227 geometry is the same layer without padding.

    Args:
      num_classes: number of class scores.
      dropout: drop probability before each hidden FC layer (0.5 in the paper).
      impl, manual: as for every builder (module docstring).
    """
    builder = "alexnet"
    num_classes = _classes(num_classes, builder)
    b = _Builder(manual, impl)
    return serial(
        b.conv(64, 11, 4, ((2, 1), (2, 1))), b.relu(), b.pool(3, 2),
        b.conv(192, 5, 1, 2), b.relu(), b.pool(3, 2),
        b.conv(384, 3, 1, 1), b.relu(),
        b.conv(256, 3, 1, 1), b.relu(),
        b.conv(256, 3, 1, 1), b.relu(), b.pool(3, 2),
        Flatten(manual=manual),
        b.dropout(dropout), b.dense(4096), b.relu(),
        b.dropout(dropout), b.dense(4096), b.relu(),
        b.scores(num_classes),
    )


# Filters per conv layer; "M" is a 2x2 max pool with stride 2 (Simonyan & Zisserman,
# table 1: configurations A, B, D, E).
VGG_CONFIGS = {
    11: (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    13: (64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
    16: (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
         512, 512, 512, "M"),
    19: (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"),
}


def vgg(depth=16, *, batchnorm=False, num_classes=1000, dropout=0.5, impl="auto",
        manual=False):
    """VGG-11/13/16/19 (Simonyan & Zisserman 2014): only 3x3 convs (stride 1, pad 1) and
    2x2 max pools (stride 2), then ``FC4096 - RELU - DROPOUT - FC4096 - RELU - DROPOUT -
    FC(num_classes)``.

    The notes' VGG-16 table: 224x224x3 in, 7x7x512 into the first FC, ~138M parameters
    (102.8M of them in that first FC) and ~24M activations per image forward. Parameters
    (1000 classes, torchvision's reference): VGG-11 132,863,336; VGG-13 133,047,848;
    VGG-16 138,357,544; VGG-19 143,667,240; with ``batchnorm=True`` (``CONV - BN -
    RELU``, the conv keeping its bias as torchvision's do) 132,868,840; 133,053,736;
    138,365,992; 143,678,248.

    Args:
      depth: 11, 13, 16 or 19 weight layers.
      batchnorm: batch norm after every conv (the later ``vgg*_bn`` variants).
      num_classes: number of class scores.
      dropout: drop probability after each hidden FC.
      impl, manual: as for every builder (module docstring).
    """
    builder = "vgg"
    if depth not in VGG_CONFIGS:
        raise ValueError(f"{builder}: depth must be one of 11, 13, 16, 19, got {depth!r}")
    num_classes = _classes(num_classes, builder)
    b = _Builder(manual, impl)
    layers = []
    for entry in VGG_CONFIGS[depth]:
        if entry == "M":
            layers.append(b.pool(2, 2))
            continue
        layers.append(b.conv(entry, 3, 1, 1))
        if batchnorm:
            layers.append(b.bn())
        layers.append(b.relu())
    layers += [Flatten(manual=manual),
               b.dense(4096), b.relu(), b.dropout(dropout),
               b.dense(4096), b.relu(), b.dropout(dropout),
               b.scores(num_classes)]
    return serial(*layers)


# Inception blocks of GoogLeNet (Szegedy et al. 2014, table 1): filters of the 1x1
# branch, the 3x3 branch's reduction and output, the "5x5" branch's reduction and
# output, and the pool branch's projection.
GOOGLENET_INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def inception(ch1x1, ch3x3_reduce, ch3x3, ch5x5_reduce, ch5x5, pool_proj, *,
              five_kernel=3, bn_eps=1e-3, impl="auto", manual=False):
    """One Inception block: four branches on the same input, outputs concatenated on the
    channel axis (``ch1x1 + ch3x3 + ch5x5 + pool_proj`` channels, spatial size kept).

    Branches: ``1x1``; ``1x1 reduce - 3x3``; ``1x1 reduce - KxK`` (the paper's 5x5;
    ``five_kernel`` is its size); ``3x3 max pool (stride 1) - 1x1 projection``. Every
    conv is ``CONV (no bias) - BN - RELU`` as in torchvision.
    """
    b = _Builder(manual, impl, bn_eps)
    return concat(
        serial(*b.conv_bn(ch1x1, 1)),
        serial(*b.conv_bn(ch3x3_reduce, 1), *b.conv_bn(ch3x3, 3, 1, 1)),
        serial(*b.conv_bn(ch5x5_reduce, 1),
               *b.conv_bn(ch5x5, five_kernel, 1, (five_kernel - 1) // 2)),
        serial(b.pool(3, 1, 1), *b.conv_bn(pool_proj, 1)),
        manual=manual,
    )


def googlenet(num_classes=1000, *, dropout=0.2, five_kernel=3, impl="auto", manual=False):
    """GoogLeNet / Inception v1 (Szegedy et al. 2014) as torchvision defines it, without
    the auxiliary classifiers: 6,624,904 parameters for 1000 classes.

    ``CONV7x7/2(64) - POOL3/2 - CONV1x1(64) - CONV3x3(192) - POOL3/2 - INC3a - INC3b -
    POOL3/2 - INC4a..4e - POOL2/2 - INC5a - INC5b - global AVGPOOL - DROPOUT -
    FC(num_classes)``; every conv is ``CONV (no bias) - BN (eps 1e-3) - RELU``; maps
    112 -> 56 -> 28 -> 14 -> 7 on a 224x224x3 input. The paper's key idea is visible in
    the parameter count: 1x1 "bottleneck" convolutions before the 3x3 and 5x5 ones and
    a global average pool instead of big FC layers give 9x fewer parameters than
    AlexNet (6.6M against 61.1M; the paper says 12x against the original AlexNet).

    torchvision's "5x5" branch uses a 3x3 kernel (a discrepancy it keeps for its
    pretrained weights); that is the default here, so the count matches.
    ``five_kernel=5`` gives the paper's 5x5 branch (7,005,832 parameters).

    Args:
      num_classes: number of class scores.
      dropout: drop probability before the score layer.
      five_kernel: kernel size of the third branch, 3 (torchvision) or 5 (the paper).
      impl, manual: as for every builder (module docstring).
    """
    builder = "googlenet"
    num_classes = _classes(num_classes, builder)
    if five_kernel not in (3, 5):
        raise ValueError(f"{builder}: five_kernel must be 3 or 5, got {five_kernel!r}")
    b = _Builder(manual, impl, bn_eps=1e-3)

    def block(name):
        return inception(*GOOGLENET_INCEPTIONS[name], five_kernel=five_kernel, bn_eps=1e-3,
                         impl=impl, manual=manual)

    return serial(
        *b.conv_bn(64, 7, 2, _STEM_7X7_S2), b.pool(3, 2, _CEIL_POOL_3_S2),
        *b.conv_bn(64, 1), *b.conv_bn(192, 3, 1, 1), b.pool(3, 2, _CEIL_POOL_3_S2),
        block("3a"), block("3b"), b.pool(3, 2, _CEIL_POOL_3_S2),
        block("4a"), block("4b"), block("4c"), block("4d"), block("4e"), b.pool(2, 2),
        block("5a"), block("5b"),
        GlobalAvgPool(manual=manual), b.dropout(dropout), b.scores(num_classes),
    )


def _projection(b, features, stride):
    """The projection shortcut ``CONV1x1/stride (no bias) - BN`` ("option B")."""
    subsample = [Subsample(stride, manual=b.manual)] if stride > 1 else []
    return serial(*subsample, *b.conv_bn(features, 1, relu=False))


def basic_block(features, stride=1, *, shortcut="projection", in_features=None,
                impl="auto", manual=False):
    """ResNet's basic block: ``RELU(BN(CONV3x3(BN-RELU(CONV3x3/stride(x)))) + shortcut(x))``.

    The shortcut is the identity when shapes agree; otherwise (``stride > 1`` or a
    change of width) ``"projection"`` (a 1x1 conv + BN, torchvision's) or ``"zeros"``
    (He et al.'s parameter-free option A: every ``stride``-th pixel, zero channels added
    on both sides). ``in_features`` is the input's width (needed to choose).
    """
    b = _Builder(manual, impl)
    pad = 1 if stride == 1 else _DOWN_3X3_S2
    body = serial(*b.conv_bn(features, 3, stride, pad), *b.conv_bn(features, 3, 1, 1, relu=False))
    return serial(residual(body, _shortcut(b, in_features, features, stride, shortcut),
                           manual=manual), b.relu())


def bottleneck_block(width, stride=1, *, in_features=None, expansion=4, impl="auto",
                     manual=False):
    """ResNet's bottleneck: ``1x1(width) - 3x3/stride(width) - 1x1(expansion * width)``,
    each conv followed by BN (and RELU but the last), plus the shortcut, then RELU.

    The stride sits on the 3x3 conv (torchvision's "ResNet v1.5"); the shortcut is a
    1x1 projection when the shape changes.
    """
    b = _Builder(manual, impl)
    out = expansion * width
    pad = 1 if stride == 1 else _DOWN_3X3_S2
    body = serial(*b.conv_bn(width, 1), *b.conv_bn(width, 3, stride, pad),
                  *b.conv_bn(out, 1, relu=False))
    return serial(residual(body, _shortcut(b, in_features, out, stride, "projection"),
                           manual=manual), b.relu())


def _shortcut(b, in_features, out_features, stride, kind):
    if stride == 1 and in_features == out_features:
        return None
    if kind == "projection":
        return _projection(b, out_features, stride)
    extra = out_features - in_features
    return serial(Subsample(stride, manual=b.manual),
                  PadChannels(extra // 2, extra - extra // 2, manual=b.manual))


RESNET_STAGES = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
                 50: ("bottleneck", (3, 4, 6, 3))}


def resnet(depth=18, *, num_classes=1000, impl="auto", manual=False):
    """ResNet-18/34/50 (He et al. 2015) as torchvision defines them.

    ``CONV7x7/2(64) - BN - RELU - POOL3/2 - stage1..4 - global AVGPOOL - FC``; the four
    stages have 64/128/256/512 filters (x4 at the output of bottleneck blocks), the
    first block of stages 2-4 halves the map with stride 2 (56 -> 28 -> 14 -> 7 on a
    224x224x3 input) and its shortcut is a 1x1 projection; ResNet-18/34 use basic
    blocks (2-2-2-2, 3-4-6-3), ResNet-50 bottlenecks (3-4-6-3). Convs have no bias
    (batch norm follows each). Parameters for 1000 classes: 11,689,512 (18),
    21,797,672 (34), 25,557,032 (50).

    Args:
      depth: 18, 34 or 50.
      num_classes: number of class scores.
      impl, manual: as for every builder (module docstring).
    """
    builder = "resnet"
    if depth not in RESNET_STAGES:
        raise ValueError(f"{builder}: depth must be 18, 34 or 50, got {depth!r}")
    num_classes = _classes(num_classes, builder)
    kind, counts = RESNET_STAGES[depth]
    b = _Builder(manual, impl)
    layers = [*b.conv_bn(64, 7, 2, _STEM_7X7_S2), b.pool(3, 2, _DOWN_3X3_S2)]
    width_in = 64
    for stage, count in enumerate(counts):
        width = 64 * 2 ** stage
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            if kind == "basic":
                layers.append(basic_block(width, stride, in_features=width_in, impl=impl,
                                          manual=manual))
                width_in = width
            else:
                layers.append(bottleneck_block(width, stride, in_features=width_in, impl=impl,
                                               manual=manual))
                width_in = 4 * width
    layers += [GlobalAvgPool(manual=manual), b.scores(num_classes)]
    return serial(*layers)


def resnet_cifar(depth=20, *, num_classes=10, width=16, impl="auto", manual=False):
    """He et al. 2016's CIFAR-10 ResNets, ``6n + 2`` layers (ResNet-20/32/44/56/110).

    ``CONV3x3(16) - BN - RELU``, three stages of ``n`` basic blocks with 16, 32 and 64
    filters (maps 32 -> 16 -> 8; stages 2 and 3 start with stride 2), global average
    pool, ``FC(num_classes)``. Shortcuts are "option A": the identity, and where the
    shape changes every second pixel with zero channels added -- no parameters, so all
    weights are in the 3x3 convs (no bias), the batch norms and the last FC.
    Parameters for 10 classes: 269,722 (20), 464,154 (32), 658,586 (44), 853,018 (56),
    1,727,962 (110) -- the paper's "0.27M, 0.46M, 0.66M, 0.85M, 1.7M". Works on any
    input whose height and width are multiples of 4 (8x8 digits included).

    Args:
      depth: ``6n + 2`` for some ``n >= 1`` (20, 32, 44, 56, 110, ...).
      num_classes: number of class scores.
      width: filters of the first stage (16 in the paper; the stages have ``width``,
        ``2 width`` and ``4 width``).
      impl, manual: as for every builder (module docstring).
    """
    builder = "resnet_cifar"
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"{builder}: depth must be 6n + 2 for n >= 1 (20, 32, 56, ...), "
                         f"got {depth!r}")
    num_classes = _classes(num_classes, builder)
    width = positive_int(width, "width", builder)
    n = (depth - 2) // 6
    b = _Builder(manual, impl)
    layers = b.conv_bn(width, 3, 1, 1)
    width_in = width
    for stage in range(3):
        stage_width = width * 2 ** stage
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            layers.append(basic_block(stage_width, stride, shortcut="zeros",
                                      in_features=width_in, impl=impl, manual=manual))
            width_in = stage_width
    layers += [GlobalAvgPool(manual=manual), b.scores(num_classes)]
    return serial(*layers)


def resnet9(num_classes=10, *, impl="auto", manual=False):
    """A 9-layer residual network for fast CIFAR-10 training (after Page's DAWNBench
    ResNet-9): 6,573,130 parameters for 10 classes.

    ``prep: CONV(64)``; ``CONV(128) - POOL2 - RES(CONV(128), CONV(128))``;
    ``CONV(256) - POOL2``; ``CONV(512) - POOL2 - RES(CONV(512), CONV(512))``; global max
    pool; ``FC(num_classes)``. Every ``CONV`` is 3x3, pad 1, no bias, followed by BN and
    RELU; ``RES(f, g)`` is ``x + g(f(x))`` (identity shortcut); maps 32 -> 16 -> 8 -> 4 on a
    32x32x3 input (8 -> 4 -> 2 -> 1 on digits). The original's score layer had no bias
    and a fixed 0.125 output scale; here it is a plain FC with fdl's small initial
    weights, which serves the same purpose (small initial scores).

    Args:
      num_classes: number of class scores.
      impl, manual: as for every builder (module docstring).
    """
    num_classes = _classes(num_classes, "resnet9")
    b = _Builder(manual, impl)

    def res(width):
        return residual(serial(*b.conv_bn(width, 3, 1, 1), *b.conv_bn(width, 3, 1, 1)),
                        manual=manual)

    return serial(
        *b.conv_bn(64, 3, 1, 1),
        *b.conv_bn(128, 3, 1, 1), b.pool(2, 2), res(128),
        *b.conv_bn(256, 3, 1, 1), b.pool(2, 2),
        *b.conv_bn(512, 3, 1, 1), b.pool(2, 2), res(512),
        GlobalMaxPool(manual=manual), b.scores(num_classes),
    )
