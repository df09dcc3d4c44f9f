"""Artefacts (DESIGN §4): create, list, show, versions, the sealed-key deposit, policy, retire.

The deposit is the moment a data key arrives: sealed by the owner's client to the current KEK. The
gateway stores it exactly as sealed, but first opens it once to prove it is usable — the right
context (this artefact, this KEK) and the key the uploaded envelope commits to — and then drops the
plaintext key. A deposit that would fail at release time is refused now, not discovered later.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enclave_runner.protocol.envelope import EnvelopeError, read_header
from enclave_runner.protocol.envelope.format import HEADER_SIZE
from enclave_runner.protocol.sealing import SealContext
from gateway.auth.permissions import Caller
from gateway.domain import ArtefactKind, ArtefactState, DocumentKind, VersionState, new_id
from gateway.errors import (
    AlreadyExistsError,
    ArtefactRetiredError,
    ContentMissingError,
    DepositDigestMismatchError,
    DepositKekError,
    DepositKeyMismatchError,
    NotFoundError,
    VersionStateError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.keks import current_kek
from gateway.storage.lookups import get_owned
from gateway.storage.schema import Artefact, ArtefactVersion, PolicyDocument


@dataclass(frozen=True, slots=True)
class PolicyReference:
    """A release policy by name and version; the gateway pins its digest."""

    name: str
    version: int


@dataclass(frozen=True)
class ArtefactView:
    """An artefact with its versions, newest last."""

    artefact: Artefact
    versions: list[ArtefactVersion]


@dataclass(frozen=True, slots=True)
class NewArtefact:
    """What an owner asks for when creating an artefact."""

    kind: ArtefactKind
    name: str
    labels: tuple[str, ...] = ()
    policy: PolicyReference | None = None
    max_releases: int | None = None
    expires_at: datetime | None = None


def create_artefact(ctx: ServiceContext, caller: Caller, request: NewArtefact) -> ArtefactView:
    """Create an artefact and its first (empty) version.

    Raises:
        NotFoundError: the referenced policy version does not exist in the caller's tenant.
        AlreadyExistsError: the tenant has an artefact with this name.
    """
    with ctx.db.transaction() as session:
        policy = _resolve_policy(session, caller.tenant_id, request.policy)
        now = ctx.clock.now()
        artefact = Artefact(
            id=new_id("art"),
            tenant_id=caller.tenant_id,
            kind=str(request.kind),
            name=request.name,
            labels=sorted(set(request.labels)),
            policy_name=policy.name if policy else None,
            policy_version=policy.version if policy else None,
            policy_digest=policy.digest if policy else None,
            max_releases=request.max_releases,
            release_count=0,
            expires_at=request.expires_at,
            state=str(ArtefactState.ACTIVE),
            current_version=None,
            created_by=caller.subject,
            created_at=now,
        )
        session.add(artefact)
        try:
            session.flush()
        except IntegrityError as exc:
            raise AlreadyExistsError(f"an artefact named {request.name!r} exists in this tenant") from exc
        version = _new_version(session, artefact, 1, now)
        ctx.ledger.append(
            session,
            EventKind.ARTEFACT_CREATED,
            caller.tenant_id,
            {
                "artefact": artefact.id,
                "kind": artefact.kind,
                "name": artefact.name,
                "labels": list(artefact.labels),
                "policy": _policy_json(artefact),
                "max_releases": artefact.max_releases,
                "expires_at": artefact.expires_at.isoformat() if artefact.expires_at else None,
                "by": caller.subject,
            },
        )
        return ArtefactView(artefact, [version])


def list_artefacts(ctx: ServiceContext, caller: Caller) -> list[Artefact]:
    """The caller's tenant's artefacts, by name."""
    with ctx.db.transaction() as session:
        query = select(Artefact).where(Artefact.tenant_id == caller.tenant_id).order_by(Artefact.name)
        return list(session.scalars(query))


def get_artefact(ctx: ServiceContext, caller: Caller, artefact_id: str) -> ArtefactView:
    """One artefact of the caller's tenant with its versions.

    Raises:
        NotFoundError: no such artefact in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        artefact = get_owned(session, Artefact, artefact_id, caller.tenant_id, "artefact")
        return ArtefactView(artefact, _versions(session, artefact_id))


