"""Schedules equal their formulas at given steps, eagerly and on a traced step."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from fdl import optim

STEPS = [0, 1, 2, 5, 9, 10, 11, 57, 100, 250]


def cosine(t, a0=0.5, total=100, final=0.01):
    return final + (a0 - final) * 0.5 * (1 + math.cos(math.pi * min(t, total) / total))


FORMULAS = {
    "constant": (optim.constant(0.3), lambda t: 0.3),
    "step_decay": (optim.step_decay(0.8, every=10, factor=0.5), lambda t: 0.8 * 0.5 ** (t // 10)),
    "step_decay_default_half": (optim.step_decay(1.0, every=3), lambda t: 0.5 ** (t // 3)),
    "exponential_decay": (
        optim.exponential_decay(0.1, k=0.02),
        lambda t: 0.1 * math.exp(-0.02 * t),
    ),
    "inverse_time_decay": (optim.inverse_time_decay(0.1, k=0.5), lambda t: 0.1 / (1 + 0.5 * t)),
    "cosine_decay": (optim.cosine_decay(0.5, total_steps=100, final=0.01), cosine),
    "warmup_float": (
        optim.warmup(0.4, warmup_steps=10),
        lambda t: 0.4 * t / 10 if t < 10 else 0.4,
    ),
    "warmup_from_start_then_decay": (
        optim.warmup(optim.inverse_time_decay(0.4, k=0.1), warmup_steps=10, start=0.1),
        lambda t: 0.1 + 0.3 * t / 10 if t < 10 else 0.4 / (1 + 0.1 * (t - 10)),
    ),
    "join": (
        optim.join_schedules(
            [0.2, optim.exponential_decay(0.1, k=0.1), optim.cosine_decay(0.5, 100, 0.01)],
            boundaries=[5, 50],
        ),
        lambda t: 0.2 if t < 5 else (0.1 * math.exp(-0.1 * (t - 5)) if t < 50 else cosine(t - 50)),
    ),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_schedule_equals_formula(name):
    schedule, formula = FORMULAS[name]
    eager = [float(schedule(jnp.asarray(t, jnp.int32))) for t in STEPS]
    traced = jax.jit(jax.vmap(schedule))(jnp.asarray(STEPS, jnp.int32))
    want = [formula(t) for t in STEPS]
    np.testing.assert_allclose(eager, want, rtol=1e-6)
    np.testing.assert_allclose(traced, want, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_schedule_computes_in_float64_under_x64(name):
    schedule, formula = FORMULAS[name]
    with jax.enable_x64(True):
        got = jax.jit(jax.vmap(schedule))(jnp.asarray(STEPS, jnp.int32))
        assert got.dtype == jnp.float64
    np.testing.assert_allclose(got, [formula(t) for t in STEPS], rtol=1e-13)


def test_warmup_with_zero_steps_is_the_schedule():
    schedule = optim.exponential_decay(0.1, k=0.5)
    assert optim.warmup(schedule, warmup_steps=0) is schedule


def test_cosine_decay_holds_final_after_total_steps():
    schedule = optim.cosine_decay(1.0, total_steps=10, final=0.2)
    np.testing.assert_allclose([float(schedule(t)) for t in (10, 11, 1000)], 0.2, rtol=1e-6)


def test_optimizer_state_reports_the_scheduled_lr():
    schedule = optim.warmup(optim.cosine_decay(0.1, total_steps=20), warmup_steps=5)
    opt = optim.adam(schedule)
    params = {"w": jnp.ones((2, 2))}
    state = opt.init(params)
    assert float(optim.current_lr(state)) == 0.0  # the warm-up starts at 0
    update = jax.jit(opt.update)
    for step in range(12):
        params, state = update(params, {"w": jnp.ones((2, 2))}, state)
        np.testing.assert_allclose(optim.current_lr(state), schedule(step), rtol=1e-6)


def test_zero_lr_first_warmup_step_leaves_params_unchanged():
    opt = optim.sgd(optim.warmup(0.1, warmup_steps=3))
    params = jnp.ones(3)
    new, _ = opt.update(params, jnp.ones(3), opt.init(params))
    np.testing.assert_array_equal(new, params)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: optim.constant(0.0), "a0"),
        (lambda: optim.step_decay(-1.0, every=2), "a0"),
        (lambda: optim.step_decay(1.0, every=0), "every"),
        (lambda: optim.step_decay(1.0, every=2, factor=0.0), "factor"),
        (lambda: optim.step_decay(1.0, every=2, factor=1.5), "factor"),
        (lambda: optim.exponential_decay(1.0, k=-0.1), "k"),
        (lambda: optim.inverse_time_decay(0.0, k=0.1), "a0"),
        (lambda: optim.inverse_time_decay(1.0, k=-1.0), "k"),
        (lambda: optim.cosine_decay(1.0, total_steps=0), "total_steps"),
        (lambda: optim.cosine_decay(1.0, total_steps=10, final=2.0), "final"),
        (lambda: optim.cosine_decay(1.0, total_steps=10, final=-0.1), "final"),
        (lambda: optim.warmup(0.1, warmup_steps=-1), "warmup_steps"),
        (lambda: optim.warmup(0.1, warmup_steps=3, start=-1.0), "start"),
        (lambda: optim.warmup(-0.1, warmup_steps=3), "schedule"),
        (lambda: optim.join_schedules([0.1, 0.2], boundaries=[]), "boundaries"),
        (lambda: optim.join_schedules([0.1, 0.2, 0.3], boundaries=[5, 5]), "boundaries"),
        (lambda: optim.join_schedules([0.1, 0.2], boundaries=[0]), r"boundaries\[0\]"),
        (lambda: optim.join_schedules([], boundaries=[]), "schedules"),
        (lambda: optim.join_schedules([0.1, -0.2], boundaries=[3]), r"schedules\[1\]"),
    ],
)
def test_bad_schedule_arguments_raise_value_error(make, name):
    with pytest.raises(ValueError, match=rf"^{name} must"):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.step_decay(1.0, every=2.5),
        lambda: optim.cosine_decay(1.0, total_steps="10"),
        lambda: optim.exponential_decay("1.0", k=0.1),
        lambda: optim.join_schedules(["0.1"], boundaries=[]),
    ],
)
def test_wrong_schedule_argument_types_raise_type_error(make):
    with pytest.raises(TypeError, match="must be"):
        make()
