"""The notes' case studies side by side: what each landmark CNN costs, and what it won.

    LeNet-5 (1998) - AlexNet (2012) - VGG-16 (2014) - GoogLeNet (2014) - ResNet (2015)

For each network ``fdl.models.profile`` counts, from shapes alone (nothing is run or
allocated), the weight layers on its longest path (the papers' depth), its parameters,
the values its forward pass writes for one image (input included, ReLUs in place, as
in the notes' VGG-16 table; the backward pass roughly doubles it) and its forward
FLOPs (2 per multiply-add of the conv and dense layers). Beside them: the ImageNet
(ILSVRC) top-5 error of the family's winning entry in the notes' chart -- AlexNet
16.4% (2012), ZFNet 11.7% (2013), VGG 7.3% and GoogLeNet 6.7% (2014), ResNet 3.57%
(2015), against a human's ~5.1%. Those entries were ensembles (ResNet's of several
nets up to 152 layers), so the error belongs to the family, not to the exact single
model in the row; LeNet-5 (digits, 32x32x1, the original geometry) has no ImageNet
entry, and ZFNet (AlexNet with a 7x7/2 first layer and wider CONV3-5) is not built here.

What the table shows is the notes' story: VGG-16 is deep and uniform but pays for it
(138M parameters, 100M of them in its first FC layer, and ~15M activations per image);
GoogLeNet's 1x1 bottlenecks and global average pooling give 9x fewer parameters than
torchvision's AlexNet here (the paper's "12 times fewer" is its own count) at a lower
error; ResNet-50 is deeper still at a quarter of VGG-16's FLOPs.

Usage:
    python examples/architectures.py [--out DIR] [--quick]

Prints the comparison as a markdown table and VGG-16's per-layer summary (the notes'
table), and writes ``architectures.png`` (top-5 error against GFLOPs, marker area
proportional to the parameters) and ``architectures.json`` (the numbers) to ``--out``
(default ``runs/examples/architectures``). The counts take about a second; ``--quick``
is accepted like every example's and leaves out VGG-16's per-layer table.
"""

import argparse
import json
import os

import matplotlib

import fdl

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)

# (name, year, builder, input shape, top-5 error % of the family's ILSVRC entry or None)
MODELS = (
    ("LeNet-5", 1998, lambda: fdl.models.lenet5(first_padding=0), (32, 32, 1), None),
    ("AlexNet", 2012, fdl.models.alexnet, (224, 224, 3), 16.4),
    ("VGG-16", 2014, lambda: fdl.models.vgg(16), (224, 224, 3), 7.3),
    ("GoogLeNet", 2014, fdl.models.googlenet, (224, 224, 3), 6.7),
    ("ResNet-18", 2015, lambda: fdl.models.resnet(18), (224, 224, 3), 3.57),
    ("ResNet-50", 2015, lambda: fdl.models.resnet(50), (224, 224, 3), 3.57),
)
# The chart's other bars: no model of them here.
ZFNET_ERROR = 11.7  # 2013
HUMAN_ERROR = 5.1


def measure():
    """One record per model in ``MODELS``: its year, input, depth, parameters,
    activations (values and bytes per image, forward, float32), GFLOPs and error."""
    records = []
    for name, year, build, input_shape, error in MODELS:
        cost = fdl.models.profile(build(), input_shape)
        records.append({
            "model": name, "year": year, "input_shape": list(input_shape),
            "depth": cost.depth, "params": cost.params,
            "activations": cost.activations, "activation_bytes": cost.activation_bytes,
            "flops": cost.flops, "gflops": cost.flops / 1e9, "top5_error": error,
        })
    return records


def _si(n):
    """``61.7K``, ``61.1M``, ``138M``: three significant digits and a suffix."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def _decimal(x):
    """Two decimals, or two significant digits below 0.01 (LeNet-5's GFLOPs)."""
    return f"{x:.2f}" if x >= 0.01 else f"{x:.2g}"


def format_table(records):
    """The comparison as a markdown table."""
    lines = [
        "| Model | Year | Input | Depth | Params | Activations / image | Forward MB / image "
        "| GFLOPs / image | ILSVRC top-5 error |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in records:
        error = "-" if r["top5_error"] is None else f"{r['top5_error']}%"
        lines.append(
            f"| {r['model']} | {r['year']} | {'x'.join(map(str, r['input_shape']))} | "
            f"{r['depth']} | {_si(r['params'])} | {_si(r['activations'])} | "
            f"{_decimal(r['activation_bytes'] / 1e6)} | {_decimal(r['gflops'])} | {error} |")
    return "\n".join(lines)


def plot(records, path):
    """Top-5 error against forward GFLOPs (log axis), marker area proportional to the
    parameters, the human error as a dashed line."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    shown = [r for r in records if r["top5_error"] is not None]
    largest = max(r["params"] for r in shown)
    for r in shown:
        ax.scatter(r["gflops"], r["top5_error"], s=2000 * r["params"] / largest + 20,
                   alpha=0.5, edgecolors="black")
        # ResNet-18's label goes left of its marker: ResNet-50 sits to its right.
        left = r["model"] == "ResNet-18"
        ax.annotate(f"{r['model']} ({r['year']})\n{r['params'] / 1e6:.1f}M params",
                    (r["gflops"], r["top5_error"]), textcoords="offset points",
                    xytext=(-10, -16) if left else (8, 6), ha="right" if left else "left",
                    fontsize=8)
    ax.axhline(HUMAN_ERROR, linestyle="--", color="gray")
    ax.text(min(r["gflops"] for r in shown), HUMAN_ERROR + 0.3, f"human ~{HUMAN_ERROR}%",
            color="gray", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.8, 80)  # room for the labels right of VGG-16
    ticks = (1, 2, 5, 10, 20, 50)
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("forward GFLOPs per 224x224 image (2 per multiply-add)")
    ax.set_ylabel("ILSVRC top-5 error of the family's entry (%)")
    ax.set_ylim(0, 19)
    ax.set_title("ImageNet top-5 error vs computation (marker area ~ parameters)")
    return fdl.viz.save_figure(fig, path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("runs", "examples", "architectures"),
                        help="output directory for architectures.png and architectures.json")
    parser.add_argument("--quick", action="store_true",
                        help="leave out VGG-16's per-layer table")
    args = parser.parse_args(argv)
    records = measure()
    print(format_table(records))
    print(f"\nZFNet (2013, {ZFNET_ERROR}%) is not built here; human top-5 error ~{HUMAN_ERROR}%.")
    print("Errors are the ILSVRC entries of each family (ensembles), not of the single "
          "model in the row.")
    if not args.quick:
        print("\nVGG-16 layer by layer (224x224x3, float32):")
        print(fdl.models.summary(fdl.models.vgg(16), (224, 224, 3)))
        print("The notes' table lists these rows (INPUT, every CONV3, POOL2 and FC; the "
              "ReLUs in place): they add up to the 15.2M values above, not to the 24M "
              "(~93 MB) of its TOTAL line.")
    os.makedirs(args.out, exist_ok=True)
    plot(records, os.path.join(args.out, "architectures.png"))
    with open(os.path.join(args.out, "architectures.json"), "w") as f:
        json.dump(records, f, indent=2)
    print(f"wrote architectures.png and architectures.json to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
