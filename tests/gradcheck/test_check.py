import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fdl
from fdl.gradcheck import check, run_suite


def test_check_finds_the_manual_twin_and_passes(x64):
    x = jnp.linspace(-2.0, 2.0, 12).reshape(3, 4)
    report = check(fdl.nn.tanh, x)
    assert report.ok
    assert report.rows[0].argument == "x"
    assert report.rows[0].manual_vs_auto < 1e-12
    assert report.worst_numerical < 1e-8
    assert "tanh" in str(report)


def test_check_accepts_a_manual_function_and_partial(x64):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((2, 5, 5, 2)))
    w = jnp.asarray(rng.standard_normal((3, 3, 2, 3)))
    b = jnp.asarray(rng.standard_normal(3))
    report = check(functools.partial(fdl.manual.conv2d, stride=2), x, w, b)
    assert report.ok and [r.argument for r in report.rows] == ["x", "w", "b"]


def test_check_detects_a_wrong_backward_pass(x64):
    @jax.custom_vjp
    def broken_square(x):
        return x ** 2

    broken_square.defvjp(lambda x: (x ** 2, x), lambda x, g: (3 * x * g,))  # should be 2x
    report = check(lambda x: x ** 2, jnp.array([0.5, -1.5]), manual_fn=broken_square)
    assert not report.ok
    assert report.worst_analytic > 0.1
    assert report.rows[0].auto_vs_numerical < 1e-8  # jax.grad of the true function is right


def test_check_without_manual_gradient_reports_auto_vs_numerical(x64):
    report = check(lambda x: jnp.sum(jnp.exp(x)), jnp.array([0.1, 0.2]))
    assert report.worst_analytic is None
    assert report.rows[0].manual_vs_auto is None
    assert report.ok


def test_check_needs_a_floating_argument(x64):
    with pytest.raises(ValueError, match="floating"):
        check(lambda y: jnp.sum(y), jnp.arange(3))


def test_run_suite_needs_float64():
    with pytest.raises(RuntimeError, match="float64"):
        run_suite(fdl.gradcheck.CASES[:1])


def test_every_registered_case_has_a_distinct_name():
    names = [case.name for case in fdl.gradcheck.CASES]
    assert len(names) == len(set(names))
