"""NVIDIA-specific errors: subclasses of the Verifier's error tree, each with a stable code.

Callers may catch the generic classes of ``attestation.errors`` (``EvidenceMalformedError``,
``SignatureInvalidError``, ``ReferenceIntegrityError``, ``CollateralMissingError``...); the codes
here tell the security team exactly which NVIDIA check refused the Evidence.
"""

from attestation.errors import (
    CertificateChainError,
    CertificateExpiredError,
    CollateralMissingError,
    CollateralStaleError,
    EvidenceError,
    EvidenceMalformedError,
    ReferenceIntegrityError,
    SignatureInvalidError,
    TokenMalformedError,
    UnsupportedEvidenceError,
)


class SpdmMalformedError(EvidenceMalformedError):
    """The SPDM GET_MEASUREMENTS request or response does not parse."""

    code = "attestation.nvidia.spdm_malformed"


class SpdmVersionError(SpdmMalformedError):
    """The request or response is not SPDM 1.1, or the two disagree."""

    code = "attestation.nvidia.spdm_version"


class SpdmCodeError(SpdmMalformedError):
    """The request is not GET_MEASUREMENTS or the response is not MEASUREMENTS."""

    code = "attestation.nvidia.spdm_code"


class SpdmRequestError(SpdmMalformedError):
    """The request does not ask for every measurement with a signature (the only form ccgate verifies)."""

    code = "attestation.nvidia.spdm_request"


class SpdmTruncatedError(SpdmMalformedError):
    """A length field points past the end of the report."""

    code = "attestation.nvidia.spdm_truncated"


class SpdmTrailingBytesError(SpdmMalformedError):
    """Bytes follow the signature: the report is longer than its own length fields say."""

    code = "attestation.nvidia.spdm_trailing_bytes"


class SpdmMeasurementBlockError(SpdmMalformedError):
    """A measurement block has the wrong shape (specification, type, size, index, count)."""

    code = "attestation.nvidia.spdm_measurement_block"


class OpaqueDataError(SpdmMalformedError):
    """The NVIDIA opaque data (legacy TLV or NVDAOD) does not parse."""

    code = "attestation.nvidia.spdm_opaque_malformed"


class OpaqueDuplicateFieldError(OpaqueDataError):
    """An opaque data field appears twice; which one counts would be ambiguous."""

    code = "attestation.nvidia.spdm_opaque_duplicate_field"


class OpaqueMissingFieldError(OpaqueDataError):
    """An opaque data field the Verifier needs (driver or VBIOS version, project ids) is absent."""

    code = "attestation.nvidia.spdm_opaque_missing_field"


class OpaqueVersionUnsupportedError(UnsupportedEvidenceError):
    """The opaque data declares a format version or profile newer than this Verifier understands."""

    code = "attestation.nvidia.opaque_version_unsupported"


class RootNotPinnedError(CertificateChainError):
    """A root passed as an NVIDIA trust anchor is not the pinned NVIDIA root (and simulation is off)."""

    code = "attestation.nvidia.root_not_pinned"


class DeviceChainError(CertificateChainError):
    """The GPU's device certificate chain is not 5 certificates that lead to the pinned device root."""

    code = "attestation.nvidia.device_chain_invalid"


class DeviceCertificateExpiredError(CertificateExpiredError):
    """A device certificate (or the pinned device root) is outside its validity period at ``now``."""

    code = "attestation.nvidia.device_cert_expired"


class GpuArchMismatchError(EvidenceError):
    """The device certificate names a chip of another architecture than the Evidence claims."""

    code = "attestation.nvidia.arch_mismatch"


class FwidMismatchError(EvidenceError):
    """The firmware id in the report differs from the one in the device's leaf certificate."""

    code = "attestation.nvidia.fwid_mismatch"


class ReportSignatureError(SignatureInvalidError):
    """The report's ECDSA P-384 signature does not verify under the device's leaf key."""

    code = "attestation.nvidia.report_signature_invalid"


class RimMalformedError(ReferenceIntegrityError):
    """A RIM is not the expected SWID XML document (or carries constructs ccgate refuses)."""

    code = "attestation.nvidia.rim_malformed"


class RimDigestError(ReferenceIntegrityError):
    """A RIM's content does not hash to its signed reference digest: it was edited after signing."""

    code = "attestation.nvidia.rim_digest_mismatch"


class RimSignatureError(ReferenceIntegrityError):
    """A RIM's XML signature is invalid or uses an algorithm ccgate does not accept."""

    code = "attestation.nvidia.rim_signature_invalid"


class RimChainError(ReferenceIntegrityError):
    """A RIM's signing certificates do not lead to the pinned RIM root."""

    code = "attestation.nvidia.rim_chain_invalid"


class RimExpiredError(CollateralStaleError):
    """A RIM's signing chain is outside its validity period at ``now``; a re-issued RIM may help."""

    code = "attestation.nvidia.rim_expired"


class RimMissingError(CollateralMissingError):
    """The collateral has no RIM for an id the report needs."""

    code = "attestation.nvidia.rim_missing"


class MeasurementMismatchError(EvidenceError):
    """Measurements differ from the RIMs' golden values (or the RIM versions differ from the report).

    ``verify_gpu_evidence`` never raises this: mismatches are claims for the policy to judge. It exists
    for callers that need a single pass/fail verdict (the CLI), through ``require_measurements_match``.
    """

    code = "attestation.nvidia.measurement_mismatch"


class NrasSubmodDigestError(TokenMalformedError):
    """An NRAS detached EAT carries GPU tokens other than the ones its overall token names by digest."""

    code = "attestation.nvidia.nras_submod_digest"
