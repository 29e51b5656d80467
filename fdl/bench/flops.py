"""FLOPs of a training step, from the forward count of ``fdl.models.profile``.

``profile`` counts 2 FLOPs per multiply-add of every convolution and dense layer (batch
norm, ReLU, pooling and the residual additions are a few percent of the arithmetic and
none of it runs on the matrix units). A training step is counted as three forward
passes (forward, input gradient, weight gradient), the usual convention.
"""


def step_flops(model, input_shape, batch):
    """FLOPs of one training step of ``model`` on ``batch`` examples of ``input_shape``."""
    from fdl import models

    return 3.0 * models.profile(model, tuple(input_shape)).flops * batch
