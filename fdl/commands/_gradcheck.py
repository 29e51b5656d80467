"""``fdl gradcheck``: hand-written vs ``jax.grad`` vs finite-difference gradients, in float64.

Every op and loss, then every built-in model end to end (rows named ``model:...``).
"""

import argparse
import sys
import time

from fdl._status import StatusLine, eta, format_seconds
from fdl.commands._errors import UsageError


def register(subparsers):
    """Add ``fdl gradcheck`` to the command's subparsers."""
    gc = subparsers.add_parser(
        "gradcheck",
        help="check every op's and model's hand-written gradient against jax.grad and "
        "finite differences",
        description="Compare hand-written, jax.grad and numerical gradients of every op and "
        "loss, and of the training loss of every built-in model (its manual=True build), "
        "in float64; exit 1 if any error exceeds its tolerance. Models are differenced on "
        "at most 200 parameter coordinates each, drawn from --seed.",
    )
    gc.add_argument("--seed", type=int, default=0, help="seed for the random inputs (default 0)")
    gc.add_argument("--only", metavar="NAME",
                    help="check only ops and models whose name contains NAME "
                    "(e.g. conv2d, or model for the models only)")
    gc.add_argument("--models", action=argparse.BooleanOptionalAction, default=True,
                    help="also check every built-in model end to end (default: on)")
    gc.set_defaults(run=run_gradcheck)


class _Progress:
    """``fdl gradcheck``'s progress on stderr: on a terminal a line that names the case
    being checked, with an ETA; piped, one plain line per phase and per model (models
    take seconds each, ops a fraction of one)."""

    def __init__(self, kind, status, clock=time.monotonic):
        self.kind, self.status, self.clock = kind, status, clock
        self.start = self.last = None

    def __call__(self, done, total, name):
        now = self.clock()
        if self.start is None:
            self.start = self.last = now
            if total:
                self.status.line(f"fdl gradcheck: checking {total} {self.kind} in float64")
        elif self.kind == "models" and done:
            self.status.line(f"  {self.previous} checked ({format_seconds(now - self.last)})")
        self.last, self.previous = now, name
        if name is not None:
            left = eta(done, total, now - self.start)
            suffix = "" if left is None else f", about {format_seconds(left)} left"
            self.status.update(f"  {done + 1}/{total} {name}{suffix}", force=True)
        else:
            self.status.clear()


def run_gradcheck(args, *, stream=None):
    import jax

    from fdl import gradcheck

    status = StatusLine(sys.stderr if stream is None else stream)
    with jax.enable_x64(True):  # gradient checks need float64; scoped, not global
        reports = gradcheck.run_suite(gradcheck.CASES, seed=args.seed, pattern=args.only,
                                      progress=_Progress("ops", status))
        if args.models:
            reports += gradcheck.run_model_suite(gradcheck.MODEL_CASES, seed=args.seed,
                                                 pattern=args.only,
                                                 progress=_Progress("models", status))
    if not reports:
        searched = "op or model names" if args.models else "op names (models were off)"
        raise UsageError(f"no op matches --only {args.only!r} (searched {searched})")
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
