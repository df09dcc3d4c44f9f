"""The blob store writes exactly what arrived, in order, whatever the chunking, with or without O_DIRECT."""

import asyncio
import hashlib
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.storage.blobs import BlobStore, BlobStoreError, read_blob

PLACES = [pytest.param(None, id="disk (O_DIRECT)")]
if Path("/dev/shm").is_dir():
    PLACES.append(pytest.param("/dev/shm", id="tmpfs (buffered)"))


@pytest.mark.parametrize("place", PLACES)
@settings(max_examples=25, deadline=None)
@given(chunks=st.lists(st.binary(min_size=0, max_size=20_000), max_size=12))
def test_what_is_written_is_what_arrived(place: str | None, chunks: list[bytes]) -> None:
    with tempfile.TemporaryDirectory(dir=place) as scratch:
        store = BlobStore(Path(scratch), fsync=False, buffer_size=8192)
        incoming = store.begin()
        for start in range(0, len(chunks), 3):
            incoming.write(chunks[start : start + 3])
        expected = b"".join(chunks)
        assert incoming.hexdigest() == hashlib.sha256(expected).hexdigest()
        name = store.new_name()
        path = store.commit(incoming, name)
        assert path.read_bytes() == expected
        assert incoming.size == len(expected)

        async def read_back() -> bytes:
            return b"".join([piece async for piece in read_blob(path, len(expected), 8192)])

        if expected:
            assert asyncio.run(read_back()) == expected
        assert list(Path(scratch, "incoming").iterdir()) == []


def test_a_discarded_upload_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    incoming = store.begin()
    incoming.write([b"x" * 100_000])
    incoming.discard()
    assert list((tmp_path / "incoming").iterdir()) == []


def test_leftover_uploads_are_removed_at_start(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    store.begin().write([b"half an upload"])  # A process killed here leaves the partial file.
    assert store.clean_incoming() == 1
    assert list((tmp_path / "incoming").iterdir()) == []


@pytest.mark.parametrize("name", ["../keys/ledger.ed25519", "blob_xyz", "", "blob_" + "0" * 31 + "/"])
def test_blob_names_cannot_name_a_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(BlobStoreError):
        BlobStore(tmp_path).path(name)


def test_a_blob_shorter_than_its_recorded_size_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"abc")

    async def read_all() -> None:
        async for _piece in read_blob(path, 10, 4096):
            pass

    with pytest.raises(BlobStoreError):
        asyncio.run(read_all())


def test_orphans_are_removed_only_after_the_grace_period(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    kept, orphan, fresh = store.new_name(), store.new_name(), store.new_name()
    for name in (kept, orphan, fresh):
        store.path(name).write_bytes(b"envelope")
    old = time.time() - 3600
    for name in (kept, orphan):
        os.utime(store.path(name), (old, old))
    assert store.remove_orphans({kept}, older_than_seconds=600) == 1
    assert sorted(p.name for p in tmp_path.glob("blob_*")) == sorted([kept, fresh])
