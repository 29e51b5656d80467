import os

import pytest

from fdl._io import atomic_open


def test_atomic_open_replaces_the_file(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_open(path, "w") as f:
        f.write("new")
    assert path.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_crash_while_writing_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("saved")
    with pytest.raises(RuntimeError):
        with atomic_open(path, "w") as f:
            f.write("half")
            raise RuntimeError("crash")
    assert path.read_text() == "saved"
    assert os.listdir(tmp_path) == ["out.txt"]  # no temporary file left behind


def test_written_files_get_the_umask_permissions_not_the_temporary_0600(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "metrics.json"
        with atomic_open(path, "w") as f:
            f.write("{}")
        assert (os.stat(path).st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
