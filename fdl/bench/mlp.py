"""W1, W2: a two-layer MLP ``D -> 100 -> ReLU -> 10``, softmax cross-entropy, SGD with
momentum 0.9 (lr 0.01).

W1 is digits-shaped (``D = 64``, batch 64), W2 CIFAR-shaped (``D = 3072``, batch 128).
Such a small network is dominated by per-step overhead, which is what it measures.
"""

import jax
import jax.numpy as jnp
import numpy as np

from fdl.bench import training as tr
from fdl.bench.workload import Candidate, measure

HIDDEN = 100
SHAPES = {"W1": (64, 64), "W2": (3072, 128)}  # key -> (input size D, batch)


def forward_flops(dim, batch):
    """Multiply-adds of both affine layers, times 2."""
    return 2.0 * batch * (dim * HIDDEN + HIDDEN * tr.CLASSES)


def _init_dense(rng, dims):
    """He-normal weights and zero biases for consecutive dense layers."""
    params = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        w = rng.standard_normal((d_in, d_out), dtype=np.float32) * np.float32(np.sqrt(2.0 / d_in))
        params.append({"w": jnp.asarray(w), "b": jnp.zeros((d_out,), jnp.float32)})
    return params


def _fdl(x, y, batch):
    import fdl

    def setup(config):
        model = fdl.models.mlp([HIDDEN], tr.CLASSES)
        return tr.fdl_runner(model, fdl.optim.momentum(tr.LR_SGD, tr.MOMENTUM), x, y, batch)

    return setup


def _jax(x, y, batch):
    def setup(config):
        import optax

        def apply(params, xb):
            h = jax.nn.relu(xb @ params[0]["w"] + params[0]["b"])
            return h @ params[1]["w"] + params[1]["b"]

        params = _init_dense(np.random.default_rng(0), (x.shape[1], HIDDEN, tr.CLASSES))
        tx = optax.sgd(tr.LR_SGD, momentum=tr.MOMENTUM)
        return tr.optax_runner(apply, params, tx, tr.minibatches(x, y, batch))

    return setup


def _flax(x, y, batch):
    def setup(config):
        import flax.linen as nn
        import optax

        class MLP(nn.Module):
            @nn.compact
            def __call__(self, xb):
                return nn.Dense(tr.CLASSES)(nn.relu(nn.Dense(HIDDEN)(xb)))

        model = MLP()
        params = model.init(jax.random.key(0), jnp.zeros((1, x.shape[1])))
        tx = optax.sgd(tr.LR_SGD, momentum=tr.MOMENTUM)
        return tr.optax_runner(model.apply, params, tx, tr.minibatches(x, y, batch))

    return setup


def _equinox(x, y, batch):
    def setup(config):
        import equinox as eqx
        import optax

        model = eqx.nn.MLP(x.shape[1], tr.CLASSES, HIDDEN, depth=1, activation=jax.nn.relu,
                           key=jax.random.key(0))
        params, static = eqx.partition(model, eqx.is_array)

        def apply(p, xb):
            return jax.vmap(eqx.combine(p, static))(xb)

        tx = optax.sgd(tr.LR_SGD, momentum=tr.MOMENTUM)
        return tr.optax_runner(apply, params, tx, tr.minibatches(x, y, batch))

    return setup


def _torch(x, y, batch):
    def setup(config):
        torch = tr.torch_threads()
        torch.manual_seed(0)
        net = torch.nn.Sequential(
            torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, tr.CLASSES)
        )
        opt = torch.optim.SGD(net.parameters(), lr=tr.LR_SGD, momentum=tr.MOMENTUM)
        return tr.torch_runner(net, opt, tr.torch_batches(tr.minibatches(x, y, batch)))

    return setup


def run(key, config, matmul_gflops):
    """Times W1 or W2 (``key``) with fdl and every installed peer."""
    dim, batch = SHAPES[key]
    x, y = tr.make_data(config.calls * batch, (dim,))
    candidates = [
        Candidate("fdl (fit: scanned epoch)", _fdl(x, y, batch), is_fdl=True),
        Candidate("PyTorch eager", _torch(x, y, batch), ("torch",)),
        Candidate("Flax linen + Optax", _flax(x, y, batch), ("flax", "optax")),
        Candidate("Equinox + Optax", _equinox(x, y, batch), ("equinox", "optax")),
        Candidate("JAX + Optax", _jax(x, y, batch), ("optax",)),
    ]
    shape = "digits" if key == "W1" else "CIFAR"
    return measure(
        key, f"MLP {dim}-{HIDDEN}-{tr.CLASSES} ({shape}-shaped), batch {batch}, SGD momentum",
        unit="step", examples_per_unit=batch, flops_per_unit=3 * forward_flops(dim, batch),
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )
