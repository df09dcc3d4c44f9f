"""Drive a real gateway process through the release protocol with a simulated node (for live tests)."""

import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nacl.public
import nacl.signing

from attestation.simulated.roots import SimulatedTeeWarning
from enclave_runner.protocol.binding import report_data
from enclave_runner.protocol.messages import AttestationRequest, Challenge, RunnerKeys, b64encode
from enclave_runner.protocol.simulated.storage import SimulatedNode
from gateway.demo.scenario import (
    Scenario,
    SiteIdentity,
    create_parties,
    register_and_enrol,
    upload_artefact,
    write_policy,
)
from gateway.domain import ArtefactKind, Role
from gateway.schemas.jobs import JobCreate
from gateway.simulated_attestation import simulated_evidence
from gateway.simulation import create_simulated_site, write_site


def make_site(directory: Path, gpus: int = 1) -> tuple[Path, SimulatedNode, SiteIdentity]:
    """A simulated vendor and node on disk (the gateway trusts ``site/gateway``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        site = create_simulated_site(datetime.now(UTC), gpus=gpus)
    write_site(site, directory)
    return directory, site.node, SiteIdentity.from_site(directory)


@dataclass
class LiveRun:
    """A populated live gateway: a scenario, its node, and its dataset and model."""

    scenario: Scenario
    node: SimulatedNode
    dataset: str
    model: str


def populate(
    url: str, admin: str, work: Path, node: SimulatedNode, identity: SiteIdentity, **dataset: object
) -> LiveRun:
    """Parties, an enrolled node, a policy, a dataset (``dataset`` fields) and a model bundle."""
    scenario = Scenario(url, create_parties(url, admin))
    register_and_enrol(scenario, node, identity)
    version = write_policy(scenario)
    (work / "data.csv").write_bytes(os.urandom(5000))
    (work / "bundle.tar").write_bytes(os.urandom(3000))
    dataset_id = upload_artefact(
        scenario,
        work / "data.csv",
        work / "data.key",
        name="patients",
        kind=ArtefactKind.DATASET,
        policy=("eu-health", version),
        **dataset,  # type: ignore[arg-type]  # labels / max_releases only
    )
    model_id = upload_artefact(
        scenario,
        work / "bundle.tar",
        work / "bundle.key",
        name="bundle",
        kind=ArtefactKind.MODEL,
        policy=("eu-health", version),
    )
    return LiveRun(scenario, node, dataset_id, model_id)


def submit(run: LiveRun, gpus: int = 1) -> str:
    """A job over the run's dataset and model; returns its id."""
    body = JobCreate(
        datasets=[run.dataset],
        model=run.model,
        entrypoint="train",
        result_recipient=os.urandom(32),
        tee_types=["simulated"],
        gpu_count=gpus,
    )
    with run.scenario.client(Role.OWNER) as owner:
        return owner.submit_job(body).id


def node_client(run: LiveRun, url: str | None = None) -> httpx.Client:
    """An HTTP client with the node credential."""
    return httpx.Client(
        base_url=url or run.scenario.url,
        headers={"Authorization": f"Bearer {run.scenario.node_token}", "Content-Type": "application/json"},
        timeout=120,
    )


def claim_and_challenge(client: httpx.Client, job_id: str) -> Challenge:
    """Claim ``job_id`` and get a fresh challenge for it."""
    assert client.post(f"/v1/jobs/{job_id}/claim").status_code == 200
    response = client.post(f"/v1/jobs/{job_id}/challenge")
    assert response.status_code == 200, response.text
    return Challenge.model_validate_json(response.content)


def attestation_body(run: LiveRun, challenge: Challenge) -> tuple[str, nacl.public.PrivateKey]:
    """Fresh session keys and Evidence bound to them, the nonce and the manifest."""
    sealing, signing = nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate()
    bound = report_data(
        bytes.fromhex(challenge.nonce),
        bytes(sealing.public_key),
        bytes(signing.verify_key),
        challenge.manifest.digest(),
    )
    request = AttestationRequest(
        session_id=challenge.session_id,
        keys=RunnerKeys(
            x25519=b64encode(bytes(sealing.public_key)), ed25519=b64encode(bytes(signing.verify_key))
        ),
        evidence=simulated_evidence(run.node, bound),
    )
    return request.model_dump_json(), sealing
