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
    # fdl.bench.options imports nothing heavy: `fdl --help` stays light (the harness
    # imports the benchmarks and sets OpenMP's wait policy).
    from fdl.bench.options import add_arguments

    add_arguments(bench)
    bench.set_defaults(run=run_bench)


def run_bench(args):
    from fdl.bench import cli

    try:
        todo = cli.plan(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return todo()
