"""fdl's ImageNet architectures against torchvision's, value for value.

``python -m benchmarks.torchvision_parity`` (needs ``torch`` and ``torchvision``) builds
each of ``fdl.models.alexnet``, ``vgg(11)``, ``googlenet`` and ``resnet(18|50)`` beside
torchvision's definition, copies torchvision's randomly initialised weights into fdl's
parameters, and compares the class scores of both on the same images in evaluation
mode (batch norm on running statistics, no dropout). It checks what a parameter count
cannot: the layer order, the padding of every window (fdl's per-side padding against
PyTorch's floor and ceil modes), the shortcuts and the Inception concatenation order.

Weights move by layer kind, in execution order: torchvision's ``Conv2d``,
``BatchNorm2d`` and ``Linear`` modules in registration order, fdl's parameter dicts
(``{"w", "b"}``, ``{"w"}``, ``{"gamma", "beta"}``) in tree order. Conv weights go from
OIHW to HWIO, dense weights are transposed, and the first dense layer after a flatten
has its rows reordered from PyTorch's (C, H, W) flattening to fdl's (H, W, C).

Prints one line per model with the largest absolute and relative score difference, and
exits 1 if any exceeds the tolerance below.
"""

import argparse
import sys

import jax
import numpy as np

import fdl

# float32 through up to ~50 layers on scores of size ~1: rounding alone reaches 1e-4
# relative in the worst entry; a wrong padding or layer order moves scores by O(1).
TOLERANCE = 1e-3

MODELS = {
    "alexnet": (lambda: fdl.models.alexnet(), "alexnet", {}),
    "vgg11": (lambda: fdl.models.vgg(11), "vgg11", {}),
    "googlenet": (lambda: fdl.models.googlenet(), "googlenet",
                  {"aux_logits": False, "init_weights": True, "transform_input": False}),
    "resnet18": (lambda: fdl.models.resnet(18), "resnet18", {}),
    "resnet50": (lambda: fdl.models.resnet(50), "resnet50", {}),
}


def _groups(tree):
    """The dicts of arrays in ``tree`` (fdl params or state), in tree order."""
    out = []

    def visit(node):
        if isinstance(node, dict):
            if node:
                out.append(node)
        elif isinstance(node, (tuple, list)):
            for child in node:
                visit(child)

    visit(tree)
    return out


def _torch_layers(net):
    import torch

    kinds = (torch.nn.Conv2d, torch.nn.BatchNorm2d, torch.nn.Linear)
    return [m for m in net.modules() if isinstance(m, kinds)]


def transplant(net, params, state, feature_map=None):
    """fdl ``(params, state)`` holding ``net``'s weights; ``feature_map`` is the
    ``(C, H, W)`` of the map flattened into the first ``Linear`` (AlexNet, VGG)."""
    import torch

    param_groups, state_groups = _groups(params), _groups(state)
    layers = _torch_layers(net)
    if len(param_groups) != len(layers):
        raise ValueError(f"{len(param_groups)} fdl parameter groups, {len(layers)} torch layers")
    new_params, new_state = [], []
    first_linear = True
    for group, module in zip(param_groups, layers):
        w = module.weight.detach().cpu().numpy()
        if isinstance(module, torch.nn.Conv2d):
            entry = {"w": w.transpose(2, 3, 1, 0)}
        elif isinstance(module, torch.nn.Linear):
            if first_linear and feature_map is not None:
                c, h, wd = feature_map
                w = w.reshape(w.shape[0], c, h, wd).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
            first_linear = False
            entry = {"w": w.T}
        else:
            entry = {"gamma": w, "beta": module.bias.detach().cpu().numpy()}
            new_state.append({"mean": module.running_mean.cpu().numpy(),
                              "var": module.running_var.cpu().numpy()})
        if "b" in group:
            entry["b"] = module.bias.detach().cpu().numpy()
        if set(entry) != set(group) or any(entry[k].shape != group[k].shape for k in group):
            raise ValueError(f"{type(module).__name__} does not match the fdl group "
                             f"{ {k: v.shape for k, v in group.items()} }")
        new_params.append(entry)
    if len(new_state) != len(state_groups):
        raise ValueError("batch-norm state groups do not match")
    replace = {id(g): e for g, e in zip(param_groups, new_params)}
    replace_state = {id(g): e for g, e in zip(state_groups, new_state)}

    def rebuild(node, table):
        if isinstance(node, dict):
            return {k: np.asarray(v, np.float32) for k, v in table[id(node)].items()} \
                if node else node
        if isinstance(node, tuple):
            return tuple(rebuild(c, table) for c in node)
        if isinstance(node, list):
            return [rebuild(c, table) for c in node]
        return node

    return rebuild(params, replace), rebuild(state, replace_state)


def compare(name, batch=2, seed=0):
    import torch
    import torchvision

    build, tv_name, kwargs = MODELS[name]
    torch.manual_seed(seed)
    net = getattr(torchvision.models, tv_name)(weights=None, **kwargs).eval()
    with torch.no_grad():  # non-trivial running statistics, so eval-mode BN is exercised
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model = build()
    params, state = model.init(jax.random.key(0), (224, 224, 3))
    feature_map = {"alexnet": (256, 6, 6), "vgg11": (512, 7, 7)}.get(name)
    params, state = transplant(net, params, state, feature_map)
    x = np.random.default_rng(seed).standard_normal((batch, 224, 224, 3)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    with jax.default_matmul_precision("highest"):
        out, _ = jax.jit(lambda p, s, v: model.apply(p, s, v))(params, state, x)
    out = np.asarray(out)
    abs_err = float(np.max(np.abs(out - ref)))
    rel = abs_err / max(float(np.max(np.abs(ref))), 1e-12)
    return abs_err, rel


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated models, from " + ", ".join(MODELS))
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(MODELS)
    import torch

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    failed = False
    for name in names:
        abs_err, rel = compare(name)
        ok = rel <= TOLERANCE
        failed |= not ok
        print(f"{name:10s} max |fdl - torchvision| = {abs_err:.3e}  relative {rel:.3e}  "
              f"{'ok' if ok else 'MISMATCH'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
