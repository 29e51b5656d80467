"""``fdl.data``: datasets, preprocessing fitted on train, and augmentation.

Loaders return ``Splits(train, val, test, class_names)`` of ``Dataset(x, y)`` with NHWC
images ``x`` and int32 labels ``y`` (NumPy arrays):

- ``load_digits()``: scikit-learn's bundled 8x8 digits, ``(N, 8, 8, 1)``, a fixed
  stratified 1,197 / 300 / 300 split; nothing to download.
- ``load_cifar10(path, download=False)``: the CIFAR-10 python batches, ``(N, 32, 32, 3)``,
  49,000 / 1,000 / 10,000; downloads the official archive (MD5-checked) when asked.

Preprocessors are ``Preprocessor(fit, apply, inverse)``: ``state = pre.fit(train.x)``,
then ``pre.apply(state, x)`` on every split (``mean_image``, ``channel_mean``,
``standardize``, ``pca``, ``whiten``). Augmentation: ``random_crop(key, x, padding)``,
``random_flip(key, x)``, one key per example; ``augmentation(crop_padding=..., flip=...)``
combines them into the ``augment(key, x_batch)`` function that ``fdl.train.fit`` applies
to every training minibatch.

Toy 2-D data (``Dataset(x, y)`` with ``x`` float32 ``(N, 2)``): ``spirals(key,
n_per_class)``, ``circles(key, n)``, ``blobs(key, n)``.
"""

from fdl.data._augment import Augmentation as Augmentation
from fdl.data._augment import augmentation as augmentation
from fdl.data._augment import random_crop as random_crop
from fdl.data._augment import random_flip as random_flip
from fdl.data._cifar10 import OFFICIAL_MD5 as CIFAR10_MD5  # noqa: F401 (public name)
from fdl.data._cifar10 import OFFICIAL_URL as CIFAR10_URL  # noqa: F401 (public name)
from fdl.data._cifar10 import load_cifar10 as load_cifar10
from fdl.data._dataset import Dataset as Dataset
from fdl.data._dataset import Splits as Splits
from fdl.data._digits import load_digits as load_digits
from fdl.data._preprocess import MeanState as MeanState
from fdl.data._preprocess import PCAState as PCAState
from fdl.data._preprocess import Preprocessor as Preprocessor
from fdl.data._preprocess import StandardizeState as StandardizeState
from fdl.data._preprocess import channel_mean as channel_mean
from fdl.data._preprocess import mean_image as mean_image
from fdl.data._preprocess import pca as pca
from fdl.data._preprocess import standardize as standardize
from fdl.data._preprocess import whiten as whiten
from fdl.data._toy import blobs as blobs
from fdl.data._toy import circles as circles
from fdl.data._toy import spirals as spirals
