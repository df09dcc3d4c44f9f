"""SEV-SNP specific errors: subclasses of the Verifier's tree, each with a stable code."""

from attestation.errors import CertificateChainError, EvidenceError


class SnpRootNotPinnedError(CertificateChainError):
    """The ARK offered is not one of the pinned AMD roots (and simulated roots were not allowed)."""

    code = "attestation.snp.root_not_pinned"


class SnpSigningKeyMismatchError(CertificateChainError):
    """The report's SIGNING_KEY (VCEK or VLEK) differs from the kind of certificate offered."""

    code = "attestation.snp.signing_key_mismatch"


class SnpProductMismatchError(CertificateChainError):
    """The VCEK/VLEK, its ASK/ASVK, the ARK and the report's CPUID name different products."""

    code = "attestation.snp.product_mismatch"


class SnpDebugEnabledError(EvidenceError):
    """The guest policy allows debugging. Raised by relying parties (the CLI), never by the Verifier,
    which reports ``debug`` as a claim for policies to judge."""

    code = "attestation.snp.debug_enabled"
