"""Run ``check`` over every registered op and print the table ``fdl gradcheck`` shows."""

import functools

import jax
import numpy as np

from fdl.gradcheck._cases import CASES
from fdl.gradcheck._check import check


def run_suite(cases=CASES, *, seed=0, pattern=None, progress=None):
    """Checks every case in float64; returns the list of ``GradcheckReport``s.

    ``progress(done, total, name)``, when given, is called before each selected case
    (``done`` of ``total`` finished) and once more at the end with ``name=None``.
    Must run with ``jax_enable_x64`` on (``fdl gradcheck`` turns it on).
    """
    import jax.numpy as jnp

    if jnp.zeros(()).dtype != jnp.float64 and not jax.config.jax_enable_x64:
        raise RuntimeError("run_suite needs float64: enable jax_enable_x64 first")
    return run_cases(cases, lambda case, seed: check_case(case, seed=seed), seed=seed,
                     pattern=pattern, progress=progress)


def run_cases(cases, check_one, *, seed, pattern, progress):
    """``check_one(case, seed + i)`` for every case ``i`` whose name contains ``pattern``
    (the seeds do not depend on the selection), reporting ``progress`` as it goes."""
    selected = [(i, case) for i, case in enumerate(cases)
                if not pattern or pattern in case.name]
    reports = []
    for done, (i, case) in enumerate(selected):
        if progress is not None:
            progress(done, len(selected), case.name)
        reports.append(check_one(case, seed + i))
    if progress is not None:
        progress(len(selected), len(selected), None)
    return reports


def check_case(case, *, seed=0):
    """``check`` on one registered case, with float64 inputs drawn from ``seed``."""
    import jax.numpy as jnp

    args = case.make_args(np.random.default_rng(seed), jnp.float64)
    fn = functools.partial(case.fn, **case.kwargs) if case.kwargs else case.fn
    return check(fn, *args, argnums=case.argnums, select=case.select, name=case.name, seed=seed)


def format_table(reports):
    """A plain-text table: one line per (op, argument) with the three relative errors.

    A report with a ``note`` (the models' finite-difference coverage) gets it on a line
    of its own under its rows.
    """
    header = (f"{'op':<30} {'grad':<10} {'manual vs jax.grad':>19} {'manual vs numeric':>18} "
              f"{'jax.grad vs numeric':>20}  status")
    lines = [header, "-" * len(header)]
    for report in reports:
        for k, row in enumerate(report.rows):
            status = ("ok" if report.ok else "FAIL") if k == 0 else ""
            lines.append(
                f"{report.name if k == 0 else '':<30} {'d' + row.argument:<10} "
                f"{_fmt(row.manual_vs_auto):>19} {_fmt(row.manual_vs_numerical):>18} "
                f"{_fmt(row.auto_vs_numerical):>20}  {status}"
            )
        if getattr(report, "note", ""):
            lines.append(f"{'':<30} ({report.note})")
    return "\n".join(lines)


def _fmt(value):
    return "n/a" if value is None else f"{value:.2e}"
