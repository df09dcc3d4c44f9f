"""Routes: node registration (providers), enrolment (providers or the node's runner), state (security)."""

from typing import Annotated

from fastapi import APIRouter, Path, status

from gateway.api.dependencies import Services, require
from gateway.api.identity import token_out
from gateway.api.problems import OBJECT_PROBLEMS
from gateway.auth.permissions import Caller, Permission
from gateway.domain import ID_PATTERN, NodeState
from gateway.schemas.nodes import (
    ChallengeOut,
    EnrollmentIn,
    NodeCreate,
    NodeOut,
    NodeRegisteredOut,
    NodeStateUpdate,
)
from gateway.services import nodes
from gateway.services.nodes import EnrollmentChallenge, NewNode

router = APIRouter(
    prefix="/v1/nodes", tags=["nodes"], responses={**OBJECT_PROBLEMS, 503: OBJECT_PROBLEMS[500]}
)
NodeIdPath = Annotated[str, Path(pattern=ID_PATTERN)]


def challenge_out(challenge: EnrollmentChallenge) -> ChallengeOut:
    """The wire form of an enrolment challenge."""
    return ChallengeOut(
        node_id=challenge.node_id,
        nonce=challenge.nonce,
        report_data=challenge.report_data,
        expires_at=challenge.expires_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def register(
    body: NodeCreate, services: Services, caller: Annotated[Caller, require(Permission.NODE_REGISTER)]
) -> NodeRegisteredOut:
    """Register a node (pending); the response holds its runner credential (shown once) and a challenge."""
    request = NewNode(
        body.name, body.region, body.tee_type, body.cpu_id, tuple(body.gpu_serials), body.gpu_count
    )
    registered = nodes.register_node(services, caller, request)
    return NodeRegisteredOut(
        node=NodeOut.model_validate(registered.node),
        credential=token_out(registered.credential),
        challenge=challenge_out(registered.challenge),
    )


@router.get("")
def list_nodes(services: Services, caller: Annotated[Caller, require(Permission.NODE_READ)]) -> list[NodeOut]:
    """The nodes of the caller's tenant."""
    return [NodeOut.model_validate(node) for node in nodes.list_nodes(services, caller)]


@router.get("/{node_id}")
def get_node(
    node_id: NodeIdPath, services: Services, caller: Annotated[Caller, require(Permission.NODE_READ)]
) -> NodeOut:
    """One node."""
    return NodeOut.model_validate(nodes.get_node(services, caller, node_id))


@router.post("/{node_id}/enrollment-challenge", status_code=status.HTTP_201_CREATED)
def enrollment_challenge(
    node_id: NodeIdPath, services: Services, caller: Annotated[Caller, require(Permission.NODE_ENROLL)]
) -> ChallengeOut:
    """A fresh single-use nonce for the node's enrolment Evidence."""
    return challenge_out(nodes.challenge(services, caller, node_id))


@router.post("/{node_id}/enrollment")
def enroll(
    node_id: NodeIdPath,
    body: EnrollmentIn,
    services: Services,
    caller: Annotated[Caller, require(Permission.NODE_ENROLL)],
) -> NodeOut:
    """Verify the enrolment Evidence against the nonce and the registered hardware; activate the node."""
    return NodeOut.model_validate(
        nodes.enroll(services, caller, node_id, body.nonce, body.evidence.to_bundle())
    )


@router.put("/{node_id}/state")
def set_state(
    node_id: NodeIdPath,
    body: NodeStateUpdate,
    services: Services,
    caller: Annotated[Caller, require(Permission.NODE_STATE_WRITE)],
) -> NodeOut:
    """Quarantine, reinstate or revoke a node."""
    return NodeOut.model_validate(
        nodes.set_state(services, caller, node_id, NodeState(body.state), body.reason)
    )
