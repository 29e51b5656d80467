"""Choosing hyperparameters: cross-validation, random and coarse-to-fine search.

Hyperparameters are set, not learned: choose them on validation data (or by
cross-validation on folds of the training data for small data sets) and touch the
test set once, at the very end. Search them at random, scale-like ones in log space,
from coarse to fine, and stop runs whose loss explodes.
"""

from fdl.tune._folds import CVResult as CVResult
from fdl.tune._folds import KnnCVResult as KnnCVResult
from fdl.tune._folds import cross_validate as cross_validate
from fdl.tune._folds import cross_validate_knn as cross_validate_knn
from fdl.tune._folds import kfold as kfold
from fdl.tune._folds import plot_cv_accuracy as plot_cv_accuracy
from fdl.tune._search import Choice as Choice
from fdl.tune._search import LogUniform as LogUniform
from fdl.tune._search import RandInt as RandInt
from fdl.tune._search import SearchResult as SearchResult
from fdl.tune._search import Trial as Trial
from fdl.tune._search import Uniform as Uniform
from fdl.tune._search import choice as choice
from fdl.tune._search import coarse_to_fine as coarse_to_fine
from fdl.tune._search import diverged as diverged
from fdl.tune._search import loguniform as loguniform
from fdl.tune._search import randint as randint
from fdl.tune._search import random_search as random_search
from fdl.tune._search import should_stop_early as should_stop_early
from fdl.tune._search import uniform as uniform
