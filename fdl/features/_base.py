"""The shape of a fitted feature: a pair of pure functions, like ``fdl.data``'s
``Preprocessor`` without an inverse (most features cannot be undone)."""

from typing import Callable, NamedTuple


class Feature(NamedTuple):
    """A feature extractor fitted on training data and applied to every split.

    Attributes:
      fit: ``fit(x, ...) -> state`` from the training data alone; the extra arguments
        depend on the feature (``lda``: the labels ``y``; ``bag_of_words``: a key for
        k-means).
      apply: ``apply(state, x) -> features``: the training state applied to any split.
    """

    fit: Callable
    apply: Callable
