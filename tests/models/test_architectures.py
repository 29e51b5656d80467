"""The landmark architectures: parameter counts, shapes, argument errors.

Counts are checked twice: against the reference definitions' published totals
(torchvision's ``sum(p.numel() for p in model.parameters())``; He et al. 2016 for the
CIFAR nets) and against a count derived here layer by layer from the papers' tables,
independently of fdl's builders. Nothing is allocated: ``jax.eval_shape`` traces init.
"""

import jax
import pytest

from fdl import models

# --- counting from the papers' tables -------------------------------------------------


def conv(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


def conv_bn(k, c_in, c_out):
    return conv(k, c_in, c_out, bias=False) + 2 * c_out  # BN: gamma and beta


def fc(d_in, d_out):
    return d_in * d_out + d_out


def alexnet_count(classes=1000):
    convs = conv(11, 3, 64) + conv(5, 64, 192) + conv(3, 192, 384) + conv(3, 384, 256) \
        + conv(3, 256, 256)
    return convs + fc(256 * 6 * 6, 4096) + fc(4096, 4096) + fc(4096, classes)


def vgg_count(config, batchnorm, classes=1000):
    total, c = 0, 3
    for entry in config:
        if entry != "M":
            total += conv(3, c, entry) + (2 * entry if batchnorm else 0)
            c = entry
    return total + fc(512 * 7 * 7, 4096) + fc(4096, 4096) + fc(4096, classes)


VGG_TABLE = {  # Simonyan & Zisserman, table 1 (configurations A, B, D, E)
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M"] + [256] * 3 + ["M"] + ([512] * 3 + ["M"]) * 2,
    19: [64, 64, "M", 128, 128, "M"] + [256] * 4 + ["M"] + ([512] * 4 + ["M"]) * 2,
}

INCEPTIONS = [  # Szegedy et al., table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
    (64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64),
    (192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
    (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128),
    (256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128),
]


def googlenet_count(five_kernel, classes=1000):
    total = conv_bn(7, 3, 64) + conv_bn(1, 64, 64) + conv_bn(3, 64, 192)
    c = 192
    for c1, r3, c3, r5, c5, pp in INCEPTIONS:
        total += conv_bn(1, c, c1) + conv_bn(1, c, r3) + conv_bn(3, r3, c3) \
            + conv_bn(1, c, r5) + conv_bn(five_kernel, r5, c5) + conv_bn(1, c, pp)
        c = c1 + c3 + c5 + pp
    assert c == 1024
    return total + fc(1024, classes)


def resnet_count(depth, classes=1000):
    blocks, bottleneck = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False),
                          50: ((3, 4, 6, 3), True)}[depth]
    total, c = conv_bn(7, 3, 64), 64
    for stage, count in enumerate(blocks):
        width = 64 * 2 ** stage
        out = 4 * width if bottleneck else width
        for i in range(count):
            if bottleneck:
                total += conv_bn(1, c, width) + conv_bn(3, width, width) + conv_bn(1, width, out)
            else:
                total += conv_bn(3, c, width) + conv_bn(3, width, width)
            if c != out or (stage > 0 and i == 0):
                total += conv_bn(1, c, out)  # projection shortcut
            c = out
    return total + fc(c, classes)


def resnet_cifar_count(depth, width=16, classes=10, channels=3):
    n = (depth - 2) // 6
    total, c = conv_bn(3, channels, width), width
    for stage in range(3):
        w = width * 2 ** stage
        for _ in range(n):
            total += conv_bn(3, c, w) + conv_bn(3, w, w)  # option A shortcuts: no params
            c = w
    return total + fc(c, classes)


def resnet9_count(classes=10):
    return conv_bn(3, 3, 64) + conv_bn(3, 64, 128) + 2 * conv_bn(3, 128, 128) \
        + conv_bn(3, 128, 256) + conv_bn(3, 256, 512) + 2 * conv_bn(3, 512, 512) \
        + fc(512, classes)


