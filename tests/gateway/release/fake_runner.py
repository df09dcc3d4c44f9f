"""A scripted runner for release-protocol tests: claims, challenges and attests with fake Evidence.

It speaks the real wire messages to the real routes; only its Evidence is the fake format that
``FakeEvidenceVerifier`` checks (bindings included), and every attack is a parameter.
"""

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import nacl.public
import nacl.signing
from httpx import Response

from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType
from enclave_runner.protocol.binding import gpu_nonce, report_data
from enclave_runner.protocol.messages import JobManifest
from gateway.domain import Role
from tests.gateway.fakes import evidence_json
from tests.gateway.world import World, bearer

POLICY = """apiVersion: ccgate/v1
kind: ReleasePolicy
metadata: {name: %(name)s}
spec:
  rules:
    - id: region
      require: {claim: node.region, in: [%(regions)s]}
      message: Only nodes in the allowed regions may receive this key.
"""


def upload_policy(world: World, name: str = "eu-only", regions: str = "eu-west") -> dict[str, Any]:
    """An artefact policy allowing only nodes in ``regions``."""
    document = POLICY % {"name": name, "regions": regions}
    response = world.client.post(
        "/v1/policies", json={"document": document}, headers=world.acme.as_(Role.SECURITY)
    )
    assert response.status_code in {200, 201}, response.text
    return response.json()  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks


@dataclass
class FakeRunner:
    """One enrolled node of the world's provider, and the runner on it."""

    world: World
    node_id: str
    token: str
    cpu_id: str
    serials: list[str]
    x25519: nacl.public.PrivateKey = field(default_factory=nacl.public.PrivateKey.generate)
    ed25519: nacl.signing.SigningKey = field(default_factory=nacl.signing.SigningKey.generate)

    @classmethod
    def enrolled(
        cls, world: World, name: str, cpu_id: str, serials: list[str], tee: TeeType = TeeType.SIMULATED
    ) -> "FakeRunner":
        registered = world.register_node(name, cpu_id, serials, tee)
        world.ok(world.enroll(registered, tee=tee))
        return cls(world, registered["node"]["id"], registered["credential"]["token"], cpu_id, serials)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    def claim(self, job_id: str) -> dict[str, Any]:
        return self.world.ok(self.world.client.post(f"/v1/jobs/{job_id}/claim", headers=self.headers))  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    def challenge(self, job_id: str) -> dict[str, Any]:
        return self.world.ok(self.world.client.post(f"/v1/jobs/{job_id}/challenge", headers=self.headers))  # type: ignore[no-any-return]  # the API's JSON; the test reads the fields it checks

    def bound(self, challenge: dict[str, Any], manifest_digest: bytes | None = None) -> bytes:
        """The report data this runner's Evidence must carry for ``challenge``."""
        digest = manifest_digest or JobManifest.model_validate(challenge["manifest"]).digest()
        return report_data(
            bytes.fromhex(challenge["nonce"]),
            bytes(self.x25519.public_key),
            bytes(self.ed25519.verify_key),
            digest,
        )

    def attest(
        self,
        job_id: str,
        challenge: dict[str, Any],
        *,
        bound: bytes | None = None,
        serials: list[str] | None = None,
        cpu_id: str | None = None,
        gpu_nonce_value: bytes | None = None,
        tee: TeeType = TeeType.SIMULATED,
        keys_from: "FakeRunner | None" = None,
        raw_keys: tuple[bytes, bytes] | None = None,
        simulated_vendor: bool = False,
    ) -> Response:
        """Post Evidence for ``challenge``; each keyword replaces one honest value with an attack."""
        data = bound if bound is not None else self.bound(challenge)
        nonce = gpu_nonce_value if gpu_nonce_value is not None else gpu_nonce(data)
        cpu_report: dict[str, Any] = {
            "tee": str(tee),
            "chip_id": cpu_id or self.cpu_id,
            "report_data": data.hex(),
        }
        if simulated_vendor:
            cpu_report["simulated_vendor"] = True
        cpu = json.dumps(cpu_report).encode()
        gpus = tuple(
            GpuEvidence(GpuArch.HOPPER, json.dumps({"ueid": ueid, "nonce": nonce.hex()}).encode(), b"chain")
            for ueid in (self.serials if serials is None else serials)
        )
        holder = keys_from or self
        x25519, ed25519 = raw_keys or (bytes(holder.x25519.public_key), bytes(holder.ed25519.verify_key))
        body = {
            "session_id": challenge["session_id"],
            "keys": {
                "x25519": base64.b64encode(x25519).decode(),
                "ed25519": base64.b64encode(ed25519).decode(),
            },
            "evidence": evidence_json(EvidenceBundle(CpuEvidence(tee, cpu), gpus)),
        }
        response: Response = self.world.client.post(
            f"/v1/jobs/{job_id}/attestation", json=body, headers=self.headers
        )
        return response
