"""One job, top to bottom: the runner's whole life as a story (DESIGN §5, §9).

claim → challenge → keys → Evidence → attest → download → decrypt into a private workspace → run →
encrypt outputs → receipt → upload → wipe. Any failure after the keys were released is reported to the
gateway by its code and the stage it happened in, and the workspace is removed whatever happens. A
failure before the release is the gateway's own answer (or Evidence that could not be collected): it
ends the attempt locally, with no session to report it in.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from enclave_runner.attesters.base import CpuAttester, GpuAttester
from enclave_runner.bundle import BundleLimits, bundle_command, unpack_bundle
from enclave_runner.client import RunnerGateway
from enclave_runner.errors import InputError, InputKeyError, ReleaseError, ReleaseMismatchError, RunnerError
from enclave_runner.executor import DEFAULT_MAX_FILE_BYTES, ExecutionLimits, NetworkSandbox, run_job
from enclave_runner.keys import SessionKeys
from enclave_runner.protocol.binding import gpu_nonce, report_data
from enclave_runner.protocol.envelope import EnvelopeError, decrypt_file
from enclave_runner.protocol.errors import SealingError
from enclave_runner.protocol.messages import (
    AttestationRequest,
    AttestationResponse,
    EvidenceMessage,
    FailureStage,
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
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    network: NetworkSandbox | None = None  # None: this machine's ``unshare``, probed once


@dataclass(frozen=True)
class JobOutcome:
    """What happened to one job, for the operator's log (codes only)."""

    job_id: str
    status: str
    code: str | None = None
    stage: FailureStage | None = None
    exit_code: int | None = None
    output_digest: str | None = None


def attest(
    client: RunnerGateway, job_id: str, manifest: JobManifest, cpu: CpuAttester, gpus: GpuAttester | None
) -> tuple[SessionKeys, str, AttestationResponse]:
    """Get a challenge, generate session keys, collect bound Evidence and post it.

    Returns (keys, session id, the gateway's answer).

    The attestation is sent once: its nonce is single-use, so nothing here is retried.

    Raises:
        GatewayRefusedError: the gateway denied (policy, Evidence, replay...), with its code.
        GatewayUnreachableError: the challenge or the attestation did not complete.
        AttesterError: Evidence could not be collected.
        ReleaseError: the answer carries denials or no session token.
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
    response = client.attest(job_id, request)
    if response.denied or response.session_token is None:
        raise ReleaseError("the gateway's answer releases nothing: denials, or no session token")
    return keys, challenge.session_id, response


def check_release(manifest: JobManifest, response: AttestationResponse) -> None:
    """Check that the released keys cover exactly the artefacts the manifest pins, at its digests.

    The digests the downloads are checked against, and that the receipt names, are the gateway's;
    this ties them to the manifest the Evidence was bound to.

    Raises:
        ReleaseMismatchError: an artefact is missing, extra, repeated, or released at another digest.
    """
    pinned = sorted((a.artefact_id, a.ciphertext_digest) for a in (*manifest.datasets, manifest.model))
    released = sorted((r.artefact_id, r.ciphertext_digest) for r in response.releases)
    if released != pinned:
        raise ReleaseMismatchError("the released keys do not match the artefacts the manifest pins")


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
        """The short-lived session token for downloads, the result upload and the failure report."""
        # ``attest`` refuses an answer without one, so a ReleasedSession always has it.
        return self.response.session_token or ""


@dataclass
class Progress:
    """The stage the job is in, so a failure (or SIGTERM) is reported with where it happened."""

    stage: FailureStage = FailureStage.ATTEST


def _fetch_and_decrypt(
    session: ReleasedSession, release: ReleasedKey, target: Path, scratch: Path, progress: Progress
) -> None:
    ciphertext = scratch / f"{release.artefact_id}.ccge"
    try:
        progress.stage = FailureStage.DOWNLOAD
        session.client.download(release.content_url, session.token, ciphertext, release.ciphertext_digest)
        # Only a ciphertext whose digest matched is here: the key is not even unsealed before that.
        progress.stage = FailureStage.DECRYPT
        try:
            key = open_data_key(
                b64decode(release.sealed_key),
                bytes(session.keys.x25519),
                SealContext.release(release.artefact_id, session.manifest.job_id, session.session_id),
            )
        except SealingError as exc:
            raise InputKeyError(f"the key of input {release.artefact_id} does not open: {exc.code}") from exc
        try:
            decrypt_file(ciphertext, target, key, release.artefact_id)
        except EnvelopeError as exc:
            raise InputError(f"input {release.artefact_id} does not decrypt: {exc.code}") from exc
    finally:
        ciphertext.unlink(missing_ok=True)


def execute(
    session: ReleasedSession, workspace: Workspace, config: RunnerConfig, progress: Progress | None = None
) -> JobOutcome:
    """Decrypt the inputs into ``workspace``, run the bundle, upload the encrypted result and receipt.

    ``progress`` follows the stages as they start, for the caller's failure report.

    Raises:
        RunnerError: any failure, with its code; the caller reports it and wipes the workspace.
    """
    progress = progress or Progress()
    manifest, response = session.manifest, session.response
    for release in response.releases:
        if release.artefact_id == manifest.model.artefact_id:
            target = workspace.tmp / "bundle.tar"
        else:
            target = workspace.inputs / release.artefact_id
        _fetch_and_decrypt(session, release, target, workspace.tmp, progress)
    progress.stage = FailureStage.UNPACK
    bundle = unpack_bundle(workspace.tmp / "bundle.tar", workspace.model, config.bundle_limits)
    (workspace.tmp / "bundle.tar").unlink()
    command = bundle_command(bundle, manifest.entrypoint, manifest.arguments)
    limits = ExecutionLimits(
        manifest.max_runtime_seconds,
        max_address_space_bytes=config.max_address_space_bytes,
        max_file_bytes=config.max_file_bytes,
    )
    progress.stage = FailureStage.EXECUTE
    run = run_job(workspace, command, bundle.env, limits, config.network)
    progress.stage = FailureStage.ENCRYPT
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
    progress.stage = FailureStage.UPLOAD
    session.client.upload_result(
        manifest.job_id, session.token, packaged.envelope, packaged.sealed_key, signed
    )
    return JobOutcome(
        manifest.job_id, "completed", exit_code=run.exit_code, output_digest=packaged.output_digest
    )


def run_one(
    client: RunnerGateway, job_id: str, cpu: CpuAttester, gpus: GpuAttester | None, config: RunnerConfig
) -> JobOutcome:
    """Claim, attest and execute one job; every failure becomes an outcome with a code and a stage.

    Raises:
        RunnerError: the claim itself failed (nothing was started).
    """
    started = datetime.now(UTC)
    manifest = client.claim(job_id)
    try:
        keys, session_id, response = attest(client, job_id, manifest, cpu, gpus)
    except RunnerError as exc:
        log.warning("job %s: attestation failed: %s", job_id, exc.code)
        code = getattr(exc, "problem_code", exc.code)
        return JobOutcome(job_id, "rejected", code=code, stage=FailureStage.ATTEST)
    session = ReleasedSession(client, manifest, keys, session_id, response)
    progress = Progress()
    try:
        with terminate_cleanly():
            check_release(manifest, response)
            progress.stage = FailureStage.WORKSPACE
            with private_workspace(config.workspace_base) as workspace:
                outcome = execute(session, workspace, config, progress)
    except (RunnerError, OSError) as exc:
        # After the release every failure is reported, by code and stage only: the details stay in the TEE.
        code = exc.code if isinstance(exc, RunnerError) else IO_ERROR
        log.warning("job %s failed at %s: %s", job_id, progress.stage, code)
        _report(session, code, progress.stage)
        return JobOutcome(job_id, "failed", code=code, stage=progress.stage)
    except SystemExit:
        # SIGTERM: the workspace was wiped on the way out; the gateway learns why, best effort.
        _report(session, TERMINATED, progress.stage)
        raise
    log.info("job %s completed in %.1f s", job_id, (datetime.now(UTC) - started).total_seconds())
    return outcome


def _report(session: ReleasedSession, code: str, stage: FailureStage) -> None:
    try:
        session.client.report_failure(session.manifest.job_id, session.token, code, stage)
    except (RunnerError, OSError) as exc:
        # The gateway expires the session on its own; the outcome printed locally still says why.
        log.warning("job %s: the failure report did not arrive: %s", session.manifest.job_id, exc)