# (builder, input shape, the reference's published count, the count derived above)
CASES = {
    "alexnet": (lambda: models.alexnet(), (224, 224, 3), 61_100_840, alexnet_count()),
    "vgg11": (lambda: models.vgg(11), (224, 224, 3), 132_863_336, vgg_count(VGG_TABLE[11], False)),
    "vgg13": (lambda: models.vgg(13), (224, 224, 3), 133_047_848, vgg_count(VGG_TABLE[13], False)),
    "vgg16": (lambda: models.vgg(16), (224, 224, 3), 138_357_544, vgg_count(VGG_TABLE[16], False)),
    "vgg19": (lambda: models.vgg(19), (224, 224, 3), 143_667_240, vgg_count(VGG_TABLE[19], False)),
    "vgg11_bn": (lambda: models.vgg(11, batchnorm=True), (224, 224, 3), 132_868_840,
                 vgg_count(VGG_TABLE[11], True)),
    "vgg16_bn": (lambda: models.vgg(16, batchnorm=True), (224, 224, 3), 138_365_992,
                 vgg_count(VGG_TABLE[16], True)),
    "vgg19_bn": (lambda: models.vgg(19, batchnorm=True), (224, 224, 3), 143_678_248,
                 vgg_count(VGG_TABLE[19], True)),
    "googlenet": (lambda: models.googlenet(), (224, 224, 3), 6_624_904, googlenet_count(3)),
    "googlenet_5x5": (lambda: models.googlenet(five_kernel=5), (224, 224, 3), None,
                      googlenet_count(5)),
    "resnet18": (lambda: models.resnet(18), (224, 224, 3), 11_689_512, resnet_count(18)),
    "resnet34": (lambda: models.resnet(34), (224, 224, 3), 21_797_672, resnet_count(34)),
    "resnet50": (lambda: models.resnet(50), (224, 224, 3), 25_557_032, resnet_count(50)),
    "resnet20": (lambda: models.resnet_cifar(20), (32, 32, 3), 269_722, resnet_cifar_count(20)),
    "resnet32": (lambda: models.resnet_cifar(32), (32, 32, 3), 464_154, resnet_cifar_count(32)),
    "resnet56": (lambda: models.resnet_cifar(56), (32, 32, 3), 853_018, resnet_cifar_count(56)),
    "resnet110": (lambda: models.resnet_cifar(110), (32, 32, 3), 1_727_962,
                  resnet_cifar_count(110)),
    "resnet9": (lambda: models.resnet9(), (32, 32, 3), 6_573_130, resnet9_count()),
}


def _param_count(model, input_shape):
    params, _ = jax.eval_shape(lambda k: model.init(k, input_shape), jax.random.key(0))
    return models.count_params(params)


@pytest.mark.parametrize("name", list(CASES))
def test_parameter_count_equals_the_reference(name):
    build, shape, published, derived = CASES[name]
    model = build()
    count = _param_count(model, shape)
    assert count == derived
    if published is not None:
        assert count == published
    classes = 1000 if shape[0] == 224 else 10
    assert model.output_shape(shape) == (classes,)


def _shapes(model, shape):
    out = []
    for layer in model.sublayers:
        shape = layer.output_shape(shape)
        out.append(shape)
    return out


def test_imagenet_feature_map_sizes_follow_torchvision():
    # torchvision's maps on 224x224: the stem and first pool of ResNet give 112 and 56,
    # the four stages 56, 28, 14, 7; AlexNet's pools 27, 13, 6; GoogLeNet's ceil-mode
    # pools 56, 28, 14, then 7.
    resnet = _shapes(models.resnet(18), (224, 224, 3))
    assert resnet[2] == (112, 112, 64) and resnet[3] == (56, 56, 64)
    assert [s for s in resnet if len(s) == 3][-8::2] == [
        (56, 56, 64), (28, 28, 128), (14, 14, 256), (7, 7, 512)]
    alex = _shapes(models.alexnet(), (224, 224, 3))
    assert [s for s, layer in zip(alex, models.alexnet().sublayers)
            if layer.name.startswith("MaxPool")] == [(27, 27, 64), (13, 13, 192), (6, 6, 256)]
    goog = models.googlenet()
    pools = [s for s, layer in zip(_shapes(goog, (224, 224, 3)), goog.sublayers)
             if layer.name.startswith("MaxPool")]
    assert pools == [(56, 56, 64), (28, 28, 192), (14, 14, 480), (7, 7, 832)]


def test_cifar_nets_on_digits_sized_inputs():
    # 8x8 digits: ResNet-20's stages give 8, 4, 2; ResNet-9's pools 4, 2, 1.
    assert models.resnet_cifar(20, num_classes=10).output_shape((8, 8, 1)) == (10,)
    assert models.resnet9().output_shape((8, 8, 1)) == (10,)
    assert _param_count(models.resnet_cifar(8, width=4, num_classes=3), (8, 8, 1)) == \
        resnet_cifar_count(8, width=4, classes=3, channels=1)


def test_builders_compare_by_configuration():
    assert models.resnet_cifar(20) == models.resnet_cifar(20)
    assert models.resnet_cifar(20) != models.resnet_cifar(32)
    assert models.resnet9(manual=True) != models.resnet9()


@pytest.mark.parametrize("call, match", [
    (lambda: models.vgg(12), "depth must be one of 11, 13, 16, 19"),
    (lambda: models.resnet(101), "depth must be 18, 34 or 50"),
    (lambda: models.resnet_cifar(21), "depth must be 6n \\+ 2"),
    (lambda: models.resnet_cifar(2), "depth must be 6n \\+ 2"),
    (lambda: models.googlenet(five_kernel=4), "five_kernel must be 3 or 5"),
    (lambda: models.alexnet(num_classes=0), "num_classes"),
    (lambda: models.resnet9(num_classes=-1), "num_classes"),
])
def test_builder_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_imagenet_nets_refuse_sizes_their_windows_do_not_tile():
    with pytest.raises(ValueError, match="cannot apply"):
        models.resnet(18).output_shape((225, 225, 3))
