"""Provider nodes (DESIGN §4): registration, enrolment by attestation, and security's state changes.

A provider principal registers a node with its region, CPU TEE type and hardware identity (CPU chip
id or TDX platform id; GPU serials/UEIDs and their count) and receives the node credential for its
runner. The node stays ``pending`` until it enrols: Evidence bound to a single-use gateway nonce and
the node id (``enrollment_report_data``) that verifies through the ``EvidenceVerifier`` seam and whose
hardware identity equals the registered one. The nonce is consumed first, in its own transaction,
so a failed attempt cannot be retried with the same nonce; every refusal is a ledger entry.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attestation.errors import AttestationError
from attestation.evidence import EvidenceBundle, TeeType
from attestation.result import AttestationResult
from enclave_runner.protocol.binding import enrollment_report_data
from gateway.auth.permissions import Caller
from gateway.auth.tokens import IssuedToken
from gateway.domain import KycStatus, NodeState, Role, TenantKind, new_id
from gateway.errors import (
    AlreadyExistsError,
    EnrollmentNonceError,
    GatewayError,
    HardwareClaimedError,
    HardwareMismatchError,
    NodeStateError,
    NotFoundError,
    ProviderNotApprovedError,
    RequestInvalidError,
)
from gateway.ledger.records import EventKind
from gateway.services.context import ServiceContext
from gateway.services.evidence_verification import refuse_simulated
from gateway.storage.lookups import get_owned
from gateway.storage.schema import ApiToken, EnrollmentNonce, Node, Tenant

# Which state changes the security team may make; revoked is final.
ALLOWED_TRANSITIONS: dict[NodeState, frozenset[NodeState]] = {
    NodeState.PENDING: frozenset({NodeState.REVOKED}),
    NodeState.ACTIVE: frozenset({NodeState.QUARANTINED, NodeState.REVOKED}),
    NodeState.QUARANTINED: frozenset({NodeState.ACTIVE, NodeState.REVOKED}),
    NodeState.REVOKED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class NewNode:
    """What a provider declares about a node."""

    name: str
    region: str
    tee_type: TeeType
    cpu_id: str
    gpu_serials: tuple[str, ...]
    gpu_count: int


@dataclass(frozen=True, slots=True)
class EnrollmentChallenge:
    """A nonce the node's enrolment Evidence must answer, and the report data that binds it."""

    node_id: str
    nonce: bytes
    report_data: bytes
    expires_at: datetime


@dataclass(frozen=True)
class RegisteredNode:
    """A new node, its runner credential (show once) and its first enrolment challenge."""

    node: Node
    credential: IssuedToken
    challenge: EnrollmentChallenge


def register_node(ctx: ServiceContext, caller: Caller, request: NewNode) -> RegisteredNode:
    """Register a node of the caller's provider tenant (state ``pending``).

    Raises:
        ProviderNotApprovedError: the provider's KYC status is not approved.
        RequestInvalidError: the GPU serials are not ``gpu_count`` distinct values.
        SimulatedTeeRefusedError: a simulated node on a gateway that does not accept the simulated TEE.
        HardwareClaimedError: the CPU id or a GPU serial belongs to another node that is not revoked.
        AlreadyExistsError: the provider has a node with this name.
    """
    if (
        len(set(request.gpu_serials)) != len(request.gpu_serials)
        or len(request.gpu_serials) != request.gpu_count
    ):
        raise RequestInvalidError("gpu_serials must list gpu_count distinct serials")
    refuse_simulated(request.tee_type is TeeType.SIMULATED, ctx.settings, "nodes")
    with ctx.db.transaction() as session:
        ctx.ledger.lock(session)  # The hardware-claim check below must not race another registration.
        tenant = session.get(Tenant, caller.tenant_id)
        if tenant is None or tenant.kind != TenantKind.PROVIDER or tenant.kyc_status != KycStatus.APPROVED:
            raise ProviderNotApprovedError("only providers whose KYC status is approved can register nodes")
        _check_unclaimed(session, request)
        node = Node(
            id=new_id("nod"),
            tenant_id=caller.tenant_id,
            name=request.name,
            region=request.region,
            tee_type=str(request.tee_type),
            cpu_id=request.cpu_id,
            gpu_serials=list(request.gpu_serials),
            gpu_count=request.gpu_count,
            state=str(NodeState.PENDING),
            created_by=caller.subject,
            created_at=ctx.clock.now(),
        )
        session.add(node)
        try:
            session.flush()
        except IntegrityError as exc:
            raise AlreadyExistsError(f"this provider has a node named {request.name!r}") from exc
        ttl = timedelta(seconds=ctx.settings.node_token_ttl_seconds)
        credential = ctx.tokens.issue(session, node.id, caller.tenant_id, [Role.NODE], ttl)
        ctx.ledger.append(
            session,
            EventKind.NODE_REGISTERED,
            caller.tenant_id,
            {
                "node": node.id,
                "name": node.name,
                "region": node.region,
                "tee_type": node.tee_type,
                "cpu_id": node.cpu_id,
                "gpu_serials": list(node.gpu_serials),
                "gpu_count": node.gpu_count,
                "credential_jti": credential.jti,
                "by": caller.subject,
            },
        )
        challenge = _issue_challenge(ctx, session, node)
        return RegisteredNode(node, credential, challenge)


