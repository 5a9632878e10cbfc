"""The content-addressed media store: a file is kept once, under its SHA-256.

``LocalMediaStore`` keeps files in ``MODOPS_MEDIA_DIR`` (default ``./media``, git-ignored) as
``ab/cd/abcd…``. A file is written to a temporary name in the same directory while it is hashed
and measured, and renamed into place only when it is whole and within the size limit: a
crash, a refusal or a broken download leaves no half-written file under a real name. The
directory is never served as a folder; the app serves a file only through a short-lived signed
URL to a user who may see an item carrying it (``modops.media.access``).

The scale-out path is an S3-compatible bucket with the same key layout (docs/media.md): the
interface is ``put_stream``/``path``/``exists``; processing needs a local path, so an S3
backend downloads to a temporary file first.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from modops.media.settings import media_settings

_SHA = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1 << 20


class TooLarge(ValueError):
    """The content is over the configured size limit (nothing was kept)."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    md5: str
    size: int
    head: bytes  # the first bytes, for sniffing the type


class MediaStore(Protocol):
    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int | None = None) \
            -> StoredBlob: ...

    def path(self, sha256: str) -> Path: ...

    def exists(self, sha256: str) -> bool: ...


class LocalMediaStore:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).resolve() if root is not None else media_settings().media_dir
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA.match(sha256):  # a key from a URL or a row: never a path of its own
            raise ValueError(f"not a SHA-256: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_stream(self, chunks: Iterable[bytes], *, max_bytes: int | None = None) \
            -> StoredBlob:
        limit = media_settings().max_bytes if max_bytes is None else max_bytes
        sha, md5, size, head = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0, b""
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp", prefix="in-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise TooLarge(f"over the size limit of {limit:,} bytes")
                    if len(head) < 64:
                        head += chunk[:64 - len(head)]
                    sha.update(chunk)
                    md5.update(chunk)
                    out.write(chunk)
            digest = sha.hexdigest()
            final = self.path(digest)
            if final.is_file():  # stored already: same bytes, nothing to do
                os.unlink(tmp)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, final)
            return StoredBlob(digest, md5.hexdigest(), size, head)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_bytes(self, data: bytes, *, max_bytes: int | None = None) -> StoredBlob:
        return self.put_stream([data], max_bytes=max_bytes)

    def put_file(self, path: Path, *, max_bytes: int | None = None) -> StoredBlob:
        return self.put_stream(read_chunks(path), max_bytes=max_bytes)


def read_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def media_store() -> LocalMediaStore:
    return LocalMediaStore()
