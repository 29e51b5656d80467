"""Model builders: an MLP, the notes' convnet pattern, LeNet-5 and a linear classifier.

Every builder returns a ``serial`` model (itself a ``Layer``) and takes ``manual=False``;
``manual=True`` builds the same layers on the ``fdl.manual`` ops, so the model has the
same params and forward values but backpropagates through hand-written rules.
"""

from fdl import _checks
from fdl import init as _init
from fdl.layers import (
    ACTIVATIONS,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    Relu,
    serial,
)
from fdl.layers import (
    activation as _activation,
)
from fdl.layers._core import positive_int

# Activations whose forward variance Xavier keeps; the ReLU family gets Kaiming/He.
_XAVIER_ACTIVATIONS = ("tanh", "sigmoid")


def _activation_factory(activation, manual, builder):
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return lambda: _activation(activation, manual=manual)
    raise ValueError(
        f"{builder}: unknown activation {activation!r}; expected one of "
        f"{', '.join(map(repr, ACTIVATIONS))}"
    )


def _default_w_init(activation, w_init):
    if w_init is not None:
        return w_init
    return _init.xavier_normal if activation in _XAVIER_ACTIVATIONS else _init.kaiming_normal


def _sizes(value, argname, builder):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{builder}: {argname} must be a sequence of positive ints, got {value!r}")
    return tuple(positive_int(v, f"every entry of {argname}", builder) for v in value)


def _rate(dropout, builder):
    try:
        return float(_checks.real_scalar(dropout, "dropout", low=0.0, high=1.0, high_open=True))
    except (TypeError, ValueError) as err:
        raise type(err)(f"{builder}: {err} (the probability of dropping a unit)") from None


def dense_impl(impl):
    """``Dense``'s implementation for a builder's ``impl``: ``"xla"`` asks for the plain
    references everywhere (what ``fdl gradcheck`` differentiates); otherwise the tuned
    kernel (``"im2col"`` names a convolution and means nothing to a dense layer)."""
    return "xla" if impl == "xla" else "auto"


def _classifier_head(hidden, num_classes, act, w_init, batchnorm, rate, manual,
                     head_init=None, impl="auto"):
    """``(FC - [BN] - act - [Dropout]) * K - FC``; the last FC uses ``head_init``.

    By default (``head_init=None``) the score layer draws its weights from N(0, 0.01^2),
    as the notes' linear classifiers do: the initial scores are then nearly equal and
    the initial loss is close to ln C (softmax) or C - 1 (SVM), the value the notes'
    first sanity check expects. A Kaiming-initialised score layer gives score spreads
    near 1 and an initial loss well above ln C.
    """
    head_init = _init.normal if head_init is None else head_init
    layers = []
    for width in hidden:
        layers.append(Dense(width, w_init, impl=dense_impl(impl), manual=manual))
        if batchnorm:
            layers.append(BatchNorm(manual=manual))
        layers.append(act())
        if rate > 0.0:
            layers.append(Dropout(rate, manual=manual))
    layers.append(Dense(num_classes, head_init, impl=dense_impl(impl), manual=manual))
    return layers


def mlp(hidden_sizes, num_classes, *, activation="relu", batchnorm=False, dropout=0.0,
        w_init=None, impl="auto", manual=False):
    """A fully connected network: ``Flatten - (FC - [BN] - act - [Dropout]) * K - FC``.

    ``Flatten`` comes first, so images work as well as vectors. Batch norm, when on, sits
    between each hidden affine layer and its nonlinearity (as in the notes); dropout
    follows each hidden nonlinearity. The last layer outputs unnormalised class scores.

    Args:
      hidden_sizes: widths of the hidden layers (a sequence of positive ints; ``()`` is a
        linear classifier).
      num_classes: number of output scores.
      activation: ``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"leaky_relu"`` or ``"elu"``.
      batchnorm: insert ``BatchNorm`` after each hidden ``Dense``.
      dropout: drop probability after each hidden activation (0 = no dropout layers).
      w_init: weight initialiser of every ``Dense``; default Kaiming normal for the ReLU
        family, Xavier normal for tanh/sigmoid, and N(0, 0.01^2) for the score layer
        (initial loss near ln C).
      impl: ``"auto"`` (the tuned dense kernel, ``fdl.kernels.affine``) or ``"xla"`` (the
        plain reference ``fdl.nn.affine``); see ``Dense``.
      manual: build on the hand-written ``fdl.manual`` ops.
    """
    builder = "mlp"
    hidden = _sizes(hidden_sizes, "hidden_sizes", builder)
    num_classes = positive_int(num_classes, "num_classes", builder)
    act = _activation_factory(activation, manual, builder)
    rate = _rate(dropout, builder)
    head_init = w_init
    w_init = _default_w_init(activation, w_init)
    return serial(
        Flatten(manual=manual),
        *_classifier_head(hidden, num_classes, act, w_init, bool(batchnorm), rate, manual,
                          head_init, impl),
    )


def _blocks(blocks, builder):
    if not isinstance(blocks, (tuple, list)):
        raise TypeError(
            f"{builder}: blocks must be a sequence of blocks, each a tuple of conv widths, "
            f"e.g. ((16, 16), (32,)); got {blocks!r}"
        )
    return tuple(_sizes(block, "blocks", builder) for block in blocks)


def _pools(pool, n, builder):
    if isinstance(pool, bool):
        return (pool,) * n
    if (isinstance(pool, (tuple, list)) and len(pool) == n
            and all(isinstance(p, bool) for p in pool)):
        return tuple(pool)
    raise ValueError(f"{builder}: pool must be a bool or one bool per block ({n}), got {pool!r}")


