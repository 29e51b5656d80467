"""``fdl bench``: fdl timed against the libraries a user would otherwise pick (``fdl.bench``).

The harness is installed with fdl; the peer libraries come with the ``bench`` extra
(``pip install fdl[bench]``), and a peer that is not installed is reported as such.
"""

from fdl.commands._errors import UsageError


def register(subparsers):
    """Add ``fdl bench`` to the command's subparsers."""
    bench = subparsers.add_parser(
        "bench",
        help="time fdl against PyTorch, Flax, Equinox, JAX, scikit-learn and faiss",
        description="Time fdl against the libraries a user would otherwise pick, on the "
        "same workloads in one process; print a markdown table and write a JSON file.",
    )
    # The same options as fdl.bench.cli.add_arguments, declared here so that `fdl --help`
    # imports nothing heavy (the harness imports fdl and sets OpenMP's wait policy).
    bench.add_argument("--quick", action="store_true",
                       help="fewer steps and rounds; skip K2 (the 60,000-point KNN)")
    bench.add_argument("--only", metavar="KEYS",
                       help="comma-separated workloads: W1, W2, W3, C1 (C1.1, C1.2), P1, K1, K2")
    bench.add_argument("--out", metavar="PATH",
                       help="JSON results file (default: benchmarks/results/<machine>.json)")
    bench.add_argument("--no-matmul", action="store_true",
                       help="skip measuring the matmul ceiling (no FLOP-rate shares)")
    bench.set_defaults(run=run_bench)


def run_bench(args):
    from fdl.bench import cli

    try:
        keys = cli.select(args.only, args.quick)
    except ValueError as err:
        raise UsageError(str(err)) from None
    results = cli.run(keys, quick=args.quick, matmul=not args.no_matmul, out=args.out)
    cli.print_results(results)
    return 0
