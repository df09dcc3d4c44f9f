"""One error tree for the Verifier, with stable dotted codes.

Two branches, kept apart because the caller must treat them differently (STYLE 7):

* ``EvidenceError``: the Evidence is untrustworthy. Final: retrying with the same Evidence cannot help.
* ``CollateralError``: an Endorsement the Verifier needs is missing or stale. Retryable once the
  collateral store has been refreshed; the Evidence itself may be fine.

Every error may carry ``claims``: what had been established before the failure (for the security
team's offline tool and the ledger), never secrets.
"""

from collections.abc import Mapping
from typing import ClassVar


class AttestationError(Exception):
    """Base of every error the Verifier raises."""

    code: ClassVar[str] = "attestation.error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, claims: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.claims: dict[str, object] = dict(claims or {})


class EvidenceError(AttestationError):
    """The Evidence is untrustworthy; final."""

    code = "attestation.evidence_invalid"


class EvidenceMalformedError(EvidenceError):
    """The Evidence does not parse: wrong sizes, lengths past the end, trailing bytes, unknown fields."""

    code = "attestation.evidence_malformed"


class UnsupportedEvidenceError(EvidenceError):
    """The Evidence is of a TEE type, format version or architecture this Verifier does not handle."""

    code = "attestation.unsupported"


class SignatureInvalidError(EvidenceError):
    """A signature over the Evidence does not verify."""

    code = "attestation.signature_invalid"


class CertificateChainError(EvidenceError):
    """A certificate chain does not lead to the pinned vendor root."""

    code = "attestation.cert_chain_invalid"


class CertificateExpiredError(CertificateChainError):
    """A certificate in the chain is outside its validity period at ``now``."""

    code = "attestation.cert_expired"


class CertificateRevokedError(CertificateChainError):
    """A certificate in the chain is listed as revoked by a CRL or OCSP response in the collateral."""

    code = "attestation.cert_revoked"


class NonceMismatchError(EvidenceError):
    """The Evidence answers another nonce than the one this session expects."""

    code = "attestation.nonce_mismatch"


class ReportDataMismatchError(EvidenceError):
    """The CPU report's report data is not the expected binding."""

    code = "attestation.report_data_mismatch"


class HardwareIdentityMismatchError(EvidenceError):
    """The certificate's hardware identity differs from the report's (e.g. VCEK hwID ≠ CHIP_ID)."""

    code = "attestation.hardware_id_mismatch"


class TcbMismatchError(EvidenceError):
    """The TCB in the signing certificate differs from the TCB the report states."""

    code = "attestation.tcb_mismatch"


class ReferenceIntegrityError(EvidenceError):
    """A reference integrity manifest (e.g. an NVIDIA RIM) is forged, altered or badly chained."""

    code = "attestation.rim_invalid"


class SimulatedEvidenceRefusedError(EvidenceError):
    """Simulated Evidence was presented but the caller did not enable the simulated TEE."""

    code = "attestation.simulated_refused"


class CollateralError(AttestationError):
    """An Endorsement needed for verification is unavailable or stale; retryable."""

    code = "attestation.collateral_unavailable"
    retryable = True


class CollateralMissingError(CollateralError):
    """The collateral store has no entry the Verifier needs (a RIM id, a TCB info for an FMSPC, ...)."""

    code = "attestation.collateral_missing"


class CollateralStaleError(CollateralError):
    """The collateral is present but outside its validity window at ``now`` (TCB info, CRL, QE identity)."""

    code = "attestation.collateral_stale"


class TokenError(AttestationError):
    """An attestation token does not verify (algorithm, key id, signature, expiry, issuer)."""

    code = "attestation.token_invalid"


class TokenMalformedError(TokenError):
    """The token is not a JWT, or a required claim is missing or of the wrong type."""

    code = "attestation.token_malformed"


class TokenAlgorithmError(TokenError):
    """The token's ``alg`` is not allowed (``none``, HMAC, anything but EdDSA/ES256) or not its key's."""

    code = "attestation.token_algorithm"


class TokenKeyUnknownError(TokenError):
    """The token names no ``kid``, or one that is not among the verification keys."""

    code = "attestation.token_kid_unknown"


class TokenSignatureError(TokenError):
    """The token's signature does not verify under the key its ``kid`` names."""

    code = "attestation.token_signature_invalid"


class TokenExpiredError(TokenError):
    """The token's ``exp`` is at or before ``now``."""

    code = "attestation.token_expired"


class TokenNotYetValidError(TokenError):
    """The token's ``nbf`` or ``iat`` is after ``now``."""

    code = "attestation.token_not_yet_valid"


class TokenIssuerError(TokenError):
    """The token's ``iss`` is not the expected issuer."""

    code = "attestation.token_issuer"


class ClaimsDocumentError(AttestationError):
    """A claims document (e.g. a token's ``submods``) does not match the claims types it should hold."""

    code = "attestation.claims_document_invalid"
