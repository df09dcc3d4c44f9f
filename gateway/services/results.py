"""Results and receipts (DESIGN §5 step 6, §6.4): exactly one encrypted result per job, with a receipt
that verifies under the key the runner attested.

The runner's session token reaches only its job: it downloads that job's ciphertexts (the first
download marks the job running) and uploads one result. The result is stored only if the receipt's
Ed25519 signature verifies under the key bound into the attestation token, and the receipt names
this job's manifest, exactly the inputs that were released, and the digest of the bytes that arrived.

Every refusal of what a session token asks for that is an attack or a bad input — another job (or
another job's input), a second result, a receipt that does not verify or describes something else —
is recorded in the ledger, after the refused transaction rolled back, and then raised with its
stable code.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from enclave_runner.protocol.canonical import JsonValue, canonical_json
from enclave_runner.protocol.receipts import ReceiptError, SignedReceipt, parse_signed_receipt, verify_receipt
from gateway.auth.permissions import Caller
from gateway.domain import JobState
from gateway.errors import (
    JobStateError,
    NotFoundError,
    ReceiptInvalidError,
    ResultAlreadyStoredError,
    UploadLengthRequiredError,
    UploadTooLargeError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.job_states import transition
from gateway.services.refusals import detail, record_refusal
from gateway.services.uploads import check_envelope, receive_into
from gateway.storage.blobs import BlobStore, IncomingBlob
from gateway.storage.lookups import get_owned
from gateway.storage.schema import ArtefactVersion, AttestationSession, Job, JobInput

MAX_SEALED_RESULT_KEY = 512
LIVE_STATES = frozenset({JobState.RELEASED, JobState.RUNNING})

# The refusals recorded in the ledger (JobStateError, a job finished or cancelled, is no attack).
_RECORDED_REFUSALS = (NotFoundError, ResultAlreadyStoredError, ReceiptInvalidError)


def _released_session(session: Session, caller: Caller, job_id: str) -> tuple[AttestationSession, Job]:
    """The session the caller's token names, if it released ``job_id``'s keys; else not found."""
    row = session.get(AttestationSession, caller.subject)
    if row is None or row.job_id != job_id or row.outcome != "released":
        raise NotFoundError("job", job_id)
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFoundError("job", job_id)
    return row, job


@dataclass(frozen=True)
class InputBlob:
    """Where a released input's ciphertext is, for streaming it to the runner."""

    path: Path
    size: int
    digest: str


def _record_refusal(  # noqa: PLR0917 - who asked, for what, at which step, and the refusal.
    ctx: ServiceContext,
    caller: Caller,
    job_id: str,
    stage: str,
    exc: NotFoundError | ResultAlreadyStoredError | ReceiptInvalidError,
    artefact_id: str | None = None,
) -> None:
    """Ledger a refused session-token request: the token's job and the job asked for, never the token."""

    def describe(session: Session) -> tuple[str | None, dict[str, JsonValue]]:
        row = session.get(AttestationSession, caller.subject)
        job = None if row is None else session.get(Job, row.job_id)
        return None if job is None else job.tenant_id, {
            "job": None if row is None else row.job_id,
            "requested_job": job_id,
            "artefact": artefact_id,
            "node": None if row is None else row.node_id,
            "session": caller.subject,
            "stage": stage,
            "detail": detail(exc),
        }

    record_refusal(ctx, exc, describe, EventKind.RUNNER_REFUSED)


def open_input(ctx: ServiceContext, caller: Caller, job_id: str, artefact_id: str) -> InputBlob:
    """The ciphertext of one input of the caller's job (the first download marks the job running).

    Raises:
        NotFoundError: not this session's job, or not one of its inputs (recorded in the ledger).
        JobStateError: the job is not running anymore (completed, failed, cancelled).
    """
    try:
        return _open_input(ctx, caller, job_id, artefact_id)
    except NotFoundError as exc:
        _record_refusal(ctx, caller, job_id, "download", exc, artefact_id)
        raise