def challenge(ctx: ServiceContext, caller: Caller, node_id: str) -> EnrollmentChallenge:
    """A fresh enrolment nonce for a pending node.

    Raises:
        NotFoundError: no such node for this caller.
        NodeStateError: the node is not pending.
    """
    with ctx.db.transaction() as session:
        node = _node_for(session, caller, node_id)
        if node.state != NodeState.PENDING:
            raise NodeStateError(f"node {node_id} is {node.state}; only a pending node enrols")
        return _issue_challenge(ctx, session, node)


def enroll(ctx: ServiceContext, caller: Caller, node_id: str, nonce: bytes, bundle: EvidenceBundle) -> Node:
    """Verify a node's enrolment Evidence and activate it.

    Raises:
        NotFoundError: no such node for this caller.
        NodeStateError: the node is not pending.
        EnrollmentNonceError: the nonce is unknown, for another node, expired or used.
        SimulatedTeeRefusedError: simulated Evidence on a gateway that refuses it.
        VerifierUnavailableError: no verifier is wired in for this TEE.
        attestation.errors.AttestationError: the Evidence does not verify.
        HardwareMismatchError: the attested hardware differs from the registered hardware.
    """
    with ctx.db.transaction() as session:
        node = _node_for(session, caller, node_id)
        if node.state != NodeState.PENDING:
            raise NodeStateError(f"node {node_id} is {node.state}; only a pending node enrols")
        refused = _consume(ctx, session, node_id, nonce)
    if refused is not None:
        raise refused  # After the commit above: a nonce that was presented stays spent.
    try:
        refuse_simulated(bundle.cpu.tee is TeeType.SIMULATED, ctx.settings)
        result = ctx.evidence_verifier.verify(
            bundle, expected_report_data=enrollment_report_data(nonce, node_id), now=ctx.clock.now()
        )
        _check_hardware(ctx, node, result)
    except (AttestationError, GatewayError) as exc:
        with ctx.db.transaction() as session:
            ctx.ledger.append(
                session,
                EventKind.EVIDENCE_REJECTED,
                node.tenant_id,
                {"node": node_id, "stage": "enrollment", "code": str(exc.code), "by": caller.subject},
            )
        raise
    with ctx.db.transaction() as session:
        node = get_owned(session, Node, node_id, node.tenant_id, "node", lock=True)
        if node.state != NodeState.PENDING:
            raise NodeStateError(f"node {node_id} changed to {node.state} during enrolment")
        _transition(ctx, session, node, NodeState.ACTIVE, "enrolled", caller.subject)
        node.enrolled_at = ctx.clock.now()
        node.evidence_digest = result.evidence_digest
        return node


def set_state(ctx: ServiceContext, caller: Caller, node_id: str, state: NodeState, reason: str) -> Node:
    """Quarantine, reinstate or revoke a node (the security team); revoking also revokes its credentials.

    Raises:
        NotFoundError: no such node in the caller's tenant.
        NodeStateError: the transition is not allowed (revoked is final; pending nodes only enrol).
    """
    with ctx.db.transaction() as session:
        node = get_owned(session, Node, node_id, caller.tenant_id, "node", lock=True)
        if state not in ALLOWED_TRANSITIONS[NodeState(node.state)]:
            raise NodeStateError(f"node {node_id} cannot go from {node.state} to {state}")
        _transition(ctx, session, node, state, reason, caller.subject)
        if state is NodeState.REVOKED:
            for token in session.scalars(select(ApiToken).where(ApiToken.subject == node_id)):
                ctx.tokens.revoke(session, token.jti)
        return node


