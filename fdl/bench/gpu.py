"""``fdl bench --gpu``: ResNet training steps on a CUDA GPU, fdl against PyTorch.

Two networks, each trained on one fixed random batch (the same for every
implementation), SGD with momentum 0.9 (lr 0.01), softmax cross-entropy, batch norm in
training mode:

* ``resnet9``: the DAWNBench ResNet-9 on CIFAR-shaped 32x32x3 images, batch 512, 10
  classes (``fdl.models.resnet9``);
* ``resnet18``: torchvision's ResNet-18 on 224x224x3 images, batch 128, 1000 classes
  (``fdl.models.resnet(18)``).

Implementations, one after another in one process:

* fdl float32 and fdl bfloat16: the training step ``fit`` compiles
  (``fdl.train._steps.make_step``, with ``compute_dtype=jnp.bfloat16`` for the second:
  bf16 copies of parameters and batch inside the step, float32 parameters, loss,
  gradients and update), jitted with the parameters, state and optimizer state donated,
  called from a Python loop, exactly as ``fit``'s loop of steps does. JAX's default
  precision lets float32 convolutions and products use TF32 on tensor-core GPUs.
* PyTorch eager float32 (TF32 allowed for convolutions, cuDNN's default, and for matrix
  products) and PyTorch eager with bf16 autocast (float32 parameters and optimizer);
  channels_last, ``cudnn.benchmark`` on, ``torch.optim.SGD`` with its default (foreach)
  update. torchvision's ``resnet18`` when torchvision imports, else fdl.bench's own
  (``torch_nets``); ResNet-9 is fdl.bench's own.

Each implementation is compiled (or autotuned) by one first step, warmed up by one
untimed round, then timed over several rounds of several steps, synchronising after
each round (``block_until_ready`` on the last step's loss, ``torch.cuda.synchronize``);
the median round gives ms/step. FLOP rates come from the analytic counts in
``fdl.models.profile`` (2 x multiply-adds of convolutions and the dense layer, a step = 3
forward passes) and are compared with the GPU's bf16 matrix-product rate, measured in
the same run (a jitted 8192^3 bf16 ``jnp.matmul`` in JAX, the fastest of its rounds).

Runs from a repository checkout without installing fdl (``PYTHONPATH=. python -m
benchmarks --gpu``) and imports nothing CPU-specific. Without a GPU it stops with one
line, unless ``--tiny``: the same code on JAX's default device (and PyTorch's CPU) with
batch 2 and small images, a test of the script rather than a measurement.
"""

import contextlib
import dataclasses
import os
import platform
import sys
import time

import numpy as np

from fdl.bench import flops, machine, report

LR = 0.01
MOMENTUM = 0.9
TINY_BATCH = 2


@dataclasses.dataclass(frozen=True)
class GpuModel:
    """One network of the GPU benchmark and the shapes it is timed at."""

    title: str
    image: tuple
    batch: int
    num_classes: int
    tiny_image: tuple
    fdl_build: object  # fdl module -> Layer
    torch_build: object  # num_classes -> (torch module, source)


def _torch_resnet9(num_classes):
    from fdl.bench import torch_nets

    return torch_nets.resnet9(num_classes), "own definition"


def _torch_resnet18(num_classes):
    from fdl.bench import torch_nets

    return torch_nets.resnet_imagenet(18, num_classes)


MODELS = {
    "resnet9": GpuModel(
        "ResNet-9 (DAWNBench), CIFAR", (32, 32, 3), 512, 10, (8, 8, 3),
        lambda fdl: fdl.models.resnet9(num_classes=10), _torch_resnet9),
    "resnet18": GpuModel(
        "ResNet-18 (torchvision), ImageNet", (224, 224, 3), 128, 1000, (32, 32, 3),
        lambda fdl: fdl.models.resnet(18, num_classes=1000), _torch_resnet18),
}

# (steps per round, timed rounds) and the bf16 matmul's (size, calls per round, rounds).
LENGTHS = {"full": (20, 5), "quick": (10, 3), "tiny": (2, 2)}
MATMUL = {"full": (8192, 10, 5), "quick": (8192, 5, 3), "tiny": (256, 2, 2)}

IMPLEMENTATIONS = (  # (name, framework, bf16?)
    ("fdl float32", "fdl", False),
    ("fdl bfloat16", "fdl", True),
    ("PyTorch eager float32 (TF32)", "torch", False),
    ("PyTorch eager bf16 autocast", "torch", True),
)


class NoGpu(Exception):
    """JAX sees no GPU (and ``--tiny`` was not given)."""


def select(only):
    """The model names to run, in table order; ``ValueError`` for an unknown one."""
    if not only:
        return list(MODELS)
    wanted = [m.strip().lower() for m in only.split(",") if m.strip()]
    for name in wanted:
        if name not in MODELS:
            raise ValueError(f"unknown GPU model {name!r}; choose from {', '.join(MODELS)}")
    return [m for m in MODELS if m in wanted]


