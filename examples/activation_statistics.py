"""The notes' weight-initialisation experiment: activation statistics of a deep net.

    h_0 ~ N(0, 1)  (a batch of unit-Gaussian inputs, 500 features)
    h_l = f(h_{l-1} W_l),   W_l (500, 500),   l = 1 .. 10,   f = tanh or ReLU

Each layer's output variance is about ``fan_in * Var[W] * Var[h_{l-1}]`` (times the
share the nonlinearity lets through), so the scale of ``W`` decides everything:

* ``0.01 * N(0, 1)``: each layer multiplies the spread by ~0.01 * sqrt(500) = 0.22;
  by the last layers every activation is ~0 and so are the gradients (nothing learns).
* ``1.0 * N(0, 1)``: pre-activations have std ~sqrt(500) = 22; tanh saturates at +-1
  (its gradient vanishes there).
* Xavier, ``Var[W] = 1 / fan_in``: keeps tanh activations at a steady spread.
* Kaiming/He, ``Var[W] = 2 / fan_in``: the factor 2 undoes ReLU zeroing half its
  inputs, so ReLU activations keep a steady spread (Xavier's halves layer by layer).

Usage:
    python examples/activation_statistics.py [--out DIR] [--seed N] [--quick]

Prints each layer's mean and standard deviation for every (initialisation, activation)
pair, writes one histogram PNG per pair (``tanh_xavier.png``, ...) and the numbers as
``statistics.json`` to ``--out`` (default ``runs/examples/activation_statistics``).
``--quick`` uses 100 units and 200 examples instead of 500 and 1,000.
"""

import argparse
import functools
import json
import os

import jax

import fdl

# (file-name tag, label, initialiser (key, shape, dtype) -> weights)
INITS = (
    ("small", "0.01 * N(0, 1)", functools.partial(fdl.init.normal, std=0.01)),
    ("large", "1.0 * N(0, 1)", functools.partial(fdl.init.normal, std=1.0)),
    # The notes' Xavier, randn / sqrt(fan_in); for a square W it equals the fan average.
    ("xavier", "Xavier", functools.partial(fdl.init.xavier_normal, mode="fan_in")),
    ("kaiming", "Kaiming", fdl.init.kaiming_normal),
)
ACTIVATIONS = (("tanh", fdl.nn.tanh), ("relu", fdl.nn.relu))


def run(out, *, seed=0, quick=False, layers=10):
    """Runs every (initialisation, activation) pair; returns ``{"<act>_<init>": stats}``.

    ``stats`` holds the per-layer ``mean`` and ``std`` lists; each pair's histograms go
    to ``out/<act>_<init>.png``.
    """
    width, batch = (100, 200) if quick else (500, 1000)
    os.makedirs(out, exist_ok=True)
    results = {}
    for act_name, activation in ACTIVATIONS:
        for tag, label, weight_init in INITS:
            # The same key for every pair: the same data and the same unit-scale draws,
            # so the pairs differ only by the initialisation scale and the nonlinearity.
            means, stds, outputs = fdl.init.activation_statistics(
                jax.random.key(seed), weight_init, activation, layers=layers, width=width,
                batch=batch)
            name = f"{act_name}_{tag}"
            results[name] = {"init": label, "activation": act_name,
                             "mean": means.tolist(), "std": stds.tolist()}
            fdl.viz.plot_activation_histograms(
                [(f"layer {i + 1}", o) for i, o in enumerate(outputs)],
                os.path.join(out, f"{name}.png"), bins=40,
                value_range=(-1.0, 1.0) if act_name == "tanh" else None,
                title=f"{act_name}, W ~ {label}: {layers} layers of {width} units")
    with open(os.path.join(out, "statistics.json"), "w") as f:
        json.dump(results, f, indent=2)
    return results


def format_table(results):
    """Per-layer mean and std of every pair, one block per pair."""
    lines = []
    for stats in results.values():
        n = len(stats["mean"])
        lines.append(f"{stats['activation']}, W ~ {stats['init']}")
        lines.append("  layer " + "".join(f"{i + 1:>9}" for i in range(n)))
        lines.append("  mean  " + "".join(f"{m:>9.2g}" for m in stats["mean"]))
        lines.append("  std   " + "".join(f"{s:>9.2g}" for s in stats["std"]))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "activation_statistics"),
                        help="output directory for the PNGs and statistics.json")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="100 units, 200 examples")
    args = parser.parse_args(argv)
    results = run(args.out, seed=args.seed, quick=args.quick)
    print(format_table(results))
    print(f"wrote {len(results)} histogram PNGs and statistics.json to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
