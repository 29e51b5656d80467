"""``confusion_matrix`` and ``per_class_report`` against scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import precision_recall_fscore_support

from fdl import train

C = 6


def _labels(seed=0, n=200):
    """Random labels where class 4 is never predicted and class 5 never present."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, n)  # no 5
    y_pred = rng.choice([0, 1, 2, 3, 5], n)  # no 4
    y_pred[: n // 2] = y_true[: n // 2]  # half right, so the diagonal is not ~random
    y_pred[y_pred == 4] = 5
    return y_true, y_pred


def test_the_setup_has_a_class_never_predicted_and_one_never_present():
    y_true, y_pred = _labels()
    assert 4 not in y_pred and 5 not in y_true and 4 in y_true and 5 in y_pred


@pytest.mark.parametrize("seed", [0, 1])
def test_confusion_matrix_equals_scikit_learn(seed, variant):
    y_true, y_pred = _labels(seed)
    f = variant(lambda t, p: train.confusion_matrix(t, p, C))
    m = f(jnp.asarray(y_true), jnp.asarray(y_pred))
    assert m.shape == (C, C) and m.dtype == jnp.int32
    np.testing.assert_array_equal(m, sk_confusion_matrix(y_true, y_pred, labels=range(C)))
    assert int(m.sum()) == len(y_true)


def test_confusion_matrix_rows_are_true_and_columns_predicted():
    # One example of class 0 predicted as 2: M[0, 2] = 1, not M[2, 0].
    m = np.asarray(train.confusion_matrix(np.array([0]), np.array([2]), 3))
    assert m[0, 2] == 1 and m.sum() == 1


def test_confusion_matrix_under_jit_skips_out_of_range_pairs():
    # Traced values cannot be checked; a bad pair must not land in another cell
    # (e.g. (0, 4) at flat index 4 would be cell (1, 1) for C = 3).
    f = jax.jit(train.confusion_matrix, static_argnums=2)
    m = np.asarray(f(jnp.array([0, 1, 0, 2]), jnp.array([4, 1, -1, 2]), 3))
    np.testing.assert_array_equal(m, np.diag([0, 1, 1]))


def test_small_integer_dtypes_do_not_overflow():
    # 200 * 200 does not fit int8 arithmetic; the flat index must be computed in int32.
    y = np.array([199, 150], np.uint8)
    m = train.confusion_matrix(y, y, 200)
    assert int(m[199, 199]) == 1 and int(m[150, 150]) == 1 and int(m.sum()) == 2


@pytest.mark.parametrize("seed", [0, 1])
def test_per_class_report_equals_scikit_learn(seed):
    y_true, y_pred = _labels(seed)
    report = train.per_class_report(y_true, y_pred, C)
    # zero_division=0: classes never predicted (4) / never present (5) get 0, as in fdl.
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=range(C), zero_division=0)
    macro = precision_recall_fscore_support(
        y_true, y_pred, labels=range(C), average="macro", zero_division=0)
    # rtol 1e-12: both compute the same float64 ratios of integer counts; only the
    # order of operations (F1 from counts here, from precision and recall there) differs.
    np.testing.assert_allclose(report.precision, precision, rtol=1e-12)
    np.testing.assert_allclose(report.recall, recall, rtol=1e-12)
    np.testing.assert_allclose(report.f1, f1, rtol=1e-12)
    np.testing.assert_array_equal(report.support, support)
    np.testing.assert_allclose(
        [report.macro_precision, report.macro_recall, report.macro_f1], macro[:3], rtol=1e-12)
    assert report.accuracy == np.mean(y_true == y_pred)
    assert report.precision[4] == 0 and report.recall[5] == 0 and report.f1[5] == 0
    np.testing.assert_array_equal(report.class_accuracy, report.recall)
    np.testing.assert_array_equal(report.confusion_matrix,
                                  sk_confusion_matrix(y_true, y_pred, labels=range(C)))


def test_best_and_worst_class_ignore_classes_without_examples():
    # Class accuracies: 0 -> 1/2, 1 -> 1/1, 2 -> 0/2, 3 -> none (recall 0 by convention).
    y_true = np.array([0, 0, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 0, 3])
    report = train.per_class_report(y_true, y_pred, 4, class_names=["a", "b", "c", "d"])
    assert report.best_class == 1 and report.worst_class == 2
    d = report.to_dict()
    assert d["best_class"] == "b" and d["worst_class"] == "c"
    assert [e["name"] for e in d["classes"]] == ["a", "b", "c", "d"]
    assert d["classes"][0]["accuracy"] == 0.5 and d["classes"][3]["support"] == 0
    assert d["accuracy"] == 2 / 5


def test_format_class_report_names_the_best_and_worst_class():
    names = ("airplane", "automobile", "truck", "horse")
    # truck 3/5 right (and 1 horse predicted truck: precision 3/4), horse 1/6,
    # airplane 2/4, automobile 1/3.
    y_true = np.array([2] * 5 + [3] * 6 + [0] * 4 + [1] * 3)
    y_pred = np.array([2, 2, 2, 0, 1] + [3, 0, 0, 1, 1, 2] + [0, 0, 3, 3] + [1, 0, 0])
    report = train.per_class_report(y_true, y_pred, 4, class_names=names)
    text = train.format_class_report(report)
    lines = text.splitlines()
    assert lines[-1].startswith("best class truck 60.0%, worst class horse 16.7%")
    truck = next(line for line in lines if line.startswith("truck"))
    assert truck.split() == ["truck", "0.6000", "0.7500", "0.6667", "5"]
    assert lines[0].split() == ["class", "accuracy", "precision", "f1", "support"]
    overall = next(line for line in lines if line.startswith("overall"))
    assert overall.split() == ["overall", f"{7 / 18:.4f}", "18"]


def test_empty_labels_give_zeros_and_no_best_class():
    empty = np.array([], np.int32)
    report = train.per_class_report(empty, empty, 3)
    assert report.accuracy == 0.0 and report.confusion_matrix.sum() == 0
    assert report.best_class is None
    assert train.format_class_report(report).endswith("none (no examples)")


@pytest.mark.parametrize("call,error,fragment", [
    (lambda: train.confusion_matrix([0, 1], [0], 2), ValueError, "same length"),
    (lambda: train.confusion_matrix([0, 2], [0, 1], 2), ValueError, "y_true must lie in [0, 2)"),
    (lambda: train.confusion_matrix([0, 1], [-1, 1], 2), ValueError, "y_pred must lie in"),
    (lambda: train.confusion_matrix([0.0, 1.0], [0, 1], 2), TypeError, "y_true must hold integer"),
    (lambda: train.confusion_matrix([[0, 1]], [[0, 1]], 2), ValueError, "y_true must have shape (N,)"),
    (lambda: train.confusion_matrix([0], [0], 0), ValueError, "num_classes must be >= 1"),
    (lambda: train.confusion_matrix([0], [0], 2.0), TypeError, "num_classes must be a Python int"),
    (lambda: train.confusion_matrix("ab", [0], 2), TypeError, "y_true must be an array"),
    (lambda: train.per_class_report([0], [0], 2, class_names=["a"]), ValueError,
     "class_names must have num_classes=2 entries"),
    (lambda: train.per_class_report([0], [0], 2, class_names="ab"), TypeError, "class_names"),
    (lambda: train.format_class_report({}), TypeError, "report must be a ClassReport"),
])
def test_bad_input_names_the_argument(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)
