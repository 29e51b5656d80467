"""``fdl train --model resnet20|resnet9|vgg11|...``: the landmark builders from the command line."""

import pytest

from fdl import cli, models
from fdl.commands import _train


@pytest.mark.parametrize("name, expected", [
    ("resnet20", models.resnet_cifar(20, num_classes=10)),
    ("resnet56", models.resnet_cifar(56, num_classes=10)),
    ("resnet9", models.resnet9(10)),
    ("vgg11", models.vgg(11, num_classes=10)),
])
def test_model_names_build_the_architectures(name, expected):
    # Builders compare by configuration, so the command's model is the library's.
    cfg = _train.TrainConfig(model=name)
    model, _ = _train._build_model(cfg, (32, 32, 3), 10)
    assert model == expected
    manual, _ = _train._build_model(cfg._replace(grads="manual"), (32, 32, 3), 10)
    assert manual != model


def test_residual_nets_fit_digits_and_vgg_says_why_not(capsys):
    cfg = _train.TrainConfig(model="resnet20")
    model, _ = _train._build_model(cfg, (8, 8, 1), 10)
    assert model.output_shape((8, 8, 1)) == (10,)
    status = cli.main(["train", "--model", "vgg16", "--epochs", "1"])
    err = capsys.readouterr().err
    assert status == 2
    assert "vgg16 cannot be applied to images of size (8, 8)" in err
    assert "Traceback" not in err
