"""W3: a small CIFAR-shaped CNN, batch 128, Adam (lr 1e-3), softmax cross-entropy.

``conv3x3(32, pad 1) - ReLU - maxpool2 - conv3x3(64, pad 1) - ReLU - maxpool2 - dense 10``
on 32x32x3 images (NHWC for fdl, Flax and plain JAX; NCHW for Equinox, whose layers are
channels-first; channels_last for PyTorch, its fast CPU layout).
"""

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl.bench import training as tr
from fdl.bench.workload import Candidate, measure

BATCH = 128
IMAGE = (32, 32, 3)
WIDTHS = (32, 64)


def forward_flops(batch=BATCH):
    """``(conv1, conv2, dense)`` forward FLOPs: 2 x multiply-adds per output."""
    conv1 = 2.0 * batch * 32 * 32 * (3 * 3 * 3) * WIDTHS[0]
    conv2 = 2.0 * batch * 16 * 16 * (3 * 3 * WIDTHS[0]) * WIDTHS[1]
    dense = 2.0 * batch * (8 * 8 * WIDTHS[1]) * tr.CLASSES
    return conv1, conv2, dense


def step_flops(batch=BATCH):
    """Forward + backward: 3x forward, except the first conv, which needs no input
    gradient (2x: forward and weight gradient)."""
    conv1, conv2, dense = forward_flops(batch)
    return 2 * conv1 + 3 * (conv2 + dense)


def _fdl(x, y):
    import fdl

    def setup(config):
        model = fdl.models.convnet((WIDTHS[0:1], WIDTHS[1:2]), hidden=(), num_classes=tr.CLASSES)
        return tr.fdl_runner(model, fdl.optim.adam(tr.LR_ADAM), x, y, BATCH)

    return setup


def _he(rng, shape, fan_in):
    return jnp.asarray(rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in)))


def _jax(x, y):
    def setup(config):
        import optax

        rng = np.random.default_rng(0)
        params = {
            "c1": {"w": _he(rng, (3, 3, 3, 32), 27), "b": jnp.zeros(32)},
            "c2": {"w": _he(rng, (3, 3, 32, 64), 288), "b": jnp.zeros(64)},
            "d": {"w": _he(rng, (4096, 10), 4096), "b": jnp.zeros(10)},
        }

        def conv_relu_pool(h, p):
            h = lax.conv_general_dilated(h, p["w"], (1, 1), ((1, 1), (1, 1)),
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
            h = jax.nn.relu(h + p["b"])
            return lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

        def apply(p, xb):
            h = conv_relu_pool(conv_relu_pool(xb, p["c1"]), p["c2"])
            return h.reshape(h.shape[0], -1) @ p["d"]["w"] + p["d"]["b"]

        return tr.optax_runner(apply, params, optax.adam(tr.LR_ADAM), tr.minibatches(x, y, BATCH))

    return setup


def _flax(x, y):
    def setup(config):
        import flax.linen as nn
        import optax

        class CNN(nn.Module):
            @nn.compact
            def __call__(self, h):
                for width in WIDTHS:
                    h = nn.relu(nn.Conv(width, (3, 3), padding=1)(h))
                    h = nn.max_pool(h, (2, 2), strides=(2, 2))
                return nn.Dense(tr.CLASSES)(h.reshape(h.shape[0], -1))

        model = CNN()
        params = model.init(jax.random.key(0), jnp.zeros((1,) + IMAGE))
        return tr.optax_runner(model.apply, params, optax.adam(tr.LR_ADAM),
                               tr.minibatches(x, y, BATCH))

    return setup


def _equinox(x, y):
    def setup(config):
        import equinox as eqx
        import optax

        k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
        model = [
            eqx.nn.Conv2d(3, 32, 3, padding=1, key=k1), jax.nn.relu, eqx.nn.MaxPool2d(2, 2),
            eqx.nn.Conv2d(32, 64, 3, padding=1, key=k2), jax.nn.relu, eqx.nn.MaxPool2d(2, 2),
            jnp.ravel, eqx.nn.Linear(4096, tr.CLASSES, key=k3),
        ]
        model = eqx.nn.Sequential([eqx.nn.Lambda(f) if not isinstance(f, eqx.Module) else f
                                   for f in model])
        params, static = eqx.partition(model, eqx.is_array)

        def apply(p, xb):
            return jax.vmap(eqx.combine(p, static))(xb)

        nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # Equinox layers are channels-first
        return tr.optax_runner(apply, params, optax.adam(tr.LR_ADAM), tr.minibatches(nchw, y, BATCH))

    return setup


def _torch(x, y):
    def setup(config):
        torch = tr.torch_threads()
        torch.manual_seed(0)
        nn = torch.nn
        net = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4096, tr.CLASSES),
        ).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(net.parameters(), lr=tr.LR_ADAM)
        batches = tr.torch_batches(tr.minibatches(x, y, BATCH), channels_last=True)
        return tr.torch_runner(net, opt, batches)

    return setup


def run(key, config, matmul_gflops):
    """Times W3 with fdl and every installed peer."""
    x, y = tr.make_data(config.calls * BATCH, IMAGE)
    candidates = [
        Candidate("fdl (fit: donated jitted steps)", _fdl(x, y), is_fdl=True),
        Candidate("PyTorch eager (channels_last)", _torch(x, y), ("torch",)),
        Candidate("Flax linen + Optax", _flax(x, y), ("flax", "optax")),
        Candidate("Equinox + Optax", _equinox(x, y), ("equinox", "optax")),
        Candidate("JAX + Optax", _jax(x, y), ("optax",)),
    ]
    return measure(
        key, "CNN conv32-pool-conv64-pool-dense10 on 32x32x3, batch 128, Adam",
        unit="step", examples_per_unit=BATCH, flops_per_unit=step_flops(),
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )
