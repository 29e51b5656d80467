"""load_cifar10 on tiny fake batches written here, and its download path against a local
HTTP server started by the test (no internet)."""

import hashlib
import http.server
import io
import os
import pickle
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

from fdl import data

PER_BATCH = 10
NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]


def fake_batches(seed=0):
    """``{file name: pickled bytes}`` shaped like the official Python-2 pickles.

    Image ``j`` of batch ``b`` is labelled ``(b + j) % 10``. Image 0 of ``data_batch_1``
    has a known pattern: its R plane is 10, G 20, B 30, except R at row 0, column 1 is 200.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for b, name in enumerate(FILES[:6]):
        pixels = rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8)
        if b == 0:
            planes = np.stack([np.full((32, 32), v, np.uint8) for v in (10, 20, 30)])
            planes[0, 0, 1] = 200
            pixels[0] = planes.reshape(-1)
        labels = [(b + j) % 10 for j in range(PER_BATCH)]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": pixels}
        out[name] = pickle.dumps(batch, protocol=2)
    meta = {b"label_names": [n.encode() for n in NAMES], b"num_vis": 3072}
    out["batches.meta"] = pickle.dumps(meta, protocol=2)
    return out


def write_batches(directory, batches=None):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, blob in (batches or fake_batches()).items():
        (directory / name).write_bytes(blob)
    return directory


def raw_pixels(batches, name):
    return pickle.loads(batches[name], encoding="bytes")[b"data"]


def tar_gz(members):
    """A .tar.gz holding ``{member name: bytes}``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


