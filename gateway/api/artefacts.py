"""Routes: artefacts, their versions, the streaming envelope upload and download, and key deposits."""

import base64
import binascii
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final

from fastapi import APIRouter, Header, Path, Request, status
from fastapi.responses import StreamingResponse
from starlette.requests import ClientDisconnect

from gateway.api.dependencies import Services, require
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.domain import ID_PATTERN
from gateway.errors import RequestInvalidError, UploadTruncatedError
from gateway.schemas.artefacts import (
    ArtefactCreate,
    ArtefactOut,
    ArtefactPolicyUpdate,
    KeyDeposit,
    PinnedPolicy,
    VersionOut,
)
from gateway.services import artefacts, uploads
from gateway.services.artefacts import ArtefactView, NewArtefact, PolicyReference
from gateway.storage.blobs import read_blob
from gateway.storage.schema import Artefact

router = APIRouter(prefix="/v1/artefacts", tags=["artefacts"], responses=OBJECT_PROBLEMS)
ArtefactIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
VersionPath = Annotated[int, Path(ge=1)]
_CONTENT_DIGEST: Final = re.compile(r"^\s*sha-256=:([A-Za-z0-9+/=]+):\s*$")
_BINARY: Final[dict[str, Any]] = {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
}


def artefact_out(artefact: Artefact, view: ArtefactView | None = None) -> ArtefactOut:
    """The wire form of an artefact (with its versions when ``view`` is given)."""
    policy = None
    if artefact.policy_name is not None and artefact.policy_version is not None and artefact.policy_digest:
        policy = PinnedPolicy(
            name=artefact.policy_name, version=artefact.policy_version, digest=artefact.policy_digest
        )
    return ArtefactOut(
        id=artefact.id,
        tenant_id=artefact.tenant_id,
        kind=artefact.kind,  # type: ignore[arg-type]  # pydantic parses the stored string into the enum.
        name=artefact.name,
        labels=list(artefact.labels),
        policy=policy,
        max_releases=artefact.max_releases,
        release_count=artefact.release_count,
        expires_at=artefact.expires_at,
        state=artefact.state,  # type: ignore[arg-type]  # as above.
        current_version=artefact.current_version,
        created_at=artefact.created_at,
        versions=[VersionOut.model_validate(v) for v in view.versions] if view else [],
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_artefact(
    body: ArtefactCreate, services: Services, caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)]
) -> ArtefactOut:
    """Create an artefact and its first version (awaiting the envelope, then the key)."""
    policy = PolicyReference(body.policy.name, body.policy.version) if body.policy else None
    request = NewArtefact(
        body.kind, body.name, tuple(body.labels), policy, body.max_releases, body.expires_at
    )
    view = artefacts.create_artefact(services, caller, request)
    return artefact_out(view.artefact, view)


@router.get("")
def list_artefacts(
    services: Services, caller: Annotated[Caller, require(Permission.ARTEFACT_READ)]
) -> list[ArtefactOut]:
    """The caller's tenant's artefacts."""
    return [artefact_out(a) for a in artefacts.list_artefacts(services, caller)]


@router.get("/{artefact_id}")
def get_artefact(
    artefact_id: ArtefactIdPath,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_READ)],
) -> ArtefactOut:
    """One artefact with its versions."""
    view = artefacts.get_artefact(services, caller, artefact_id)
    return artefact_out(view.artefact, view)


@router.post("/{artefact_id}/versions", status_code=status.HTTP_201_CREATED)
def add_version(
    artefact_id: ArtefactIdPath,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)],
) -> ArtefactOut:
    """Open a new version; upload its envelope, then deposit its key."""
    view = artefacts.add_version(services, caller, artefact_id)
    return artefact_out(view.artefact, view)