def add_version(ctx: ServiceContext, caller: Caller, artefact_id: str) -> ArtefactView:
    """Open a new version (awaiting its envelope and key); older versions stay readable.

    Raises:
        NotFoundError: no such artefact in the caller's tenant.
        ArtefactRetiredError: the artefact is retired.
        VersionStateError: the newest version is not complete yet.
    """
    with ctx.db.transaction() as session:
        artefact = active_artefact(session, caller, artefact_id)
        versions = _versions(session, artefact_id)
        if versions and versions[-1].state != VersionState.READY:
            raise VersionStateError(
                f"version {versions[-1].version} is still {versions[-1].state}; finish it first"
            )
        version = _new_version(session, artefact, len(versions) + 1, ctx.clock.now())
        ctx.ledger.append(
            session,
            EventKind.ARTEFACT_VERSION_CREATED,
            caller.tenant_id,
            {"artefact": artefact_id, "version": version.version, "by": caller.subject},
        )
        return ArtefactView(artefact, [*versions, version])


def deposit_key(
    ctx: ServiceContext,
    caller: Caller,
    artefact_id: str,
    version_number: int,
    *,
    kek_id: str,
    sealed_key: bytes,
    ciphertext_digest: str,
) -> ArtefactVersion:
    """Store a data key sealed to the current KEK, after proving it opens the uploaded envelope.

    Raises:
        NotFoundError: no such artefact or version in the caller's tenant.
        ArtefactRetiredError: the artefact is retired.
        ContentMissingError: the version's envelope is not uploaded yet.
        VersionStateError: a key was deposited for this version already.
        DepositKekError: ``kek_id`` is not the current KEK (fetch ``/v1/kek`` again).
        DepositDigestMismatchError: ``ciphertext_digest`` is not the digest of the stored envelope.
        SealingError / SealedContextMismatchError: the box does not open, or names another context.
        DepositKeyMismatchError: the key opens but is not the one the envelope commits to.
    """
    with ctx.db.transaction() as session:
        artefact = active_artefact(session, caller, artefact_id)
        version = version_row(session, artefact_id, version_number, lock=True)
        if version.state == VersionState.AWAITING_CONTENT:
            raise ContentMissingError("upload the envelope before depositing its key")
        if version.state == VersionState.READY:
            raise VersionStateError(
                f"version {version_number} has its key already; add a new version instead"
            )
        kek = current_kek(session, lock=True)
        if kek.id != kek_id:
            raise DepositKekError(f"the current key-encryption key is {kek.id}; seal the data key to it")
        if ciphertext_digest != version.ciphertext_digest:
            raise DepositDigestMismatchError("the deposit confirms another envelope than the one uploaded")
        assert version.blob_name is not None
        _check_key_opens_envelope(ctx, version.blob_name, artefact_id, kek_id, sealed_key)
        version.sealed_key = sealed_key
        version.kek_id = kek_id
        version.state = str(VersionState.READY)
        version.deposited_at = ctx.clock.now()
        artefact.current_version = version_number
        ctx.ledger.append(
            session,
            EventKind.KEY_DEPOSITED,
            caller.tenant_id,
            {
                "artefact": artefact_id,
                "version": version_number,
                "kek_id": kek_id,
                "sealed_key_sha256": hashlib.sha256(sealed_key).hexdigest(),
                "ciphertext_digest": ciphertext_digest,
                "by": caller.subject,
            },
        )
        return version


