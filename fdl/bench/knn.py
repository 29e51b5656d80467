"""K1, K2: k-nearest-neighbour classification, k = 5, L2, 10 classes.

K1: 5,000 x 3,072 training points (CIFAR-sized), 500 queries. K2: 60,000 x 784
(MNIST-sized), 10,000 queries (tens of seconds per implementation; ``--quick`` skips it).
fdl's ``knn_predict`` (data already on the device, labels copied back to the host)
against scikit-learn's brute force (fit + predict) and faiss's exact ``IndexFlatL2``
(index build + search + majority vote in NumPy). One unit is the whole query set.
"""

import numpy as np

from fdl.bench.workload import Candidate, measure

K = 5
CLASSES = 10
SHAPES = {"K1": (5_000, 3_072, 500), "K2": (60_000, 784, 10_000)}


def _data(n_train, dim, n_test, seed=0):
    rng = np.random.default_rng(seed)
    x_train = rng.standard_normal((n_train, dim), dtype=np.float32)
    y_train = rng.integers(0, CLASSES, n_train)
    x_test = rng.standard_normal((n_test, dim), dtype=np.float32)
    return x_train, y_train, x_test


def _fdl(x_train, y_train, x_test):
    def setup(config):
        import jax

        import fdl

        xd_train, yd_train, xd_test = jax.device_put((x_train, y_train, x_test))

        def run():
            for _ in range(config.calls):
                np.asarray(fdl.classic.knn_predict(xd_train, yd_train, xd_test, k=K))

        return run

    return setup


def _sklearn(x_train, y_train, x_test):
    def setup(config):
        from sklearn.neighbors import KNeighborsClassifier

        def run():
            for _ in range(config.calls):
                clf = KNeighborsClassifier(n_neighbors=K, algorithm="brute")
                clf.fit(x_train, y_train).predict(x_test)

        return run

    return setup


def _faiss(x_train, y_train, x_test):
    def setup(config):
        import faiss

        def run():
            for _ in range(config.calls):
                index = faiss.IndexFlatL2(x_train.shape[1])
                index.add(x_train)
                _, nearest = index.search(x_test, K)
                votes = np.zeros((len(x_test), CLASSES), np.int32)
                np.add.at(votes, (np.arange(len(x_test))[:, None], y_train[nearest]), 1)
                votes.argmax(axis=1)

        return run

    return setup


def run(key, config, matmul_gflops):
    """Times K1 or K2 (``key``)."""
    n_train, dim, n_test = SHAPES[key]
    data = _data(n_train, dim, n_test)
    candidates = [
        Candidate("fdl.classic.knn_predict", _fdl(*data), is_fdl=True),
        Candidate("scikit-learn brute", _sklearn(*data), ("sklearn",)),
        Candidate("faiss-cpu IndexFlatL2", _faiss(*data), ("faiss",)),
    ]
    return measure(
        key, f"KNN k={K} L2, {n_train:,} x {dim:,} train, {n_test:,} queries",
        unit="query set", examples_per_unit=n_test,
        flops_per_unit=2.0 * n_train * n_test * dim,
        candidates=candidates, config=config, matmul_gflops=matmul_gflops,
    )
