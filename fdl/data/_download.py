"""Fetching a dataset archive: download with an MD5 check, then a safe, atomic extract.

Nothing half-done is ever left under a final name. The download goes to a temporary
file beside the cache entry and is renamed only after its checksum matches; the archive
is unpacked into a temporary directory that is renamed into place only once complete.
A crash or a bad checksum leaves at most a temporary file or directory, removed on the
way out.
"""

import hashlib
import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

CHUNK = 1 << 20


def md5_of(path):
    """Hex MD5 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url, dest, md5, timeout):
    """Downloads ``url`` to the file ``dest``, checking the MD5 before the file appears.

    Raises:
      ValueError: the digest differs from ``md5`` (``None`` skips the check); the
        downloaded bytes are deleted.
      OSError: the server cannot be reached or answers with an error (``URLError`` and
        ``HTTPError`` are ``OSError``s).
    """
    import urllib.request  # lazy: it pulls in http.client and ssl

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as rsp:
            for chunk in iter(lambda: rsp.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if md5 is not None and got != md5.lower():
            raise ValueError(
                f"MD5 mismatch for {url}: expected {md5}, got {got}; the download was "
                "deleted (a corrupted or tampered file, or the wrong md5)"
            )
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def safe_members(tar, archive):
    """The archive's members, refusing any that could write outside the target.

    Only regular files and directories with relative paths free of ``..`` are accepted:
    absolute paths, parent references, links and device files raise ``ValueError``.
    """
    members = tar.getmembers()
    for member in members:
        parts = PurePosixPath(member.name).parts
        if (
            member.name.startswith(("/", "\\"))
            or os.path.isabs(member.name)
            or ".." in parts
            or (parts and ":" in parts[0])
        ):
            raise ValueError(f"unsafe path {member.name!r} in archive {archive}")
        if not (member.isfile() or member.isdir()):
            raise ValueError(
                f"archive {archive} holds {member.name!r}, which is not a regular file "
                "or directory (links are refused)"
            )
    return members


def extract_tar(archive, dest):
    """Unpacks the tar(.gz) ``archive`` into the existing, empty directory ``dest``."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = safe_members(tar, archive)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, members=members, filter="data")
            else:  # Python < 3.11.4: safe_members already did the filter's job
                tar.extractall(dest, members=members)
    except (tarfile.TarError, EOFError) as err:
        raise ValueError(f"{archive} is not a readable tar archive: {err}") from err


def extract_atomically(archive, target, find):
    """Extracts ``archive`` so that the directory ``target`` appears complete or not at all.

    ``find(directory)`` returns the directory holding the wanted files under a freshly
    extracted tree (the tree itself, or a folder inside it), or ``None``. That directory
    is renamed to ``target``; an existing, incomplete ``target`` is replaced.

    Raises:
      ValueError: the archive is unsafe or unreadable, or lacks the wanted files.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)

    def scratch(suffix):
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent))

    work = scratch(".extract")
    stale = None
    try:
        extract_tar(archive, work)
        found = find(work)
        if found is None:
            raise ValueError(f"archive {archive} does not contain the expected files")
        if target.exists():
            # Incomplete (the caller checked). A rename cannot replace a non-empty
            # directory, so move it aside first and delete it afterwards.
            stale = scratch(".stale")
            os.rename(target, stale / target.name)
        os.rename(found, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if stale is not None:
            shutil.rmtree(stale, ignore_errors=True)
