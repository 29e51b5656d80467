"""Dropout on a small training set: training vs validation accuracy.

With 100 training digits a 2x512 ReLU MLP memorises its training set (100% training
accuracy) while validation accuracy stays ~10 points lower: the gap is overfitting.
Dropout (``rate=0.5``: each hidden unit dropped with probability 0.5 during training,
the notes' ``p = 0.5`` of keeping it) trains an ensemble of thinned networks; its
training loss stays higher (the noise is a regulariser) and the test-time network uses
all units, scaled. On these easy 8x8 digits the effect on validation accuracy is small;
the plot shows both pairs of curves so the gap can be read off.

Usage:
    python examples/dropout.py [--out DIR] [--epochs N] [--quick]
"""

import argparse
import os

import jax
import matplotlib
import numpy as np

from fdl import data, losses, models, optim, train, viz

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

TRAIN_SIZE, WIDTH, RATE = 100, 512, 0.5


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "dropout"))
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--quick", action="store_true", help="20 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 20 if args.quick else args.epochs
    os.makedirs(args.out, exist_ok=True)

    digits = data.load_digits()
    subset = (digits.train.x[:TRAIN_SIZE], digits.train.y[:TRAIN_SIZE])
    results = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for (label, rate), color in zip((("no dropout", 0.0), (f"dropout {RATE}", RATE)),
                                    ("tab:blue", "tab:orange")):
        _, _, history = train.fit(
            models.mlp([WIDTH, WIDTH], 10, dropout=rate), subset,
            loss=losses.softmax_cross_entropy, optimizer=optim.adam(1e-3), epochs=epochs,
            batch_size=20, key=jax.random.key(0), val_data=digits.val, progress=False,
        )
        train_acc, val_acc = history["train_accuracy"], history["val_accuracy"]
        results[label] = {
            "train_accuracy": train_acc[-1], "val_accuracy": val_acc[-1],
            "gap": train_acc[-1] - val_acc[-1],
            "final_train_loss": history["epoch_loss"][-1], "val_loss": history["val_loss"][-1],
        }
        epochs_axis = np.arange(1, epochs + 1)
        ax.plot(epochs_axis, train_acc, color=color, label=f"{label}: training")
        ax.plot(epochs_axis, val_acc, color=color, ls="--", label=f"{label}: validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{TRAIN_SIZE} training examples, 2x{WIDTH} MLP")
    ax.legend()
    ax.grid(alpha=0.3)
    plot = viz.save_figure(fig, os.path.join(args.out, "dropout.png"))

    print(f"{'model':<13} {'train acc':>9} {'val acc':>8} {'gap':>6} {'train loss':>10} "
          f"{'val loss':>8}")
    for label, r in results.items():
        print(f"{label:<13} {r['train_accuracy']:>9.3f} {r['val_accuracy']:>8.3f} "
              f"{r['gap']:>6.3f} {r['final_train_loss']:>10.4f} {r['val_loss']:>8.4f}")
    print(f"wrote {plot}")
    return {"results": results, "plots": [plot]}


if __name__ == "__main__":
    main()
