"""Streaming upload and download of envelopes: never buffered whole, visible only when complete.

The upload reads the request body as it arrives, counts it against the declared Content-Length and
the configured limit, hashes it and writes it to a private temporary file — the hashing and writing
happen on a worker thread, one buffer behind the network, so the event loop keeps receiving while
the disk works. Only when the last byte arrived, the digest matches what the client declared (if
it did), and the bytes are an envelope whose size matches its own header, is the file renamed into
the blob store and the version row committed together with its ledger entry. Any failure — or a
killed process — leaves no blob and no row (the next start removes the temporary file).
"""

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from enclave_runner.protocol.envelope import EnvelopeError, read_header
from enclave_runner.protocol.envelope.format import HEADER_SIZE, TAG_SIZE
from gateway.auth.permissions import Caller
from gateway.domain import VersionState
from gateway.errors import (
    NotFoundError,
    UploadDigestMismatchError,
    UploadLengthRequiredError,
    UploadNotEnvelopeError,
    UploadTooLargeError,
    UploadTruncatedError,
    VersionStateError,
)
from gateway.ledger.records import EventKind
from gateway.services.artefacts import active_artefact, version_row
from gateway.services.context import ServiceContext
from gateway.storage.blobs import BlobStore, IncomingBlob
from gateway.storage.lookups import get_owned
from gateway.storage.schema import Artefact, ArtefactVersion

MIN_ENVELOPE_SIZE = HEADER_SIZE + TAG_SIZE  # The envelope of an empty plaintext: header + one tag.


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Which artefact version an upload is for."""

    artefact_id: str
    version: int


@dataclass(frozen=True, slots=True)
class StoredContent:
    """Where an artefact version's envelope is, and what it must hash to."""

    artefact_id: str
    version: int
    path: Path
    size: int
    digest: str


async def upload_content(
    ctx: ServiceContext,
    caller: Caller,
    target: UploadTarget,
    chunks: AsyncIterator[bytes],
    *,
    content_length: int | None,
    declared_digest: str | None,
) -> ArtefactVersion:
    """Receive an envelope for a version awaiting its content.

    Raises:
        NotFoundError: no such artefact or version in the caller's tenant.
        ArtefactRetiredError: the artefact is retired.
        VersionStateError: the version has its content already.
        UploadLengthRequiredError: no Content-Length.
        UploadTooLargeError: over the limit, or more bytes than declared.
        UploadTruncatedError: fewer bytes than declared.
        UploadDigestMismatchError: the SHA-256 differs from ``declared_digest``.
        UploadNotEnvelopeError: not an envelope, or its size disagrees with its header.
    """
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _check_target, ctx, caller, target)
    if content_length is None:
        raise UploadLengthRequiredError("send the envelope's exact size as Content-Length")
    if content_length > ctx.settings.max_upload_bytes:
        raise UploadTooLargeError(f"the limit is {ctx.settings.max_upload_bytes} bytes")
    if content_length < MIN_ENVELOPE_SIZE:
        raise UploadNotEnvelopeError(f"an envelope is at least {MIN_ENVELOPE_SIZE} bytes")
    incoming = ctx.blobs.begin()
    try:
        head = await receive_into(chunks, incoming, content_length, ctx.settings.upload_chunk_bytes)
        digest = incoming.hexdigest()
        if declared_digest is not None and not hmac.compare_digest(digest, declared_digest):
            raise UploadDigestMismatchError(
                "the SHA-256 of the received bytes differs from the declared digest"
            )
        segment_size, plaintext_length = check_envelope(head, incoming.size)
        await loop.run_in_executor(None, incoming.close, ctx.settings.blob_fsync)
        return await loop.run_in_executor(
            None, _commit, ctx, caller, target, incoming, (digest, segment_size, plaintext_length)
        )
    finally:
        incoming.discard()


async def receive_into(
    chunks: AsyncIterator[bytes], incoming: IncomingBlob, declared: int, buffer_size: int
) -> bytes:
    """Write the body to ``incoming`` one buffer behind the network; return the first bytes (the header)."""
    loop = asyncio.get_running_loop()
    head = bytearray()
    batch: list[bytes] = []
    batched = 0
    pending: asyncio.Future[None] | None = None
    received = 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > declared:
                raise UploadTooLargeError("the body is longer than its Content-Length")
            if len(head) < HEADER_SIZE:
                head += chunk[: HEADER_SIZE - len(head)]
            batch.append(chunk)
            batched += len(chunk)
            if batched >= buffer_size:
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, incoming.write, batch)
                batch, batched = [], 0
        if pending is not None:
            await pending
            pending = None
        if batch:
            await loop.run_in_executor(None, incoming.write, batch)
    finally:
        if pending is not None:
            # Let the worker finish before the caller discards the file under it.
            with suppress(Exception):
                await pending
    if received < declared:
        raise UploadTruncatedError(f"the body ended after {received} of {declared} bytes")
    return bytes(head)


def check_envelope(head: bytes, size: int) -> tuple[int, int]:
    try:
        header = read_header(head)
        layout = header.layout
        if header.plaintext_length is None:
            return header.segment_size, layout.plaintext_length_for(size)
        expected = layout.ciphertext_size(header.plaintext_length)
    except EnvelopeError as exc:
        raise UploadNotEnvelopeError(f"not a ccgate envelope: {exc}") from exc
    if expected != size:
        raise UploadNotEnvelopeError(f"the envelope header implies {expected} bytes, {size} arrived")
    return header.segment_size, header.plaintext_length


def _check_target(ctx: ServiceContext, caller: Caller, target: UploadTarget) -> None:
    with ctx.db.transaction() as session:
        active_artefact(session, caller, target.artefact_id)
        version = version_row(session, target.artefact_id, target.version)
        if version.state != VersionState.AWAITING_CONTENT:
            raise VersionStateError(f"version {target.version} has its envelope already")


def _commit(
    ctx: ServiceContext,
    caller: Caller,
    target: UploadTarget,
    incoming: IncomingBlob,
    facts: tuple[str, int, int],
) -> ArtefactVersion:
    digest, segment_size, plaintext_length = facts
    artefact_id, version_number = target.artefact_id, target.version
    name = BlobStore.new_name()
    renamed = False
    try:
        with ctx.db.transaction() as session:
            active_artefact(session, caller, artefact_id)
            version = version_row(session, artefact_id, version_number, lock=True)
            if version.state != VersionState.AWAITING_CONTENT:
                raise VersionStateError(f"version {version_number} received another envelope meanwhile")
            version.blob_name = name
            version.size = incoming.size
            version.ciphertext_digest = digest
            version.segment_size = segment_size
            version.plaintext_length = plaintext_length
            version.state = str(VersionState.AWAITING_KEY)
            version.uploaded_at = ctx.clock.now()
            ctx.ledger.append(
                session,
                EventKind.ARTEFACT_UPLOADED,
                caller.tenant_id,
                {
                    "artefact": artefact_id,
                    "version": version_number,
                    "ciphertext_digest": digest,
                    "size": incoming.size,
                    "by": caller.subject,
                },
            )
            # Renamed last, inside the transaction: if the commit below fails the blob is removed.
            ctx.blobs.commit(incoming, name)
            renamed = True
        return version
    except BaseException:
        if renamed:
            ctx.blobs.delete(name)
        raise


def locate_content(
    ctx: ServiceContext, caller: Caller, artefact_id: str, version_number: int | None
) -> StoredContent:
    """Where the envelope of a version (default: the current one) is, for the owner to download.

    Raises:
        NotFoundError: no such artefact or version in the caller's tenant, or no envelope yet.
    """
    with ctx.db.transaction() as session:
        artefact = get_owned(session, Artefact, artefact_id, caller.tenant_id, "artefact")
        number = version_number if version_number is not None else artefact.current_version
        if number is None:
            raise NotFoundError("artefact content", artefact_id)
        version = version_row(session, artefact_id, number)
        if version.blob_name is None or version.size is None or version.ciphertext_digest is None:
            raise NotFoundError("artefact content", f"{artefact_id}/{number}")
        return StoredContent(
            artefact_id, number, ctx.blobs.path(version.blob_name), version.size, version.ciphertext_digest
        )
