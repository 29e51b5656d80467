"""The ``fdl`` command (also ``python -m fdl``). Parses arguments; no numerics here.

Each subcommand lives in its own module under ``fdl.commands`` and adds itself to the
parser through ``register(subparsers)``; the module's ``run`` receives the parsed args.
"""

import argparse
import sys

from fdl.commands import _bench, _evaluate, _gradcheck, _knn, _predict, _train, _tune
from fdl.commands._errors import INTERRUPTED_STATUS, Interrupted, UsageError

_COMMANDS = (_train, _evaluate, _predict, _gradcheck, _knn, _tune, _bench)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (status 2), not usage + error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def version_line():
    """``fdl X (jax Y, jaxlib Z, Python W)``: what a bug report needs to know."""
    import platform

    import jax
    import jaxlib

    import fdl

    return (f"fdl {fdl.__version__} (jax {jax.__version__}, jaxlib {jaxlib.__version__}, "
            f"Python {platform.python_version()})")


def build_parser():
    parser = _Parser(prog="fdl", description="fdl: a functional deep-learning toolkit on JAX.")
    parser.add_argument("--version", action="version", version=version_line())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in _COMMANDS:
        command.register(sub)
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
    except Interrupted as err:
        print(f"\nfdl {args.command}: {err}", file=sys.stderr)
        return INTERRUPTED_STATUS
    except KeyboardInterrupt:
        print(f"\nfdl {args.command}: interrupted", file=sys.stderr)
        return INTERRUPTED_STATUS


if __name__ == "__main__":
    sys.exit(main())
