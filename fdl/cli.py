"""The ``fdl`` command (also ``python -m fdl``). Parses arguments; no numerics here."""

import argparse
import sys


class UsageError(Exception):
    """A user mistake: reported as one line and exit status 2, never a traceback."""


def _cmd_gradcheck(args):
    import jax

    from fdl import gradcheck

    with jax.enable_x64(True):  # gradient checks need float64; scoped, not global
        reports = gradcheck.run_suite(gradcheck.CASES, seed=args.seed, pattern=args.only)
    if not reports:
        raise UsageError(f"no op matches --only {args.only!r}")
    print(gradcheck.format_table(reports))
    failed = [r.name for r in reports if not r.ok]
    analytic = max((r.worst_analytic for r in reports if r.worst_analytic is not None), default=0.0)
    numerical = max(r.worst_numerical for r in reports)
    print()
    print(f"{len(reports)} checks in float64; worst manual vs jax.grad {analytic:.2e} "
          f"(tolerance {gradcheck.ANALYTIC_TOL:.0e}); worst vs finite differences "
          f"{numerical:.2e} (tolerance {gradcheck.NUMERICAL_TOL:.0e})")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print("all gradients agree")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="fdl", description="fdl: a functional deep-learning toolkit on JAX."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    gc = sub.add_parser(
        "gradcheck",
        help="check every op's hand-written gradient against jax.grad and finite differences",
        description="Compare hand-written, jax.grad and numerical gradients of every op and "
        "loss in float64; exit 1 if any error exceeds its tolerance.",
    )
    gc.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default 0)")
    gc.add_argument("--only", metavar="NAME", help="check only ops whose name contains NAME")
    gc.set_defaults(run=_cmd_gradcheck)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except UsageError as err:
        print(f"fdl {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
