"""Providers and nodes: KYC, registration, enrolment against a gateway nonce, and security's state changes."""

import base64
import os
from typing import Any

import pytest

from attestation.evidence import TeeType
from gateway.domain import Role
from gateway.services.evidence_verification import UnavailableEvidenceVerifier
from tests.gateway.fakes import evidence_json, fake_evidence
from tests.gateway.world import World, bearer


def test_a_node_enrols_with_evidence_bound_to_the_nonce_and_its_hardware(world: World) -> None:
    registered = world.register_node("h100-a", "a1b2c3", ["gpu-0", "gpu-1"])
    assert registered["node"]["state"] == "pending"
    node = world.ok(world.enroll(registered))
    assert node["state"] == "active"
    assert node["evidence_digest"]
    assert node["enrolled_at"]
    assert world.verifier.calls == 1


def test_the_runner_enrols_with_its_node_credential(world: World) -> None:
    registered = world.register_node("h100-b", "b1", ["gpu-b"])
    credential = bearer(registered["credential"]["token"])
    fresh = world.ok(
        world.client.post(f"/v1/nodes/{registered['node']['id']}/enrollment-challenge", headers=credential),
        201,
    )
    node = world.ok(world.enroll({**registered, "challenge": fresh}, headers=credential))
    assert node["state"] == "active"


def test_a_node_credential_reaches_only_its_own_node(world: World) -> None:
    first = world.register_node("n1", "c1", ["g1"])
    second = world.register_node("n2", "c2", ["g2"])
    response = world.client.post(
        f"/v1/nodes/{second['node']['id']}/enrollment-challenge", headers=bearer(first["credential"]["token"])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"cpu_id": "ffff"}, "enrollment.hardware_mismatch", id="another CPU chip id"),
        pytest.param(
            {"serials": ["gpu-0"]}, "enrollment.hardware_mismatch", id="one GPU fewer than registered"
        ),
        pytest.param(
            {"serials": ["gpu-0", "gpu-9"]}, "enrollment.hardware_mismatch", id="an unregistered GPU serial"
        ),
        pytest.param(
            {"tee": TeeType.SNP}, "enrollment.hardware_mismatch", id="another TEE type than registered"
        ),
    ],
)
def test_attested_hardware_must_equal_the_registered_hardware(
    world: World, change: dict[str, object], code: str
) -> None:
    registered = world.register_node("n", "a1", ["gpu-0", "gpu-1"])
    response = world.enroll(registered, **change)  # type: ignore[arg-type]  # each case replaces a different enrolment field
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    node = world.ok(
        world.client.get(f"/v1/nodes/{registered['node']['id']}", headers=world.cloud.as_(Role.PROVIDER))
    )
    assert node["state"] == "pending"


