"""A populated gateway for the demo, the release benchmark and end-to-end tests, built through the API.

Everything goes through the typed client, as the three personas would: the admin creates a customer
tenant with an owner and a security team, and a provider whose KYC it approves; the provider
registers a simulated node and enrols it with simulated Evidence bound to the gateway's challenge;
the security team writes the artefact policy; the owner encrypts and uploads a dataset and a model
bundle in one streaming pass each. Simulated hardware only: NOT SECURITY.
"""

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

from attestation.evidence import TeeType
from enclave_runner.protocol.sealing import generate_x25519
from enclave_runner.protocol.simulated.storage import SimulatedNode
from gateway.client.http import GatewayClient
from gateway.client.owner import Progress, upload_file
from gateway.domain import ArtefactKind, KycStatus, Role
from gateway.keyfiles import write_key_file
from gateway.schemas.artefacts import ArtefactCreate, PolicyRef
from gateway.schemas.nodes import EnrollmentIn, NodeCreate
from gateway.simulated_attestation import simulated_evidence

ARTEFACT_POLICY = """apiVersion: ccgate/v1
kind: ReleasePolicy
metadata:
  name: {name}
  description: What the owner requires for these artefacts, on top of the tenant baseline.
spec:
  rules:
    - id: region-eu
      require: {{claim: node.region, in: [{regions}]}}
      message: Health data may only be processed on nodes in the EU regions.
    - id: gpu-driver-minimum
      when: {{gpu_count: {{at_least: 1}}}}
      require: {{all_gpus: {{claim: gpu.x-nvidia-gpu-driver-version, version_at_least: "{driver}"}}}}
      message: Every GPU must run at least driver {driver}.
    - id: measurements-match
      when: {{gpu_count: {{at_least: 1}}}}
      require: {{all_gpus: {{claim: gpu.measres, equals: success}}}}
      message: Every GPU's firmware must match its signed reference measurements.
    - id: registered-hardware
      require: {{claim: node.registered_hardware.gpu_serials_match, equals: true}}
      message: The GPUs must be the ones the provider registered for this node.
"""


@dataclass(frozen=True)
class SiteIdentity:
    """What the provider registers about a simulated node (from ``site.json``)."""

    cpu_id: str
    gpu_serials: tuple[str, ...]

    @classmethod
    def from_site(cls, site: Path) -> "SiteIdentity":
        """Read a ``ccgate sim init`` site's identities."""
        summary = json.loads((site / "site.json").read_text(encoding="utf-8"))
        return cls(str(summary["cpu_chip_id"]), tuple(str(u) for u in summary["gpu_ueids"]))


@dataclass
class Parties:
    """The tokens and ids of the demo's tenants."""

    customer_id: str
    provider_id: str
    owner: str
    security: str
    provider: str


@dataclass
class Scenario:
    """A populated gateway: parties, an enrolled node and, once uploaded, the owner's artefacts."""

    url: str
    parties: Parties
    node_id: str = ""
    node_token: str = ""
    artefacts: dict[str, str] = field(default_factory=dict)

    def client(self, role: Role) -> GatewayClient:
        """A client acting as the owner, the security team or the provider."""
        token = {Role.OWNER: self.parties.owner, Role.SECURITY: self.parties.security}.get(
            role, self.parties.provider
        )
        return GatewayClient(self.url, token)


def create_parties(
    url: str, admin_token: str, customer: str = "acme-health", provider: str = "gpu-cloud"
) -> Parties:
    """The admin's part: a customer tenant (owner, security) and an approved provider (operator)."""
    with GatewayClient(url, admin_token) as admin:
        tenant = admin.create_tenant(customer)
        owner = admin.create_principal(tenant.id, "data-owner", [Role.OWNER]).token.token
        security = admin.create_principal(tenant.id, "security-team", [Role.SECURITY]).token.token
        cloud = admin.create_provider(provider)
        admin.set_kyc(cloud.id, KycStatus.APPROVED)
        operator = admin.create_principal(cloud.id, "operator", [Role.PROVIDER]).token.token
    return Parties(tenant.id, cloud.id, owner, security, operator)


def register_and_enrol(
    scenario: Scenario,
    node: SimulatedNode,
    identity: SiteIdentity,
    name: str = "h100-node-1",
    region: str = "eu-west",
) -> None:
    """The provider's part: register the node and enrol it with Evidence bound to the challenge."""
    with scenario.client(Role.PROVIDER) as provider:
        registered = provider.register_node(
            NodeCreate(
                name=name,
                region=region,
                tee_type=TeeType.SIMULATED,
                cpu_id=identity.cpu_id,
                gpu_serials=list(identity.gpu_serials),
                gpu_count=len(identity.gpu_serials),
            )
        )
        evidence = simulated_evidence(node, registered.challenge.report_data)
        provider.enroll(
            registered.node.id,
            EnrollmentIn.model_validate(
                {
                    "nonce": base64.b64encode(registered.challenge.nonce).decode("ascii"),
                    "evidence": evidence.model_dump(mode="json"),
                }
            ),
        )
    scenario.node_id = registered.node.id
    scenario.node_token = registered.credential.token


def write_policy(
    scenario: Scenario, name: str = "eu-health", regions: str = "eu-west", driver: str = "550.0.0"
) -> int:
    """The security team's part: the artefact policy the owner pins. Returns its version."""
    document = ARTEFACT_POLICY.format(name=name, regions=regions, driver=driver)
    with scenario.client(Role.SECURITY) as security:
        return security.upload_document_text(document)


def upload_artefact(
    scenario: Scenario,
    source: Path,
    key_file: Path,
    *,
    name: str,
    kind: ArtefactKind,
    policy: tuple[str, int],
    labels: tuple[str, ...] = (),
    max_releases: int | None = None,
    progress: Progress | None = None,
) -> str:
    """The owner's part: encrypt, upload and deposit one artefact pinned to ``policy``."""
    create = ArtefactCreate(
        kind=kind,
        name=name,
        labels=list(labels),
        policy=PolicyRef(name=policy[0], version=policy[1]),
        max_releases=max_releases,
    )
    with scenario.client(Role.OWNER) as owner:
        uploaded = upload_file(owner, source, key_file, create=create, progress=progress)
    scenario.artefacts[name] = uploaded.artefact.id
    return uploaded.artefact.id


def result_keys(directory: Path) -> tuple[Path, bytes]:
    """A fresh result key pair for the owner: (private key file 0600, public key)."""
    pair = generate_x25519()
    private = directory / "result.key"
    write_key_file(private, pair.private)
    (directory / "result.key.pub").write_text(base64.b64encode(pair.public).decode("ascii") + "\n")
    return private, pair.public
