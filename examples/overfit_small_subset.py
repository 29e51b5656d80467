"""Overfit a small subset: the notes' last sanity check before real training.

Takes 20 training digits, turns regularisation off and trains an MLP on them until the
training accuracy is 100% and the loss approaches zero. A model, loss and optimizer that
cannot do this have a bug; one that can is ready for the full data set (where the same
capacity must then be held back by regularisation). ``fdl.train.sanity_check`` runs
this check together with the initial-loss and regularisation checks.

Usage:
    python examples/overfit_small_subset.py [--out DIR] [--epochs N] [--quick]
"""

import argparse
import os

import jax

from fdl import data, losses, models, optim, train, viz

SUBSET = 20


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "overfit_small_subset"))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="100 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 100 if args.quick else args.epochs
    os.makedirs(args.out, exist_ok=True)

    digits = data.load_digits()
    subset = (digits.train.x[:SUBSET], digits.train.y[:SUBSET])
    model = models.mlp([100], 10)
    # One full batch of 20 per step, reg=0: nothing stops the model from memorising.
    params, state, history = train.fit(
        model, subset, loss=losses.softmax_cross_entropy, optimizer=optim.adam(3e-3),
        epochs=epochs, batch_size=SUBSET, key=jax.random.key(0), reg=0.0,
        val_data=digits.val, progress=False,
    )
    final = train.evaluate(model, params, state, subset, loss=losses.softmax_cross_entropy)
    first_perfect = next((i + 1 for i, a in enumerate(history["train_accuracy"]) if a == 1.0),
                         None)
    plots = [
        viz.plot_loss(history, os.path.join(args.out, "loss.png")),
        viz.plot_accuracy(history, os.path.join(args.out, "accuracy.png")),
    ]
    result = {
        "examples": SUBSET,
        "epochs": epochs,
        "initial_loss": history["loss"][0],
        "final_loss": final["loss"],
        "train_accuracy": final["accuracy"],
        "first_epoch_at_100pct": first_perfect,
        "val_accuracy": history["val_accuracy"][-1],
    }
    print(f"{'examples':<10} {'epochs':>6} {'initial loss':>12} {'final loss':>10} "
          f"{'train acc':>9} {'100% at epoch':>13} {'val acc':>7}")
    print(f"{SUBSET:<10} {epochs:>6} {result['initial_loss']:>12.4f} "
          f"{result['final_loss']:>10.4f} {result['train_accuracy']:>9.3f} "
          f"{str(first_perfect):>13} {result['val_accuracy']:>7.3f}")
    print("(val accuracy is what 20 examples buy: far below 100%, the model has memorised)")
    print(f"wrote {', '.join(plots)}")
    return {"result": result, "plots": plots}


if __name__ == "__main__":
    main()
