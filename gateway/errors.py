"""The gateway's error root. Every error has a stable dotted ``code``; HTTP mapping lives in one table.

The tree is cut by what the caller can do about it, not by which module raised it: the problem table
in ``gateway/api/problems.py`` maps each class below to one HTTP status, so a service never speaks
HTTP. Messages may be shown to the caller; they never carry a key, a token or plaintext.
"""

from collections.abc import Sequence
from typing import ClassVar


class GatewayError(Exception):
    """Base of every error the gateway, its CLI and its client raise on purpose."""

    code: ClassVar[str] = "gateway.error"


class KeyFileError(GatewayError):
    """A key file is unusable."""

    code = "keyfile.invalid"


class KeyFilePermissionsError(KeyFileError):
    """A private key file is readable or writable by group or others."""

    code = "keyfile.permissions"


class KeyFileLengthError(KeyFileError):
    """A key file does not hold exactly one key of the expected size."""

    code = "keyfile.length"


class KeyFileExistsError(KeyFileError):
    """Refusing to overwrite an existing key file."""

    code = "keyfile.exists"


class SimulationDirectoryError(GatewayError):
    """Refusing to write a simulated site into a directory that already holds something."""

    code = "sim.directory_not_empty"


class ConfigurationError(GatewayError):
    """The gateway's settings are unsafe or inconsistent; the process refuses to start."""

    code = "config.invalid"


# ---------------------------------------------------------------- callers: authentication and access


class AuthenticationError(GatewayError):
    """The request carries no usable credential."""

    code = "auth.unauthenticated"


class TokenMissingError(AuthenticationError):
    """No bearer token was sent."""

    code = "auth.token_missing"


class TokenInvalidError(AuthenticationError):
    """The token is malformed, uses another algorithm, or is not signed by a gateway key."""

    code = "auth.token_invalid"


class TokenExpiredError(AuthenticationError):
    """The token's ``exp`` has passed."""

    code = "auth.token_expired"


class TokenRevokedError(AuthenticationError):
    """The token's ``jti`` is on the deny-list, or its principal or node is no longer usable."""

    code = "auth.token_revoked"


class PermissionDeniedError(GatewayError):
    """The caller is authenticated but none of its roles grants the permission the route needs."""

    code = "auth.forbidden"


# ---------------------------------------------------------------- objects and their states


class NotFoundError(GatewayError):
    """The object does not exist, or belongs to another tenant (never told apart: tenant isolation)."""

    code = "resource.not_found"

    def __init__(self, kind: str, ident: str | int) -> None:
        super().__init__(f"no {kind} {ident!s}")
        self.kind = kind


class ConflictError(GatewayError):
    """The request is well formed but the object's current state does not allow it."""

    code = "resource.conflict"


class AlreadyExistsError(ConflictError):
    """An object with this name (or version) already exists."""

    code = "resource.exists"


class AlreadyBootstrappedError(ConflictError):
    """``ccgate admin bootstrap`` ran before; a second first admin is refused."""

    code = "admin.already_bootstrapped"


class RequestInvalidError(GatewayError):
    """The request body or parameters do not satisfy the API's schema (listed in ``problems``)."""

    code = "request.invalid"

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


class RequestTooLargeError(GatewayError):
    """A request body is larger than the configured limit."""

    code = "request.too_large"


# ---------------------------------------------------------------- artefacts, uploads, key deposits


class UploadError(GatewayError):
    """An artefact upload was refused; nothing of it was kept."""

    code = "upload.invalid"


class UploadTooLargeError(UploadError):
    """The upload is larger than the limit or than its declared Content-Length."""

    code = "upload.too_large"


class UploadLengthRequiredError(UploadError):
    """An upload must declare its exact size in Content-Length."""

    code = "upload.length_required"


class UploadTruncatedError(UploadError):
    """The upload ended before its declared Content-Length."""

    code = "upload.truncated"


class UploadDigestMismatchError(UploadError):
    """The SHA-256 of what arrived differs from the digest the client declared."""

    code = "upload.digest_mismatch"


class UploadNotEnvelopeError(UploadError):
    """What arrived is not a ccgate envelope whose size matches its own header."""

    code = "upload.not_an_envelope"


class DepositError(GatewayError):
    """A sealed data key deposit was refused; nothing was stored."""

    code = "deposit.invalid"


class DepositKekError(DepositError):
    """The deposit names a key-encryption key that is not the gateway's current one."""

    code = "deposit.kek_not_current"


class DepositDigestMismatchError(DepositError):
    """The deposit confirms another ciphertext digest than the one the gateway stored."""

    code = "deposit.digest_mismatch"


class DepositKeyMismatchError(DepositError):
    """The deposited key opens, but does not open the uploaded envelope (its key commitment differs)."""

    code = "deposit.key_mismatch"


class ContentMissingError(ConflictError):
    """The artefact version has no uploaded envelope yet (upload first, then deposit its key)."""

    code = "artefact.content_missing"


class VersionStateError(ConflictError):
    """The artefact version is not in the state this step needs (already uploaded, already deposited)."""

    code = "artefact.version_state"


class ArtefactRetiredError(ConflictError):
    """The artefact is retired; it takes no new version, upload or deposit."""

    code = "artefact.retired"


# ---------------------------------------------------------------- providers, nodes, enrolment


class ProviderNotApprovedError(ConflictError):
    """The provider's KYC status is not ``approved``; it may not register nodes."""

    code = "provider.kyc_not_approved"