def _check_key_opens_envelope(
    ctx: ServiceContext, blob_name: str, artefact_id: str, kek_id: str, sealed_key: bytes
) -> None:
    with open(ctx.blobs.path(blob_name), "rb") as blob:
        head = blob.read(HEADER_SIZE)
    key = ctx.vault.open_data_key(kek_id, sealed_key, SealContext.deposit(artefact_id, kek_id))
    try:
        read_header(head).verify(key, artefact_id)
    except EnvelopeError as exc:
        raise DepositKeyMismatchError("the deposited key does not open the uploaded envelope") from exc
    finally:
        # The plaintext data key goes out of scope here; it was never stored or logged.
        del key


def set_policy(ctx: ServiceContext, caller: Caller, artefact_id: str, policy: PolicyReference) -> Artefact:
    """Point the artefact at a release-policy version of the tenant, pinned by digest.

    Raises:
        NotFoundError: no such artefact, or no such policy version in the caller's tenant.
        ArtefactRetiredError: the artefact is retired.
    """
    with ctx.db.transaction() as session:
        artefact = active_artefact(session, caller, artefact_id)
        document = _resolve_policy(session, caller.tenant_id, policy)
        assert document is not None
        artefact.policy_name, artefact.policy_version = document.name, document.version
        artefact.policy_digest = document.digest
        ctx.ledger.append(
            session,
            EventKind.ARTEFACT_POLICY_SET,
            caller.tenant_id,
            {"artefact": artefact_id, "policy": _policy_json(artefact), "by": caller.subject},
        )
        return artefact


def retire(ctx: ServiceContext, caller: Caller, artefact_id: str) -> Artefact:
    """Retire an artefact: it takes no new versions and (with the release protocol) is never released.

    Raises:
        NotFoundError: no such artefact in the caller's tenant.
        ArtefactRetiredError: it is retired already.
    """
    with ctx.db.transaction() as session:
        artefact = active_artefact(session, caller, artefact_id)
        artefact.state = str(ArtefactState.RETIRED)
        ctx.ledger.append(
            session,
            EventKind.ARTEFACT_RETIRED,
            caller.tenant_id,
            {"artefact": artefact_id, "by": caller.subject},
        )
        return artefact


def active_artefact(session: Session, caller: Caller, artefact_id: str) -> Artefact:
    artefact = get_owned(session, Artefact, artefact_id, caller.tenant_id, "artefact", lock=True)
    if artefact.state == ArtefactState.RETIRED:
        raise ArtefactRetiredError(f"artefact {artefact_id} is retired")
    return artefact


def version_row(session: Session, artefact_id: str, number: int, *, lock: bool = False) -> ArtefactVersion:
    version = session.get(ArtefactVersion, (artefact_id, number), with_for_update=lock)
    if version is None:
        raise NotFoundError("artefact version", f"{artefact_id}/{number}")
    return version


def _versions(session: Session, artefact_id: str) -> list[ArtefactVersion]:
    query = select(ArtefactVersion).where(ArtefactVersion.artefact_id == artefact_id)
    return list(session.scalars(query.order_by(ArtefactVersion.version)))


def _new_version(session: Session, artefact: Artefact, number: int, now: datetime) -> ArtefactVersion:
    version = ArtefactVersion(
        artefact_id=artefact.id, version=number, state=str(VersionState.AWAITING_CONTENT), created_at=now
    )
    session.add(version)
    session.flush()
    return version


def _resolve_policy(
    session: Session, tenant: str, reference: PolicyReference | None
) -> PolicyDocument | None:
    if reference is None:
        return None
    document = session.scalar(
        select(PolicyDocument).where(
            PolicyDocument.tenant_id == tenant,
            PolicyDocument.kind == DocumentKind.RELEASE_POLICY,
            PolicyDocument.name == reference.name,
            PolicyDocument.version == reference.version,
        )
    )
    if document is None:
        raise NotFoundError("release policy", f"{reference.name} v{reference.version}")
    return document


def _policy_json(artefact: Artefact) -> dict[str, str | int | None] | None:
    if artefact.policy_name is None:
        return None
    return {
        "name": artefact.policy_name,
        "version": artefact.policy_version,
        "digest": artefact.policy_digest,
    }
