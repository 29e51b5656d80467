"""CIFAR-10 from the standard python-pickle batches, downloaded on request.

The official archive ``cifar-10-python.tar.gz`` unpacks to ``cifar-10-batches-py/``
holding ``data_batch_1`` .. ``data_batch_5`` (10,000 training images each),
``test_batch`` (10,000) and ``batches.meta``. Each batch is a pickled dict whose
``b"data"`` is a uint8 ``(N, 3072)`` array, one image per row in CHW order (the
1,024 red values of the 32x32 image row by row, then green, then blue), and whose
``b"labels"`` is a list of N ints in ``[0, 10)``; ``batches.meta`` names the classes
in ``b"label_names"``.
"""

import os
import pickle
from pathlib import Path

import numpy as np

from fdl.data import _download
from fdl.data._dataset import Dataset, Splits, check_size

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
REQUIRED = (*TRAIN_FILES, TEST_FILE, META_FILE)
NUM_CLASSES = 10
SIDE = 32


def batch_folder(directory):
    """``directory/cifar-10-batches-py`` or ``directory`` itself, whichever holds every
    batch file; ``None`` when neither does."""
    directory = Path(directory)
    for candidate in (directory / FOLDER, directory):
        if all((candidate / name).is_file() for name in REQUIRED):
            return candidate
    return None


def unpickle(file):
    """The dict in a pickle file written by Python 2 or 3; ``ValueError`` naming the
    file if it cannot be read as one."""
    with open(file, "rb") as f:
        try:
            # The official batches were pickled by Python 2: keys and names are bytes.
            content = pickle.load(f, encoding="bytes")
        except OSError:
            raise
        except Exception as err:  # truncated or corrupt pickles fail in many ways
            raise ValueError(
                f"{file} is not a readable CIFAR-10 pickle (truncated or corrupt?): "
                f"{type(err).__name__}: {err}"
            ) from err
    if not isinstance(content, dict):
        raise ValueError(f"{file} must hold a dict, got {type(content).__name__}")
    return content


def field(content, key, file):
    for k in (key.encode(), key):
        if k in content:
            return content[k]
    raise ValueError(f"{file} has no {key!r} entry (keys: {sorted(map(str, content))})")


def read_batch(file):
    """Images ``(N, 32, 32, 3)`` uint8 (NHWC) and labels ``(N,)`` int32 of one batch."""
    content = unpickle(file)
    data = np.asarray(field(content, "data", file))
    labels = np.asarray(field(content, "labels", file))
    pixels = 3 * SIDE * SIDE
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise ValueError(
            f"{file}: data must be uint8 of shape (N, {pixels}), "
            f"got {data.dtype} {data.shape}"
        )
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{file}: labels must be {data.shape[0]} ints (one per image), "
            f"got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(
            f"{file}: labels must lie in [0, {NUM_CLASSES}), "
            f"got values in [{labels.min()}, {labels.max()}]"
        )
    # Rows are CHW planes; NHWC puts the channel last.
    images = data.reshape(-1, 3, SIDE, SIDE).transpose(0, 2, 3, 1)
    return images, labels.astype(np.int32)


def read_names(file):
    names = field(unpickle(file), "label_names", file)
    names = tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    if len(names) != NUM_CLASSES:
        raise ValueError(f"{file}: expected {NUM_CLASSES} label_names, got {len(names)}")
    return names


def to_dataset(images, labels, scale):
    if scale:
        x = np.empty(images.shape, np.float32)
        np.divide(images, np.float32(255), out=x)
    else:
        x = np.ascontiguousarray(images)
    return Dataset(x, labels)


def fetch(root, cache_dir, url, md5, timeout):
    """Makes ``root/cifar-10-batches-py`` from the archive in ``cache_dir``, downloading
    it first unless a copy with the right MD5 is already there."""
    name = os.path.basename(url.split("?", 1)[0]) or "cifar-10-python.tar.gz"
    archive = Path(cache_dir) / name
    if archive.is_file() and md5 is not None and _download.md5_of(archive) != md5.lower():
        archive.unlink()  # a stale or damaged copy: fetch it again
    if not archive.is_file():
        _download.download(url, archive, md5, timeout)
    _download.extract_atomically(archive, root / FOLDER, batch_folder)


