import math

import jax
import numpy as np
import pytest

import fdl.tune
from fdl.tune import choice, loguniform, randint, uniform

SPACE = {
    "lr": loguniform(1e-6, 1e-1),
    "dropout": uniform(0.0, 0.5),
    "layers": randint(1, 4),
    "activation": choice(["relu", "tanh"]),
}


def _bowl(config):
    # Minimum 0 at lr = 1e-3, reg = 1e-4: a stand-in for a validation loss.
    return (math.log10(config["lr"]) + 3) ** 2 + (math.log10(config["reg"]) + 4) ** 2


BOWL_SPACE = {"lr": loguniform(1e-6, 1e-1), "reg": loguniform(1e-7, 1e-1)}


def test_random_search_is_reproducible_from_its_key():
    a = fdl.tune.random_search(SPACE, 20, jax.random.key(0))
    b = fdl.tune.random_search(SPACE, 20, jax.random.key(0))
    c = fdl.tune.random_search(SPACE, 20, jax.random.key(1))
    assert a == b
    assert a != c
    assert len(a) == 20 and all(list(cfg) == list(SPACE) for cfg in a)
    # More trials extend the list; adding a hyperparameter leaves the others alone.
    assert fdl.tune.random_search(SPACE, 25, jax.random.key(0))[:20] == a
    wider_space = {**SPACE, "reg": loguniform(1e-5, 1.0)}
    wider = fdl.tune.random_search(wider_space, 20, jax.random.key(0))
    assert [{k: v for k, v in cfg.items() if k != "reg"} for cfg in wider] == a


def test_values_are_python_scalars_in_range():
    configs = fdl.tune.random_search(SPACE, 300, jax.random.key(2))
    for cfg in configs:
        assert type(cfg["lr"]) is float and 1e-6 <= cfg["lr"] <= 1e-1
        assert type(cfg["dropout"]) is float and 0.0 <= cfg["dropout"] <= 0.5
        assert type(cfg["layers"]) is int and 1 <= cfg["layers"] < 4
        assert cfg["activation"] in ("relu", "tanh")
    assert {cfg["layers"] for cfg in configs} == {1, 2, 3}  # high is excluded
    assert {cfg["activation"] for cfg in configs} == {"relu", "tanh"}


def test_loguniform_is_uniform_in_log_space():
    n = 2000
    space = {"reg": loguniform(1e-5, 1e5)}
    configs = fdl.tune.random_search(space, n, jax.random.key(3))
    u = np.sort([(math.log10(cfg["reg"]) + 5) / 10 for cfg in configs])
    assert u.min() >= 0 and u.max() <= 1
    # Kolmogorov-Smirnov distance between the empirical distribution of the scaled
    # logs and U(0, 1). For a correct sampler it exceeds 1.95 / sqrt(n) with
    # probability 0.001 (the asymptotic 99.9% critical value), so this fixed-key test
    # is no coin toss; sampling the value itself uniformly would put ~all logs near 1.
    ecdf_hi = np.arange(1, n + 1) / n
    ecdf_lo = np.arange(0, n) / n
    ks = max(np.max(ecdf_hi - u), np.max(u - ecdf_lo))
    assert ks < 1.95 / math.sqrt(n)
    # Each decade gets about a tenth of the trials (binomial sd ~ 6.7 of 200).
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.all(np.abs(counts - n / 10) < 5 * math.sqrt(n * 0.1 * 0.9))


def test_objective_results_are_sorted_best_first():
    def objective(cfg):
        if cfg["activation"] == "tanh" and cfg["layers"] == 3:
            return float("nan")  # a diverged run
        return {"loss": -cfg["dropout"], "accuracy": cfg["dropout"]}

    trials = fdl.tune.random_search(SPACE, 30, jax.random.key(4), objective=objective)
    assert len(trials) == 30 and all(isinstance(t, fdl.tune.Trial) for t in trials)
    scores = [t.score for t in trials]
    finite = [s for s in scores if not math.isnan(s)]
    assert finite == sorted(finite)
    assert all(math.isnan(s) for s in scores[len(finite):])  # NaN ranks last
    assert trials[0].info == {"loss": trials[0].score, "accuracy": -trials[0].score}
    kept = [t.config["dropout"] for t in trials if not math.isnan(t.score)]
    assert trials[0].config["dropout"] == max(kept)


def test_objective_errors():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="'loss'"):
        fdl.tune.random_search(SPACE, 2, key, objective=lambda cfg: {"acc": 1.0})
    with pytest.raises(TypeError, match="must return a number"):
        fdl.tune.random_search(SPACE, 2, key, objective=lambda cfg: "low")


