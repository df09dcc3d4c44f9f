"""``ccgate demo``: the whole product on one machine, every party acting through the real interfaces.

A gateway process on loopback (SQLite, local blobs, development baseline, a simulated TEE vendor); an
admin who creates a customer (data owner + security team) and an approved provider; the provider's
two nodes — one current, one whose GPUs run an old driver — registered through the API and enrolled
by ``ccgate-runner enroll`` processes; the security team's release policy; the owner's encrypted
dataset and model bundle; a job run by a ``ccgate-runner`` process; the owner's decrypted result and
offline proof; the ledger audit; and the denial on the old node with every failed rule. The Attesters
are simulated (NOT SECURITY); the Verifiers, policies, ledger, envelopes and sealing are the real ones.
"""

import base64
import contextlib
import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from attestation.evidence import TeeType
from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedTeeWarning
from enclave_runner.protocol.bundle_format import BundleManifest, write_bundle
from gateway.client.results import fetch_result
from gateway.demo import runner_process, train_logreg
from gateway.demo.dataset import write_sample_patients
from gateway.demo.fleet import Fleet, create_fleet
from gateway.demo.narration import Narrator
from gateway.demo.scenario import Scenario, create_parties, result_keys, upload_artefact, write_policy
from gateway.domain import ArtefactKind, DocumentKind, Role
from gateway.job_verification import PinnedKeys, verify_job_proof
from gateway.ledger.audit import audit_export
from gateway.local_gateway import LocalGateway, local_gateway
from gateway.schemas.jobs import JobCreate, ReleaseOut
from gateway.schemas.nodes import NodeCreate

CURRENT_NODE: Final = "h100-a"
OLD_NODE: Final = "h100-old"
OLD_DRIVER: Final = "535.86.10"
MINIMUM_DRIVER: Final = "550.0.0"
POLICY_NAME: Final = "eu-health"
REGION: Final = "eu-west"


class DemoError(Exception):
    """A step of the demo did not turn out as it must; the message says which and why."""


@dataclass(frozen=True)
class DemoOptions:
    """What the demo generates and how long the job trains."""

    rows: int = 5000
    epochs: int = 40
    gpus: int = 8


@dataclass
class DemoSummary:
    """What the demo showed, for its final summary and for tests."""

    gateway_url: str = ""
    job_id: str = ""
    accuracy: float | None = None
    proof_checks: int = 0
    ledger_entries: int = 0
    released_to: list[ReleaseOut] = field(default_factory=list)
    denied_job_id: str = ""
    denial_code: str = ""
    denial_reasons: list[str] = field(default_factory=list)
    workspace_left: list[str] = field(default_factory=list)


@dataclass
class _Nodes:
    ids: dict[str, str] = field(default_factory=dict)
    runners: dict[str, runner_process.RunnerNode] = field(default_factory=dict)


def summarise_actual(actual: str) -> str:
    """``gpu0.x = v; …; gpu7.x = v`` → ``gpu0…gpu7 x = v`` when every GPU shows the same value."""
    parts = [part.partition(" = ") for part in actual.split("; ")]
    claims = {name.partition(".")[2] for name, _, _ in parts}
    values = {value for _, _, value in parts}
    if (
        len(parts) < 2
        or len(claims) != 1
        or len(values) != 1
        or not all(p[0].startswith("gpu") for p in parts)
    ):
        return actual
    first, last = parts[0][0].partition(".")[0], parts[-1][0].partition(".")[0]
    return f"{first}…{last} {claims.pop()} = {values.pop()}"


def _check_run(run: runner_process.RunnerRun, what: str) -> None:
    if run.exit_code != 0:
        tail = "\n".join(run.log.strip().splitlines()[-8:])
        raise DemoError(f"{what} failed (exit {run.exit_code}): {run.last}\n{tail}")


def _fleet(work: Path, gpus: int) -> Fleet:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        return create_fleet(
            work / "site",
            datetime.now(UTC),
            {
                CURRENT_NODE: (SimulatedFirmware(), gpus),
                OLD_NODE: (SimulatedFirmware(driver_version=OLD_DRIVER), gpus),
            },
        )