def default_out(tiny=False):
    """``benchmarks/results/<machine>.json`` (``...-resnets-tiny.json`` for ``--tiny``)."""
    return os.path.join("benchmarks", "results",
                        f"{machine.slug()}{'-resnets-tiny' if tiny else ''}.json")


# ------------------------------------------------------------------ timing


def _time(run, steps, rounds):
    """``(seconds of the first step, [seconds per step of each timed round], loss of the
    first step, loss of the last)``: one step (compilation, autotuning), one untimed round,
    then ``rounds`` timed rounds of ``steps`` steps. ``run(n)`` takes ``n`` steps, waits
    for the device and returns the last loss."""
    start = time.perf_counter()
    first_loss = float(run(1))
    first = time.perf_counter() - start
    run(steps)
    per_step = []
    for _ in range(rounds):
        start = time.perf_counter()
        loss = run(steps)
        per_step.append((time.perf_counter() - start) / steps)
    return first, per_step, first_loss, float(loss)


def _rate(tflops):
    """A TFLOP/s figure: one decimal, or two significant digits below 1 (tiny runs)."""
    return f"{tflops:,.1f}" if tflops >= 1 else f"{tflops:.2g}"


def _median(values):
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def matmul_tflops(dtype_name, size, calls, rounds):
    """The rate of a jitted ``size``-cubed ``jnp.matmul`` on random ``dtype_name`` operands
    (JAX's default precision), in TFLOP/s: the fastest of ``rounds`` rounds of ``calls``."""
    import jax
    import jax.numpy as jnp

    ka, kb = jax.random.split(jax.random.key(0))
    dtype = jnp.dtype(dtype_name)
    a = jax.random.normal(ka, (size, size), dtype)
    b = jax.random.normal(kb, (size, size), dtype)
    matmul = jax.jit(jnp.matmul)
    matmul(a, b).block_until_ready()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            out = matmul(a, b)
        out.block_until_ready()
        best = min(best, (time.perf_counter() - start) / calls)
    return 2.0 * size**3 / best / 1e12


# ------------------------------------------------------------------ implementations


def _fdl_model(spec, image):
    """``(model, params, state)``: the network, initialised once for both dtypes."""
    import jax

    import fdl
    from fdl import _compiler

    model = spec.fdl_build(fdl)
    # One compiled init (eager, each layer's random draws would compile on their own),
    # with the options fdl compiles its steps with.
    init = _compiler.jit(model.init, static_argnums=1)
    params, state = init(jax.random.key(0), tuple(image))
    return model, params, state


def _fdl_setup(built, bf16, x, y):
    """``(run, parameter count)``: fit's training step, jitted and donating as in fit."""
    import jax
    import jax.numpy as jnp

    import fdl
    from fdl import _compiler
    from fdl.train import _precision, _steps

    model, params, state = built
    optimizer = fdl.optim.momentum(LR, MOMENTUM)
    compute_dtype = _precision.compute_dtype_arg(jnp.bfloat16 if bf16 else None, "fdl bench")
    batch = x.shape[0]
    step = _steps.make_step(model, fdl.losses.softmax_cross_entropy, optimizer, batch,
                            compute_dtype=compute_dtype)
    jstep = _compiler.jit(step, donate_argnums=(0, 1, 2))  # as fit's loop of steps
    n_params = fdl.models.count_params(params)
    # Fresh buffers: the step donates them, and optimizer states may share one buffer.
    carry = jax.tree.map(lambda a: jnp.array(a, copy=True),
                         (params, state, optimizer.init(params)))
    xd, yd = jax.device_put((x, y))
    perm = jnp.arange(batch, dtype=jnp.int32)  # every step trains on the whole (one) batch
    index, drop_key, hyper = jnp.int32(0), jax.random.key(1), _steps.hyperparameters()

    def run(steps):
        nonlocal carry
        p, s, o = carry
        for _ in range(steps):
            p, s, o, value = jstep(p, s, o, hyper, xd, yd, perm, index, drop_key)
        carry = (p, s, o)
        return value.block_until_ready()

    return run, n_params


