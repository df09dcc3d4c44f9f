"""``ccgate node …``: providers register and enrol nodes; security quarantines, reinstates, revokes."""

import base64
import json
from pathlib import Path
from typing import Annotated

import typer

from attestation.evidence import TeeType
from gateway.cli.console import print_json, stdout
from gateway.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, show_many
from gateway.domain import NodeState
from gateway.schemas.nodes import EnrollmentIn, NodeCreate, NodeOut

app = typer.Typer(help="Provider nodes (provider and security roles).", no_args_is_help=True)


def _line(node: NodeOut) -> str:
    return f"{node.id}  {node.name}  {node.region}  {node.tee_type}  gpus={node.gpu_count}  {node.state}"


@app.command("register")
def register(
    name: str,
    region: Annotated[str, typer.Option("--region")],
    tee: Annotated[TeeType, typer.Option("--tee", help="The CPU TEE type.")],
    cpu_id: Annotated[str, typer.Option("--cpu-id", help="SNP CHIP_ID or TDX PPID, hex.")],
    gpu_serial: Annotated[
        list[str] | None, typer.Option("--gpu-serial", help="Repeat per GPU (serial / UEID).")
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a node; print its runner credential (shown once) and the enrolment challenge."""
    serials = gpu_serial or []
    body = NodeCreate(
        name=name, region=region, tee_type=tee, cpu_id=cpu_id, gpu_serials=serials, gpu_count=len(serials)
    )
    with connect(url, token) as client:
        made = client.register_node(body)
    if as_json:
        print_json(made.model_dump(mode="json"))
        return
    stdout.print(_line(made.node), markup=False)
    stdout.print(f"node credential for the runner (shown once):\n{made.credential.token}", markup=False)
    stdout.print(f"enrolment nonce: {base64.b64encode(made.challenge.nonce).decode()}", markup=False)
    stdout.print(f"report data to attest: {made.challenge.report_data.hex()}", markup=False)
    stdout.print(f"expires at: {made.challenge.expires_at.isoformat()}", markup=False)


@app.command("challenge")
def challenge(
    node_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Ask for a fresh enrolment nonce (a pending node only)."""
    with connect(url, token) as client:
        show(client.enrollment_challenge(node_id), as_json)


@app.command("enroll")
def enroll(
    node_id: str,
    evidence: Annotated[
        Path, typer.Option("--evidence", exists=True, help="Evidence JSON (DESIGN §5 shape).")
    ],
    nonce: Annotated[str, typer.Option("--nonce", help="The challenge nonce, base64.")],
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit enrolment Evidence collected on the node against the challenge."""
    body = EnrollmentIn.model_validate({"nonce": nonce, "evidence": json.loads(evidence.read_text())})
    with connect(url, token) as client:
        show(client.enroll(node_id, body), as_json, lambda node: [_line(node)])


@app.command("list")
def list_nodes(url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False) -> None:
    """List the tenant's nodes."""
    with connect(url, token) as client:
        show_many(client.list_nodes(), as_json, _line)


@app.command("show")
def show_node(
    node_id: str, url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Show one node."""
    with connect(url, token) as client:
        show(client.node(node_id), as_json)


def _set_state(
    state: NodeState, node_id: str, reason: str, url: str | None, token: str | None, as_json: bool
) -> None:
    with connect(url, token) as client:
        show(client.set_node_state(node_id, state, reason), as_json, lambda node: [_line(node)])


Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the ledger).")]


@app.command("quarantine")
def quarantine(
    node_id: str,
    reason: Reason,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Quarantine a node (security): it gets no keys until reinstated."""
    _set_state(NodeState.QUARANTINED, node_id, reason, url, token, as_json)


@app.command("reinstate")
def reinstate(
    node_id: str,
    reason: Reason,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reinstate a quarantined node (security)."""
    _set_state(NodeState.ACTIVE, node_id, reason, url, token, as_json)


@app.command("revoke")
def revoke(
    node_id: str,
    reason: Reason,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Revoke a node for good (security); its credentials stop working."""
    _set_state(NodeState.REVOKED, node_id, reason, url, token, as_json)