def _register(scenario: Scenario, gateway: LocalGateway, fleet: Fleet, say: Narrator) -> _Nodes:
    nodes = _Nodes()
    with scenario.client(Role.PROVIDER) as provider:
        for name, member in fleet.nodes.items():
            made = provider.register_node(
                NodeCreate(
                    name=name,
                    region=REGION,
                    tee_type=TeeType.SIMULATED,
                    cpu_id=member.identity.cpu_id,
                    gpu_serials=list(member.identity.gpu_serials),
                    gpu_count=len(member.identity.gpu_serials),
                )
            )
            nodes.ids[name] = made.node.id
            nodes.runners[name] = runner_process.RunnerNode.install(
                gateway.url, member.directory, made.credential.token
            )
            driver = member.node.gpus[0].driver_version if member.node.gpus else "-"
            say.detail(
                f"registered {name} ({made.node.id}): {REGION}, {len(member.identity.gpu_serials)} GPUs, "
                f"driver {driver}; credential in {nodes.runners[name].credential.name} (0600)"
            )
    for name, runner in nodes.runners.items():
        run = runner_process.enroll(runner, nodes.ids[name])
        _check_run(run, f"enrolling {name}")
        say.detail(f"ccgate-runner enroll {name}: Evidence verified, node {run.last.get('state')}")
    return nodes


def _assets(scenario: Scenario, work: Path, options: DemoOptions, policy: int, say: Narrator) -> list[str]:
    owner_dir = work / "owner"
    owner_dir.mkdir(mode=0o700)
    patients = owner_dir / "patients.csv"
    write_sample_patients(patients, options.rows)
    bundle = owner_dir / "readmission-model.tar"
    write_bundle(
        bundle,
        {"train_logreg.py": Path(train_logreg.__file__).read_bytes()},
        BundleManifest({"train": ("python3", "train_logreg.py")}, {"PYTHONHASHSEED": "0"}),
    )
    ids = []
    for source, kind, name, labels in (
        (patients, ArtefactKind.DATASET, "patients-2026", ("pii", "health")),
        (bundle, ArtefactKind.MODEL, "readmission-model", ()),
    ):
        size = source.stat().st_size
        with say.progress(f"encrypting and uploading {source.name}", size) as advance:
            artefact = upload_artefact(
                scenario,
                source,
                owner_dir / f"{name}.key",
                name=name,
                kind=kind,
                policy=(POLICY_NAME, policy),
                labels=labels,
                progress=advance,
            )
        say.detail(f"{name}: {size / 1024:,.0f} KiB encrypted on this machine, uploaded as {artefact}")
        ids.append(artefact)
    return ids


def _submit(scenario: Scenario, inputs: list[str], recipient: bytes, node: str, options: DemoOptions) -> str:
    body = JobCreate.model_validate(
        {
            "datasets": [inputs[0]],
            "model": inputs[1],
            "entrypoint": "train",
            "arguments": [str(options.epochs)],
            "result_recipient": base64.b64encode(recipient).decode("ascii"),
            "tee_types": ["simulated"],
            "gpu_count": options.gpus,
            "max_runtime_seconds": 600,
            "purpose": "30-day readmission model",
            "target_node": node,
        }
    )
    with scenario.client(Role.OWNER) as owner:
        return owner.submit_job(body).id


def _result(  # noqa: PLR0917 - a demo act: where from, with which key, into where, told to whom.
    scenario: Scenario, job_id: str, key: Path, target: Path, summary: DemoSummary, say: Narrator
) -> None:
    with scenario.client(Role.OWNER) as owner:
        size = fetch_result(owner, job_id, key, target)
    metrics = json.loads((target / "output" / "metrics.json").read_text(encoding="utf-8"))
    summary.accuracy = float(metrics["accuracy"])
    say.detail(
        f"downloaded {size:,} bytes, opened the sealed result key with result.key, decrypted into {target}"
    )
    say.detail(
        f"trained on {metrics['train']:,} records for {metrics['epochs']} epochs: "
        f"held-out accuracy {summary.accuracy:.3f} on {metrics['test']:,} records"
    )