def list_nodes(ctx: ServiceContext, caller: Caller) -> list[Node]:
    """The nodes of the caller's tenant, by name."""
    with ctx.db.transaction() as session:
        return list(
            session.scalars(select(Node).where(Node.tenant_id == caller.tenant_id).order_by(Node.name))
        )


def get_node(ctx: ServiceContext, caller: Caller, node_id: str) -> Node:
    """One node of the caller's tenant.

    Raises:
        NotFoundError: no such node in the caller's tenant.
    """
    with ctx.db.transaction() as session:
        return _node_for(session, caller, node_id)


def _node_for(session: Session, caller: Caller, node_id: str) -> Node:
    # A node credential reaches only its own node; a provider principal any node of its tenant.
    if caller.is_node and caller.subject != node_id:
        raise NotFoundError("node", node_id)
    return get_owned(session, Node, node_id, caller.tenant_id, "node")


def _issue_challenge(ctx: ServiceContext, session: Session, node: Node) -> EnrollmentChallenge:
    nonce = secrets.token_bytes(32)
    now = ctx.clock.now()
    expires = now + timedelta(seconds=ctx.settings.enrollment_nonce_ttl_seconds)
    session.add(EnrollmentNonce(nonce=nonce.hex(), node_id=node.id, issued_at=now, expires_at=expires))
    ctx.ledger.append(
        session,
        EventKind.ENROLLMENT_CHALLENGED,
        node.tenant_id,
        {"node": node.id, "expires_at": expires.isoformat()},
    )
    return EnrollmentChallenge(node.id, nonce, enrollment_report_data(nonce, node.id), expires)


def _consume(
    ctx: ServiceContext, session: Session, node_id: str, nonce: bytes
) -> EnrollmentNonceError | None:
    """Mark the nonce used, whatever happens next; return the reason to refuse, if any.

    The refusal is returned rather than raised so that the caller's transaction commits the
    consumption: a nonce that was presented once is spent even when it was also expired.
    """
    row = session.get(EnrollmentNonce, nonce.hex(), with_for_update=True)
    now = ctx.clock.now()
    if row is None or row.node_id != node_id:
        return EnrollmentNonceError("the gateway did not issue this nonce to this node")
    if row.consumed_at is not None:
        return EnrollmentNonceError("the nonce was used already; ask for a new challenge")
    row.consumed_at = now
    if row.expires_at <= now:
        return EnrollmentNonceError("the nonce expired; ask for a new challenge")
    return None


def _check_hardware(ctx: ServiceContext, node: Node, result: AttestationResult) -> None:
    refuse_simulated(result.cpu.simulated, ctx.settings)
    if str(result.cpu.tee) != node.tee_type:
        raise HardwareMismatchError(f"the node registered {node.tee_type}, the Evidence is {result.cpu.tee}")
    if result.cpu.hardware_id.lower() != node.cpu_id.lower():
        raise HardwareMismatchError("the attested CPU id differs from the registered one")
    attested = sorted(gpu.ueid.lower() for gpu in result.gpus)
    if len(attested) != node.gpu_count or attested != sorted(serial.lower() for serial in node.gpu_serials):
        raise HardwareMismatchError("the attested GPU serials differ from the registered ones")


def _check_unclaimed(session: Session, request: NewNode) -> None:
    live = select(Node).where(Node.state != NodeState.REVOKED)
    for other in session.scalars(live):
        if other.cpu_id.lower() == request.cpu_id.lower():
            raise HardwareClaimedError("this CPU id belongs to another node")
        if {s.lower() for s in other.gpu_serials} & {s.lower() for s in request.gpu_serials}:
            raise HardwareClaimedError("a GPU serial belongs to another node")


def _transition(  # noqa: PLR0917 - who changes which node to which state, and why.
    ctx: ServiceContext, session: Session, node: Node, state: NodeState, reason: str, by: str
) -> None:
    previous = node.state
    node.state = str(state)
    node.state_reason = reason
    ctx.ledger.append(
        session,
        EventKind.NODE_STATE_CHANGED,
        node.tenant_id,
        {"node": node.id, "from": previous, "to": str(state), "reason": reason, "by": by},
    )