def _open_input(ctx: ServiceContext, caller: Caller, job_id: str, artefact_id: str) -> InputBlob:
    with ctx.db.transaction() as session:
        _row, job = _released_session(session, caller, job_id)
        if job.state not in LIVE_STATES:
            raise JobStateError(f"job {job_id} is {job.state}")
        job_input = session.get(JobInput, (job_id, artefact_id))
        if job_input is None:
            raise NotFoundError("job input", artefact_id)
        version = session.get(ArtefactVersion, (artefact_id, job_input.version))
        if version is None or version.blob_name is None or version.size is None:
            raise NotFoundError("job input", artefact_id)
        if job.state == JobState.RELEASED:
            transition(ctx, session, job, JobState.RUNNING, f"inputs downloaded in session {caller.subject}")
        return InputBlob(ctx.blobs.path(version.blob_name), version.size, job_input.ciphertext_digest)


def _check_upload_allowed(ctx: ServiceContext, caller: Caller, job_id: str) -> None:
    with ctx.db.transaction() as session:
        _row, job = _released_session(session, caller, job_id)
        if job.result_digest is not None:
            raise ResultAlreadyStoredError(f"job {job_id} has its result already")
        if job.state not in LIVE_STATES:
            raise JobStateError(f"job {job_id} is {job.state}; it takes no result")


def _decode_receipt(header: str) -> SignedReceipt:
    try:
        return parse_signed_receipt(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError, ReceiptError) as exc:
        raise ReceiptInvalidError(f"the receipt header is not a signed receipt: {exc}") from exc


@dataclass(frozen=True)
class ResultUpload:
    """What comes with a result's bytes: their announced length, the sealed result key, the receipt."""

    content_length: int | None
    sealed_key: str
    receipt: str


async def store_result(
    ctx: ServiceContext, caller: Caller, job_id: str, chunks: AsyncIterator[bytes], upload: ResultUpload
) -> Job:
    """Receive the result envelope, verify its receipt, and complete the job.

    Raises:
        NotFoundError: not this session's job (recorded in the ledger).
        ResultAlreadyStoredError: the job's result was stored already (recorded in the ledger).
        JobStateError: the job is not running (cancelled, failed...).
        UploadLengthRequiredError, UploadTooLargeError, UploadTruncatedError, UploadNotEnvelopeError:
            the body.
        ReceiptInvalidError: the receipt does not verify or does not describe this job and result
            (recorded in the ledger).
    """
    loop = asyncio.get_running_loop()
    try:
        return await _store_result(ctx, caller, job_id, chunks, upload)
    except _RECORDED_REFUSALS as exc:
        await loop.run_in_executor(None, _record_refusal, ctx, caller, job_id, "result", exc)
        raise


