"""Train a small convnet on the digits and look at its first-layer filters.

    [CONV5x5(8) - RELU - POOL] - [CONV5x5(16) - RELU - POOL] - FC(32) - RELU - FC(10)

The first conv layer looks straight at the pixels, so each of its 5x5 filters can be
drawn as a tiny image (the lecture's "visualise the first-layer weights"). At
initialisation they are random noise; after training they turn into smoother strokes
and edge detectors tuned to pieces of digits. (On 8x8 digits the effect is modest;
on natural RGB images the classic picture is of oriented edges and colour blobs.)

Usage:
    python examples/conv_filters.py [--out DIR] [--epochs N] [--seed N] [--quick]

Prints the test accuracy and writes ``filters_init.png`` and ``filters_trained.png``
to ``--out`` (default ``runs/examples/conv_filters``). ``--quick`` trains one epoch.
"""

import argparse
import os

import jax

import fdl


def run(out, *, epochs=8, seed=0):
    """Trains the convnet; writes both filter PNGs; returns the test accuracy."""
    splits = fdl.data.load_digits(seed=0)
    model = fdl.models.convnet(((8,), (16,)), kernel_size=5, hidden=(32,), num_classes=10)
    init_key, train_key = jax.random.split(jax.random.key(seed))
    params, state = model.init(init_key, splits.train.x.shape[1:])
    os.makedirs(out, exist_ok=True)
    # params[0] is the first Conv layer; its "w" is HWIO, (5, 5, 1, 8) on grayscale digits.
    fdl.viz.plot_conv_filters(params[0]["w"], os.path.join(out, "filters_init.png"),
                              title="first-layer filters at initialisation")
    params, state, _ = fdl.train.fit(
        model, (splits.train.x, splits.train.y), loss=fdl.losses.softmax_cross_entropy,
        optimizer=fdl.optim.adam(3e-3), epochs=epochs, batch_size=32, key=train_key,
        params=params, state=state)
    fdl.viz.plot_conv_filters(params[0]["w"], os.path.join(out, "filters_trained.png"),
                              title=f"first-layer filters after {epochs} epochs")
    result = fdl.train.evaluate(model, params, state, (splits.test.x, splits.test.y),
                                loss=fdl.losses.softmax_cross_entropy)
    return float(result["accuracy"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "conv_filters"),
                        help="output directory for the PNGs")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="train a single epoch")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    accuracy = run(args.out, epochs=1 if args.quick else args.epochs, seed=args.seed)
    print(f"test accuracy: {accuracy:.4f}")
    print(f"wrote filters_init.png and filters_trained.png to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
