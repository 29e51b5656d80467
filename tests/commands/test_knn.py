"""``fdl knn``, run in-process through ``fdl.cli.main``."""

import json
import os

import pytest

from fdl import cli


def test_cross_validates_writes_outputs_and_prints_test_accuracy_last(tmp_path, capsys):
    out = tmp_path / "knn"
    status = cli.main(["knn", "--k", "1,3,5", "--metric", "l2,l1", "--folds", "3",
                       "--out", str(out)])
    stdout = capsys.readouterr().out
    assert status == 0
    report = json.loads((out / "knn.json").read_text())
    assert report["ks"] == [1, 3, 5] and report["metrics"] == ["l2", "l1"]
    for metric in ("l2", "l1"):
        cv = report["cross_validation"][metric]
        assert len(cv["mean"]) == 3 and len(cv["fold_accuracies"][0]) == 3
        assert (out / f"knn_cv_{metric}.png").read_bytes().startswith(b"\x89PNG")
    best = report["best"]
    best_mean = max(max(report["cross_validation"][m]["mean"]) for m in ("l2", "l1"))
    assert best["cv_mean"] == best_mean
    assert report["test_accuracy"] > 0.95  # 1-3 nearest neighbours on the digits: ~98%
    assert "± " in stdout and "   l1" in stdout
    last = stdout.strip().splitlines()[-1]
    assert last.startswith(f"test accuracy (k={best['k']}, {best['metric']}):")
    assert sorted(os.listdir(out)) == ["knn.json", "knn_cv_l1.png", "knn_cv_l2.png"]


def test_default_ks_are_clipped_to_the_fold_size(tmp_path, capsys):
    out = tmp_path / "small"
    # 40 examples in 4 folds: training splits of 30, so k up to 20 of the default list.
    status = cli.main(["knn", "--limit", "40", "--folds", "4", "--metric", "l1",
                       "--out", str(out)])
    assert status == 0
    report = json.loads((out / "knn.json").read_text())
    assert report["ks"] == [1, 3, 5, 8, 10, 12, 15, 20]
    assert report["examples"] == 40 and report["metrics"] == ["l1"]


@pytest.mark.parametrize("argv,fragment", [
    (["--k", "0"], "--k values must be >= 1"),
    (["--k", "1,x"], "--k must be a comma-separated list"),
    (["--k", "5000"], "larger than the smallest training split"),
    (["--metric", "cosine"], "unknown metric 'cosine'"),
    (["--folds", "1"], "--folds must be >= 2"),
    (["--limit", "10", "--folds", "11"], "more than the 10 examples"),
    (["--data", "/no/such/dir"], "--data must be 'digits' or a CIFAR-10 directory"),
])
def test_user_mistakes_exit_2_with_one_line(argv, fragment, tmp_path, capsys):
    status = cli.main(["knn", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert fragment in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing written for a rejected command


def _without_matplotlib(monkeypatch):
    import sys

    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)  # `import matplotlib` now fails


def test_results_are_written_before_plots_and_kept_without_matplotlib(
        tmp_path, capsys, monkeypatch):
    _without_matplotlib(monkeypatch)
    out = tmp_path / "knn"
    # The search of the first test above: the same shapes, so its compiled distances.
    status = cli.main(["knn", "--k", "1,3,5", "--metric", "l2,l1", "--folds", "3",
                       "--out", str(out)])
    stdout = capsys.readouterr().out
    assert status == 0
    assert os.listdir(out) == ["knn.json"]
    assert json.loads((out / "knn.json").read_text())["test_accuracy"] > 0.8
    assert "fdl knn: plots skipped (plots need matplotlib" in stdout
    assert stdout.strip().splitlines()[-1].startswith("test accuracy (k=")


@pytest.mark.parametrize("metric,named", [("l2", "L2 (Euclidean)"), ("l1", "L1 (Manhattan)"),
                                          (None, None)])
def test_cv_plot_title_names_the_metric(metric, named, tmp_path, monkeypatch):
    import fdl
    from fdl.viz import _files

    figures = []
    monkeypatch.setattr(_files, "save_figure", lambda fig, path: figures.append(fig) or path)
    fdl.tune.plot_cv_accuracy([1, 3], [[0.9, 0.8], [0.85, 0.9]], tmp_path / "cv.png",
                              metric=metric)
    title = figures[0].axes[0].get_title()
    assert title.startswith("Cross-validation on k")
    assert (named in title) if named else title == "Cross-validation on k"
    _files.pyplot().close(figures[0])


def test_cv_plot_unknown_metric_is_a_value_error(tmp_path):
    import fdl

    with pytest.raises(ValueError, match="metric must be one of"):
        fdl.tune.plot_cv_accuracy([1], [[0.9]], tmp_path / "cv.png", metric="cosine")
