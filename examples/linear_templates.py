"""Train a multiclass SVM and a softmax classifier on the digits; draw their templates.

    scores s = x W + b,   W (64, 10), b (10,)
    SVM:      L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + 1)
    softmax:  L_i = -log(e^{s_{y_i}} / sum_j e^{s_j})
    objective 1/N sum_i L_i + reg * sum W^2, minimised by momentum SGD

Each column of W scores one class by its dot product with the 8x8 image, so reshaped
to 8x8 it is a template of that digit (the lecture's "interpreting the weights"): bright
where ink raises the class's score, dark where ink lowers it.

Usage:
    python examples/linear_templates.py [--out DIR] [--seed N]

Prints the validation and test accuracies and writes ``svm_templates.png`` and
``softmax_templates.png`` to ``--out`` (default ``runs/examples``; needs matplotlib).
"""

import argparse
import os
import time

import jax
import numpy as np

import fdl


def accuracy(classifier, dataset):
    predictions = np.asarray(fdl.classic.linear_predict(classifier, dataset.x))
    return float(np.mean(predictions == dataset.y))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples"),
                        help="directory for the template PNGs (default runs/examples)")
    parser.add_argument("--seed", type=int, default=0, help="PRNG seed (default 0)")
    args = parser.parse_args(argv)

    digits = fdl.data.load_digits()
    image_shape = digits.train.x.shape[1:]
    print(f"digits: {len(digits.train.x)} train / {len(digits.val.x)} val / "
          f"{len(digits.test.x)} test images of {image_shape}")
    print(f"{'classifier':<10}  {'val acc':>7}  {'test acc':>8}  {'seconds':>7}")
    for loss in fdl.classic.LOSSES:
        start = time.perf_counter()
        classifier = fdl.classic.train_linear_classifier(
            digits.train.x, digits.train.y, loss=loss, key=jax.random.key(args.seed)
        )
        classifier.w.block_until_ready()
        seconds = time.perf_counter() - start  # includes compiling the training run
        print(f"{loss:<10}  {accuracy(classifier, digits.val):>7.4f}  "
              f"{accuracy(classifier, digits.test):>8.4f}  {seconds:>7.2f}")
        path = os.path.join(args.out, f"{loss}_templates.png")
        fdl.viz.plot_weight_templates(classifier, image_shape, path,
                                      class_names=digits.class_names)
        print(f"  wrote {path}")


if __name__ == "__main__":
    main()
