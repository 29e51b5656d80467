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
from fdl.bench import cnn, conv, knn, machine, mlp, peers, report  # noqa: E402
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
    "C1.1": Spec(conv.run_conv, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "C1.2": Spec(conv.run_conv, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "P1": Spec(conv.run_pool, Config(calls=10, repeats=7), Config(calls=3, repeats=3)),
    "K1": Spec(knn.run, Config(calls=1, repeats=5), Config(calls=1, repeats=2)),
    "K2": Spec(knn.run, Config(calls=1, repeats=3), None),
}


def add_arguments(parser):
    """The options shared by ``python -m benchmarks`` and ``fdl bench``."""
    parser.add_argument("--quick", action="store_true",
                        help="fewer steps and rounds; skip K2 (the 60,000-point KNN)")
    parser.add_argument("--only", metavar="KEYS",
                        help=f"comma-separated workloads to run, from {', '.join(WORKLOADS)} "
                        "(a prefix selects a group: C1 = C1.1,C1.2)")
    parser.add_argument("--out", metavar="PATH",
                        help="JSON results file (default: benchmarks/results/<machine>.json)")
    parser.add_argument("--no-matmul", action="store_true",
                        help="skip measuring the matmul ceiling (no FLOP-rate shares)")


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
    print(f"wrote {results['path']}", file=file)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="fdl bench",
        description="Time fdl against PyTorch, Flax, Equinox, plain JAX, scikit-learn and "
        "faiss on the same workloads, in one process.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        keys = select(args.only, args.quick)
    except ValueError as err:
        parser.error(str(err))
    results = run(keys, quick=args.quick, matmul=not args.no_matmul, out=args.out)
    print_results(results)
    return 0
