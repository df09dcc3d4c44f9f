"""Policy and reference-values documents, diffs and baselines on the wire."""

from datetime import datetime

from pydantic import Field

from gateway.domain import DocumentKind
from gateway.schemas.wire_types import Name, RequestModel, ResponseModel


class DocumentUpload(RequestModel):
    """A YAML document (``apiVersion: ccgate/v1``, ``kind``, ``metadata.name``, ``spec``)."""

    document: str = Field(min_length=1)


class DocumentOut(ResponseModel):
    """An immutable document version."""

    id: str
    kind: DocumentKind
    name: str
    version: int
    digest: str
    created_by: str
    created_at: datetime


class DocumentDetail(DocumentOut):
    """A document version with its source text and canonical JSON."""

    source: str
    canonical: str


class DiffOut(ResponseModel):
    """A unified diff between two versions."""

    name: str
    from_version: int
    to_version: int
    diff: str


class BaselineIn(RequestModel):
    """Make a release-policy version the tenant's baseline."""

    name: Name
    version: int = Field(ge=1)


class BaselineOut(ResponseModel):
    """The tenant's baseline."""

    tenant_id: str
    policy_name: str
    policy_version: int
    policy_digest: str
    set_by: str
    set_at: datetime
