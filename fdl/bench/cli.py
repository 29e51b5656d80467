"""``fdl bench`` / ``python -m benchmarks``: argument parsing and the run of workloads."""

import argparse
import dataclasses
import os
import sys

# PyTorch's OpenMP threads spin while they wait; in a process that also holds XLA's
# thread pool (and on a machine shared with other work) the spinning threads starve each
# other and PyTorch's small steps ran 10-100x slower than in a process of its own.
# Passive waiting removes that artefact. Set before torch is imported; a value already
# in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# fdl's allocator settings (fdl/_allocator.py) apply to the whole process and only
# before its first JAX computation: import fdl first, so every implementation, peers
# included, runs with the same malloc behaviour.
import fdl  # noqa: E402,F401
from fdl.bench import cnn, conv, knn, machine, mlp, options, peers, report, resnet  # noqa: E402
from fdl.bench.workload import Config  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Spec:
    """How to run one workload: its function, full and ``--quick`` lengths."""

    run: object
    full: Config
    quick: Config  # None: skipped under --quick


WORKLOADS = {
    "W1": Spec(mlp.run, Config(calls=200, repeats=7), Config(calls=20, repeats=3)),
    "W2": Spec(mlp.run, Config(calls=100, repeats=7), Config(calls=10, repeats=3)),
    "W3": Spec(cnn.run, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "R1": Spec(resnet.run, Config(calls=5, repeats=7), Config(calls=2, repeats=3)),
    "C1.1": Spec(conv.run_conv, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "C1.2": Spec(conv.run_conv, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "P1": Spec(conv.run_pool, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "K1": Spec(knn.run, Config(calls=1, repeats=5), Config(calls=1, repeats=2)),
    "K2": Spec(knn.run, Config(calls=1, repeats=3), None),
}


add_arguments = options.add_arguments


def select(only, quick):
    """The workload keys to run, in table order; ``ValueError`` for an unknown key."""
    if only:
        wanted = [k.strip() for k in only.split(",") if k.strip()]
        keys = []
        for want in wanted:
            match = [k for k in WORKLOADS if k == want or k.startswith(want + ".")]
            if not match:
                raise ValueError(f"unknown workload {want!r}; choose from {', '.join(WORKLOADS)}")
            keys += [k for k in match if k not in keys]
        return [k for k in WORKLOADS if k in keys]
    return [k for k in WORKLOADS if not (quick and WORKLOADS[k].quick is None)]


def default_out():
    """``benchmarks/results/<machine>.json`` under the working directory (in a checkout:
    the committed results)."""
    return os.path.join("benchmarks", "results", f"{machine.slug()}.json")


def run(keys, *, quick=False, matmul=True, out=None, log=None):
    """Runs the workloads ``keys``; writes the JSON file; returns the results dict.

    Progress lines go to ``log`` (default: standard error).
    """
    log = log or sys.stderr
    facts = machine.describe()
    ceiling = machine.matmul_gflops() if matmul else None
    results = {
        "machine": facts,
        "peers": peers.versions(),
        "matmul_gflops": ceiling,
        "quick": bool(quick),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "malloc_tuned": bool(fdl.ALLOCATOR_TUNED),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "xla_flags_tuned": bool(fdl.XLA_FLAGS_TUNED),
        "workloads": {},
    }
    for key in keys:
        spec = WORKLOADS[key]
        config = spec.quick if quick and spec.quick is not None else spec.full
        print(f"running {key} ({config.calls} units x {config.repeats} rounds)...", file=log,
              flush=True)
        results["workloads"][key] = spec.run(key, config, ceiling)
    if hasattr(os, "getloadavg"):
        results["machine"]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    path = out or default_out()
    report.write_json(results, path)
    results["path"] = path
    return results


def print_results(results, file=None):
    """Prints the machine line, the table and where the JSON went (default: stdout)."""
    file = file or sys.stdout
    m = results["machine"]
    ceiling = results["matmul_gflops"]
    print(f"Machine {m['slug']} ({m['device_kind']}), jax {m['jax']}; float32 matmul ceiling "
          f"{'not measured' if ceiling is None else f'{ceiling:.0f} GFLOP/s'}; load average "
          f"{m.get('load_average_1_5_15')}; medians over interleaved rounds.", file=file)
    print(file=file)
    print(report.table(results), file=file)
    print(file=file)
    absent = [dist for dist, version in results["peers"].items() if version is None]
    if absent:
        print(f"peers not installed: {', '.join(absent)} (pip install 'fdl[bench]' adds them)",
              file=file)
    print(f"wrote {results['path']}", file=file)


def plan(args):
    """Checks parsed options; returns a zero-argument function that runs what they ask
    for and returns the exit status. ``ValueError`` for a usage mistake."""
    if args.gpu or args.gpu_only:
        from fdl.bench import gpu

        if args.only:
            raise ValueError("--only picks CPU workloads; with --gpu, --gpu-only picks models")
        names = gpu.select(args.gpu_only)
        return lambda: gpu.main(names, tiny=args.tiny, quick=args.quick,
                                matmul=not args.no_matmul, out=args.out)
    if args.tiny:
        raise ValueError("--tiny goes with --gpu (the CPU workloads have --quick)")
    keys = select(args.only, args.quick)

    def run_cpu():
        print_results(run(keys, quick=args.quick, matmul=not args.no_matmul, out=args.out))
        return 0

    return run_cpu


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fdl bench",
        description="Time fdl against PyTorch, Flax, Equinox, plain JAX, scikit-learn and "
        "faiss on the same workloads, in one process.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        todo = plan(args)
    except ValueError as err:
        parser.error(str(err))
    return todo()
