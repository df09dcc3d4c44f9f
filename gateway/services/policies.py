"""Release policies and reference values (DESIGN §4, §8): immutable versions, digests, diffs, baselines.

Documents are validated through the ``PolicyValidator`` seam; a rejected document is refused with the
validator's list of problems. A version is never changed once written: uploading different content
under the same name makes the next version, and uploading identical content returns the existing one.
"""

import difflib
import json
from dataclasses import dataclass

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.auth.permissions import Caller
from gateway.domain import DocumentKind, new_id
from gateway.errors import NotFoundError, PolicyInvalidError
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.storage.schema import PolicyDocument, TenantBaseline


@dataclass(frozen=True)
class WrittenDocument:
    """A stored document version, and whether this request created it."""

    document: PolicyDocument
    created: bool


def write_document(ctx: ServiceContext, caller: Caller, kind: DocumentKind, source: bytes) -> WrittenDocument:
    """Validate and store a policy or reference-values document as the next version of its name.

    Raises:
        PolicyInvalidError: the validator found problems (listed on the error).
    """
    with ctx.db.transaction() as session:
        sets = ctx.policy_library.reference_sets(session, caller.tenant_id)
    validated = ctx.policy_validator.validate(source, kind, sets)
    if validated.problems:
        raise PolicyInvalidError(f"the {kind} document was rejected", validated.problems)
    with ctx.db.transaction() as session:
        ctx.ledger.lock(session)  # Version numbers are per name: two writers must not both take n+1.
        latest = _latest(session, caller.tenant_id, kind, validated.name)
        if latest is not None and latest.digest == validated.digest:
            return WrittenDocument(latest, created=False)
        document = PolicyDocument(
            id=new_id("pol"),
            tenant_id=caller.tenant_id,
            kind=str(kind),
            name=validated.name,
            version=(latest.version + 1) if latest else 1,
            digest=validated.digest,
            source=source.decode("utf-8"),
            canonical=validated.canonical.decode("utf-8"),
            created_by=caller.subject,
            created_at=ctx.clock.now(),
        )
        session.add(document)
        event = (
            EventKind.POLICY_WRITTEN
            if kind is DocumentKind.RELEASE_POLICY
            else EventKind.REFERENCE_VALUES_WRITTEN
        )
        ctx.ledger.append(
            session,
            event,
            caller.tenant_id,
            {
                "kind": str(kind),
                "name": document.name,
                "version": document.version,
                "digest": document.digest,
                "by": caller.subject,
            },
        )
        return WrittenDocument(document, created=True)


def list_documents(
    ctx: ServiceContext, caller: Caller, kind: DocumentKind, name: str | None
) -> list[PolicyDocument]:
    """The tenant's documents of ``kind`` (every version of ``name``, or every version of all)."""
    with ctx.db.transaction() as session:
        query = select(PolicyDocument).where(
            PolicyDocument.tenant_id == caller.tenant_id, PolicyDocument.kind == kind
        )
        if name is not None:
            query = query.where(PolicyDocument.name == name)
        return list(session.scalars(query.order_by(PolicyDocument.name, PolicyDocument.version)))


def get_document(
    ctx: ServiceContext, caller: Caller, kind: DocumentKind, name: str, version: int | None
) -> PolicyDocument:
    """One version (default: the newest) of a document of the caller's tenant.

    Raises:
        NotFoundError: no such document or version in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        return _get(session, caller.tenant_id, kind, name, version)


def diff_documents(
    ctx: ServiceContext, caller: Caller, kind: DocumentKind, name: str, *, old: int, new: int
) -> str:
    """A unified diff between two versions, over their normalised YAML (key order and layout ignored).

    Raises:
        NotFoundError: either version does not exist in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        before = _get(session, caller.tenant_id, kind, name, old)
        after = _get(session, caller.tenant_id, kind, name, new)
    return "".join(
        difflib.unified_diff(
            _normalised(before).splitlines(keepends=True),
            _normalised(after).splitlines(keepends=True),
            fromfile=f"{name} v{old} ({before.digest[:12]})",
            tofile=f"{name} v{new} ({after.digest[:12]})",
        )
    )


def set_baseline(ctx: ServiceContext, caller: Caller, name: str, version: int) -> TenantBaseline:
    """Make a release-policy version the tenant's baseline (every release must also pass it).

    Raises:
        NotFoundError: no such release-policy version in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        document = _get(session, caller.tenant_id, DocumentKind.RELEASE_POLICY, name, version)
        baseline = session.get(TenantBaseline, caller.tenant_id, with_for_update=True)
        if baseline is None:
            baseline = TenantBaseline(tenant_id=caller.tenant_id)
            session.add(baseline)
        baseline.policy_name, baseline.policy_version = document.name, document.version
        baseline.policy_digest = document.digest
        baseline.set_by, baseline.set_at = caller.subject, ctx.clock.now()
        ctx.ledger.append(
            session,
            EventKind.BASELINE_SET,
            caller.tenant_id,
            {"name": name, "version": version, "digest": document.digest, "by": caller.subject},
        )
        return baseline


def get_baseline(ctx: ServiceContext, caller: Caller) -> TenantBaseline:
    """The tenant's baseline.

    Raises:
        NotFoundError: the tenant has none yet.
    """
    with ctx.db.transaction() as session:
        baseline = session.get(TenantBaseline, caller.tenant_id)
        if baseline is None:
            raise NotFoundError("baseline", caller.tenant_id)
        return baseline


def _latest(session: Session, tenant: str, kind: DocumentKind, name: str) -> PolicyDocument | None:
    newest = (
        select(func.max(PolicyDocument.version))
        .where(PolicyDocument.tenant_id == tenant, PolicyDocument.kind == kind, PolicyDocument.name == name)
        .scalar_subquery()
    )
    return session.scalar(
        select(PolicyDocument).where(
            PolicyDocument.tenant_id == tenant,
            PolicyDocument.kind == kind,
            PolicyDocument.name == name,
            PolicyDocument.version == newest,
        )
    )


def _get(session: Session, tenant: str, kind: DocumentKind, name: str, version: int | None) -> PolicyDocument:
    if version is None:
        document = _latest(session, tenant, kind, name)
    else:
        document = session.scalar(
            select(PolicyDocument).where(
                PolicyDocument.tenant_id == tenant,
                PolicyDocument.kind == kind,
                PolicyDocument.name == name,
                PolicyDocument.version == version,
            )
        )
    if document is None:
        raise NotFoundError(str(kind), f"{name} v{version}" if version else name)
    return document


def _normalised(document: PolicyDocument) -> str:
    return yaml.safe_dump(json.loads(document.canonical), sort_keys=True, default_flow_style=False)
