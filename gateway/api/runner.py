"""Routes: the runner's side of the release protocol (DESIGN §5).

Node credentials list, claim, challenge and attest; the session token returned with the released
keys downloads that job's ciphertexts, uploads its one result and reports its failure. The runner
is an untrusted client: it gets problem codes, never internals.
"""

import base64
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from enclave_runner.protocol.messages import AttestationRequest, AttestationResponse, Challenge
from gateway.api.dependencies import Services, require
from gateway.api.jobs import job_out
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.domain import ID_PATTERN, JobState
from gateway.errors import UploadTruncatedError
from gateway.schemas.jobs import ClaimedJob, FailureReport, JobOut, OfferedJob, OfferedJobs
from gateway.services import jobs, key_release, results
from gateway.storage.blobs import read_blob

router = APIRouter(prefix="/v1", tags=["runner"], responses=OBJECT_PROBLEMS)
JobIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
_BINARY: Final[dict[str, Any]] = {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
}


@router.get("/runner/jobs")
def offered_jobs(services: Services, caller: Annotated[Caller, require(Permission.RUNNER)]) -> OfferedJobs:
    """Jobs assigned to this node or open to it."""
    offered = jobs.offered_jobs(services, caller)
    return OfferedJobs(jobs=[OfferedJob(job_id=job.id, state=JobState(job.state)) for job in offered])


@router.post("/jobs/{job_id}/claim")
def claim(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.RUNNER)]
) -> ClaimedJob:
    """Claim a job for this node; returns its manifest."""
    job = jobs.claim_job(services, caller, job_id)
    return ClaimedJob(
        job_id=job.id, state=JobState(job.state), manifest=jobs.manifest_of(job).model_dump(mode="json")
    )


@router.post("/jobs/{job_id}/challenge")
def challenge(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.RUNNER)]
) -> Challenge:
    """A single-use nonce for one attestation attempt."""
    issued = key_release.issue_challenge(services, caller, job_id)
    return Challenge(
        session_id=issued.session_id,
        nonce=issued.nonce.hex(),
        expires_at=issued.expires_at,
        manifest=issued.manifest,
    )


@router.post("/jobs/{job_id}/attestation")
def attest(
    job_id: JobIdPath,
    body: AttestationRequest,
    services: Services,
    caller: Annotated[Caller, require(Permission.RUNNER)],
) -> AttestationResponse:
    """Post Evidence bound to the session; receive the sealed data keys, or the refusal's codes."""
    return key_release.attest(services, caller, job_id, body)


@router.get(
    "/jobs/{job_id}/inputs/{artefact_id}",
    response_class=StreamingResponse,
    responses={200: {"content": _BINARY}},
)
def download_input(
    job_id: JobIdPath,
    artefact_id: Annotated[str, Path(pattern=ID_PATTERN)],
    services: Services,
    caller: Annotated[Caller, require(Permission.SESSION)],
) -> StreamingResponse:
    """Stream one input's ciphertext to the runner of this session."""
    blob = results.open_input(services, caller, job_id, artefact_id)
    digest = base64.b64encode(bytes.fromhex(blob.digest)).decode("ascii")
    return StreamingResponse(
        read_blob(blob.path, blob.size, services.settings.download_chunk_bytes),
        media_type="application/octet-stream",
        headers={"Content-Length": str(blob.size), "Content-Digest": f"sha-256=:{digest}:"},
    )


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise UploadTruncatedError("the client went away before the body ended") from exc


@router.put("/jobs/{job_id}/result", openapi_extra={"requestBody": {"required": True, "content": _BINARY}})
async def upload_result(
    *,
    job_id: JobIdPath,
    request: Request,
    services: Services,
    caller: Annotated[Caller, require(Permission.SESSION)],
    x_ccgate_sealed_key: Annotated[
        str, Header(description="The result key sealed to the recipient (base64)")
    ],
    x_ccgate_receipt: Annotated[str, Header(description="The signed receipt, JSON in base64")],
) -> JobOut:
    """Upload the job's one encrypted result with its sealed key and signed receipt."""
    length = request.headers.get("content-length")
    upload = results.ResultUpload(
        content_length=int(length) if length is not None and length.isdigit() else None,
        sealed_key=x_ccgate_sealed_key,
        receipt=x_ccgate_receipt,
    )
    job = await results.store_result(services, caller, job_id, _body(request), upload)
    return job_out(job)


@router.post("/jobs/{job_id}/failure")
def report_failure(
    job_id: JobIdPath,
    body: FailureReport,
    services: Services,
    caller: Annotated[Caller, require(Permission.SESSION)],
) -> JobOut:
    """Report that the job failed after its keys were released (a code, never details)."""
    return job_out(results.report_failure(services, caller, job_id, body.code, str(body.stage)))