def _torch_setup(spec, bf16, x, y, device):
    """``(run, parameter count, source of the definition)``: PyTorch eager, channels_last."""
    import torch
    import torch.nn.functional as F

    from fdl.bench import torch_nets

    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("PyTorch sees no CUDA device")
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(0)
    net, source = spec.torch_build(spec.num_classes)
    net = net.to(device=device, memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    xt = torch.from_numpy(x).to(device).permute(0, 3, 1, 2)
    xt = xt.contiguous(memory_format=torch.channels_last)
    yt = torch.from_numpy(y.astype(np.int64)).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def autocast():
        return torch.autocast(device, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def run(steps):
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                loss = F.cross_entropy(net(xt), yt)
            loss.backward()
            optimizer.step()
        sync()
        return loss.detach().item()

    return run, torch_nets.count_params(net), source


# ------------------------------------------------------------------ the run


def _versions():
    import jax

    out = {"python": platform.python_version(), "jax": jax.__version__,
           "numpy": np.__version__}
    try:
        import jaxlib

        out["jaxlib"] = jaxlib.__version__
    except (ImportError, AttributeError):
        pass
    try:
        import torch

        out["torch"] = torch.__version__
        out["torch_cuda"] = torch.version.cuda
        out["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        out["torch_gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    except ImportError:
        out["torch"] = None
    try:
        import torchvision

        out["torchvision"] = torchvision.__version__
    except ImportError:
        out["torchvision"] = None
    return out


def _device_facts(device):
    facts = machine.describe()
    facts["gpu"] = device.device_kind if device.platform == "gpu" else None
    facts["jax_platform_version"] = getattr(getattr(device, "client", None), "platform_version", None)
    return facts


def run_gpu(names, *, tiny=False, quick=False, matmul=True, out=None, log=None):
    """Times the GPU benchmark for the models ``names``; writes the JSON file; returns
    the results dict. ``NoGpu`` when JAX has no GPU and ``tiny`` is false. Progress
    lines (one per implementation, with its numbers) go to ``log`` (default: stderr)."""
    import jax

    log = log or sys.stderr
    device = jax.devices()[0]
    if device.platform != "gpu" and not tiny:
        raise NoGpu(f"no CUDA GPU: JAX's devices are {device.platform} ({device.device_kind})")
    wall = time.perf_counter()
    length = "tiny" if tiny else "quick" if quick else "full"
    steps, rounds = LENGTHS[length]
    torch_device = "cuda" if device.platform == "gpu" else "cpu"
    has_torch = _importable("torch")

    def say(line):
        print(line, file=log, flush=True)

    say(f"GPU benchmark on {device.device_kind} (JAX {device.platform}), {length}: "
        f"{rounds} rounds x {steps} steps per implementation")
    peak = tf32 = None
    if matmul:
        size, calls, mm_rounds = MATMUL[length]
        peak = matmul_tflops("bfloat16", size, calls, mm_rounds)
        tf32 = matmul_tflops("float32", size, calls, mm_rounds)
        say(f"matmul {size}^3 in JAX: bfloat16 {_rate(peak)} TFLOP/s (the peak), float32 at "
            f"JAX's default precision {_rate(tf32)} TFLOP/s")
    results = {
        "benchmark": "gpu-resnets",
        "machine": _device_facts(device),
        "versions": _versions(),
        "bf16_matmul_tflops": peak,
        "f32_default_precision_matmul_tflops": tf32,
        "matmul_size": MATMUL[length][0] if matmul else None,
        "length": length,
        "steps_per_round": steps,
        "rounds": rounds,
        "settings": {
            "jax_default_matmul_precision": getattr(jax.config, "jax_default_matmul_precision",
                                                    None),
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "torch_device": torch_device,
            "torch": "channels_last, cudnn.benchmark, cudnn.allow_tf32, cuda.matmul.allow_tf32, "
                     "SGD(momentum=0.9) default (foreach) update",
            "optimizer": f"SGD momentum {MOMENTUM}, lr {LR}",
        },
        "models": {},
    }
    for name in names:
        spec = MODELS[name]
        say(f"{name}: {spec.title}")
        image = spec.tiny_image if tiny else spec.image
        batch = TINY_BATCH if tiny else spec.batch
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch,) + image, dtype=np.float32)
        y = rng.integers(0, spec.num_classes, batch).astype(np.int32)
        import fdl

        step = flops.step_flops(spec.fdl_build(fdl), image, batch)
        entry = {"title": spec.title, "image": list(image), "batch": batch,
                 "num_classes": spec.num_classes, "step_flops": step, "rows": []}
        results["models"][name] = entry
        built = None  # fdl's model and initial parameters, shared by its two rows
        for impl, framework, bf16 in IMPLEMENTATIONS:
            row = {"implementation": impl, "framework": framework,
                   "dtype": "bfloat16" if bf16 else "float32", "status": "ok"}
            entry["rows"].append(row)
            if framework == "torch" and not has_torch:
                row["status"] = "not installed (torch)"
                say(f"{name} {impl}: {row['status']}")
                continue
            try:
                start = time.perf_counter()
                if framework == "fdl":
                    built = built or _fdl_model(spec, image)
                    run, row["params"] = _fdl_setup(built, bf16, x, y)
                else:
                    run, row["params"], row["definition"] = _torch_setup(spec, bf16, x, y,
                                                                         torch_device)
                row["setup_s"] = time.perf_counter() - start
                first, per_step, loss0, loss1 = _time(run, steps, rounds)
            except Exception as err:  # one broken implementation must not stop the run
                first_line = (str(err).splitlines() or [""])[0][:300]
                row["status"] = f"error: {type(err).__name__}: {first_line}"
                say(f"{name} {impl}: {row['status']}")
                continue
            finally:
                run = None
                if framework != "fdl" or bf16:
                    built = None
                _release(framework)
            ms = _median(per_step) * 1e3
            row.update(ms=ms, ms_each_round=[s * 1e3 for s in per_step], first_step_s=first,
                       images_per_s=batch / (ms / 1e3), tflops=step / (ms / 1e3) / 1e12,
                       loss_first=loss0, loss_last=loss1)
            if peak:
                row["fraction_of_bf16_peak"] = row["tflops"] / peak
            say(f"{name} {impl}: {ms:,.2f} ms/step, {row['images_per_s']:,.0f} images/s, "
                f"{_rate(row['tflops'])} TFLOP/s"
                + (f" ({row['fraction_of_bf16_peak']:.1%} of the bf16 peak)" if peak else "")
                + f"; setup {row['setup_s']:.1f} s, first step (compilation, autotuning) "
                f"{first:.1f} s; loss {loss0:.3f} -> {loss1:.3f}")
        _compare_with_torch(entry["rows"])
    results["wall_s"] = time.perf_counter() - wall
    path = out or default_out(tiny)
    report.write_json(results, path)
    results["path"] = path
    return results


def _importable(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _release(framework):
    """Returns an implementation's device memory before the next one sets up."""
    import gc

    gc.collect()
    if framework == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _compare_with_torch(rows):
    """``vs_torch``: each fdl row's ms over PyTorch's at the same dtype (below 1: faster)."""
    torch_ms = {r["dtype"]: r["ms"] for r in rows if r["framework"] == "torch" and "ms" in r}
    for row in rows:
        ref = torch_ms.get(row["dtype"])
        row["vs_torch"] = row["ms"] / ref if row["framework"] == "fdl" and ref and "ms" in row \
            else None


def table(results):
    """The results as a markdown table, one row per (model, implementation)."""
    lines = [
        "| model | implementation | ms/step | images/s | TFLOP/s | share of bf16 peak "
        "| vs PyTorch, same dtype | first step, s (compile) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for entry in results["models"].values():
        h, w, _ = entry["image"]
        label = (f"{entry['title']} {h}x{w}, batch {entry['batch']} "
                 f"({entry['step_flops'] / 1e12:.3g} TFLOP/step)")
        for row in entry["rows"]:
            if "ms" not in row:
                lines.append(f"| {label} | {row['implementation']} | {row['status']} | | | | | |")
                continue
            share = row.get("fraction_of_bf16_peak")
            ratio = row.get("vs_torch")
            lines.append(
                f"| {label} | {row['implementation']} | {row['ms']:,.2f} "
                f"| {row['images_per_s']:,.0f} | {_rate(row['tflops'])} "
                f"| {'—' if share is None else f'{share:.1%}'} "
                f"| {'—' if ratio is None else f'{ratio:.2f}x'} | {row['first_step_s']:.1f} |")
    return "\n".join(lines)


def print_results(results, file=None):
    """The machine line, the table and where the JSON went (default: stdout)."""
    file = file or sys.stdout
    v, m = results["versions"], results["machine"]
    peak = results["bf16_matmul_tflops"]
    print(f"{m.get('gpu') or m['device_kind']} ({m['slug']}); jax {v['jax']}, torch "
          f"{v.get('torch')} (torchvision {v.get('torchvision')}, CUDA {v.get('torch_cuda')}, "
          f"cuDNN {v.get('cudnn')}); bf16 matmul peak "
          f"{'not measured' if peak is None else f'{_rate(peak)} TFLOP/s'} "
          f"({results['matmul_size']}^3 in JAX); medians of {results['rounds']} rounds of "
          f"{results['steps_per_round']} steps; {results['wall_s']:.0f} s in all.", file=file)
    print(file=file)
    print(table(results), file=file)
    print(file=file)
    if v.get("torch") is None:
        print("PyTorch not installed: pip install 'fdl[bench]' adds it", file=file)
    print(f"wrote {results['path']}", file=file)


def main(names, *, tiny=False, quick=False, matmul=True, out=None):
    """Runs and prints the GPU benchmark; returns the exit status (1 without a GPU)."""
    try:
        results = run_gpu(names, tiny=tiny, quick=quick, matmul=matmul, out=out)
    except NoGpu as err:
        print(f"fdl bench --gpu: {err}; --tiny runs the same code here with tiny shapes",
              file=sys.stderr)
        return 1
    print_results(results)
    return 0