class HardwareClaimedError(ConflictError):
    """A CPU id or GPU serial is already registered to another node that is not revoked."""

    code = "node.hardware_claimed"


class NodeStateError(ConflictError):
    """The node's state does not allow this step (enrolling an active node, reviving a revoked one)."""

    code = "node.state"


class EnrollmentError(GatewayError):
    """A node's enrolment attestation was refused (the node stays pending)."""

    code = "enrollment.refused"


class EnrollmentNonceError(EnrollmentError):
    """The enrolment nonce is unknown, expired or already consumed."""

    code = "enrollment.nonce_invalid"


class HardwareMismatchError(EnrollmentError):
    """The attested hardware identity differs from the one the provider registered."""

    code = "enrollment.hardware_mismatch"


class SimulatedTeeRefusedError(EnrollmentError):
    """Simulated Evidence, but the gateway does not accept the simulated TEE (production mode)."""

    code = "enrollment.simulated_refused"


class VerifierUnavailableError(GatewayError):
    """No Evidence verifier is wired into this gateway for the Evidence's TEE type."""

    code = "verifier.unavailable"


# ---------------------------------------------------------------- policies


class PolicyInvalidError(GatewayError):
    """A policy or reference-values document was rejected; ``problems`` lists why."""

    code = "policy.invalid"

    def __init__(self, message: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


# ---------------------------------------------------------------- the ledger


class StorageUnavailableError(GatewayError):
    """The database failed a read or a write (unreachable, disk full, a constraint the code did not expect).

    The transaction rolled back, so nothing it would have changed or recorded happened: a release whose
    ledger entries cannot be written is not made, and the caller may retry later.
    """

    code = "storage.unavailable"


class LedgerError(GatewayError):
    """The ledger cannot record or prove something; the operation that needed it fails."""

    code = "ledger.error"


class LedgerRangeError(LedgerError):
    """A proof was asked for sizes or indexes outside the ledger."""

    code = "ledger.range_invalid"


# ---------------------------------------------------------------- jobs and the release protocol


class JobStateError(ConflictError):
    """The job's state does not allow this step (DESIGN §4's state machine)."""

    code = "job.state_conflict"


class JobAlreadyClaimedError(ConflictError):
    """Another node claimed this job first."""

    code = "job.already_claimed"


class JobInputError(RequestInvalidError):
    """An input of a submitted job is unusable: another kind, not ready, retired or expired."""

    code = "job.input_invalid"


class SessionError(GatewayError):
    """An attestation session or its nonce is refused; nothing is released."""

    code = "session.invalid"


class SessionUnknownError(SessionError):
    """The gateway issued no such session to this node for this job."""

    code = "session.unknown"


class SessionKeysInvalidError(SessionError):
    """The posted runner keys cannot be bound into the report data (wrong sizes)."""

    code = "session.keys_invalid"


class NonceReusedError(SessionError):
    """The session's nonce was consumed already (a replay, or a retry after a failure)."""

    code = "session.nonce_reused"


class NonceExpiredError(SessionError):
    """The session's nonce expired before the Evidence arrived."""

    code = "session.expired"


class NodeNotActiveError(SessionError):
    """The node is quarantined, revoked or not enrolled: it receives no key."""

    code = "node.not_active"


class ReleaseRefusedError(GatewayError):
    """At least one artefact may not be released to this attestation; nothing was released.

    ``denied`` maps each refused artefact to the codes of its failed rules (the runner sees codes;
    the owner sees the full reasons in the ledger).
    """

    code = "release.refused"

    def __init__(self, message: str, denied: dict[str, tuple[str, ...]]) -> None:
        super().__init__(message)
        self.denied = denied
        self.problems = tuple(f"{artefact}: {', '.join(codes)}" for artefact, codes in sorted(denied.items()))


class PolicyDeniedError(ReleaseRefusedError):
    """The tenant baseline or an artefact's policy denied the release."""

    code = "policy.denied"


class ReleaseLimitError(ReleaseRefusedError):
    """An artefact reached its maximum number of releases."""

    code = "release.limit_reached"


class ArtefactExpiredError(ReleaseRefusedError):
    """An artefact is past its expiry date or retired."""

    code = "artefact.expired"


class ResultError(GatewayError):
    """A job result or its receipt was refused; nothing of it was kept."""

    code = "result.invalid"


class ResultAlreadyStoredError(ConflictError):
    """The job's one result was stored already."""

    code = "result.already_stored"


class ReceiptInvalidError(ResultError):
    """The receipt does not verify under the attested key, or does not describe this job and result."""

    code = "receipt.invalid"


class AttestedHardwareMismatchError(SessionError):
    """The attested CPU or GPUs are not the hardware the provider registered for this node."""

    code = "node.hardware_mismatch"


class AttestationSimulatedRefusedError(GatewayError):
    """Simulated Evidence posted for a release, on a gateway that does not accept the simulated TEE.

    The enrolment refusal has its own code (``enrollment.simulated_refused``): an owner reading the
    ledger sees at which step simulated hardware was turned away.
    """

    code = "attestation.simulated_refused"


class RequirementsUnmetError(SessionError):
    """The Attestation Result does not meet the job's requirements (TEE type, GPU count or architecture).

    The node was offered the job on what it registered; the keys go only to what it attested.
    """

    code = "job.requirements_unmet"