def _digest_header(value: str | None) -> str | None:
    if value is None:
        return None
    match = _CONTENT_DIGEST.fullmatch(value)
    try:
        digest = base64.b64decode(match.group(1), validate=True) if match else b""
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 32:
        raise RequestInvalidError("Content-Digest must be 'sha-256=:<base64 of 32 bytes>:' (RFC 9530)")
    return digest.hex()


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            if chunk:
                yield chunk
    except ClientDisconnect as exc:
        raise UploadTruncatedError("the client went away before the body ended") from exc


@router.put(
    "/{artefact_id}/versions/{version}/content",
    openapi_extra={"requestBody": {"required": True, "content": _BINARY}},
    responses={411: OBJECT_PROBLEMS[422], 413: OBJECT_PROBLEMS[422]},
)
async def upload_content(
    *,
    artefact_id: ArtefactIdPath,
    version: VersionPath,
    request: Request,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)],
    content_digest: Annotated[str | None, Header(description="RFC 9530: sha-256=:<base64>:")] = None,
) -> VersionOut:
    """Stream the envelope of a version (exact Content-Length; optional Content-Digest checked)."""
    length = request.headers.get("content-length")
    declared = int(length) if length is not None and length.isdigit() else None
    stored = await uploads.upload_content(
        services,
        caller,
        uploads.UploadTarget(artefact_id, version),
        _body(request),
        content_length=declared,
        declared_digest=_digest_header(content_digest),
    )
    return VersionOut.model_validate(stored)


@router.put("/{artefact_id}/versions/{version}/key")
def deposit_key(
    artefact_id: ArtefactIdPath,
    version: VersionPath,
    body: KeyDeposit,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)],
) -> VersionOut:
    """Deposit the version's data key, sealed to the current KEK; checked, then stored exactly as sealed."""
    stored = artefacts.deposit_key(
        services,
        caller,
        artefact_id,
        version,
        kek_id=body.kek_id,
        sealed_key=body.sealed_key,
        ciphertext_digest=body.ciphertext_digest,
    )
    return VersionOut.model_validate(stored)


def _download(services: Services, caller: Caller, artefact_id: str, version: int | None) -> StreamingResponse:
    content = uploads.locate_content(services, caller, artefact_id, version)
    digest = base64.b64encode(bytes.fromhex(content.digest)).decode("ascii")
    return StreamingResponse(
        read_blob(content.path, content.size, services.settings.download_chunk_bytes),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(content.size),
            "Content-Digest": f"sha-256=:{digest}:",
            "ETag": f'"{content.digest}"',
            "X-Artefact-Version": str(content.version),
        },
    )


@router.get("/{artefact_id}/content", response_class=StreamingResponse, responses={200: {"content": _BINARY}})
def download_current(
    artefact_id: ArtefactIdPath,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_CONTENT_READ)],
) -> StreamingResponse:
    """Stream the current version's envelope."""
    return _download(services, caller, artefact_id, None)


@router.get(
    "/{artefact_id}/versions/{version}/content",
    response_class=StreamingResponse,
    responses={200: {"content": _BINARY}},
)
def download_version(
    artefact_id: ArtefactIdPath,
    version: VersionPath,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_CONTENT_READ)],
) -> StreamingResponse:
    """Stream one version's envelope (older versions stay readable)."""
    return _download(services, caller, artefact_id, version)


@router.put("/{artefact_id}/policy")
def set_policy(
    artefact_id: ArtefactIdPath,
    body: ArtefactPolicyUpdate,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)],
) -> ArtefactOut:
    """Point the artefact at a release-policy version (pinned by digest)."""
    reference = PolicyReference(body.policy.name, body.policy.version)
    return artefact_out(artefacts.set_policy(services, caller, artefact_id, reference))


@router.post("/{artefact_id}/retire")
def retire(
    artefact_id: ArtefactIdPath,
    services: Services,
    caller: Annotated[Caller, require(Permission.ARTEFACT_WRITE)],
) -> ArtefactOut:
    """Retire the artefact."""
    return artefact_out(artefacts.retire(services, caller, artefact_id))