def test_coarse_to_fine_improves_or_keeps_the_best():
    key = jax.random.key(5)
    result = fdl.tune.coarse_to_fine(
        _bowl, BOWL_SPACE, key=key, rounds=3, trials_per_round=20, top=5
    )
    first_round = fdl.tune.random_search(
        BOWL_SPACE, 20, jax.random.fold_in(key, 0), objective=_bowl
    )
    assert len(result.trials) == 60
    assert result.best == result.trials[0]
    assert result.best.score == min(t.score for t in result.trials)
    assert result.best.score <= first_round[0].score
    # Each round can only keep or improve the best: rounds=r is a prefix of rounds=3.
    def best_after(rounds):
        return fdl.tune.coarse_to_fine(
            _bowl, BOWL_SPACE, key=key, rounds=rounds, trials_per_round=20
        ).best.score

    bests = [best_after(1), best_after(2), result.best.score]
    assert bests == sorted(bests, reverse=True)
    assert result.best.score < 0.05  # within ~0.2 decades of (1e-3, 1e-4)
    assert result.at_edge == ()
    # The ranges shrink around the optimum, in log space, inside the original ones.
    assert result.spaces[0] == BOWL_SPACE
    for name, opt in (("lr", 1e-3), ("reg", 1e-4)):
        widths = [math.log(s[name].high / s[name].low) for s in result.spaces]
        assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 2
        last = result.spaces[-1][name]
        assert last.low <= opt <= last.high
        assert BOWL_SPACE[name].low <= last.low and last.high <= BOWL_SPACE[name].high


def test_coarse_to_fine_flags_a_best_value_at_the_edge():
    # The optimum, lr = 1, lies outside the range: the lecture's "worrying" best.
    result = fdl.tune.coarse_to_fine(
        lambda cfg: math.log10(cfg["lr"]) ** 2 + cfg["p"],
        {
            "lr": loguniform(1e-6, 1e-2),
            "p": uniform(0.0, 1.0),
            "act": choice(["a", "b"]),
        },
        key=jax.random.key(6),
        rounds=2,
        trials_per_round=30,
    )
    assert "lr" in result.at_edge
    assert result.spaces[1]["act"] == choice(["a", "b"])  # choices are kept as they are


def test_distribution_validation():
    for make in (uniform, loguniform):
        with pytest.raises(ValueError, match="low < high"):
            make(1.0, 1.0)
        with pytest.raises(ValueError, match="low < high"):
            make(2.0, 1.0)
    with pytest.raises(ValueError, match="low > 0"):
        loguniform(0.0, 1.0)
    with pytest.raises(ValueError, match="low > 0"):
        loguniform(-1e-3, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        randint(3, 3)
    with pytest.raises(TypeError, match="int bounds"):
        randint(0.5, 3)
    with pytest.raises(ValueError, match="at least one option"):
        choice([])
    with pytest.raises(ValueError, match="finite"):
        uniform(0.0, float("inf"))


def test_search_validation():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="trials must be >= 1"):
        fdl.tune.random_search(SPACE, 0, key)
    with pytest.raises(TypeError, match="space must be a non-empty dict"):
        fdl.tune.random_search({}, 3, key)
    with pytest.raises(TypeError, match="must be a distribution"):
        fdl.tune.random_search({"lr": [1e-3, 1e-2]}, 3, key)
    with pytest.raises(TypeError, match="key must be a JAX random key"):
        fdl.tune.random_search(SPACE, 3, 42)
    with pytest.raises(ValueError, match="margin must be > 0"):
        fdl.tune.coarse_to_fine(_bowl, BOWL_SPACE, key=key, margin=0.0)
    with pytest.raises(ValueError, match="rounds must be >= 1"):
        fdl.tune.coarse_to_fine(_bowl, BOWL_SPACE, key=key, rounds=0)


def test_early_stopping_rule():
    # The lecture: stop when the cost exceeds 3 times the initial cost.
    assert not fdl.tune.should_stop_early(6.8, 2.3)
    assert fdl.tune.should_stop_early(7.0, 2.3)
    assert fdl.tune.should_stop_early(float("nan"), 2.3)
    assert fdl.tune.should_stop_early(float("inf"), 2.3)
    assert not fdl.tune.should_stop_early(4.0, 2.0, factor=2.5)
    assert not fdl.tune.diverged([2.3, 2.1, 1.8, 1.9])
    assert not fdl.tune.diverged([2.3, 2.1, 1.8, 6.8])
    assert fdl.tune.diverged([2.3, 2.1, 7.0])
    assert fdl.tune.diverged([2.3, np.nan, 1.0])
    assert fdl.tune.diverged([np.inf, 1.0])
    assert fdl.tune.diverged(np.array([1.0, 2.5]), initial_loss=0.5)
    with pytest.raises(ValueError, match="initial_loss"):
        fdl.tune.should_stop_early(1.0, 0.0)
    with pytest.raises(ValueError, match="factor"):
        fdl.tune.diverged([1.0], factor=0.0)
    with pytest.raises(ValueError, match="at least one"):
        fdl.tune.diverged([])