def _verify(scenario: Scenario, pinned: PinnedKeys, job_id: str, summary: DemoSummary, say: Narrator) -> None:
    with scenario.client(Role.OWNER) as owner:
        bundle = owner.job_proof(job_id)
    report = verify_job_proof(
        bundle, ledger_keys=pinned.ledger_keys, attestation_jwks=pinned.attestation_jwks
    )
    for check in report.checks:
        say.detail(f"{'ok' if check.ok else 'FAILED'}  {check.name}")
    if not report.ok:
        raise DemoError("the job's proof did not verify")
    summary.proof_checks = len(report.checks)
    receipt = bundle["receipt"]["receipt"]
    say.detail(f"exit code {receipt['exit_code']}, network isolation: {receipt['network_isolation']}")
    with scenario.client(Role.SECURITY) as security:
        audit = audit_export(security.export_ledger(), pinned.ledger_keys)
    if not audit.ok:
        raise DemoError(f"the ledger export did not verify: {audit.problems[:3]}")
    summary.ledger_entries = audit.entries
    say.step(
        "security",
        f"audited the ledger export: {audit.entries} entries and {audit.tree_heads_checked} signed tree "
        f"heads verify against the pinned ledger key (root {audit.root[:16]}…)",
    )


def _releases(scenario: Scenario, artefacts: list[str], job_id: str) -> list[ReleaseOut]:
    with scenario.client(Role.OWNER) as owner:
        return [r for artefact in artefacts for r in owner.releases(artefact) if r.job_id == job_id]


class DemoWorld:
    """The demo's parties, nodes and artefacts on a running gateway: one method per act."""

    def __init__(self, work: Path, say: Narrator, options: DemoOptions, gateway: LocalGateway) -> None:
        self.work, self.say, self.options, self.gateway = work, say, options, gateway
        self.summary = DemoSummary(gateway_url=gateway.url)
        self.scenario = Scenario(gateway.url, create_parties(gateway.url, gateway.admin_token))
        self.pinned = PinnedKeys.from_jwks(
            httpx.get(f"{gateway.url}/.well-known/jwks.json", timeout=10).json()
        )
        self.nodes = _Nodes()
        (work / "workspaces").mkdir(mode=0o700)
        self.inputs: list[str] = []
        self.names: dict[str, str] = {}
        self.private_key, self.recipient = Path(), b""

    def set_up(self, fleet: Fleet) -> None:
        say = self.say
        say.step(
            "gateway", f"serving on {self.gateway.url}: SQLite, blobs and keys in {self.gateway.data_dir}"
        )
        say.detail("the owner and the security team pin the gateway's published keys (JWKS) now")
        say.step(
            "admin", "created customer acme-health (data owner, security team), provider gpu-cloud (KYC ok)"
        )
        say.step("provider", "registers two nodes from one simulated vendor; each runner enrols its node")
        self.nodes = _register(self.scenario, self.gateway, fleet, say)
        version = write_policy(self.scenario, name=POLICY_NAME, regions=REGION, driver=MINIMUM_DRIVER)
        with self.scenario.client(Role.SECURITY) as security:
            document = security.document(DocumentKind.RELEASE_POLICY, POLICY_NAME, version)
        say.step(
            "security",
            f"release policy {POLICY_NAME} v{version} (sha256 {document.digest[:16]}…): EU region, "
            f"GPU driver >= {MINIMUM_DRIVER}, GPU measurements match, registered GPUs; on top of the "
            "tenant baseline",
        )
        say.step("owner", "encrypts a dataset and a model bundle locally; the gateway stores only ciphertext")
        self.inputs = _assets(self.scenario, self.work, self.options, version, say)
        self.names = {artefact: name for name, artefact in self.scenario.artefacts.items()}
        self.private_key, self.recipient = result_keys(self.work / "owner")
        say.detail("result key pair: result.key (0600) stays here; its public half goes into the job")

    def submit(self, node: str) -> str:
        """Submit the demo's job (the dataset, the bundle's ``train`` entrypoint) on ``node``."""
        return _submit(self.scenario, self.inputs, self.recipient, self.nodes.ids[node], self.options)

    def run_job(self) -> None:
        say, options = self.say, self.options
        job_id = self.submit(CURRENT_NODE)
        self.summary.job_id = job_id
        say.step(
            "owner",
            f"submitted job {job_id}: train {options.epochs} epochs, {options.gpus} GPUs, {CURRENT_NODE}",
        )
        run = runner_process.run_job(self.nodes.runners[CURRENT_NODE], job_id, self.work / "workspaces")
        _check_run(run, f"running job {job_id}")
        say.step(
            "runner",
            f"{CURRENT_NODE}: claimed, attested (CPU + {options.gpus} GPUs), got sealed keys, decrypted, "
            f"trained, encrypted the result to the owner, signed the receipt: {run.last.get('status')}",
        )
        self.summary.workspace_left = sorted(p.name for p in (self.work / "workspaces").iterdir())
        say.detail(
            f"workspace wiped: {'yes' if not self.summary.workspace_left else self.summary.workspace_left}"
        )
        say.step("owner", "fetches and decrypts the result")
        _result(self.scenario, job_id, self.private_key, self.work / "owner" / "result", self.summary, say)
        say.step("owner", "verifies the job offline against the pinned keys")
        _verify(self.scenario, self.pinned, job_id, self.summary, say)
        self.summary.released_to = _releases(self.scenario, self.inputs, job_id)
        say.step("owner", "lists who received the keys")
        for release in self.summary.released_to:
            gpus = ", ".join(serial[:10] for serial in release.gpu_serials[:2])
            say.detail(
                f"{self.names[release.artefact_id]} → node {release.node_id} "
                f"(provider {release.provider_id}) at {release.decided_at:%H:%M:%S}, "
                f"{len(release.gpu_serials)} GPUs ({gpus}, …), "
                f"policies {', '.join(d[:12] for d in release.policy_digests)}"
            )

    def deny(self) -> None:
        say = self.say
        say.step("owner", f"submits the same job on {OLD_NODE}, whose GPUs run driver {OLD_DRIVER}")
        job_id = self.submit(OLD_NODE)
        run = runner_process.run_job(self.nodes.runners[OLD_NODE], job_id, self.work / "workspaces")
        if run.exit_code == 0 or run.last.get("code") != "policy.denied":
            raise DemoError(f"the job on {OLD_NODE} was not denied by policy: {run.last}")
        self.summary.denied_job_id, self.summary.denial_code = job_id, "policy.denied"
        say.step(
            "runner", f"{OLD_NODE}: attestation refused with policy.denied (codes only); no key released"
        )
        say.step("owner", "sees why, in full")
        for release in _releases(self.scenario, self.inputs, job_id):
            for failure in release.failures:
                reason = f"{failure.policy}/{failure.rule}: {failure.message}"
                self.summary.denial_reasons.append(reason)
                say.detail(f"{self.names[release.artefact_id]}: {reason}")
                say.detail(f"    found: {summarise_actual(failure.actual)}")
        if not self.summary.denial_reasons:
            raise DemoError("the denial carried no failed rules")


@contextlib.contextmanager
def demo_world(work: Path, say: Narrator, options: DemoOptions | None = None) -> Iterator[DemoWorld]:
    """A gateway with the demo's parties, enrolled nodes, policy and artefacts; stopped on exit.

    Raises:
        DemoError: a step did not turn out as it must.
        RuntimeError: the gateway did not start.
    """
    options = options or DemoOptions()
    fleet = _fleet(work, options.gpus)
    settings = {"CCGATE_ALLOW_SIMULATED_TEE": "true", "CCGATE_SIMULATED_SITE": str(fleet.site)}
    with local_gateway(work / "gateway", settings) as gateway:
        world = DemoWorld(work, say, options, gateway)
        world.set_up(fleet)
        yield world


def run_demo(work: Path, say: Narrator, options: DemoOptions | None = None) -> DemoSummary:
    """Run every act in ``work`` (an empty directory); return what it showed.

    Raises:
        DemoError: a step did not turn out as it must.
        RuntimeError: the gateway did not start.
    """
    with demo_world(work, say, options) as world:
        world.run_job()
        world.deny()
    return world.summary
