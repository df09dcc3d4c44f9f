"""``ccgate bench release``: full releases per second and their latency, through a real gateway.

A gateway process on loopback (SQLite, development mode with a simulated site) is populated through
the API like the demo: an approved provider's node with 8 simulated GPUs, enrolled; an artefact
policy with production-style rules (region, minimum GPU driver on every GPU, every GPU's
measurements, registered GPUs) on top of the tenant baseline; a dataset and a model bundle. Then one
job per release is submitted and claimed (untimed), a few releases warm the caches, and the timed
releases run ``concurrency`` at a time. A release is a challenge, Evidence bound to it (simulated CPU
report + one real-format SPDM report per GPU, made by the load generator in this process), and the
attestation that verifies it all with the real NVIDIA Verifier code, evaluates both policies,
records the decisions and seals two data keys. Latency is per release as the runner sees it; the
load generator shares the machine's cores with the gateway, as a runner on the same host would.

The timed requests go over the standard library's ``http.client``, one keep-alive connection per
simulated runner, rather than httpx (which the real runner uses): httpx spent about 1 ms of CPU per
request in the load generator, and on a two-core machine that time is taken from the gateway being
measured. The untimed set-up uses httpx.
"""

import base64
import http.client
import os
import statistics
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import urlsplit

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
from gateway.ledger.audit import audit_export
from gateway.local_gateway import local_gateway
from gateway.schemas.jobs import JobCreate
from gateway.simulated_attestation import simulated_evidence
from gateway.simulation import create_simulated_site, write_site

T = TypeVar("T")
TARGET_P50_MS: Final = 25.0
TARGET_RELEASES_PER_SECOND: Final = 100.0
WARMUP: Final = 5


@dataclass
class ReleaseBenchReport:
    """What ``ccgate bench release`` prints."""

    releases: int
    gpus: int
    concurrency: int
    full_seconds: list[float] = field(default_factory=list)
    attest_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    refused: int = 0
    workers: int = 1
    ledger_entries: int = 0
    gateway_cpu_seconds: float | None = None
    load_cpu_seconds: float = 0.0

    def cpu_ms_per_release(self, seconds: float | None) -> float | None:
        """CPU time per completed release, in milliseconds (None when it could not be measured)."""
        if seconds is None or not self.full_seconds:
            return None
        return seconds / len(self.full_seconds) * 1000

    @property
    def cpu_bound_ceiling(self) -> float | None:
        """Releases per second this machine's cores could give at the measured CPU cost per release."""
        gateway = self.cpu_ms_per_release(self.gateway_cpu_seconds)
        load = self.cpu_ms_per_release(self.load_cpu_seconds)
        if gateway is None or load is None or gateway + load <= 0:
            return None
        return (os.cpu_count() or 1) * 1000 / (gateway + load)

    @property
    def per_second(self) -> float:
        """Completed releases per second of wall time."""
        return len(self.full_seconds) / self.wall_seconds if self.wall_seconds else 0.0

    @staticmethod
    def percentile(seconds: list[float], q: int) -> float:
        """The q-th percentile in milliseconds."""
        if len(seconds) < 2:
            return seconds[0] * 1000 if seconds else 0.0
        return statistics.quantiles(seconds, n=100, method="inclusive")[q - 1] * 1000


def process_tree_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its descendants so far (Linux ``/proc``; else None).

    ``ccgate serve --workers N`` runs its workers as child processes, so the whole tree is counted.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return None
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # A process that exited meanwhile.
        stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    if pid not in stats:
        return None
    children: dict[int, list[int]] = {}
    for child, (parent, _cpu) in stats.items():
        children.setdefault(parent, []).append(child)
    tree, unvisited = [], [pid]
    while unvisited:
        member = unvisited.pop()
        tree.append(member)
        unvisited.extend(children.get(member, ()))
    return sum(stats[member][1] for member in tree)


def _populate(
    url: str, admin: str, work: Path, node: SimulatedNode, identity: SiteIdentity
) -> tuple[Scenario, str, str]:
    scenario = Scenario(url, create_parties(url, admin))
    register_and_enrol(scenario, node, identity)
    version = write_policy(scenario)
    (work / "data.csv").write_bytes(os.urandom(64 * 1024))
    (work / "bundle.tar").write_bytes(os.urandom(16 * 1024))
    policy = ("eu-health", version)
    dataset = upload_artefact(
        scenario,
        work / "data.csv",
        work / "data.key",
        name="patients",
        kind=ArtefactKind.DATASET,
        policy=policy,
    )
    model = upload_artefact(
        scenario,
        work / "bundle.tar",
        work / "bundle.key",
        name="bundle",
        kind=ArtefactKind.MODEL,
        policy=policy,
    )
    return scenario, dataset, model


class RunnerConnections:
    """One keep-alive HTTP/1.1 connection per load-generating thread, as each runner has its own."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []

    def post(self, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """POST ``body`` to ``path``; the status and the whole response body."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=120)
            self._local.connection = connection
            self._opened.append(connection)
        connection.request("POST", path, body=body, headers=self._headers)
        response = connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        """Close every connection opened."""
        for connection in self._opened:
            connection.close()


def _release(client: RunnerConnections, node: SimulatedNode, job_id: str) -> tuple[float, float, bool]:
    """One full release: challenge, Evidence, attestation. Returns (full seconds, attest seconds, ok)."""
    started = time.perf_counter()
    status, content = client.post(f"/v1/jobs/{job_id}/challenge")
    if status != 200:
        return time.perf_counter() - started, 0.0, False
    challenge = Challenge.model_validate_json(content)
    sealing, signing = nacl.public.PrivateKey.generate(), nacl.signing.SigningKey.generate()
    bound = report_data(
        bytes.fromhex(challenge.nonce),
        bytes(sealing.public_key),
        bytes(signing.verify_key),
        challenge.manifest.digest(),
    )
    body = AttestationRequest(
        session_id=challenge.session_id,
        keys=RunnerKeys(
            x25519=b64encode(bytes(sealing.public_key)), ed25519=b64encode(bytes(signing.verify_key))
        ),
        evidence=simulated_evidence(node, bound),
    ).model_dump_json()
    attest_started = time.perf_counter()
    status, _ = client.post(f"/v1/jobs/{job_id}/attestation", body.encode("utf-8"))
    finished = time.perf_counter()
    return finished - started, finished - attest_started, status == 200


def time_releases(
    report: ReleaseBenchReport,
    server_pid: int,
    release: Callable[[T], tuple[float, float, bool]],
    subjects: Sequence[T],
) -> None:
    """Release the first ``WARMUP`` subjects untimed, then the rest ``report.concurrency`` at a time.

    ``release`` returns (full seconds, attestation seconds, released); the report gets the times of
    the releases made, the count of those refused, the wall time and the CPU time the server's
    process tree and this process spent on the timed ones.
    """
    for subject in subjects[:WARMUP]:
        release(subject)
    server_cpu, load_cpu = process_tree_cpu_seconds(server_pid), time.process_time()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=report.concurrency) as pool:
        outcomes = list(pool.map(release, subjects[WARMUP:]))
    report.wall_seconds = time.perf_counter() - started
    report.load_cpu_seconds = time.process_time() - load_cpu
    server_after = process_tree_cpu_seconds(server_pid)
    if server_cpu is not None and server_after is not None:
        report.gateway_cpu_seconds = server_after - server_cpu
    for full, attest, ok in outcomes:
        if ok:
            report.full_seconds.append(full)
            report.attest_seconds.append(attest)
        else:
            report.refused += 1


def run_release_bench(
    releases: int = 300, *, gpus: int = 8, concurrency: int = 4, workers: int = 1
) -> ReleaseBenchReport:
    """Run the benchmark against a fresh local gateway and return the report.

    Raises:
        RuntimeError: the gateway did not start, a release was refused, or the ledger does not
            verify afterwards.
    """
    report = ReleaseBenchReport(releases, gpus, concurrency, workers=workers)
    with tempfile.TemporaryDirectory(prefix="ccgate-bench-release-") as scratch:
        work = Path(scratch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SimulatedTeeWarning)
            site = create_simulated_site(datetime.now(UTC), gpus=gpus)
        write_site(site, work / "site")
        settings = {"CCGATE_ALLOW_SIMULATED_TEE": "true", "CCGATE_SIMULATED_SITE": str(work / "site")}
        with local_gateway(work / "data", settings, workers=workers) as gateway:
            scenario, dataset, model = _populate(
                gateway.url, gateway.admin_token, work, site.node, SiteIdentity.from_site(work / "site")
            )
            recipient = base64.b64encode(os.urandom(32)).decode("ascii")
            job_body = JobCreate.model_validate(
                {
                    "datasets": [dataset],
                    "model": model,
                    "entrypoint": "train",
                    "result_recipient": recipient,
                    "tee_types": ["simulated"],
                    "gpu_count": gpus,
                }
            )
            with scenario.client(Role.OWNER) as owner:
                jobs = [owner.submit_job(job_body).id for _ in range(releases + WARMUP)]
            headers = {"Authorization": f"Bearer {scenario.node_token}"}
            with httpx.Client(base_url=gateway.url, headers=headers, timeout=120) as setup:
                for job in jobs:
                    setup.post(f"/v1/jobs/{job}/claim").raise_for_status()
            client = RunnerConnections(gateway.url, scenario.node_token)
            try:
                time_releases(report, gateway.pid, lambda job: _release(client, site.node, job), jobs)
            finally:
                client.close()
            # A benchmark of a ledger that does not verify measures nothing: audit it after the run.
            export = httpx.get(
                f"{gateway.url}/v1/ledger/export",
                headers={"Authorization": f"Bearer {gateway.admin_token}"},
                timeout=300,
            )
            export.raise_for_status()
            audit = audit_export(export.json())
            report.ledger_entries = len(export.json()["entries"])
    if report.refused:
        raise RuntimeError(f"{report.refused} of {releases} releases were refused; the benchmark is void")
    if not audit.ok:
        raise RuntimeError(
            f"the ledger does not verify after the run ({audit.problems[:3]}); the benchmark is void"
        )
    return report