def test_evidence_bound_to_another_nonce_is_rejected_and_the_nonce_is_spent(world: World) -> None:
    registered = world.register_node("n", "a1", ["gpu-0"])
    node = registered["node"]
    wrong = fake_evidence(TeeType.SIMULATED, "a1", os.urandom(64), ["gpu-0"])
    body = {"nonce": registered["challenge"]["nonce"], "evidence": evidence_json(wrong)}
    refused = world.client.post(
        f"/v1/nodes/{node['id']}/enrollment", json=body, headers=world.cloud.as_(Role.PROVIDER)
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "attestation.report_data_mismatch"
    assert refused.json()["detail"] == "the Evidence was rejected"
    replay = world.enroll(registered)
    assert replay.status_code == 422
    assert replay.json()["code"] == "enrollment.nonce_invalid"


def test_a_nonce_issued_to_another_node_is_refused(world: World) -> None:
    first = world.register_node("n1", "c1", ["g1"])
    second = world.register_node("n2", "c2", ["g2"])
    response = world.enroll(first, nonce=second["challenge"]["nonce"])
    assert response.status_code == 422
    assert response.json()["code"] == "enrollment.nonce_invalid"


def test_an_unknown_nonce_is_refused(world: World) -> None:
    registered = world.register_node("n1", "c1", ["g1"])
    response = world.enroll(registered, nonce=base64.b64encode(os.urandom(32)).decode())
    assert response.json()["code"] == "enrollment.nonce_invalid"


def test_an_active_node_does_not_enrol_again(world: World) -> None:
    registered = world.register_node("n1", "c1", ["g1"])
    world.ok(world.enroll(registered))
    again = world.client.post(
        f"/v1/nodes/{registered['node']['id']}/enrollment-challenge", headers=world.cloud.as_(Role.PROVIDER)
    )
    assert again.status_code == 409
    assert again.json()["code"] == "node.state"


def test_hardware_claimed_by_another_live_node_is_refused(world: World) -> None:
    world.register_node("n1", "c1", ["g1", "g2"])
    for cpu, serials in (("c1", ["g9"]), ("c9", ["g2"])):
        body = {
            "name": f"dup-{cpu}",
            "region": "eu",
            "tee_type": "simulated",
            "cpu_id": cpu,
            "gpu_serials": serials,
            "gpu_count": 1,
        }
        response = world.client.post("/v1/nodes", json=body, headers=world.cloud.as_(Role.PROVIDER))
        assert response.status_code == 409
        assert response.json()["code"] == "node.hardware_claimed"


def test_gpu_count_must_match_the_serials(world: World) -> None:
    body = {
        "name": "n",
        "region": "eu",
        "tee_type": "simulated",
        "cpu_id": "c",
        "gpu_serials": ["a", "a"],
        "gpu_count": 2,
    }
    response = world.client.post("/v1/nodes", json=body, headers=world.cloud.as_(Role.PROVIDER))
    assert response.status_code == 422
    assert response.json()["code"] == "request.invalid"


def test_a_provider_without_approved_kyc_cannot_register_nodes(world: World) -> None:
    world.ok(
        world.client.put(
            f"/v1/providers/{world.cloud.tenant_id}/kyc",
            json={"status": "rejected"},
            headers=world.admin.as_(Role.ADMIN),
        )
    )
    body = {
        "name": "n",
        "region": "eu",
        "tee_type": "simulated",
        "cpu_id": "c",
        "gpu_serials": [],
        "gpu_count": 0,
    }
    response = world.client.post("/v1/nodes", json=body, headers=world.cloud.as_(Role.PROVIDER))
    assert response.status_code == 409
    assert response.json()["code"] == "provider.kyc_not_approved"


def test_security_quarantines_reinstates_and_revokes_and_revocation_kills_the_credential(
    world: World,
) -> None:
    registered = world.register_node("n1", "c1", ["g1"])
    world.ok(world.enroll(registered))
    node_id = registered["node"]["id"]
    security = world.cloud.as_(Role.SECURITY)

    def move(state: str) -> Any:
        body = {"state": state, "reason": "audit"}
        return world.client.put(f"/v1/nodes/{node_id}/state", json=body, headers=security).json()

    assert move("quarantined")["state"] == "quarantined"
    assert move("active")["state"] == "active"
    assert move("revoked")["state"] == "revoked"
    assert move("active")["code"] == "node.state"
    refused = world.client.get("/v1/whoami", headers=bearer(registered["credential"]["token"]))
    assert refused.status_code == 401
    assert refused.json()["code"] == "auth.token_revoked"
    # A revoked node's hardware may be registered again (e.g. after repair and a new identity check).
    world.register_node("n1-again", "c1", ["g1"])


def test_the_enrolment_verifier_seam_fails_closed_when_nothing_is_wired(world: World) -> None:
    object.__setattr__(world.services, "evidence_verifier", UnavailableEvidenceVerifier())
    registered = world.register_node("n1", "c1", ["g1"])
    response = world.enroll(registered)
    assert response.status_code == 503
    assert response.json()["code"] == "verifier.unavailable"


def test_a_gateway_without_the_simulated_tee_refuses_simulated_nodes_and_evidence(world: World) -> None:
    registered = world.register_node("sim", "c1", ["g1"])
    strict = world.services.settings.model_copy(update={"allow_simulated_tee": False})
    object.__setattr__(world.services, "settings", strict)
    body = {
        "name": "sim-2",
        "region": "eu",
        "tee_type": "simulated",
        "cpu_id": "c2",
        "gpu_serials": [],
        "gpu_count": 0,
    }
    refused = world.client.post("/v1/nodes", json=body, headers=world.cloud.as_(Role.PROVIDER))
    assert refused.status_code == 422
    assert refused.json()["code"] == "enrollment.simulated_refused"
    evidence = world.enroll(registered)
    assert evidence.status_code == 422
    assert evidence.json()["code"] == "enrollment.simulated_refused"
    assert world.verifier.calls == 0
