"""Analytic multiply-add counts of the residual networks the benchmarks train.

Only convolutions and the final dense layer are counted (batch norm, ReLU, pooling and
the residual additions are a few percent of the arithmetic and none of it runs on the
matrix units). A training step is counted as three forward passes (forward, input
gradient, weight gradient), the usual convention; FLOPs are twice the multiply-adds.
"""

# torchvision's ImageNet ResNets: depth -> (blocks per stage, bottleneck blocks?)
IMAGENET_STAGES = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False), 50: ((3, 4, 6, 3), True)}


def _conv(h, w, c_in, c_out, kernel, stride=1, padding=None):
    """``(h_out, w_out, multiply-adds)`` of one convolution on an ``h x w x c_in`` input."""
    padding = (kernel - 1) // 2 if padding is None else padding
    h_out = (h + 2 * padding - kernel) // stride + 1
    w_out = (w + 2 * padding - kernel) // stride + 1
    return h_out, w_out, h_out * w_out * kernel * kernel * c_in * c_out


def resnet_cifar_macs(depth=20, image=(32, 32), num_classes=10):
    """One image's forward multiply-adds in He et al.'s CIFAR ResNet ``6n + 2`` (option A
    shortcuts: no parameters, no multiply-adds)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n + 2 with n >= 1, got {depth}")
    n = (depth - 2) // 6
    h, w, total = _conv(*image, 3, 16, 3)
    c_in = 16
    for stage, width in enumerate((16, 32, 64)):
        for block in range(n):
            stride = 2 if stage and not block else 1
            h, w, first = _conv(h, w, c_in, width, 3, stride)
            _, _, second = _conv(h, w, width, width, 3)
            total += first + second
            c_in = width
    return total + c_in * num_classes


def resnet9_macs(image=(32, 32), num_classes=10):
    """One image's forward multiply-adds in the DAWNBench ResNet-9 (prep conv 64; conv 128,
    pool, residual of two convs 128; conv 256, pool; conv 512, pool, residual of two
    convs 512; global max pool; dense)."""
    h, w = image
    total, c_in = 0, 3
    for width, pool, residual in ((64, False, False), (128, True, True), (256, True, False),
                                  (512, True, True)):
        _, _, macs = _conv(h, w, c_in, width, 3)
        total += macs
        if pool:
            h, w = h // 2, w // 2
        if residual:
            total += 2 * _conv(h, w, width, width, 3)[2]
        c_in = width
    return total + c_in * num_classes


def resnet_imagenet_macs(depth=18, image=(224, 224), num_classes=1000):
    """One image's forward multiply-adds in torchvision's ResNet ``depth`` (18, 34, 50):
    7x7/2 stem, 3x3/2 max pool, four stages (stride 2 in the 3x3 convolution of the first
    block of stages 2-4, 1x1/2 projection shortcuts where the shape changes)."""
    if depth not in IMAGENET_STAGES:
        raise ValueError(f"ImageNet ResNet depth must be one of {sorted(IMAGENET_STAGES)}, got {depth}")
    stages, bottleneck = IMAGENET_STAGES[depth]
    h, w, total = _conv(*image, 3, 64, 7, 2, 3)
    h, w = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1  # max pool 3x3, stride 2, pad 1
    c_in = 64
    for stage, blocks in enumerate(stages):
        width = 64 * 2**stage
        c_out = 4 * width if bottleneck else width
        for block in range(blocks):
            stride = 2 if stage and not block else 1
            if bottleneck:
                _, _, a = _conv(h, w, c_in, width, 1)
                h2, w2, b = _conv(h, w, width, width, 3, stride)
                _, _, c = _conv(h2, w2, width, c_out, 1)
                body = a + b + c
            else:
                h2, w2, a = _conv(h, w, c_in, width, 3, stride)
                body = a + _conv(h2, w2, width, width, 3)[2]
            if stride != 1 or c_in != c_out:
                body += _conv(h, w, c_in, c_out, 1, stride, 0)[2]
            total += body
            h, w, c_in = h2, w2, c_out
    return total + c_in * num_classes


def step_flops(forward_macs_per_image, batch):
    """FLOPs of one training step: 2 FLOPs a multiply-add, forward + backward = 3 forwards."""
    return 3 * 2.0 * forward_macs_per_image * batch
