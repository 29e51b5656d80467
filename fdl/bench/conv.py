"""C1: one convolution layer, forward + backward, at W3's two conv shapes; P1: max pooling.

C1.1 is W3's first layer (32x32x3 -> 32 filters 3x3, pad 1, batch 128): its input is
the image, so only the filter and bias gradients are computed. C1.2 is the second
(16x16x32 -> 64): input gradient too. Rows: fdl's default (``impl="auto"``), fdl's
im2col, fdl's XLA path (``lax.conv_general_dilated``) and PyTorch (channels_last).

P1 is W3's first ReLU + 2x2 max pool (128x32x32x32), forward + backward, fdl's
``max_pool2d`` against PyTorch's: the other large piece of W3's step.
"""

import jax
import jax.numpy as jnp
import numpy as np

from fdl.bench import training as tr
from fdl.bench.workload import Candidate, measure

BATCH = 128
LAYERS = {  # key -> (H, W, C_in, C_out, needs input gradient)
    "C1.1": (32, 32, 3, 32, False),
    "C1.2": (16, 16, 32, 64, True),
}
POOL_SHAPE = (BATCH, 32, 32, 32)


def _arrays(h, w, c, o, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, h, w, c), dtype=np.float32)
    k = rng.standard_normal((3, 3, c, o), dtype=np.float32) * np.float32(np.sqrt(2.0 / (9 * c)))
    b = rng.standard_normal((o,), dtype=np.float32)
    g = rng.standard_normal((BATCH, h, w, o), dtype=np.float32)
    return x, k, b, g


def _fdl_conv(impl, arrays, need_dx):
    def setup(config):
        import fdl

        x, k, b, g = jax.device_put(arrays)

        def objective(x, k, b, g):
            # <conv(x), g> has gradient g at the output: one backward pass with dout = g.
            return jnp.sum(fdl.nn.conv2d(x, k, b, 1, 1, impl=impl) * g)

        # g is an argument, not a closed-over constant: XLA would otherwise fold the bias
        # gradient (a sum of g alone) into a constant at compile time (seconds of
        # compiling) and the timed step would skip that reduction, which PyTorch's does.
        grad = jax.jit(jax.grad(objective, argnums=(0, 1, 2) if need_dx else (1, 2)))

        def run():
            for _ in range(config.calls):
                out = grad(x, k, b, g)
            jax.block_until_ready(out)

        return run

    return setup


def _torch_conv(arrays, need_dx):
    def setup(config):
        torch = tr.torch_threads()
        x, k, b, g = (np.ascontiguousarray(a) for a in arrays)
        cl = torch.channels_last
        xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(memory_format=cl)
        xt.requires_grad_(need_dx)
        kt = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(memory_format=cl).requires_grad_()
        bt = torch.from_numpy(b).requires_grad_()
        gt = torch.from_numpy(g).permute(0, 3, 1, 2).contiguous(memory_format=cl)

        def run():
            for _ in range(config.calls):
                xt.grad = kt.grad = bt.grad = None
                torch.nn.functional.conv2d(xt, kt, bt, padding=1).backward(gt)
            float(kt.grad[0, 0, 0, 0])

        return run

    return setup


def run_conv(key, config, matmul_gflops):
    """Times C1.1 or C1.2 (``key``)."""
    h, w, c, o, need_dx = LAYERS[key]
    arrays = _arrays(h, w, c, o)
    forward = 2.0 * BATCH * h * w * 9 * c * o
    candidates = [
        Candidate("fdl conv2d (default: auto)", _fdl_conv("auto", arrays, need_dx), is_fdl=True),
        Candidate("fdl conv2d impl=im2col", _fdl_conv("im2col", arrays, need_dx), is_fdl=True),
        Candidate("fdl conv2d impl=xla", _fdl_conv("xla", arrays, need_dx), is_fdl=True),
        Candidate("PyTorch conv2d (channels_last)", _torch_conv(arrays, need_dx), ("torch",)),
    ]
    grads = "dx, dw, db" if need_dx else "dw, db"
    return measure(
        key, f"conv 3x3 pad 1, {h}x{w}x{c} -> {o}, batch {BATCH}, forward + backward ({grads})",
        unit="call", examples_per_unit=BATCH,
        flops_per_unit=(3 if need_dx else 2) * forward,
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )


def _fdl_pool(x):
    def setup(config):
        import fdl

        xd = jax.device_put(x)
        grad = jax.jit(jax.grad(lambda x: jnp.sum(fdl.nn.max_pool2d(fdl.nn.relu(x)) ** 2)))

        def run():
            for _ in range(config.calls):
                out = grad(xd)
            out.block_until_ready()

        return run

    return setup


def _torch_pool(x):
    def setup(config):
        torch = tr.torch_threads()
        xt = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2)
        xt = xt.contiguous(memory_format=torch.channels_last).requires_grad_()

        def run():
            for _ in range(config.calls):
                xt.grad = None
                pooled = torch.nn.functional.max_pool2d(torch.relu(xt), 2)
                (pooled**2).sum().backward()
            float(xt.grad[0, 0, 0, 0])

        return run

    return setup


def run_pool(key, config, matmul_gflops):
    """Times P1: ReLU + 2x2 max pool, forward + backward."""
    x = np.random.default_rng(0).standard_normal(POOL_SHAPE, dtype=np.float32)
    candidates = [
        Candidate("fdl relu + max_pool2d", _fdl_pool(x), is_fdl=True),
        Candidate("PyTorch relu + max_pool2d (channels_last)", _torch_pool(x), ("torch",)),
    ]
    return measure(
        key, "ReLU + 2x2 max pool, 128x32x32x32, forward + backward",
        unit="call", examples_per_unit=BATCH, flops_per_unit=0.0,
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )
