"""One job, top to bottom: the runner's whole life as a story (DESIGN §5, §9).

claim → challenge → keys → Evidence → attest → download → decrypt into a private workspace → run →
encrypt outputs → receipt → upload → wipe. Any failure after the keys were released is reported to the
gateway by code, and the workspace is removed whatever happens.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from enclave_runner.attesters.base import CpuAttester, GpuAttester
from enclave_runner.bundle import BundleLimits, bundle_command, unpack_bundle
from enclave_runner.client import RunnerGateway
from enclave_runner.errors import InputError, RunnerError
from enclave_runner.executor import ExecutionLimits, run_job
from enclave_runner.keys import SessionKeys
from enclave_runner.protocol.binding import gpu_nonce, report_data
from enclave_runner.protocol.envelope import EnvelopeError, decrypt_file
from enclave_runner.protocol.errors import SealingError
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    EvidenceMessage,
    JobManifest,
    ReleasedKey,
    b64decode,
)
from enclave_runner.protocol.receipts import Receipt, ReceiptInput, sign_receipt
from enclave_runner.protocol.sealing import SealContext, open_data_key
from enclave_runner.results import package_results
from enclave_runner.workspace import Workspace, private_workspace, terminate_cleanly

log = logging.getLogger("ccgate.runner")
TERMINATED = "runner.terminated"
IO_ERROR = "runner.io_error"


@dataclass(frozen=True)
class RunnerConfig:
    """How this runner runs jobs."""

    workspace_base: Path | None = None
    bundle_limits: BundleLimits = field(default_factory=BundleLimits)
    max_address_space_bytes: int | None = None


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job, for the operator's log (codes only)."""

    job_id: str
    status: str
    code: str | None = None
    exit_code: int | None = None
    output_digest: str | None = None


def attest(
    client: RunnerGateway, job_id: str, manifest: JobManifest, cpu: CpuAttester, gpus: GpuAttester | None
) -> tuple[SessionKeys, str, AttestationResponse]:
    """Get a challenge, generate session keys, collect bound Evidence and post it.

    Returns (keys, session id, the gateway's answer).

    Raises:
        GatewayRefusedError: the gateway denied (policy, Evidence, replay...), with its code.
        AttesterError: Evidence could not be collected.
    """
    challenge = client.challenge(job_id)
    keys = SessionKeys.generate()
    bound = report_data(
        bytes.fromhex(challenge.nonce), keys.x25519_public, keys.ed25519_public, challenge.manifest.digest()
    )
    if challenge.manifest.digest() != manifest.digest():
        raise RunnerError("the challenge names another manifest than the claimed job")
    evidence = EvidenceMessage(cpu=cpu.collect(bound), gpus=gpus.collect(gpu_nonce(bound)) if gpus else ())
    request = AttestationRequest(session_id=challenge.session_id, keys=keys.wire(), evidence=evidence)
    return keys, challenge.session_id, client.attest(job_id, request)


@dataclass(frozen=True)
class ReleasedSession:
    """Everything one attested session holds: the job, the keys, and what the gateway released."""

    client: RunnerGateway
    manifest: JobManifest
    keys: SessionKeys = field(repr=False)
    session_id: str
    response: AttestationResponse

    @property
    def token(self) -> str:
        """The short-lived session token for downloads and the result upload."""
        return self.response.session_token or ""


def _fetch_and_decrypt(session: ReleasedSession, release: ReleasedKey, target: Path, scratch: Path) -> None:
    ciphertext = scratch / f"{release.artefact_id}.ccge"
    session.client.download(release.content_url, session.token, ciphertext, release.ciphertext_digest)
    try:
        key = open_data_key(
            b64decode(release.sealed_key),
            bytes(session.keys.x25519),
            SealContext.release(release.artefact_id, session.manifest.job_id, session.session_id),
        )
        decrypt_file(ciphertext, target, key, release.artefact_id)
    except (SealingError, EnvelopeError) as exc:
        raise InputError(f"input {release.artefact_id} does not open: {exc.code}") from exc
    finally:
        ciphertext.unlink(missing_ok=True)


def execute(session: ReleasedSession, workspace: Workspace, config: RunnerConfig) -> JobOutcome:
    """Decrypt the inputs into ``workspace``, run the bundle, upload the encrypted result and receipt.

    Raises:
        RunnerError: any failure, with its code; the caller reports it and wipes the workspace.
    """
    manifest, response = session.manifest, session.response
    for release in response.releases:
        if release.artefact_id == manifest.model.artefact_id:
            target = workspace.tmp / "bundle.tar"
        else:
            target = workspace.inputs / release.artefact_id
        _fetch_and_decrypt(session, release, target, workspace.tmp)
    bundle = unpack_bundle(workspace.tmp / "bundle.tar", workspace.model, config.bundle_limits)
    (workspace.tmp / "bundle.tar").unlink()
    limits = ExecutionLimits(
        manifest.max_runtime_seconds, max_address_space_bytes=config.max_address_space_bytes
    )
    command = bundle_command(bundle, manifest.entrypoint, manifest.arguments)
    run = run_job(workspace, command, bundle.env, limits)
    packaged = package_results(
        workspace, manifest.job_id, b64decode(manifest.result_recipient), run.stdout_path, run.stderr_path
    )
    receipt = Receipt(
        job_id=manifest.job_id,
        manifest_digest=manifest.digest().hex(),
        inputs=tuple(
            ReceiptInput(artefact_id=r.artefact_id, ciphertext_digest=r.ciphertext_digest)
            for r in response.releases
        ),
        output_digest=packaged.output_digest,
        started_at=run.started_at,
        finished_at=run.finished_at,
        exit_code=run.exit_code,
        network_isolation=run.network_isolation,
    )
    signed = sign_receipt(receipt, bytes(session.keys.ed25519))
    session.client.upload_result(
        manifest.job_id, session.token, packaged.envelope, packaged.sealed_key, signed
    )
    return JobOutcome(
        manifest.job_id, "completed", exit_code=run.exit_code, output_digest=packaged.output_digest
    )


def run_one(
    client: RunnerGateway, job_id: str, cpu: CpuAttester, gpus: GpuAttester | None, config: RunnerConfig
) -> JobOutcome:
    """Claim, attest and execute one job; every failure becomes an outcome with a code."""
    started = datetime.now(UTC)
    manifest = client.claim(job_id)
    try:
        keys, session_id, response = attest(client, job_id, manifest, cpu, gpus)
    except RunnerError as exc:
        log.warning("job %s: attestation failed: %s", job_id, exc.code)
        return JobOutcome(job_id, "rejected", code=getattr(exc, "problem_code", exc.code))
    session = ReleasedSession(client, manifest, keys, session_id, response)
    try:
        with terminate_cleanly(), private_workspace(config.workspace_base) as workspace:
            outcome = execute(session, workspace, config)
    except (RunnerError, OSError) as exc:
        # After the release every failure is reported, by code only: the details stay in the TEE.
        code = exc.code if isinstance(exc, RunnerError) else IO_ERROR
        log.warning("job %s failed: %s", job_id, code)
        _report(session, code)
        return JobOutcome(job_id, "failed", code=code)
    except SystemExit:
        # SIGTERM: the workspace was wiped on the way out; the gateway learns why, best effort.
        _report(session, TERMINATED)
        raise
    log.info("job %s completed in %.1f s", job_id, (datetime.now(UTC) - started).total_seconds())
    return outcome


def _report(session: ReleasedSession, code: str) -> None:
    try:
        session.client.report_failure(session.manifest.job_id, session.token, code, stage="execute")
    except (RunnerError, OSError) as exc:
        # The gateway expires the session on its own; the outcome printed locally still says why.
        log.warning("job %s: the failure report did not arrive: %s", session.manifest.job_id, exc)
