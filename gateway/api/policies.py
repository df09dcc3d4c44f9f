"""Routes: release policies, reference values, diffs and the tenant baseline."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from gateway.api.dependencies import Services, require
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.domain import NAME_PATTERN, DocumentKind
from gateway.schemas.policies import (
    BaselineIn,
    BaselineOut,
    DiffOut,
    DocumentDetail,
    DocumentOut,
    DocumentUpload,
)
from gateway.services import policies

router = APIRouter(prefix="/v1", tags=["policies"], responses=OBJECT_PROBLEMS)
NamePath = Annotated[str, Path(pattern=NAME_PATTERN)]
NameQuery = Annotated[str | None, Query(pattern=NAME_PATTERN)]
VersionQuery = Annotated[int | None, Query(ge=1)]


def _write(
    services: Services, caller: Caller, kind: DocumentKind, body: DocumentUpload, response: Response
) -> DocumentOut:
    written = policies.write_document(services, caller, kind, body.document.encode("utf-8"))
    if not written.created:
        response.status_code = status.HTTP_200_OK
    return DocumentOut.model_validate(written.document)


@router.post("/policies", status_code=status.HTTP_201_CREATED)
def upload_policy(
    body: DocumentUpload,
    response: Response,
    services: Services,
    caller: Annotated[Caller, require(Permission.POLICY_WRITE)],
) -> DocumentOut:
    """Upload a release policy: new content is the next version (201); same content returns it (200)."""
    return _write(services, caller, DocumentKind.RELEASE_POLICY, body, response)


@router.post("/reference-values", status_code=status.HTTP_201_CREATED)
def upload_reference_values(
    body: DocumentUpload,
    response: Response,
    services: Services,
    caller: Annotated[Caller, require(Permission.REFERENCE_VALUES_WRITE)],
) -> DocumentOut:
    """Upload a reference-values set (security team)."""
    return _write(services, caller, DocumentKind.REFERENCE_VALUES, body, response)


def _routes_for(kind: DocumentKind, collection: str) -> None:
    @router.get(f"/{collection}", name=f"list_{collection}")
    def list_documents(
        services: Services, caller: Annotated[Caller, require(Permission.POLICY_READ)], name: NameQuery = None
    ) -> list[DocumentOut]:
        return [DocumentOut.model_validate(d) for d in policies.list_documents(services, caller, kind, name)]

    @router.get(f"/{collection}/{{name}}", name=f"show_{collection}")
    def show_document(
        name: NamePath,
        services: Services,
        caller: Annotated[Caller, require(Permission.POLICY_READ)],
        version: VersionQuery = None,
    ) -> DocumentDetail:
        return DocumentDetail.model_validate(policies.get_document(services, caller, kind, name, version))

    @router.get(f"/{collection}/{{name}}/diff", name=f"diff_{collection}")
    def diff_documents(
        name: NamePath,
        services: Services,
        caller: Annotated[Caller, require(Permission.POLICY_READ)],
        old: Annotated[int, Query(alias="from", ge=1)],
        new: Annotated[int, Query(alias="to", ge=1)],
    ) -> DiffOut:
        text = policies.diff_documents(services, caller, kind, name, old=old, new=new)
        return DiffOut(name=name, from_version=old, to_version=new, diff=text)

    list_documents.__doc__ = f"List {kind} versions of the caller's tenant."
    show_document.__doc__ = f"Show one {kind} version (default: the newest) with its source."
    diff_documents.__doc__ = f"Unified diff between two {kind} versions."


_routes_for(DocumentKind.RELEASE_POLICY, "policies")
_routes_for(DocumentKind.REFERENCE_VALUES, "reference-values")


@router.put("/baseline")
def set_baseline(
    body: BaselineIn, services: Services, caller: Annotated[Caller, require(Permission.BASELINE_WRITE)]
) -> BaselineOut:
    """Make a release-policy version the tenant's baseline."""
    return BaselineOut.model_validate(policies.set_baseline(services, caller, body.name, body.version))


@router.get("/baseline")
def get_baseline(
    services: Services, caller: Annotated[Caller, require(Permission.POLICY_READ)]
) -> BaselineOut:
    """The tenant's baseline."""
    return BaselineOut.model_validate(policies.get_baseline(services, caller))
