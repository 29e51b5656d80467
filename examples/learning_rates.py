"""Learning rate too low, too high, or good: the loss curves of the notes' figure.

Trains the same MLP (one hidden layer of 100 ReLUs) on the bundled 8x8 digits with plain
SGD at three learning rates and draws the loss per step on one plot:

- too low (1e-3): the loss falls slowly and almost linearly; it would need many epochs;
- too high (3.0): the first steps overshoot, ReLU units die and the loss stays stuck
  near its initial value (higher still and it explodes to NaN);
- good (0.3): a fast, roughly exponential decay to a low plateau.

Usage:
    python examples/learning_rates.py [--out DIR] [--epochs N] [--quick]
"""

import argparse
import os

import jax
import matplotlib
import numpy as np

from fdl import data, losses, models, optim, train, viz

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

LEARNING_RATES = (("too low", 1e-3), ("too high", 3.0), ("good", 0.3))


def moving_average(values, window):
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))
    return np.convolve(values, np.ones(window) / window, mode="valid")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "learning_rates"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="2 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    os.makedirs(args.out, exist_ok=True)

    digits = data.load_digits()
    results = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, lr in LEARNING_RATES:
        # divergence_factor=None: let the too-high rate show its plateau instead of
        # stopping the run (a NaN would still stop it).
        _, _, history = train.fit(
            models.mlp([100], 10), digits.train, loss=losses.softmax_cross_entropy,
            optimizer=optim.sgd(lr), epochs=epochs, batch_size=32, key=jax.random.key(0),
            val_data=digits.val, divergence_factor=None, progress=False,
        )
        results[label] = {"lr": lr, "final_loss": history["epoch_loss"][-1],
                          "val_accuracy": history["val_accuracy"][-1]}
        smooth = moving_average(history["loss"], 10)
        ax.plot(np.arange(len(smooth)) + 10, smooth, label=f"{label} (lr {lr:g})")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (10-step average)")
    ax.set_title("learning rate: too low, too high, good")
    ax.legend()
    ax.grid(alpha=0.3)
    plot = viz.save_figure(fig, os.path.join(args.out, "learning_rates.png"))

    print(f"{'learning rate':<14} {'lr':>7} {'last-epoch loss':>16} {'val acc':>8}")
    for label, r in results.items():
        print(f"{label:<14} {r['lr']:>7g} {r['final_loss']:>16.4f} {r['val_accuracy']:>8.3f}")
    print(f"wrote {plot}")
    return {"results": results, "plots": [plot]}


if __name__ == "__main__":
    main()
