"""Atomic file writes: nothing a user saved is lost or half-written on a crash.

Every file fdl writes (checkpoints, metrics, plots) goes through ``atomic_open``: the
data goes to a temporary ``.<name>.<random>.tmp`` beside the target, is flushed and
fsync'ed, and is renamed over the target with ``os.replace`` (atomic on POSIX and
Windows); then the directory is fsync'ed so the rename itself survives a power cut. A
crash at any point leaves the old file or the new one, never a mixture. A process
killed outright (SIGKILL) cannot remove its temporary: ``remove_stale_temporaries``
clears them on the next run.
"""

import contextlib
import glob
import os
import tempfile


def _default_mode():
    """Permissions a newly created file gets under the current umask (e.g. 0o644)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _temporary_prefix(path):
    return f".{os.path.basename(path)}."


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Opens a temporary file beside ``path``; on success fsyncs it and renames it over
    ``path``, on any error removes it and leaves ``path`` as it was."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(path), suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp, _default_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def remove_stale_temporaries(path):
    """Deletes temporaries ``atomic_open`` left beside ``path`` when killed mid-write.

    Call it before writing ``path`` again, from the one process that writes it: a
    temporary of a live writer would be deleted too. Returns the paths removed.
    """
    path = os.fspath(path)
    pattern = os.path.join(os.path.dirname(os.path.abspath(path)),
                           glob.escape(_temporary_prefix(path)) + "*.tmp")
    removed = []
    for stale in glob.glob(pattern):
        try:
            os.unlink(stale)
            removed.append(stale)
        except OSError:
            pass
    return removed
