"""Classic image classifiers: nearest neighbours and linear classifiers on pixels.

``pairwise_distances`` compares every test point with every training point;
``knn_predict`` lets the ``k`` nearest training points vote on the label.
``train_linear_classifier`` (``linear_svm``, ``softmax_classifier``) learns scores
``s = x W + b`` with the multiclass hinge or the softmax loss plus L2 regularisation;
``weight_templates`` reshapes each class's weights into an image.
"""

from fdl.classic._distances import METRICS as METRICS
from fdl.classic._distances import pairwise_distances as pairwise_distances
from fdl.classic._knn import kneighbors as kneighbors
from fdl.classic._knn import knn_predict as knn_predict
from fdl.classic._knn import knn_predict_proba as knn_predict_proba
from fdl.classic._linear import LOSSES as LOSSES
from fdl.classic._linear import LinearClassifier as LinearClassifier
from fdl.classic._linear import init_linear_classifier as init_linear_classifier
from fdl.classic._linear import linear_loss as linear_loss
from fdl.classic._linear import linear_predict as linear_predict
from fdl.classic._linear import linear_scores as linear_scores
from fdl.classic._linear import linear_svm as linear_svm
from fdl.classic._linear import softmax_classifier as softmax_classifier
from fdl.classic._linear import train_linear_classifier as train_linear_classifier
from fdl.classic._linear import weight_templates as weight_templates
