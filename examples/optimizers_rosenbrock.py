"""Compare fdl's optimizers on the Rosenbrock function and print a table.

    f(x, y) = (1 - x)^2 + 100 (y - x^2)^2,   minimum f(1, 1) = 0,   start (-1.2, 1)

The valley is long, curved and flat along its floor, and steep across it: plain
gradient descent must use a small learning rate (or it oscillates across the valley) and
then crawls along it. Momentum builds up speed along the floor; the adaptive methods
rescale each coordinate. The full-batch second-order solvers model the curvature:
Newton's method steps to the minimum of the local quadratic model, x - H^-1 grad f, with
the exact 2 x 2 Hessian (about 20 steps); BFGS and L-BFGS build an approximation of H^-1
from gradients alone (a few dozen steps). On a deep net, H would have N^2 entries.

Usage:
    python examples/optimizers_rosenbrock.py [--steps N] [--quick] [--plot PATH.png]

``--plot`` draws every trajectory over the contours of f (needs matplotlib).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from fdl import optim

START = (-1.2, 1.0)


def rosenbrock(p):
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def optimizers(steps):
    """(name, description of the settings, optimizer); hand-tuned to converge in ``steps``."""
    return [
        ("sgd", "lr 1e-3", optim.sgd(1e-3)),
        ("momentum", "lr 1e-3, mu 0.9", optim.momentum(1e-3, mu=0.9)),
        ("nesterov", "lr 1e-3, mu 0.9", optim.nesterov(1e-3, mu=0.9)),
        ("adagrad", "lr 0.5", optim.adagrad(0.5)),
        ("rmsprop", "cosine lr 1e-2 -> 0", optim.rmsprop(optim.cosine_decay(1e-2, steps))),
        ("adam", "cosine lr 5e-2 -> 0", optim.adam(optim.cosine_decay(5e-2, steps))),
        (
            "adamw",
            "cosine lr 5e-2 -> 0, wd 1e-4",
            optim.adamw(optim.cosine_decay(5e-2, steps), weight_decay=1e-4),
        ),
    ]


def trajectory(opt, steps):
    """All iterates of ``steps`` full-gradient updates, as one compiled ``lax.scan``."""

    @jax.jit
    def run(x0):
        def step(carry, _):
            x, state = carry
            x, state = opt.update(x, jax.grad(rosenbrock)(x), state)
            return (x, state), x

        _, xs = lax.scan(step, (x0, opt.init(x0)), None, length=steps)
        return jnp.concatenate([x0[None], xs])

    x0 = jnp.asarray(START, jnp.float32)
    run(x0).block_until_ready()  # compile outside the timing
    start = time.perf_counter()
    xs = run(x0).block_until_ready()
    return np.asarray(xs), time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000, help="updates per optimizer")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG of the trajectories here")
    parser.add_argument(
        "--quick", action="store_true", help="500 updates per first-order optimizer (a smoke run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 500)
    if args.steps < 1:
        parser.error("--steps must be >= 1")

    rows, paths = [], {}
    for name, settings, opt in optimizers(args.steps):
        xs, seconds = trajectory(opt, args.steps)
        paths[name] = xs
        rows.append((name, settings, args.steps, rosenbrock(xs[-1]), xs[-1], seconds))

    for name, solver in (("newton", optim.newton), ("bfgs", optim.bfgs), ("lbfgs", optim.lbfgs)):
        xs, info, seconds = solve(solver)
        paths[name] = xs
        settings = f"{int(info.function_evals)} evals, converged={bool(info.converged)}"
        rows.append(
            (name, settings, int(info.iterations), rosenbrock(xs[-1]), xs[-1], seconds)
        )

    header = (
        f"{'optimizer':<10} {'settings':<30} {'steps':>6} {'f(x)':>10} "
        f"{'|x - x*|':>10} {'ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, settings, steps, loss, x, seconds in rows:
        distance = float(np.linalg.norm(np.asarray(x) - 1.0))
        print(
            f"{name:<10} {settings:<30} {steps:>6} {float(loss):>10.2e} "
            f"{distance:>10.2e} {1e3 * seconds:>8.1f}"
        )

    plots = []
    if args.plot:
        plot(paths, args.plot)
        print(f"wrote {args.plot}")
        plots.append(args.plot)
    results = {
        name: {"steps": steps, "loss": float(loss), "x": [float(v) for v in x]}
        for name, _, steps, loss, x, _ in rows
    }
    return {"results": results, "plots": plots}


def solve(solver, max_iters=200, tol=1e-5):
    """A full-batch solver's iterates, final info and solve time.

    The solvers return only their answer; the k-th iterate is the answer with
    ``max_iters=k``. The solve is compiled once (``max_iters`` is not a compile-time
    constant), so recomputing each prefix costs a few milliseconds.
    """
    x0 = jnp.asarray(START, jnp.float32)
    solver(rosenbrock, x0, max_iters=max_iters, tol=tol)  # compile outside the timing
    start = time.perf_counter()
    x, info = solver(rosenbrock, x0, max_iters=max_iters, tol=tol)
    x = jax.block_until_ready(x)
    seconds = time.perf_counter() - start
    xs = [np.asarray(x0)]
    xs += [
        np.asarray(solver(rosenbrock, x0, max_iters=k, tol=tol)[0])
        for k in range(1, int(info.iterations))
    ]
    xs.append(np.asarray(x))
    return np.stack(xs), info, seconds


def plot(paths, out):
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("--plot needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid_x, grid_y = np.meshgrid(np.linspace(-2.0, 2.0, 400), np.linspace(-1.0, 3.0, 400))
    values = (1 - grid_x) ** 2 + 100 * (grid_y - grid_x**2) ** 2
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.contour(grid_x, grid_y, np.log10(values + 1e-3), levels=30, cmap="Greys", linewidths=0.6)
    for name, xs in paths.items():
        # The full-batch solvers take few, long steps: mark each iterate.
        marker = "o" if name in ("newton", "bfgs", "lbfgs") else None
        ax.plot(xs[:, 0], xs[:, 1], lw=1.2, marker=marker, ms=3, label=name)
    ax.plot(*START, "ko")
    ax.plot(1.0, 1.0, "r*", ms=12)
    ax.set(xlabel="x", ylabel="y", title="Optimizers on the Rosenbrock function")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
