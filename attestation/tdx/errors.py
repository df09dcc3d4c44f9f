"""Intel TDX specific errors: subclasses of the Verifier's tree, each with a stable code."""

from attestation.errors import CertificateChainError, CollateralMissingError, EvidenceError


class TdxRootNotPinnedError(CertificateChainError):
    """The root CA offered is not the pinned Intel SGX Root CA (and simulated roots were not allowed)."""

    code = "attestation.tdx.root_not_pinned"


class TdxTcbLevelNotFoundError(EvidenceError):
    """No TCB level of the TCB info matches the platform (Intel: TCB_NOT_SUPPORTED)."""

    code = "attestation.tdx.tcb_level_not_found"


class TdxQuoteRejectedError(EvidenceError):
    """The DCAP verification engine rejected the quote for a reason without a more precise code."""

    code = "attestation.tdx.quote_rejected"


class TdxCollateralMismatchError(CollateralMissingError):
    """The TCB info is for another FMSPC or PCE-ID than the quote's PCK certificate: fetch the right one."""

    code = "attestation.tdx.collateral_mismatch"


class TdxCollateralInvalidError(EvidenceError):
    """The collateral does not parse or is not signed by Intel (forged or corrupted Endorsements)."""

    code = "attestation.tdx.collateral_invalid"


class TdxDebugEnabledError(EvidenceError):
    """The TD runs in debug mode (TD_ATTRIBUTES.DEBUG).

    The DCAP engine (dcap-qvl 0.7) refuses to verify a debug TD at all, so unlike SEV-SNP this cannot
    be only a claim: the Verifier raises it, with ``debug: true`` among the error's claims.
    """

    code = "attestation.tdx.debug_enabled"


class TdxTcbRevokedError(EvidenceError):
    """The platform's TCB level is Revoked; the DCAP engine refuses such quotes."""

    code = "attestation.tdx.tcb_revoked"


class TdxTcbStatusRefusedError(EvidenceError):
    """The platform TCB status is not one the relying party accepts. Raised by relying parties (the CLI)."""

    code = "attestation.tdx.tcb_status_refused"