def load_cifar10(
    path,
    download=False,
    *,
    val_size=1000,
    scale=True,
    url=OFFICIAL_URL,
    md5=OFFICIAL_MD5,
    cache_dir=None,
    timeout=30.0,
):
    """CIFAR-10 as NHWC arrays: 49,000 train, 1,000 validation, 10,000 test images.

    The validation images are the last ``val_size`` of the 50,000 training images (the
    end of ``data_batch_5``), the split of the CS231n assignments; ``test_batch`` is the
    test set. Nothing is shuffled: the files' order is kept.

    With ``download=True`` and the batches missing, the archive ``url`` is downloaded
    into ``cache_dir`` (kept there: a later call does not download it again), its MD5 is
    checked, and it is unpacked to ``path/cifar-10-batches-py``. Both steps are atomic:
    an interrupted or failed call leaves no partial archive or folder under its final
    name. Archive members with absolute paths, ``..`` or links are refused.

    Args:
      path: directory (str or ``os.PathLike``) holding ``cifar-10-batches-py/`` or the
        batch files themselves.
      download: fetch the archive if the batches are missing.
      val_size: int, number of training images held out for validation (>= 0).
      scale: if True, ``x`` is float32 in ``[0, 1]`` (pixel / 255), 600 MB for the whole
        set; if False, the raw uint8 ``0..255``, four times smaller.
      url: where to download the archive from.
      md5: hex MD5 the archive must have; ``None`` skips the check.
      cache_dir: where the archive is kept; defaults to ``path``.
      timeout: seconds the download may wait on the server before failing.

    Returns:
      ``Splits(train, val, test, class_names)``: each part a ``Dataset`` with ``x``
      ``(N, 32, 32, 3)`` and ``y`` int32 ``(N,)``; ``class_names`` from
      ``batches.meta`` (``("airplane", "automobile", ..., "truck")``).

    Raises:
      FileNotFoundError: the batches are missing and ``download`` is False.
      ValueError: a truncated or malformed batch file (named in the message), an MD5
        mismatch (expected and actual digests named; the download is deleted), an unsafe
        archive, or a ``val_size`` that leaves no training images.
      OSError: the download failed (``urllib.error.URLError`` is one).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    val_size = check_size(val_size, "val_size")
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    if md5 is not None and not isinstance(md5, str):
        raise TypeError(f"md5 must be a hex str or None, got {type(md5).__name__}")
    root = Path(path)
    folder = batch_folder(root)
    if folder is None:
        if not download:
            missing = [n for n in REQUIRED if not (root / FOLDER / n).is_file()]
            raise FileNotFoundError(
                f"CIFAR-10 batches not found: looked in {root / FOLDER} and {root} for "
                f"{', '.join(REQUIRED)} (missing in the first: {', '.join(missing)}); "
                "pass download=True to fetch the official archive"
            )
        fetch(root, root if cache_dir is None else Path(cache_dir), url, md5, timeout)
        folder = batch_folder(root)

    parts = [read_batch(folder / name) for name in TRAIN_FILES]
    train_x = np.concatenate([p[0] for p in parts])
    train_y = np.concatenate([p[1] for p in parts])
    del parts
    test_x, test_y = read_batch(folder / TEST_FILE)
    names = read_names(folder / META_FILE)
    n_train = len(train_y)
    if val_size >= n_train:
        raise ValueError(
            f"val_size must be < {n_train} (the training images) to leave training "
            f"data, got {val_size}"
        )
    cut = n_train - val_size
    return Splits(
        train=to_dataset(train_x[:cut], train_y[:cut], scale),
        val=to_dataset(train_x[cut:], train_y[cut:], scale),
        test=to_dataset(test_x, test_y, scale),
        class_names=names,
    )
