"""PyTorch definitions of the residual networks the benchmarks train (imports torch).

Written from the papers: He et al. 2016's CIFAR ResNet ``6n + 2`` with option A
shortcuts, the DAWNBench ResNet-9 (D. Page, "How to train your ResNet"), and the
ImageNet ResNet-18/34 in torchvision's layout (used when torchvision is not installed;
same parameters: 11,689,512 for ResNet-18). Convolutions have no bias (batch norm follows).
"""

import torch.nn.functional as F
from torch import nn


def _conv3x3(c_in, c_out, stride=1):
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)


class CifarBlock(nn.Module):
    """Two 3x3 conv-BN pairs; option A shortcut (subsample, zero-pad the new channels)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = _conv3x3(c_out, c_out), nn.BatchNorm2d(c_out)
        self.stride, self.extra = stride, c_out - c_in

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        if self.stride != 1 or self.extra:
            x = x[:, :, ::self.stride, ::self.stride]
            x = F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
        return F.relu(h + x)


class ResNetCifar(nn.Module):
    """He et al.'s CIFAR ResNet: conv 16, three stages of ``n`` blocks (16, 32, 64
    channels), global average pool, dense."""

    def __init__(self, depth=20, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv, self.bn = _conv3x3(3, 16), nn.BatchNorm2d(16)
        blocks, c_in = [], 16
        for stage, width in enumerate((16, 32, 64)):
            for block in range(n):
                blocks.append(CifarBlock(c_in, width, 2 if stage and not block else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        h = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(h.mean(dim=(2, 3)))


def _conv_bn_relu(c_in, c_out):
    return nn.Sequential(_conv3x3(c_in, c_out), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Residual(nn.Module):
    """``x + body(x)``."""

    def __init__(self, *layers):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x)


def resnet9(num_classes=10):
    """The DAWNBench ResNet-9: prep 64; 128, pool, residual(128, 128); 256, pool; 512, pool,
    residual(512, 512); global max pool; dense."""
    return nn.Sequential(
        _conv_bn_relu(3, 64),
        _conv_bn_relu(64, 128), nn.MaxPool2d(2),
        Residual(_conv_bn_relu(128, 128), _conv_bn_relu(128, 128)),
        _conv_bn_relu(128, 256), nn.MaxPool2d(2),
        _conv_bn_relu(256, 512), nn.MaxPool2d(2),
        Residual(_conv_bn_relu(512, 512), _conv_bn_relu(512, 512)),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(512, num_classes),
    )


class BasicBlock(nn.Module):
    """The ImageNet ResNet's basic block; a 1x1 conv-BN projection where the shape changes."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1, self.bn1 = _conv3x3(c_in, c_out, stride), nn.BatchNorm2d(c_out)
        self.conv2, self.bn2 = _conv3x3(c_out, c_out), nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNetImageNet(nn.Module):
    """ResNet-18/34: 7x7/2 conv 64, 3x3/2 max pool, four stages of basic blocks (64, 128,
    256, 512 channels, stride 2 from the second), global average pool, dense."""

    STAGES = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}

    def __init__(self, depth=18, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False),
                                  nn.BatchNorm2d(64), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        blocks, c_in = [], 64
        for stage, count in enumerate(self.STAGES[depth]):
            width = 64 * 2**stage
            for block in range(count):
                blocks.append(BasicBlock(c_in, width, 2 if stage and not block else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def resnet_imagenet(depth=18, num_classes=1000):
    """``(module, source)``: torchvision's ``resnet<depth>`` when torchvision imports, else
    ``ResNetImageNet``; ``source`` says which."""
    try:
        import torchvision
    except ImportError:
        return ResNetImageNet(depth, num_classes), "own definition"
    builder = getattr(torchvision.models, f"resnet{depth}")
    return builder(weights=None, num_classes=num_classes), f"torchvision {torchvision.__version__}"


def count_params(module):
    """Trainable parameters (batch norm's running statistics excluded)."""
    return sum(p.numel() for p in module.parameters())