async def _store_result(
    ctx: ServiceContext, caller: Caller, job_id: str, chunks: AsyncIterator[bytes], upload: ResultUpload
) -> Job:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _check_upload_allowed, ctx, caller, job_id)
    content_length = upload.content_length
    signed = _decode_receipt(upload.receipt)
    try:
        sealed = base64.b64decode(upload.sealed_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReceiptInvalidError("the sealed result key is not base64") from exc
    if not 0 < len(sealed) <= MAX_SEALED_RESULT_KEY:
        raise ReceiptInvalidError("the sealed result key is missing or too long")
    if content_length is None:
        raise UploadLengthRequiredError("send the result envelope's exact size as Content-Length")
    if content_length > ctx.settings.max_upload_bytes:
        raise UploadTooLargeError(f"the limit is {ctx.settings.max_upload_bytes} bytes")
    incoming = ctx.blobs.begin()
    try:
        head = await receive_into(chunks, incoming, content_length, ctx.settings.upload_chunk_bytes)
        check_envelope(head, incoming.size)
        await loop.run_in_executor(None, incoming.close, ctx.settings.blob_fsync)
        return await loop.run_in_executor(None, _complete, ctx, caller, job_id, incoming, (signed, sealed))
    finally:
        incoming.discard()


def _check_receipt(
    session: Session, row: AttestationSession, job: Job, signed: SignedReceipt, digest: str
) -> None:
    if row.ed25519 is None:
        raise ReceiptInvalidError("the session has no attested receipt key")
    try:
        verified = verify_receipt(signed, bytes.fromhex(row.ed25519))
    except ReceiptError as exc:
        raise ReceiptInvalidError(str(exc)) from exc
    if verified.job_id != job.id or verified.manifest_digest != job.manifest_digest:
        raise ReceiptInvalidError("the receipt names another job or manifest")
    inputs = {
        (i.artefact_id, i.ciphertext_digest)
        for i in session.scalars(select(JobInput).where(JobInput.job_id == job.id))
    }
    if {(i.artefact_id, i.ciphertext_digest) for i in verified.inputs} != inputs:
        raise ReceiptInvalidError("the receipt's inputs are not the job's released inputs")
    if not hmac.compare_digest(verified.output_digest, digest):
        raise ReceiptInvalidError("the receipt's output digest is not the digest of the uploaded result")


def _complete(
    ctx: ServiceContext,
    caller: Caller,
    job_id: str,
    incoming: IncomingBlob,
    parts: tuple[SignedReceipt, bytes],
) -> Job:
    signed, sealed = parts
    digest = incoming.hexdigest()
    name = BlobStore.new_name()
    renamed = False
    try:
        with ctx.db.transaction() as session:
            row, job = _released_session(session, caller, job_id)
            if job.result_digest is not None:
                raise ResultAlreadyStoredError(f"job {job_id} has its result already")
            _check_receipt(session, row, job, signed, digest)
            receipt_json = canonical_json(signed.model_dump(mode="json")).decode("utf-8")
            job.result_blob = name
            job.result_size = incoming.size
            job.result_digest = digest
            job.result_sealed_key = sealed
            job.receipt = receipt_json
            if job.state == JobState.RELEASED:
                transition(ctx, session, job, JobState.RUNNING, "result arrived")
            stored = ctx.ledger.append(
                session,
                EventKind.RESULT_STORED,
                job.tenant_id,
                {
                    "job": job.id,
                    "session": row.id,
                    "output_digest": digest,
                    "size": incoming.size,
                    "receipt_digest": hashlib.sha256(receipt_json.encode("utf-8")).hexdigest(),
                    "exit_code": signed.receipt.exit_code,
                    "network_isolation": signed.receipt.network_isolation,
                    "token_id": row.token_id,
                },
            )
            job.result_ledger_index = stored.index
            transition(
                ctx, session, job, JobState.COMPLETED, f"result stored (exit code {signed.receipt.exit_code})"
            )
            ctx.blobs.commit(incoming, name)
            renamed = True
        return job
    except BaseException:
        if renamed:
            ctx.blobs.delete(name)
        raise


def report_failure(ctx: ServiceContext, caller: Caller, job_id: str, code: str, stage: str) -> Job:
    """The runner reports that the job failed after its keys were released (codes only).

    Raises:
        NotFoundError: not this session's job (recorded in the ledger).
        JobStateError: the job finished already.
    """
    try:
        with ctx.db.transaction() as session:
            _row, job = _released_session(session, caller, job_id)
            transition(
                ctx, session, job, JobState.FAILED, f"the runner reported a failure at {stage}", code=code
            )
            return job
    except NotFoundError as exc:
        _record_refusal(ctx, caller, job_id, "failure", exc)
        raise


def result_of(ctx: ServiceContext, caller: Caller, job_id: str) -> tuple[Job, Path]:
    """The owner's view of a completed job's result: the job and the path of the encrypted result.

    Raises:
        NotFoundError: no such job in the caller's tenant, or it has no result yet.
    """
    with ctx.db.transaction() as session:
        job = get_owned(session, Job, job_id, caller.tenant_id, "job")
        if job.result_blob is None:
            raise NotFoundError("job result", job_id)
        return job, ctx.blobs.path(job.result_blob)