def official_archive():
    return tar_gz({f"cifar-10-batches-py/{n}": b for n, b in fake_batches().items()})


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server on 127.0.0.1: ``files`` maps URL paths to bodies, ``requests``
    records the paths asked for."""
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    files, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        httpd.files, httpd.requests = files, requests
        httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.mark.parametrize("subfolder", [True, False])
def test_loads_batches_from_the_folder_or_directly(tmp_path, subfolder):
    write_batches(tmp_path / "cifar-10-batches-py" if subfolder else tmp_path)
    train, val, test, names = data.load_cifar10(tmp_path, val_size=10)
    assert train.x.shape == (40, 32, 32, 3)
    assert val.x.shape == test.x.shape == (10, 32, 32, 3)
    for part in (train, val, test):
        assert part.x.dtype == np.float32 and part.y.dtype == np.int32
        assert 0.0 <= part.x.min() and part.x.max() <= 1.0
    assert names == NAMES


def test_chw_rows_become_nhwc_images(tmp_path):
    write_batches(tmp_path)
    x = data.load_cifar10(tmp_path, val_size=10, scale=False).train.x
    image = x[0].astype(int)
    # Row 0, column 1 of the red plane; its transpose (row 1, column 0) stays 10.
    assert image[0, 1, 0] == 200 and image[1, 0, 0] == 10
    image[0, 1, 0] = 10
    np.testing.assert_array_equal(image, np.broadcast_to([10, 20, 30], (32, 32, 3)))


def test_pixels_labels_and_validation_split(tmp_path):
    batches = fake_batches()
    write_batches(tmp_path, batches)
    splits = data.load_cifar10(tmp_path, val_size=15)
    raw = np.concatenate([raw_pixels(batches, n) for n in FILES[:5]])
    raw = raw.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(splits.train.x, raw[:35] / np.float32(255))
    np.testing.assert_array_equal(splits.val.x, raw[35:] / np.float32(255))
    labels = [(b + j) % 10 for b in range(5) for j in range(PER_BATCH)]
    np.testing.assert_array_equal(splits.train.y, labels[:35])
    np.testing.assert_array_equal(splits.val.y, labels[35:])
    np.testing.assert_array_equal(splits.test.y, [(5 + j) % 10 for j in range(PER_BATCH)])
    unscaled = data.load_cifar10(tmp_path, val_size=0, scale=False)
    assert unscaled.train.x.dtype == np.uint8 and unscaled.val.x.shape == (0, 32, 32, 3)
    np.testing.assert_array_equal(unscaled.train.x, raw)


def test_missing_batches_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        data.load_cifar10(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)


def test_val_size_must_leave_training_data(tmp_path):
    write_batches(tmp_path)
    with pytest.raises(ValueError, match="val_size"):
        data.load_cifar10(tmp_path)  # the default 1,000 exceeds the 50 fake images
    with pytest.raises(ValueError, match="val_size"):
        data.load_cifar10(tmp_path, val_size=-1)


def test_truncated_pickle_names_the_file(tmp_path):
    batches = fake_batches()
    batches["data_batch_3"] = batches["data_batch_3"][: len(batches["data_batch_3"]) // 2]
    write_batches(tmp_path, batches)
    with pytest.raises(ValueError, match="data_batch_3"):
        data.load_cifar10(tmp_path, val_size=10)


def test_malformed_batch_names_the_file(tmp_path):
    batches = fake_batches()
    bad = {b"labels": [0] * 4, b"data": np.zeros((4, 1024), np.uint8)}
    batches["test_batch"] = pickle.dumps(bad, protocol=2)
    write_batches(tmp_path, batches)
    with pytest.raises(ValueError, match="test_batch.*3072"):
        data.load_cifar10(tmp_path, val_size=10)


def test_download_extracts_and_caches(tmp_path, server):
    archive = official_archive()
    server.files["/cifar-10-python.tar.gz"] = archive
    url = f"{server.base}/cifar-10-python.tar.gz"
    md5 = hashlib.md5(archive).hexdigest()
    root = tmp_path / "cifar"

    splits = data.load_cifar10(root, download=True, url=url, md5=md5, val_size=10)
    assert splits.train.x.shape == (40, 32, 32, 3) and splits.class_names == NAMES
    assert server.requests == ["/cifar-10-python.tar.gz"]
    assert sorted(os.listdir(root)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]

    again = data.load_cifar10(root, download=True, url=url, md5=md5, val_size=10)
    np.testing.assert_array_equal(again.train.x, splits.train.x)
    assert len(server.requests) == 1  # found the batches: no second download

    # The extracted folder lost, the cached archive is unpacked again without a request.
    (root / "cifar-10-batches-py" / "test_batch").unlink()
    data.load_cifar10(root, download=True, url=url, md5=md5, val_size=10)
    assert len(server.requests) == 1
    assert sorted(os.listdir(root)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]


def test_download_into_a_separate_cache(tmp_path, server):
    archive = official_archive()
    server.files["/a.tar.gz"] = archive
    md5 = hashlib.md5(archive).hexdigest()
    data.load_cifar10(
        tmp_path / "data", True, url=f"{server.base}/a.tar.gz", md5=md5,
        cache_dir=tmp_path / "cache", val_size=10,
    )  # fmt: skip
    assert os.listdir(tmp_path / "cache") == ["a.tar.gz"]
    assert os.listdir(tmp_path / "data") == ["cifar-10-batches-py"]


def test_md5_mismatch_deletes_the_download(tmp_path, server):
    archive = official_archive()
    server.files["/cifar-10-python.tar.gz"] = archive
    wrong = "0" * 32
    with pytest.raises(ValueError, match="MD5") as info:
        data.load_cifar10(
            tmp_path, download=True, url=f"{server.base}/cifar-10-python.tar.gz", md5=wrong
        )
    message = str(info.value)
    assert wrong in message and hashlib.md5(archive).hexdigest() in message
    assert os.listdir(tmp_path) == []  # no archive, no partial file, no extracted folder


def test_unsafe_archive_is_refused(tmp_path, server):
    members = {f"cifar-10-batches-py/{n}": b for n, b in fake_batches().items()}
    members["../escaped"] = b"x"
    archive = tar_gz(members)
    server.files["/evil.tar.gz"] = archive
    root = tmp_path / "root"
    with pytest.raises(ValueError, match="unsafe path"):
        data.load_cifar10(
            root, download=True, url=f"{server.base}/evil.tar.gz",
            md5=hashlib.md5(archive).hexdigest(),
        )  # fmt: skip
    assert not (tmp_path / "escaped").exists()
    assert os.listdir(root) == ["evil.tar.gz"]  # the archive is kept; nothing extracted


def test_archive_without_batches(tmp_path, server):
    archive = tar_gz({"readme.txt": b"nothing here"})
    server.files["/empty.tar.gz"] = archive
    with pytest.raises(ValueError, match="expected files"):
        data.load_cifar10(
            tmp_path, download=True, url=f"{server.base}/empty.tar.gz",
            md5=hashlib.md5(archive).hexdigest(),
        )  # fmt: skip
    assert os.listdir(tmp_path) == ["empty.tar.gz"]


def test_server_error_is_an_os_error(tmp_path, server):
    with pytest.raises(OSError, match="404"):
        data.load_cifar10(tmp_path, download=True, url=f"{server.base}/missing.tar.gz")
    assert os.listdir(tmp_path) == []


def test_argument_types(tmp_path):
    with pytest.raises(TypeError, match="path"):
        data.load_cifar10(3)
    with pytest.raises(TypeError, match="md5"):
        data.load_cifar10(tmp_path, download=True, md5=123)
