"""Routes: the owner's jobs — submit, list, show, cancel — their results, proofs, and artefact releases."""

import base64
from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import StreamingResponse

from gateway.api.dependencies import Services, require
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.domain import ID_PATTERN
from gateway.schemas.jobs import JobCreate, JobInputOut, JobList, JobOut, ReleaseList, ReleaseOut, ResultKey
from gateway.services import job_proofs, jobs, release_views, results
from gateway.services.jobs import NewJob
from gateway.storage.blobs import read_blob
from gateway.storage.schema import Job, JobInput

router = APIRouter(prefix="/v1", tags=["jobs"], responses=OBJECT_PROBLEMS)
JobIdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def job_out(job: Job, inputs: list[JobInput] | None = None) -> JobOut:
    """The wire form of a job."""
    return JobOut(
        id=job.id,
        state=job.state,  # type: ignore[arg-type]  # a stored JobState value; pydantic validates it.
        purpose=job.purpose,
        manifest_digest=job.manifest_digest,
        node_id=job.node_id,
        failure_code=job.failure_code,
        result_digest=job.result_digest,
        result_size=job.result_size,
        created_at=job.created_at,
        updated_at=job.updated_at,
        inputs=[JobInputOut.model_validate(item) for item in inputs or []],
    )


@router.post("/jobs", status_code=status.HTTP_201_CREATED)
def submit_job(
    body: JobCreate, services: Services, caller: Annotated[Caller, require(Permission.JOB_SUBMIT)]
) -> JobOut:
    """Submit a job over your artefacts; its canonical manifest is what the runner's Evidence binds."""
    job = jobs.submit_job(
        services,
        caller,
        NewJob(
            datasets=tuple(body.datasets),
            model=body.model,
            entrypoint=body.entrypoint,
            arguments=tuple(body.arguments),
            result_recipient=body.result_recipient,
            tee_types=tuple(body.tee_types),
            gpu_count=body.gpu_count,
            gpu_arch=body.gpu_arch,
            max_runtime_seconds=body.max_runtime_seconds,
            purpose=body.purpose,
            target_provider=body.target_provider,
            target_node=body.target_node,
        ),
    )
    return job_out(*jobs.get_job(services, caller, job.id))


@router.get("/jobs")
def list_jobs(services: Services, caller: Annotated[Caller, require(Permission.JOB_READ)]) -> JobList:
    """Your tenant's jobs, newest first."""
    return JobList(jobs=[job_out(job) for job in jobs.list_jobs(services, caller)])


@router.get("/jobs/{job_id}")
def get_job(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.JOB_READ)]
) -> JobOut:
    """One job with its pinned inputs."""
    return job_out(*jobs.get_job(services, caller, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel_job(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.JOB_CANCEL)]
) -> JobOut:
    """Cancel a job that has not finished."""
    return job_out(jobs.cancel_job(services, caller, job_id))


@router.get(
    "/jobs/{job_id}/result",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
def download_result(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.JOB_RESULT_READ)]
) -> StreamingResponse:
    """Stream the encrypted result (an envelope only the result recipient's key opens)."""
    job, path = results.result_of(services, caller, job_id)
    size = int(job.result_size or 0)
    digest = base64.b64encode(bytes.fromhex(job.result_digest or "")).decode("ascii")
    return StreamingResponse(
        read_blob(path, size, services.settings.download_chunk_bytes),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size), "Content-Digest": f"sha-256=:{digest}:"},
    )


@router.get("/jobs/{job_id}/result-key")
def result_key(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.JOB_RESULT_READ)]
) -> ResultKey:
    """The result's data key, sealed by the runner to the job's result recipient."""
    job, _ = results.result_of(services, caller, job_id)
    return ResultKey(
        job_id=job.id,
        sealed_key=base64.b64encode(job.result_sealed_key or b"").decode("ascii"),
        result_digest=job.result_digest or "",
    )


@router.get("/jobs/{job_id}/proof")
def job_proof(
    job_id: JobIdPath, services: Services, caller: Annotated[Caller, require(Permission.JOB_RESULT_READ)]
) -> dict[str, object]:
    """The proof bundle ``ccgate job verify`` checks offline: receipt, token, keys, ledger inclusion."""
    return job_proofs.proof_bundle(services, caller, job_id)


@router.get("/artefacts/{artefact_id}/releases")
def artefact_releases(
    artefact_id: Annotated[str, Path(pattern=ID_PATTERN)],
    services: Services,
    caller: Annotated[Caller, require(Permission.RELEASE_READ)],
) -> ReleaseList:
    """Every release decision about one of your artefacts: who received its key, when, on what hardware."""
    rows = release_views.releases_of(services, caller, artefact_id)
    return ReleaseList(releases=[ReleaseOut.model_validate(row) for row in rows])
