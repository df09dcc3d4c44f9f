"""Envelope storage on a local (or shared) file system: write-then-rename, so a blob exists only whole.

An upload is written to ``incoming/`` (0600, ``O_EXCL``) while it streams in; only when every byte
arrived and checked out is it fsynced and renamed into ``blobs/`` — a rename within one file system
is atomic, so a reader never sees half an envelope and a killed upload leaves only an incoming file,
which the next start removes. Blob names are random ids chosen by the gateway, never user input.
"""

import asyncio
import hashlib
import mmap
import os
import re
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

from gateway.errors import GatewayError
from gateway.storage.direct_io import ALIGNMENT, aligned_buffer, open_direct, stop_direct

_BLOB_NAME: Final = re.compile(r"^blob_[0-9a-f]{32}$")


class BlobStoreError(GatewayError):
    """A blob name is invalid or a blob is missing."""

    code = "blob.invalid"


class IncomingBlob:
    """A blob being written: its bytes go into a running SHA-256 and a private temporary file.

    ``write`` is called from one worker thread at a time, in order: it hashes the chunks and copies
    them into page-aligned buffers; a dedicated writer thread writes full buffers (with ``O_DIRECT``
    when available), so hashing the next megabytes overlaps writing the last ones. At most
    ``BUFFERS`` buffers exist, so memory stays bounded whatever the size.
    """

    BUFFERS: Final = 3

    def __init__(self, directory: Path, buffer_size: int = 4 << 20) -> None:
        self.path = directory / f"upload-{secrets.token_hex(16)}.partial"
        self._fd, self._direct = open_direct(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        self._hash = hashlib.sha256()
        self._free: list[mmap.mmap] = [aligned_buffer(buffer_size) for _ in range(self.BUFFERS)]
        self._buffer = self._free.pop()
        self._filled = 0
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="blob-writer")
        self._in_flight: deque[tuple[Future[None], mmap.mmap]] = deque()
        self.size = 0

    def write(self, chunks: Sequence[bytes]) -> None:
        """Hash and buffer ``chunks``; hand each full buffer to the writer thread.

        Raises:
            OSError: an earlier buffer could not be written.
        """
        for chunk in chunks:
            self._hash.update(chunk)
            view = memoryview(chunk)
            while view:
                room = len(self._buffer) - self._filled
                taken = view[:room]
                self._buffer[self._filled : self._filled + len(taken)] = taken
                self._filled += len(taken)
                view = view[len(taken) :]
                if self._filled == len(self._buffer):
                    self._flush_full()
            self.size += len(chunk)

    def _flush_full(self) -> None:
        buffer = self._buffer
        self._in_flight.append((self._writer.submit(_write_all, self._fd, memoryview(buffer)), buffer))
        if not self._free:
            done, recycled = self._in_flight.popleft()
            done.result()
            self._free.append(recycled)
        self._buffer = self._free.pop()
        self._filled = 0

    def hexdigest(self) -> str:
        """The SHA-256 of everything written so far."""
        return self._hash.hexdigest()

    def close(self, fsync: bool) -> None:
        """Write what is buffered, flush to disk (when asked) and close the file.

        Raises:
            OSError: a write or the flush failed.
        """
        if self._fd < 0:
            return
        try:
            while self._in_flight:
                self._in_flight.popleft()[0].result()
            if self._filled:
                if self._direct:
                    stop_direct(self._fd)  # The tail is not a whole number of blocks.
                _write_all(self._fd, memoryview(self._buffer)[: self._filled])
            if fsync:
                os.fsync(self._fd)
        finally:
            self._release()

    def _release(self) -> None:
        for future, _buffer in self._in_flight:
            future.cancel()
        self._writer.shutdown(wait=True)
        self._in_flight.clear()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def discard(self) -> None:
        """Close and delete the temporary file (idempotent)."""
        self._release()
        self.path.unlink(missing_ok=True)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        written = os.write(fd, view)
        view = view[written:]


class BlobStore:
    """Blobs under ``root``; uploads in progress under ``root/incoming``."""

    def __init__(self, root: Path, *, fsync: bool = True, buffer_size: int = 4 << 20) -> None:
        self.root = root
        self.incoming = root / "incoming"
        self._fsync = fsync
        # Direct I/O needs whole blocks: round the write buffer up to the alignment.
        self._buffer_size = -(-buffer_size // ALIGNMENT) * ALIGNMENT
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
        return IncomingBlob(self.incoming, self._buffer_size)

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

    Reads bypass the page cache (``O_DIRECT``) where the file system allows it and ``chunk_size`` is
    block-aligned: an envelope is read once per download, so caching it only costs memory.

    Raises:
        BlobStoreError: the file is shorter than ``size`` (it changed under the gateway).
        OSError: the file cannot be read.
    """
    loop = asyncio.get_running_loop()
    fd, direct = (
        open_direct(path, os.O_RDONLY) if chunk_size % ALIGNMENT == 0 else (os.open(path, os.O_RDONLY), False)
    )
    buffer = aligned_buffer(chunk_size) if direct else None

    def read(offset: int) -> bytes:
        if buffer is None:
            return os.pread(fd, min(chunk_size, size - offset), offset)
        got = os.preadv(fd, [buffer], offset)
        return bytes(memoryview(buffer)[: min(got, size - offset)])

    pending: asyncio.Future[bytes] | None = None
    try:
        offset = 0
        pending = loop.run_in_executor(None, read, 0)
        while offset < size:
            current, pending = pending, None
            assert current is not None
            data = await current
            if not data:
                raise BlobStoreError(f"{path.name} ended at {offset} of {size} bytes")
            offset += len(data)
            if offset < size:
                pending = loop.run_in_executor(None, read, offset)
            yield data
    finally:
        if pending is not None:
            await asyncio.wait([pending])
        os.close(fd)
        if buffer is not None:
            buffer.close()
