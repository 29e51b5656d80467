"""Classic image classifiers: nearest neighbours on L1/L2 pixel distances.

``pairwise_distances`` compares every test point with every training point;
``knn_predict`` lets the ``k`` nearest training points vote on the label.
"""

from fdl.classic._distances import METRICS as METRICS
from fdl.classic._distances import pairwise_distances as pairwise_distances
from fdl.classic._knn import kneighbors as kneighbors
from fdl.classic._knn import knn_predict as knn_predict
from fdl.classic._knn import knn_predict_proba as knn_predict_proba
