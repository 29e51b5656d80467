"""R1: ResNet-20 training steps on CIFAR-shaped batches (32x32x3, batch 128), SGD with
momentum 0.9 (lr 0.01), softmax cross-entropy.

He et al. 2016's CIFAR ResNet ``6n + 2`` (n = 3): conv3x3(16)-BN-ReLU, three stages of
three basic blocks (16, 32, 64 channels, stride 2 at the start of stages 2 and 3),
option A shortcuts (subsampling and zero-padded channels, no parameters), global
average pool, dense 10; convolutions without bias; 0.27M parameters. fdl's
``fdl.models.resnet_cifar`` against PyTorch eager (channels_last) and Flax linen + Optax
(NHWC), each network written in its own library; batch norm in training mode (batch
statistics, running averages updated) everywhere.
"""

import functools

import jax
import jax.numpy as jnp

from fdl.bench import flops
from fdl.bench import training as tr
from fdl.bench.workload import Candidate, measure

BATCH = 128
IMAGE = (32, 32, 3)
DEPTH = 20
WIDTHS = (16, 32, 64)


def step_flops(depth=DEPTH, batch=BATCH, image=IMAGE):
    """FLOPs of one training step (``flops.step_flops``: 3 forward passes)."""
    import fdl

    return flops.step_flops(fdl.models.resnet_cifar(depth, num_classes=tr.CLASSES), image, batch)


def _fdl(x, y, depth, batch):
    def setup(config):
        import fdl

        model = fdl.models.resnet_cifar(depth, num_classes=tr.CLASSES)
        return tr.fdl_runner(model, fdl.optim.momentum(tr.LR_SGD, tr.MOMENTUM), x, y, batch)

    return setup


def _flax(x, y, depth, batch):
    def setup(config):
        import flax.linen as nn
        import optax

        batch_norm = functools.partial(nn.BatchNorm, use_running_average=False, momentum=0.9,
                                       epsilon=1e-5)

        class Block(nn.Module):
            width: int
            stride: int

            @nn.compact
            def __call__(self, h):
                out = nn.Conv(self.width, (3, 3), self.stride, padding=1, use_bias=False)(h)
                out = nn.relu(batch_norm()(out))
                out = batch_norm()(nn.Conv(self.width, (3, 3), padding=1, use_bias=False)(out))
                extra = self.width - h.shape[-1]
                if self.stride != 1 or extra:  # option A: subsample, zero-pad channels
                    h = h[:, ::self.stride, ::self.stride, :]
                    h = jnp.pad(h, ((0, 0), (0, 0), (0, 0), (extra // 2, extra - extra // 2)))
                return nn.relu(out + h)

        class ResNet(nn.Module):
            @nn.compact
            def __call__(self, h):
                h = nn.relu(batch_norm()(nn.Conv(WIDTHS[0], (3, 3), padding=1, use_bias=False)(h)))
                for stage, width in enumerate(WIDTHS):
                    for block in range((depth - 2) // 6):
                        h = Block(width, 2 if stage and not block else 1)(h)
                return nn.Dense(tr.CLASSES)(h.mean(axis=(1, 2)))

        model = ResNet()
        # One compiled init (eager, every layer's draws would compile separately).
        variables = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1,) + IMAGE))

        def apply(params, stats, xb):
            scores, updated = model.apply({"params": params, "batch_stats": stats}, xb,
                                          mutable=["batch_stats"])
            return scores, updated["batch_stats"]

        return tr.optax_state_runner(apply, variables["params"], variables["batch_stats"],
                                     optax.sgd(tr.LR_SGD, momentum=tr.MOMENTUM),
                                     tr.minibatches(x, y, batch))

    return setup


def _torch(x, y, depth, batch):
    def setup(config):
        torch = tr.torch_threads()
        from fdl.bench import torch_nets

        torch.manual_seed(0)
        net = torch_nets.ResNetCifar(depth, tr.CLASSES).to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(net.parameters(), lr=tr.LR_SGD, momentum=tr.MOMENTUM)
        batches = tr.torch_batches(tr.minibatches(x, y, batch), channels_last=True)
        return tr.torch_runner(net, opt, batches)

    return setup


def run(key, config, matmul_gflops, *, depth=DEPTH, batch=BATCH):
    """Times R1 with fdl and every installed peer (``depth`` and ``batch`` shrink it for
    tests)."""
    x, y = tr.make_data(config.calls * batch, IMAGE)
    args = (x, y, depth, batch)
    candidates = [
        Candidate("fdl (fit: donated jitted steps)", _fdl(*args), is_fdl=True),
        Candidate("PyTorch eager (channels_last)", _torch(*args), ("torch",)),
        Candidate("Flax linen + Optax", _flax(*args), ("flax", "optax")),
    ]
    return measure(
        key, f"ResNet-{depth} (CIFAR, option A shortcuts) on 32x32x3, batch {batch}, SGD momentum",
        unit="step", examples_per_unit=batch, flops_per_unit=step_flops(depth, batch),
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )
