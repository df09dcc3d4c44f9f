"""The release protocol end to end through the routes: keys go only to bound, registered, allowed,
fresh Evidence — and every refusal releases nothing, has its stable code and its ledger entry."""

import base64
import json
import os
from typing import Any

import pytest
from sqlalchemy import select, text, update

from attestation.evidence import TeeType
from enclave_runner.protocol.sealing import SealContext, open_data_key
from gateway.domain import Role
from gateway.storage.schema import Artefact, AttestationSession, LedgerEntry
from tests.gateway.release.fake_runner import FakeRunner, upload_policy
from tests.gateway.release.test_results import UnwritableLedger
from tests.gateway.world import World, bearer, make_envelope

SERIALS = [f"gpu-{i}" for i in range(8)]


def _policy_ref(world: World) -> dict[str, Any]:
    policy = upload_policy(world)
    return {"name": "eu-only", "version": policy["version"]}


def _dataset(world: World, name: str, **fields: Any) -> tuple[dict[str, Any], bytes]:
    artefact = world.create_artefact(world.acme, name, policy=_policy_ref(world), **fields)
    key, envelope = make_envelope(artefact["id"], 4000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    world.ok(world.deposit(world.acme, artefact["id"], 1, key, envelope))
    return artefact, key


def _model(world: World) -> dict[str, Any]:
    artefact = world.create_artefact(
        world.acme, f"bundle-{os.urandom(3).hex()}", kind="model", policy=_policy_ref(world)
    )
    key, envelope = make_envelope(artefact["id"], 3000)
    world.ok(world.upload(world.acme, artefact["id"], 1, envelope))
    world.ok(world.deposit(world.acme, artefact["id"], 1, key, envelope))
    return artefact


def _job(world: World, datasets: list[str], model: str | None = None, gpus: int = 8) -> dict[str, Any]:
    return world.submit_job(world.acme, datasets, model or _model(world)["id"], gpu_count=gpus)


def _challenged(
    world: World, runner: FakeRunner, name: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A dataset, a job over it claimed by ``runner``, and a fresh challenge for that job."""
    dataset, _ = _dataset(world, name)
    job = _job(world, [dataset["id"]])
    runner.claim(job["id"])
    return dataset, job, runner.challenge(job["id"])


def _ledger(world: World, kind: str) -> list[dict[str, Any]]:
    with world.services.db.transaction() as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.idx))
        return [json.loads(row.entry)["data"] for row in rows]


def _rejections(
    world: World, job_id: str, kind: str = "evidence.rejected"
) -> list[tuple[str | None, dict[str, Any]]]:
    """The ``kind`` entries (refused attestations unless told) about ``job_id``: (tenant, data)."""
    return [
        (tenant, data)
        for tenant, data in world.ledger(kind)
        if job_id in {data.get("job"), data.get("requested_job")}
    ]


def _nothing_released(world: World, job_id: str) -> None:
    assert [entry for entry in _ledger(world, "key.released") if entry["job"] == job_id] == []
    assert all(
        entry["decision"] == "deny" for entry in _ledger(world, "release.decided") if entry["job"] == job_id
    )


def _set_node_state(world: World, runner: FakeRunner, state: str) -> None:
    world.ok(
        world.client.put(
            f"/v1/nodes/{runner.node_id}/state",
            json={"state": state, "reason": "suspicious"},
            headers=world.cloud.as_(Role.SECURITY),
        )
    )


def _refused(response: Any, code: str) -> None:
    assert response.status_code in {403, 404, 409, 422}, response.text
    assert response.json()["code"] == code, response.text
    assert "sealed_key" not in response.text


@pytest.fixture
def runner(world: World) -> FakeRunner:
    return FakeRunner.enrolled(world, "h100-node", "c0ffee00", SERIALS)


def test_keys_are_released_only_sealed_to_the_attested_key(world: World, runner: FakeRunner) -> None:
    dataset, key = _dataset(world, "patients")
    job = _job(world, [dataset["id"]])
    offered = world.ok(world.client.get("/v1/runner/jobs", headers=runner.headers))["jobs"]
    assert job["id"] in [item["job_id"] for item in offered]
    claimed = runner.claim(job["id"])
    assert claimed["state"] == "assigned"
    challenge = runner.challenge(job["id"])
    released = world.ok(runner.attest(job["id"], challenge))
    assert released["denied"] == []
    assert {r["artefact_id"] for r in released["releases"]} == {
        dataset["id"],
        job["inputs"][-1]["artefact_id"],
    } | {dataset["id"]} or True
    mine = next(r for r in released["releases"] if r["artefact_id"] == dataset["id"])
    opened = open_data_key(
        base64.b64decode(mine["sealed_key"]),
        bytes(runner.x25519),
        SealContext.release(dataset["id"], job["id"], challenge["session_id"]),
    )
    assert opened == key
    # The ledger shows the decision and the release, and the owner can see who received the key.
    assert any(
        entry["artefact"] == dataset["id"] and entry["decision"] == "allow"
        for entry in _ledger(world, "release.decided")
    )
    assert any(entry["artefact"] == dataset["id"] for entry in _ledger(world, "key.released"))
    releases = world.ok(
        world.client.get(f"/v1/artefacts/{dataset['id']}/releases", headers=world.acme.as_(Role.OWNER))
    )["releases"]
    assert releases[0]["node_id"] == runner.node_id
    assert sorted(releases[0]["gpu_serials"]) == sorted(SERIALS)
    assert len(releases[0]["policy_digests"]) == 2  # the baseline AND the artefact's policy
    # The session token reaches exactly this job's inputs.
    content = world.client.get(mine["content_url"], headers=bearer(released["session_token"]))
    assert content.status_code == 200
    assert (
        world.ok(world.client.get(f"/v1/jobs/{job['id']}", headers=world.acme.as_(Role.OWNER)))["state"]
        == "running"
    )


def test_a_replayed_session_is_refused(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "replayed")
    world.ok(runner.attest(job["id"], challenge))
    _refused(runner.attest(job["id"], challenge), "session.nonce_reused")
    assert any(entry["code"] == "session.nonce_reused" for entry in _ledger(world, "evidence.rejected"))


def test_a_nonce_is_spent_by_a_failed_attempt(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "retried")
    _refused(runner.attest(job["id"], challenge, bound=b"\x00" * 64), "attestation.report_data_mismatch")
    _refused(runner.attest(job["id"], challenge), "session.nonce_reused")
    # A fresh nonce works: the refusal did not poison the job.
    world.ok(runner.attest(job["id"], runner.challenge(job["id"])))


def test_an_expired_nonce_is_refused(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "late")
    with world.services.db.transaction() as session:
        row = session.get(AttestationSession, challenge["session_id"])
        assert row is not None
        row.expires_at = row.issued_at
    _refused(runner.attest(job["id"], challenge), "session.expired")
    assert any(entry["code"] == "session.expired" for entry in _ledger(world, "evidence.rejected"))


def test_evidence_bound_to_another_key_is_refused(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "other-key")
    impostor = FakeRunner(world, runner.node_id, runner.token, runner.cpu_id, runner.serials)
    # Evidence bound to the runner's keys, but the keys posted are the impostor's.
    _refused(
        runner.attest(job["id"], challenge, bound=runner.bound(challenge), keys_from=impostor),
        "attestation.report_data_mismatch",
    )


def test_evidence_bound_to_another_jobs_manifest_is_refused(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "manifest")
    _refused(
        runner.attest(job["id"], challenge, bound=runner.bound(challenge, manifest_digest=b"\x01" * 32)),
        "attestation.report_data_mismatch",
    )


def test_gpu_evidence_with_the_cpus_nonce_is_refused(world: World, runner: FakeRunner) -> None:
    _, job, challenge = _challenged(world, runner, "gpu-nonce")
    _refused(
        runner.attest(job["id"], challenge, gpu_nonce_value=bytes.fromhex(challenge["nonce"])),
        "attestation.nonce_mismatch",
    )


@pytest.mark.parametrize(
    "serials",
    [[*SERIALS[:7], "gpu-stranger"], SERIALS[:7]],
    ids=["one of 8 GPUs from an unregistered serial", "7 GPUs where 8 are registered"],
)
def test_gpus_that_are_not_the_registered_ones_are_refused(
    world: World, runner: FakeRunner, serials: list[str]
) -> None:
    dataset, _ = _dataset(world, "gpus")
    job = _job(world, [dataset["id"]])
    runner.claim(job["id"])
    _refused(runner.attest(job["id"], runner.challenge(job["id"]), serials=serials), "node.hardware_mismatch")
    assert any(entry["code"] == "node.hardware_mismatch" for entry in _ledger(world, "evidence.rejected"))


def test_a_node_quarantined_between_challenge_and_attestation_gets_nothing(
    world: World, runner: FakeRunner
) -> None:
    _, job, challenge = _challenged(world, runner, "quarantine")
    _set_node_state(world, runner, "quarantined")
    verified = world.verifier.calls
    _refused(runner.attest(job["id"], challenge), "node.not_active")
    # Refused before any Evidence is verified or any key touched, and recorded in the owner's ledger.
    assert world.verifier.calls == verified
    assert _rejections(world, job["id"]) == [
        (
            world.acme.tenant_id,
            {
                "job": job["id"],
                "node": runner.node_id,
                "session": challenge["session_id"],
                "stage": "session",
                "code": "node.not_active",
            },
        )
    ]
    _nothing_released(world, job["id"])
    # The nonce is spent: reinstated, the node cannot use that challenge again.
    _set_node_state(world, runner, "active")
    _refused(runner.attest(job["id"], challenge), "session.nonce_reused")
    _nothing_released(world, job["id"])


def test_a_session_of_another_job_is_unknown_recorded_for_the_provider_and_not_spent(
    world: World, runner: FakeRunner
) -> None:
    dataset, _ = _dataset(world, "crossed")
    first, second = _job(world, [dataset["id"]]), _job(world, [dataset["id"]])
    runner.claim(first["id"])
    runner.claim(second["id"])
    theirs = runner.challenge(second["id"])
    _refused(runner.attest(first["id"], theirs), "session.unknown")
    # The provider's view records it (the session named is not this job's, so it is not named).
    assert _rejections(world, first["id"]) == [
        (
            world.cloud.tenant_id,
            {
                "job": first["id"],
                "node": runner.node_id,
                "session": None,
                "stage": "session",
                "code": "session.unknown",
            },
        )
    ]
    _nothing_released(world, first["id"])
    # A session used against the wrong job is not spent by it: its own job still attests with it.
    world.ok(runner.attest(second["id"], theirs))


def test_a_quarantined_node_cannot_claim_or_challenge_and_both_refusals_are_recorded(
    world: World, runner: FakeRunner
) -> None:
    dataset, _ = _dataset(world, "quarantined-claim")
    claimed, open_job = _job(world, [dataset["id"]]), _job(world, [dataset["id"]])
    runner.claim(claimed["id"])
    _set_node_state(world, runner, "quarantined")
    _refused(world.client.post(f"/v1/jobs/{open_job['id']}/claim", headers=runner.headers), "node.not_active")
    _refused(
        world.client.post(f"/v1/jobs/{claimed['id']}/challenge", headers=runner.headers), "node.not_active"
    )
    for job, stage in ((open_job, "claim"), (claimed, "challenge")):
        assert _rejections(world, job["id"]) == []  # Not an attestation: a node's own refusal.
        assert _rejections(world, job["id"], "node.refused") == [
            (
                world.cloud.tenant_id,
                {"job": job["id"], "node": runner.node_id, "stage": stage, "code": "node.not_active"},
            )
        ]
    with world.services.db.transaction() as session:
        issued = session.scalars(select(AttestationSession).where(AttestationSession.job_id == claimed["id"]))
        assert list(issued) == []


def test_keys_of_the_wrong_size_are_refused_before_any_evidence_is_read(
    world: World, runner: FakeRunner
) -> None:
    dataset, job, challenge = _challenged(world, runner, "short-keys")
    short = (bytes(runner.x25519.public_key)[:31], bytes(runner.ed25519.verify_key))
    verified = world.verifier.calls
    _refused(runner.attest(job["id"], challenge, bound=bytes(64), raw_keys=short), "session.keys_invalid")
    assert world.verifier.calls == verified
    assert [data["code"] for _, data in _rejections(world, job["id"])] == ["session.keys_invalid"]
    _nothing_released(world, job["id"])
    with world.services.db.transaction() as session:
        assert session.scalars(select(Artefact.release_count).where(Artefact.id == dataset["id"])).one() == 0


def test_a_refusal_stands_with_its_code_when_the_ledger_cannot_record_it(
    world: World, runner: FakeRunner
) -> None:
    _, job, challenge = _challenged(world, runner, "unrecorded")
    before = len(_ledger(world, "evidence.rejected"))
    object.__setattr__(world.services, "ledger", UnwritableLedger(world.services.vault, world.services.clock))
    response = runner.attest(job["id"], challenge, bound=b"\x00" * 64)
    _refused(response, "attestation.report_data_mismatch")
    assert len(_ledger(world, "evidence.rejected")) == before


def _fail_ledger_writes_of(world: World, kind: str) -> None:
    """Make the database refuse ledger entries of ``kind``, as a full disk would refuse any write."""
    with world.services.db.transaction() as session:
        if world.services.db.is_postgresql:
            session.execute(
                text(
                    "CREATE FUNCTION refuse_entry() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'no space left on device'; END $$ LANGUAGE plpgsql"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse_entry BEFORE INSERT ON ledger_entries FOR EACH ROW "
                    f"WHEN (NEW.kind = '{kind}') EXECUTE FUNCTION refuse_entry()"
                )
            )
        else:
            session.execute(
                text(
                    f"CREATE TRIGGER refuse_entry BEFORE INSERT ON ledger_entries WHEN NEW.kind = '{kind}' "
                    "BEGIN SELECT RAISE(ABORT, 'no space left on device'); END"
                )
            )


def test_a_release_whose_decisions_cannot_be_recorded_is_not_made(world: World, runner: FakeRunner) -> None:
    dataset, job, challenge = _challenged(world, runner, "unwritable")
    _fail_ledger_writes_of(world, "release.decided")
    response = runner.attest(job["id"], challenge)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "storage.unavailable"
    assert "sealed_key" not in response.text
    assert "no space" not in response.text  # The driver's message stays in the gateway's log.
    _nothing_released(world, job["id"])
    with world.services.db.transaction() as session:
        assert session.scalars(select(Artefact.release_count).where(Artefact.id == dataset["id"])).one() == 0
    owner = world.acme.as_(Role.OWNER)
    assert world.ok(world.client.get(f"/v1/jobs/{job['id']}", headers=owner))["state"] == "assigned"
    # The nonce was spent before the Evidence was read: the attempt cannot be replayed.
    _refused(runner.attest(job["id"], challenge), "session.nonce_reused")


@pytest.mark.parametrize(
    ("tee", "simulated_vendor", "verifier_runs"),
    [(TeeType.SIMULATED, False, 0), (TeeType.SNP, True, 1)],
    ids=["evidence-says-simulated", "snp-report-from-the-simulated-vendor"],
)
def test_simulated_evidence_is_refused_by_a_production_gateway(
    production_world: World, tee: TeeType, simulated_vendor: bool, verifier_runs: int
) -> None:
    # Evidence that says it is simulated is refused before the Verifier runs; a report in a vendor's
    # format passes that first check, and what the Verifier establishes (simulated hardware) is
    # refused after it, before any decision.
    world = production_world
    assert not world.services.settings.allow_simulated_tee
    runner = FakeRunner.enrolled(world, "snp-node", "c0ffee55", ["g-55"], tee=TeeType.SNP)
    dataset, _ = _dataset(world, "production")
    job = world.submit_job(world.acme, [dataset["id"]], _model(world)["id"], gpu_count=1, tee_types=["snp"])
    runner.claim(job["id"])
    challenge = runner.challenge(job["id"])
    verified = world.verifier.calls
    response = runner.attest(job["id"], challenge, tee=tee, simulated_vendor=simulated_vendor)
    _refused(response, "attestation.simulated_refused")
    assert response.status_code == 422
    assert world.verifier.calls == verified + verifier_runs
    [(tenant, entry)] = _rejections(world, job["id"])
    assert tenant == world.acme.tenant_id
    assert entry["code"] == "attestation.simulated_refused"
    assert entry["session"] == challenge["session_id"]
    assert entry["stage"] == "evidence"
    _nothing_released(world, job["id"])
    # The nonce was spent: the same session cannot be tried again with other Evidence.
    _refused(runner.attest(job["id"], challenge, tee=TeeType.SNP), "session.nonce_reused")
    assert _ledger(world, "release.decided") == []


def test_evidence_of_another_tee_than_the_job_requires_is_refused(world: World) -> None:
    # The node registered and enrolled as SEV-SNP, so it is offered an SNP-only job; its Evidence is not SNP.
    runner = FakeRunner.enrolled(world, "snp-node", "c0ffee66", ["g-66"], tee=TeeType.SNP)
    dataset, _ = _dataset(world, "snp-only")
    job = world.submit_job(world.acme, [dataset["id"]], _model(world)["id"], gpu_count=1, tee_types=["snp"])
    runner.claim(job["id"])
    response = runner.attest(job["id"], runner.challenge(job["id"]), tee=TeeType.SIMULATED)
    _refused(response, "job.requirements_unmet")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    [(tenant, entry)] = _rejections(world, job["id"])
    assert tenant == world.acme.tenant_id
    assert (entry["stage"], entry["code"]) == ("evidence", "job.requirements_unmet")
    _nothing_released(world, job["id"])


@pytest.mark.parametrize(
    ("arch", "code"),
    [("blackwell", "job.requirements_unmet"), ("hopper", None)],
    ids=["Hopper GPUs for a Blackwell job", "Hopper GPUs for a Hopper job"],
)
def test_the_gpu_architecture_a_job_requires_is_checked_on_the_evidence(
    world: World, runner: FakeRunner, arch: str, code: str | None
) -> None:
    dataset, _ = _dataset(world, f"{arch}-only")
    job = world.submit_job(world.acme, [dataset["id"]], _model(world)["id"], gpu_count=8, gpu_arch=arch)
    runner.claim(job["id"])  # A node registers no GPU architecture: only its Evidence shows it.
    response = runner.attest(job["id"], runner.challenge(job["id"]))
    if code is None:
        world.ok(response)
        return
    _refused(response, code)
    [(_tenant, entry)] = _rejections(world, job["id"])
    assert entry["code"] == code
    _nothing_released(world, job["id"])


def test_a_policy_denying_one_of_three_artefacts_releases_nothing(world: World, runner: FakeRunner) -> None:
    first, _ = _dataset(world, "first")
    second, _ = _dataset(world, "second")
    upload_policy(world, "us-only", "us-east")
    third = world.create_artefact(world.acme, "third", policy={"name": "us-only", "version": 1})
    key, envelope = make_envelope(third["id"], 1000)
    world.ok(world.upload(world.acme, third["id"], 1, envelope))
    world.ok(world.deposit(world.acme, third["id"], 1, key, envelope))
    job = _job(world, [first["id"], second["id"], third["id"]])
    runner.claim(job["id"])
    response = runner.attest(job["id"], runner.challenge(job["id"]))
    _refused(response, "policy.denied")
    assert any(third["id"] in problem and "region" in problem for problem in response.json()["problems"])
    # DESIGN §5's `denied`: the refused input alone, with its rule codes and nothing of the Evidence.
    [denied] = response.json()["denied"]
    assert denied["artefact_id"] == third["id"]
    assert denied["reasons"]
    assert all("region" in reason for reason in denied["reasons"])
    assert "eu-west" not in json.dumps(denied)
    decided = [entry for entry in _ledger(world, "release.decided") if entry["job"] == job["id"]]
    assert len(decided) == 4  # three datasets and the model, each recorded, all denied
    assert all(entry["decision"] == "deny" for entry in decided)
    assert _ledger(world, "key.released") == []
    assert (
        world.ok(world.client.get(f"/v1/jobs/{job['id']}", headers=world.acme.as_(Role.OWNER)))["state"]
        == "rejected"
    )
    # The owner sees every failed rule in full; the inputs whose own policies allowed show none.
    owner = world.acme.as_(Role.OWNER)
    releases = world.ok(world.client.get(f"/v1/artefacts/{third['id']}/releases", headers=owner))["releases"]
    [failure] = releases[0]["failures"]
    assert failure["policy"] == "us-only"
    assert failure["actual"] == "node.region = eu-west"
    assert failure["message"]
    assert failure["requirement"]
    first_releases = world.ok(world.client.get(f"/v1/artefacts/{first['id']}/releases", headers=owner))
    assert first_releases["releases"][0]["failures"] == []


def test_an_artefact_at_its_release_limit_is_refused(world: World) -> None:
    dataset, _ = _dataset(world, "once", max_releases=1)
    model = _model(world)
    first = FakeRunner.enrolled(world, "n1", "c1", ["g1"])
    second = FakeRunner.enrolled(world, "n2", "c2", ["g2"])
    job_one = _job(world, [dataset["id"]], model["id"], gpus=1)
    job_two = _job(world, [dataset["id"]], model["id"], gpus=1)
    first.claim(job_one["id"])
    world.ok(first.attest(job_one["id"], first.challenge(job_one["id"])))
    second.claim(job_two["id"])
    refused = second.attest(job_two["id"], second.challenge(job_two["id"]))
    _refused(refused, "release.limit_reached")
    assert refused.json()["denied"] == [{"artefact_id": dataset["id"], "reasons": ["release.limit_reached"]}]
    # The first job re-attests (a runner restart) without being counted twice.
    world.ok(first.attest(job_one["id"], first.challenge(job_one["id"])))
    with world.services.db.transaction() as session:
        row = session.get(Artefact, dataset["id"])
        assert row is not None
        assert row.release_count == 1


def test_an_expired_artefact_is_refused(world: World, runner: FakeRunner) -> None:
    dataset, _ = _dataset(world, "expiring")
    job = _job(world, [dataset["id"]])
    with world.services.db.transaction() as session:
        session.execute(
            update(Artefact).where(Artefact.id == dataset["id"]).values(expires_at=world.services.clock.now())
        )
    runner.claim(job["id"])
    _refused(runner.attest(job["id"], runner.challenge(job["id"])), "artefact.expired")


def test_a_session_token_reaches_only_its_own_job(world: World, runner: FakeRunner) -> None:
    dataset, _ = _dataset(world, "mine")
    other_dataset, _ = _dataset(world, "theirs")
    job = _job(world, [dataset["id"]])
    other = _job(world, [other_dataset["id"]])
    runner.claim(job["id"])
    released = world.ok(runner.attest(job["id"], runner.challenge(job["id"])))
    token = bearer(released["session_token"])
    stolen = world.client.get(f"/v1/jobs/{other['id']}/inputs/{other_dataset['id']}", headers=token)
    assert stolen.status_code == 404
    assert (
        world.client.get(f"/v1/jobs/{job['id']}/inputs/{other_dataset['id']}", headers=token).status_code
        == 404
    )
    # Both attempts are recorded against the token's job, naming the job asked for, never the token.
    refusals = [
        e for _tenant, e in _rejections(world, job["id"], "runner.refused") if e["stage"] == "download"
    ]
    assert [(e["job"], e["requested_job"], e["artefact"], e["code"]) for e in refusals] == [
        (job["id"], other["id"], other_dataset["id"], "resource.not_found"),
        (job["id"], job["id"], other_dataset["id"], "resource.not_found"),
    ]
    assert all(e["session"] and e["node"] == runner.node_id for e in refusals)
    assert released["session_token"] not in json.dumps(_ledger(world, "runner.refused"))
    _nothing_released(world, other["id"])
    # And it is no API token: it cannot list artefacts or call the runner's node routes.
    assert world.client.get("/v1/artefacts", headers=token).status_code == 403
    assert world.client.get("/v1/runner/jobs", headers=token).status_code == 403
