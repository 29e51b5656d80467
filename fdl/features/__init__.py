"""``fdl.features``: features fitted on training data and applied to every split.

Before deep networks learnt their own features, image classifiers were linear models
on hand-made ones, and a good feature transform can make a problem linearly separable:

- ``polar(x)``: ``(x, y) -> (r, theta)`` for 2-D points (concentric circles become
  separable by a line).
- ``raw_pixels(x)``: ``(N, ...) -> (N, D)``, the pixels as they are.
- ``with_coordinates(x)``: NHWC images with each pixel's ``(u, v)`` position in
  ``[-1, 1]`` appended as two channels.
- ``pca(k)``: ``fdl.data.pca``, the top-``k`` principal components (unsupervised).
- ``lda(n_components)``: Fisher's linear discriminant (supervised, ``<= C - 1``
  directions).
- ``kmeans(key, x, k)``: k-means++ seeding and Lloyd's algorithm.
- ``bag_of_words(...)`` and ``spatial_pyramid(...)``: histograms of visual words (a
  k-means codebook of dense patches), over the whole image or over a pyramid of cells.

Fitted features are ``Feature(fit, apply)`` pairs (``pca`` is ``fdl.data``'s
``Preprocessor``, which adds ``inverse``): ``state = feature.fit(train_x, ...)`` once,
then ``feature.apply(state, x)`` on train, validation and test alike, never refitted on
held-out data.
"""

from fdl.data._preprocess import PCAState as PCAState
from fdl.data._preprocess import pca as pca
from fdl.features._base import Feature as Feature
from fdl.features._bow import CodebookState as CodebookState
from fdl.features._bow import bag_of_words as bag_of_words
from fdl.features._bow import spatial_pyramid as spatial_pyramid
from fdl.features._kmeans import KMeans as KMeans
from fdl.features._kmeans import kmeans as kmeans
from fdl.features._lda import LDAState as LDAState
from fdl.features._lda import lda as lda
from fdl.features._pointwise import polar as polar
from fdl.features._pointwise import raw_pixels as raw_pixels
from fdl.features._pointwise import with_coordinates as with_coordinates