def convnet(blocks=((32,), (64,)), *, kernel_size=3, pool=True, hidden=(128,),
            num_classes=10, activation="relu", batchnorm=False, dropout=0.0, w_init=None,
            impl="auto", manual=False):
    """The notes' pattern ``[(CONV - RELU) * N - POOL?] * M - (FC - RELU) * K - FC``.

    Each block is a tuple of conv widths: ``N`` convolutions ``kernel_size x kernel_size``,
    stride 1, "same" padding (``(k - 1) / 2`` zeros for odd ``k``, so the spatial size is
    kept), each followed by ``[BatchNorm] - activation``; then, if ``pool``, a 2x2 max
    pool with stride 2 that halves height and width (each pooled size must be even).
    Then ``Flatten``, ``K`` hidden ``FC - [BatchNorm] - activation - [Dropout]`` layers,
    and the final ``FC`` producing class scores.

    Args:
      blocks: e.g. ``((16, 16), (32,))``: two convs of 16 filters, pool, one conv of 32,
        pool. An int entry is a one-conv block.
      kernel_size: the conv filter size ``F`` (int).
      pool: True/False for every block, or one bool per block.
      hidden: widths of the hidden FC layers (``K`` of them; ``()`` for none).
      num_classes: number of output scores.
      activation: as in ``mlp``.
      batchnorm: batch norm after every conv and hidden FC, before the activation.
      dropout: drop probability after each hidden FC activation (not in conv blocks).
      w_init: weight initialiser of every conv and FC; default as in ``mlp``.
      impl: ``"auto"`` (the faster convolution for each layer, the tuned dense kernel),
        ``"xla"`` (XLA's convolution and the plain dense reference) or ``"im2col"``.
      manual: build on the hand-written ``fdl.manual`` ops.
    """
    builder = "convnet"
    blocks = _blocks(blocks, builder)
    kernel = positive_int(kernel_size, "kernel_size", builder)
    pools = _pools(pool, len(blocks), builder)
    hidden = _sizes(hidden, "hidden", builder)
    num_classes = positive_int(num_classes, "num_classes", builder)
    act = _activation_factory(activation, manual, builder)
    rate = _rate(dropout, builder)
    head_init = w_init
    w_init = _default_w_init(activation, w_init)
    padding = (kernel - 1) // 2 if kernel % 2 else "SAME"
    layers = []
    for block, pooled in zip(blocks, pools):
        for width in block:
            layers.append(Conv(width, kernel, 1, padding, w_init, impl=impl, manual=manual))
            if batchnorm:
                layers.append(BatchNorm(manual=manual))
            layers.append(act())
        if pooled:
            layers.append(MaxPool(2, 2, manual=manual))
    layers.append(Flatten(manual=manual))
    layers += _classifier_head(hidden, num_classes, act, w_init, bool(batchnorm), rate, manual,
                               head_init, impl)
    return serial(*layers)


def lenet5(num_classes=10, *, first_padding=2, impl="auto", manual=False):
    """LeNet-5 (LeCun et al. 1998) with today's substitutions.

    ``CONV5x5(6, pad 2) - RELU - MAXPOOL2 - CONV5x5(16) - RELU - MAXPOOL2 - FC120 - RELU -
    FC84 - RELU - FC(num_classes)``.

    Substitutions: ReLU instead of the scaled tanh, max pooling instead of the trainable
    subsampling, a full connection between conv layers (the original C3 used a sparse
    connection table), and a plain affine output scored with a softmax/SVM loss instead
    of the RBF units. The first conv pads 2 so a 28x28 image (MNIST) gets the classic
    32x32 geometry: 28 -> 28 -> 14 -> 10 -> 5, i.e. 5x5x16 = 400 features into FC120
    (61,706 parameters for 10 classes on ``(28, 28, 1)``). For 32x32 inputs pass
    ``first_padding=0`` to reproduce the original sizes (32 -> 28 -> 14 -> 10 -> 5); with
    the default padding they work too (a 6x6x16 map into FC120).

    Args:
      num_classes: number of output scores.
      first_padding: zero padding of the first conv (2 by default).
      impl: ``"auto"`` (the faster convolution for each layer, the tuned dense kernel),
        ``"xla"`` (XLA's convolution and the plain dense reference) or ``"im2col"``.
      manual: build on the hand-written ``fdl.manual`` ops.
    """
    builder = "lenet5"
    num_classes = positive_int(num_classes, "num_classes", builder)
    m = manual
    return serial(
        Conv(6, 5, 1, first_padding, impl=impl, manual=m), Relu(manual=m),
        MaxPool(2, 2, manual=m),
        Conv(16, 5, 1, 0, impl=impl, manual=m), Relu(manual=m),
        MaxPool(2, 2, manual=m),
        Flatten(manual=m),
        Dense(120, impl=dense_impl(impl), manual=m), Relu(manual=m),
        Dense(84, impl=dense_impl(impl), manual=m), Relu(manual=m),
        # Small scores: initial loss ~ ln C.
        Dense(num_classes, _init.normal, impl=dense_impl(impl), manual=m),
    )


def linear(num_classes, *, w_init=_init.normal, impl="auto", manual=False):
    """A linear classifier, scores ``s = x W + b``: ``Flatten - Dense(num_classes)``.

    ``impl`` as in ``mlp``.

    ``w`` starts small (``fdl.init.normal``, std 0.01, as in the notes), so the
    initial softmax loss is close to ``ln C``; ``b`` starts at zero.
    """
    num_classes = positive_int(num_classes, "num_classes", "linear")
    return serial(Flatten(manual=manual),
                  Dense(num_classes, w_init, impl=dense_impl(impl), manual=manual))


