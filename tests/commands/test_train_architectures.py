"""``fdl train --model resnet20|resnet9|vgg11|...``: the landmark builders from the command line."""

import numpy as np
import pytest

from fdl import cli, data, models
from fdl.commands import _train


def _splits(image_shape, num_classes=10):
    """A stand-in for loaded data: only the image shape and the class names matter."""
    part = data.Dataset(np.zeros((2, *image_shape), np.float32), np.zeros(2, np.int32))
    return data.Splits(part, part, part, tuple(str(c) for c in range(num_classes)))


@pytest.mark.parametrize("name, expected", [
    ("resnet20", models.resnet_cifar(20, num_classes=10)),
    ("resnet56", models.resnet_cifar(56, num_classes=10)),
    ("resnet9", models.resnet9(10)),
    ("vgg11", models.vgg(11, num_classes=10)),
])
def test_model_names_build_the_architectures(name, expected):
    # Builders compare by configuration, so the command's model is the library's.
    cfg = _train.TrainConfig(model=name)
    model, _, _ = _train._build_model(cfg, _splits((32, 32, 3)))
    assert model == expected
    manual, _, _ = _train._build_model(cfg._replace(grads="manual"), _splits((32, 32, 3)))
    assert manual != model


def test_residual_nets_fit_digits_and_vgg_says_why_not(capsys, tmp_path, monkeypatch):
    cfg = _train.TrainConfig(model="resnet20")
    model, _, _ = _train._build_model(cfg, _splits((8, 8, 1)))
    assert model.output_shape((8, 8, 1)) == (10,)
    monkeypatch.chdir(tmp_path)  # where the default output directory runs/<time> would go
    status = cli.main(["train", "--model", "vgg16", "--epochs", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert "vgg16 cannot be applied to images of size (8, 8)" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # refused before any output directory is made
