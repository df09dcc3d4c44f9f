"""Envelope storage on a local (or shared) file system: write-then-rename, so a blob exists only whole.

An upload is written to ``incoming/`` (0600, ``O_EXCL``) while it streams in; only when every byte
arrived and checked out is it fsynced and renamed into ``blobs/`` — a rename within one file system
is atomic, so a reader never sees half an envelope and a killed upload leaves only an incoming file,
which the next start removes. Blob names are random ids chosen by the gateway, never user input.
"""

import asyncio
import hashlib
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Final

from gateway.errors import GatewayError

_BLOB_NAME: Final = re.compile(r"^blob_[0-9a-f]{32}$")
_IOV_MAX: Final = 1024  # POSIX guarantees at least 16; Linux takes 1024 buffers per writev.


class BlobStoreError(GatewayError):
    """A blob name is invalid or a blob is missing."""

    code = "blob.invalid"


class IncomingBlob:
    """A blob being written: its bytes go to a private temporary file and into a running SHA-256."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"upload-{secrets.token_hex(16)}.partial"
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunks: Sequence[bytes]) -> None:
        """Append ``chunks`` (hashing them too), in one ``writev`` when the kernel takes it all.

        Safe to call from a worker thread: hashing and writing both release the GIL, so the event loop
        keeps receiving meanwhile. The chunks are written as they came, never joined into a copy.
        """
        for chunk in chunks:
            self._hash.update(chunk)
        pending = [memoryview(chunk) for chunk in chunks if chunk]
        while pending:
            written = os.writev(self._fd, pending[:_IOV_MAX])
            self.size += written
            while pending and written >= len(pending[0]):
                written -= len(pending[0])
                pending.pop(0)
            if written:
                pending[0] = pending[0][written:]

    def hexdigest(self) -> str:
        """The SHA-256 of everything written so far."""
        return self._hash.hexdigest()

    def close(self, fsync: bool) -> None:
        """Flush to disk (when asked) and close the file."""
        if self._fd >= 0:
            try:
                if fsync:
                    os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1

    def discard(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.path.unlink(missing_ok=True)


class BlobStore:
    """Blobs under ``root``; uploads in progress under ``root/incoming``."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self._fsync = fsync
        self.incoming.mkdir(mode=0o700, parents=True, exist_ok=True)

    @staticmethod
    def new_name() -> str:
        """A fresh blob name."""
        return f"blob_{secrets.token_hex(16)}"

    def path(self, name: str) -> Path:
        """Where blob ``name`` lives.

        Raises:
            BlobStoreError: ``name`` is not a blob name (so no path can be smuggled through it).
        """
        if not _BLOB_NAME.fullmatch(name):
            raise BlobStoreError(f"not a blob name: {name!r}")
        return self.root / name

    def begin(self) -> IncomingBlob:
        """Start writing a new blob."""
        return IncomingBlob(self.incoming)

    def commit(self, incoming: IncomingBlob, name: str) -> Path:
        """Make ``incoming`` visible as blob ``name``: fsync, rename, fsync the directory.

        Raises:
            BlobStoreError: the name is invalid or already taken.
            OSError: the file system refused.
        """
        target = self.path(name)
        if target.exists():
            raise BlobStoreError(f"blob {name} already exists")
        incoming.close(self._fsync)
        os.replace(incoming.path, target)
        if self._fsync:
            directory = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return target

    def delete(self, name: str) -> None:
        """Remove blob ``name`` (missing is fine)."""
        self.path(name).unlink(missing_ok=True)

    def clean_incoming(self) -> int:
        """Delete every unfinished upload; return how many. Run at start, before serving."""
        removed = 0
        for leftover in self.incoming.glob("upload-*.partial"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def remove_orphans(self, referenced: set[str], older_than_seconds: float) -> int:
        """Delete blobs no database row names, if older than ``older_than_seconds``; return how many.

        A blob is renamed into place just before its row commits, so a process killed in between
        leaves an orphan; the age threshold keeps a replica from deleting another's blob in that
        same instant.
        """
        removed = 0
        cutoff = time.time() - older_than_seconds
        for blob in self.root.glob("blob_*"):
            if blob.name not in referenced and blob.stat().st_mtime < cutoff:
                blob.unlink(missing_ok=True)
                removed += 1
        return removed


async def read_blob(path: Path, size: int, chunk_size: int) -> AsyncIterator[bytes]:
    """Yield a blob's bytes, reading the next chunk on a worker thread while the current one is sent.

    Raises:
        BlobStoreError: the file is shorter than ``size`` (it changed under the gateway).
        OSError: the file cannot be read.
    """
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY)
    pending: asyncio.Future[bytes] | None = None
    try:
        offset = 0
        pending = loop.run_in_executor(None, os.pread, fd, min(chunk_size, size), 0)
        while offset < size:
            current, pending = pending, None
            assert current is not None
            data = await current
            if not data:
                raise BlobStoreError(f"{path.name} ended at {offset} of {size} bytes")
            offset += len(data)
            if offset < size:
                pending = loop.run_in_executor(None, os.pread, fd, min(chunk_size, size - offset), offset)
            yield data
    finally:
        if pending is not None:
            await asyncio.wait([pending])
        os.close(fd)
