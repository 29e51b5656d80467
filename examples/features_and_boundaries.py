"""Feature transforms and decision boundaries on toy 2-D data.

    linear softmax:  s = x W + b,  W (2, C)  -> straight boundaries between classes
    polar features:  f(x, y) = (r, theta),  r = sqrt(x^2 + y^2),  theta = atan2(y, x)
    2-layer net:     s = max(0, x W1 + b1) W2 + b2

Two concentric rings defeat a linear classifier on (x, y): every line leaves points of
both rings on each side. After the polar transform the rings differ only in r, and the
line r = c separates them: the same linear classifier, on a better feature, succeeds.
On the spiral no simple transform is at hand; a small neural network learns its own
features and bends its boundary around the arms (CS231n's spiral case study).

Usage:
    python examples/features_and_boundaries.py [--out DIR] [--epochs N] [--quick]

Prints a table of train/test accuracies and writes one decision-boundary PNG per model
to ``--out`` (default ``runs/examples/features_and_boundaries``; needs matplotlib).
"""

import argparse
import os

import jax
import numpy as np

import fdl
import fdl.features


def train(model, x, y, epochs, key):
    params, state, _ = fdl.train.fit(
        model, (x, y), loss=fdl.losses.softmax_cross_entropy, optimizer=fdl.optim.adam(1e-2),
        epochs=epochs, batch_size=50, key=key, reg=1e-4, progress=False,
    )
    return lambda points: fdl.train.predict(model, params, state, np.asarray(points))


def accuracy(predict, x, y):
    return float(np.mean(np.asarray(predict(x)) == y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "features_and_boundaries"))
    parser.add_argument("--epochs", type=int, default=300)
    # 50 epochs already separate what the tests check with margin (seed 0: rings on
    # (x, y) 0.50 and spiral linear 0.51 test accuracy, rings on (r, theta) 1.00, the
    # spiral net 0.98); each epoch of the four runs costs time, not compilation.
    parser.add_argument("--quick", action="store_true", help="50 epochs (for tests)")
    args = parser.parse_args(argv)
    epochs = 50 if args.quick else args.epochs
    os.makedirs(args.out, exist_ok=True)
    keys = jax.random.split(jax.random.key(0), 8)

    rings = fdl.data.circles(keys[0], 400, factor=0.5, noise=0.05)
    rings_test = fdl.data.circles(keys[1], 400, factor=0.5, noise=0.05)
    arms = fdl.data.spirals(keys[2], 100)
    arms_test = fdl.data.spirals(keys[3], 100)

    def polar(points):
        return np.asarray(fdl.features.polar(np.asarray(points, np.float32)))

    linear = fdl.models.mlp([], 2)
    on_xy = train(linear, *rings, epochs, keys[4])
    on_polar_features = train(linear, polar(rings.x), rings.y, epochs, keys[5])

    def on_polar(points):  # the whole classifier, from (x, y): features then scores
        return on_polar_features(polar(points))

    spiral_linear = train(fdl.models.mlp([], 3), *arms, epochs, keys[6])
    spiral_net = train(fdl.models.mlp([100], 3), *arms, epochs, keys[7])

    runs = [
        ("circles: linear on (x, y)", on_xy, rings, rings_test, "circles_linear_xy.png"),
        ("circles: linear on (r, theta)", on_polar, rings, rings_test, "circles_linear_polar.png"),
        ("spiral: linear", spiral_linear, arms, arms_test, "spiral_linear.png"),
        ("spiral: 2-layer net (100 hidden)", spiral_net, arms, arms_test, "spiral_net.png"),
    ]
    results, plots = {}, []
    print(f"{'model':<34} {'train acc':>9} {'test acc':>8}")
    for name, predict, data, test, filename in runs:
        results[name] = {"train_accuracy": accuracy(predict, *data),
                         "test_accuracy": accuracy(predict, *test)}
        print(f"{name:<34} {results[name]['train_accuracy']:>9.3f} {results[name]['test_accuracy']:>8.3f}")
        plots.append(fdl.viz.plot_decision_boundary(predict, *data, os.path.join(args.out, filename),
                                                    title=name, resolution=150))
    print(f"wrote {', '.join(plots)}")
    return {"results": results, "plots": plots}


if __name__ == "__main__":
    main()
