"""What machine the numbers come from, and how fast it multiplies matrices.

The slug names a results file (``results/<slug>.json``) from facts that stay the same
across hosts of one kind: the JAX platform, the core count and the widest vector
instruction set, e.g. ``cpu-2core-avx512``. The float32 matrix-product rate is the
ceiling every workload's FLOP rate is compared with.
"""

import os
import platform
import re

import jax
import jax.numpy as jnp
import numpy as np

from fdl.bench.timing import interleaved


def _cpu_flags():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def vector_isa():
    """``avx512``, ``avx2``, ``avx`` or the machine name (``arm64``, ...)."""
    flags = _cpu_flags()
    for isa, flag in (("avx512", "avx512f"), ("avx2", "avx2"), ("avx", "avx")):
        if flag in flags:
            return isa
    return platform.machine().lower() or "unknown"


def slug():
    """A short, hostname-free name for this kind of machine."""
    device = jax.devices()[0]
    if device.platform == "cpu":
        return f"cpu-{os.cpu_count()}core-{vector_isa()}"
    kind = re.sub(r"[^a-z0-9]+", "-", device.device_kind.lower()).strip("-")
    return f"{device.platform}-{jax.device_count()}x-{kind}"


def describe():
    """Facts recorded next to the timings (versions, device, load when they were taken)."""
    device = jax.devices()[0]
    facts = {
        "slug": slug(),
        "platform": device.platform,
        "device_kind": device.device_kind,
        "cpu_count": os.cpu_count(),
        "vector_isa": vector_isa(),
        "python": platform.python_version(),
        "jax": jax.__version__,
    }
    if hasattr(os, "getloadavg"):
        facts["load_average_1_5_15"] = [round(v, 2) for v in os.getloadavg()]
    return facts


def matmul_gflops(size=2048, repeats=5):
    """Float32 rate of a jitted ``size``-cubed matrix product, in GFLOP/s.

    The fastest of ``repeats`` rounds, not the median: this is the machine's ceiling,
    and on a shared machine the median measures the other load as well.
    """
    rng = np.random.default_rng(0)
    a, b = (jnp.asarray(rng.standard_normal((size, size), dtype=np.float32)) for _ in range(2))
    matmul = jax.jit(jnp.matmul)
    timed = interleaved({"matmul": lambda: matmul(a, b).block_until_ready()}, repeats)
    return 2.0 * size**3 / min(timed["matmul"].seconds) / 1e9
