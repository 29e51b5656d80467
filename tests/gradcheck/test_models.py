"""Whole-model gradient checks: every built-in model passes, a wrong backward pass fails."""

import jax
import numpy as np
import pytest

import fdl
from fdl import cli
from fdl.gradcheck import MODEL_CASES, check_model, run_model_suite


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c.name for c in MODEL_CASES])
def test_every_builtin_model_passes(case, x64):
    # 60 probed coordinates, not fdl gradcheck's 200: every parameter array still gets
    # its share (see the next tests), at a third of the forward passes.
    report = check_model(case, seed=0, max_coordinates=60)
    assert report.ok, str(report)
    assert report.name == case.name
    # One row per parameter array, every one of them checked.
    shapes = jax.eval_shape(lambda k: case.build(False).init(k, case.input_shape),
                            jax.random.key(0))[0]
    assert len(report.rows) == len(jax.tree.leaves(shapes))
    assert report.worst_analytic <= fdl.gradcheck.ANALYTIC_TOL
    assert "finite differences on" in report.note


def test_every_builtin_model_has_a_case():
    names = {c.name.split(":")[1].split("+")[0] for c in MODEL_CASES}
    assert names == {"linear", "mlp", "convnet", "lenet5", "resnet_cifar", "bottleneck",
                     "inception"}
    assert any("+bn" in c.name for c in MODEL_CASES)
    assert any("dropout" in c.name for c in MODEL_CASES)


def test_large_model_is_differenced_on_a_seeded_subset():
    from fdl.gradcheck._models import _probed_coordinates

    lenet = next(c for c in MODEL_CASES if c.name == "model:lenet5")
    shapes = jax.eval_shape(lambda k: lenet.build(False).init(k, lenet.input_shape),
                            jax.random.key(0))[0]
    sizes = [int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(shapes)]
    assert sum(sizes) == 61_706
    first = _probed_coordinates(sizes, 200, np.random.default_rng(3))
    again = _probed_coordinates(sizes, 200, np.random.default_rng(3))
    other = _probed_coordinates(sizes, 200, np.random.default_rng(4))
    np.testing.assert_array_equal(first, again)  # the seed fixes the coordinates
    assert not np.array_equal(first, other)
    assert first.size <= 200 and len(np.unique(first)) == first.size
    # Every parameter array gets its share (all of a small bias).
    bounds = np.cumsum([0] + sizes)
    counts = [np.sum((first >= lo) & (first < hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
    assert counts == [min(size, 20) for size in sizes]
    # A small model is differenced on every coordinate.
    np.testing.assert_array_equal(_probed_coordinates([6, 4], 200, np.random.default_rng(0)),
                                  np.arange(10))


def _affine_forgetting_the_batch_sum(x, w, b):
    """``fdl.nn.affine`` whose backward pass takes db from the first example only."""

    @jax.custom_vjp
    def op(x, w, b):
        return fdl.nn.affine(x, w, b)

    def forward(x, w, b):
        return fdl.nn.affine(x, w, b), (x, w, b)

    def backward(saved, g):
        dx, dw, _ = jax.vjp(fdl.nn.affine, *saved)[1](g)
        return dx, dw, g[0]  # should be g.sum(axis=0)

    op.defvjp(forward, backward)
    return op(x, w, b)


def test_a_wrong_backward_pass_fails_the_model_check(monkeypatch, x64):
    # Layers look their op up in fdl.manual at apply time, so the manual build uses the
    # broken op; the automatic build and finite differences are untouched.
    monkeypatch.setattr(fdl.manual, "affine", _affine_forgetting_the_batch_sum)
    mlp = next(c for c in MODEL_CASES if c.name == "model:mlp")
    report = check_model(mlp, seed=0)
    assert not report.ok
    bad = {r.argument for r in report.rows if r.manual_vs_auto > 1e-3}
    assert bad == {"1.b", "3.b", "5.b"}  # every bias, nothing else
    assert all(r.auto_vs_numerical < 1e-6 for r in report.rows)
    assert all(r.manual_vs_numerical > 1e-3 for r in report.rows if r.argument in bad)


def test_model_suite_needs_float64():
    with pytest.raises(RuntimeError, match="float64"):
        run_model_suite(MODEL_CASES[:1])


def test_model_suite_filters_by_name(monkeypatch, x64):
    # The selection alone: check_model (a compilation per model) is replaced by a stub
    # that records its arguments. The suite runs the real check through the command line
    # in test_gradcheck_command_checks_models.
    from fdl.gradcheck import _models

    def stub(case, *, seed, max_coordinates):
        return case.name, seed, max_coordinates

    monkeypatch.setattr(_models, "check_model", stub)
    assert run_model_suite(pattern="model:linear") == [("model:linear", 0, 200)]
    # A pattern selects every name containing it; each case keeps the seed of its
    # position in the whole list, whatever the selection.
    assert run_model_suite(pattern="model:mlp", seed=5, max_coordinates=60) == [
        ("model:mlp", 6, 60), ("model:mlp+bn+dropout", 7, 60)]


def test_gradcheck_command_checks_models(capsys):
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--only", "model:linear"])
    out = capsys.readouterr().out
    assert status == 0
    assert "model:linear" in out and "d1.w" in out
    assert "finite differences on 57 of 57 coordinates" in out
    assert "all gradients agree" in out


def test_gradcheck_no_models_leaves_only_ops(capsys):
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--no-models", "--only", "model"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().count("\n") == 0 and "no op matches" in err


def test_gradcheck_command_fails_on_a_wrong_model_gradient(monkeypatch, capsys):
    monkeypatch.setattr(fdl.manual, "affine", _affine_forgetting_the_batch_sum)
    with jax.enable_x64(True):
        status = cli.main(["gradcheck", "--only", "model:linear"])
    out = capsys.readouterr().out
    assert status == 1
    assert "FAILED: model:linear" in out


def test_automatic_side_is_the_plain_reference():
    # The automatic gradient a case is compared with comes from plain autodiff of fdl.nn,
    # not from a tuned kernel's own derivative rule (fdl.kernels' custom JVP). LeNet-5's
    # 120- and 84-wide layers are where impl="auto" picks that kernel on CPU (the control).
    import jax.numpy as jnp

    from fdl import models

    def jaxpr(model, shape):
        # Traced only: shapes stand in for values (an eager init compiles every draw).
        params, state = jax.eval_shape(lambda k: model.init(k, shape), jax.random.key(0))
        return str(jax.make_jaxpr(lambda p, s: model.apply(p, s, jnp.ones((2, *shape)))[0])(
            params, state))

    for case in MODEL_CASES:
        assert "custom_jvp_call" not in jaxpr(case.build(False), case.input_shape), case.name
    if jax.default_backend() == "cpu":
        assert "custom_jvp_call" in jaxpr(models.lenet5(10), (28, 28, 1))
