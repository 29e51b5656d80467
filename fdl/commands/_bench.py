"""``fdl bench``: the repository's benchmarks (``python -m benchmarks``) from the command.

The benchmarks live in the ``benchmarks`` folder of a repository checkout, not in the
installed ``fdl`` package, so this command runs from the repository root.
"""

import os
import sys

from fdl.commands._errors import UsageError

_HOW = ("fdl bench runs the benchmarks of an fdl repository checkout: run it from the "
        "repository root, after `pip install -e .[bench]` for the peer libraries")


def register(subparsers):
    """Add ``fdl bench`` to the command's subparsers."""
    bench = subparsers.add_parser(
        "bench",
        help="time fdl against PyTorch, Flax, Equinox, JAX, scikit-learn and faiss",
        description="Time fdl against the libraries a user would otherwise pick, on the "
        "same workloads in one process; print a markdown table and write a JSON file. "
        "Run from the repository root.",
    )
    # The same options as `python -m benchmarks` (benchmarks.cli.add_arguments), declared
    # here so that `fdl --help` needs no checkout and imports nothing heavy.
    bench.add_argument("--quick", action="store_true",
                       help="fewer steps and rounds; skip K2 (the 60,000-point KNN)")
    bench.add_argument("--only", metavar="KEYS",
                       help="comma-separated workloads: W1, W2, W3, C1 (C1.1, C1.2), P1, K1, K2")
    bench.add_argument("--out", metavar="PATH",
                       help="JSON results file (default: benchmarks/results/<machine>.json)")
    bench.add_argument("--no-matmul", action="store_true",
                       help="skip measuring the matmul ceiling (no FLOP-rate shares)")
    bench.set_defaults(run=run_bench)


def _benchmarks_cli():
    """``benchmarks.cli``, importable when the working directory is a checkout; else None."""
    root = os.getcwd()
    if os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")) and root not in sys.path:
        sys.path.insert(0, root)
    try:
        from benchmarks import cli
    except ImportError:
        return None
    return cli


def run_bench(args):
    cli = _benchmarks_cli()
    if cli is None:
        raise UsageError(_HOW)
    try:
        keys = cli.select(args.only, args.quick)
    except ValueError as err:
        raise UsageError(str(err)) from None
    results = cli.run(keys, quick=args.quick, matmul=not args.no_matmul, out=args.out)
    cli.print_results(results)
    return 0
