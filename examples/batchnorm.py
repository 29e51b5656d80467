"""Batch normalisation rescues a deep network with a poor initialisation.

A 4-hidden-layer MLP (100 ReLUs each) whose weights start at ``N(0, 0.01^2)``: every
layer shrinks its input about 10-fold (the std of a layer's output is roughly
``sqrt(fan_in) * 0.01 * std(input)``), so the scores are all ~0, the loss sits at
``ln 10`` and the gradients reaching the first layers vanish: SGD barely moves. With
``BatchNorm`` after each affine layer every layer's pre-activations are renormalised to
zero mean and unit variance over the batch, whatever the weights' scale, and the same
network trains at once. The notes: batch norm makes networks "significantly more robust
to bad initialisation".

Usage:
    python examples/batchnorm.py [--out DIR] [--epochs N] [--quick]
"""

import argparse
import functools
import os

import jax
import matplotlib
import numpy as np

from fdl import data, init, losses, models, optim, train, viz

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

DEPTH, WIDTH = 4, 100
POOR_INIT = functools.partial(init.normal, std=0.01)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "batchnorm"))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    os.makedirs(args.out, exist_ok=True)

    digits = data.load_digits()
    results = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, batchnorm in (("without batch norm", False), ("with batch norm", True)):
        model = models.mlp([WIDTH] * DEPTH, 10, w_init=POOR_INIT, batchnorm=batchnorm)
        _, _, history = train.fit(
            model, digits.train, loss=losses.softmax_cross_entropy,
            optimizer=optim.momentum(0.05), epochs=epochs, batch_size=32,
            key=jax.random.key(0), val_data=digits.val, progress=False,
        )
        results[label] = {"final_loss": history["epoch_loss"][-1],
                          "val_accuracy": history["val_accuracy"][-1]}
        ax.plot(np.arange(1, len(history["loss"]) + 1), history["loss"], lw=0.8, label=label)
    ax.axhline(np.log(10), color="gray", ls="--", lw=0.8, label="ln 10 (chance)")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title(f"{DEPTH}x{WIDTH} ReLU MLP, weights N(0, 0.01^2)")
    ax.legend()
    ax.grid(alpha=0.3)
    plot = viz.save_figure(fig, os.path.join(args.out, "batchnorm.png"))

    print(f"{'model':<20} {'last-epoch loss':>16} {'val acc':>8}")
    for label, r in results.items():
        print(f"{label:<20} {r['final_loss']:>16.4f} {r['val_accuracy']:>8.3f}")
    print(f"wrote {plot}")
    return {"results": results, "plots": [plot]}


if __name__ == "__main__":
    main()
