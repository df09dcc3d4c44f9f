"""The TDX Verifier: a DCAP quote + Intel collateral + ``now`` → ``CpuClaims``.

dcap-qvl (Phala's Rust DCAP engine) is the verification engine: quote and QE report signatures, the
attestation-key binding, the PCK chain to the root we pass, the CRLs' signatures, the TCB info and QE
identity signatures, and TCB level matching. It takes the verification time as ``now_secs``. Around it,
ccgate adds what it does not do, or does not report with a stable code:

* the root CA must be the pinned Intel SGX Root CA (or simulated roots explicitly allowed);
* the TCB info must be for the quote's FMSPC and PCE-ID (else a retryable mismatch: fetch the right one);
* TCB info, QE identity and both CRLs must be current at ``now`` (dcap-qvl does not check CRL dates);
* the PCK and its CA must not be listed in the CRLs (checked here too, for a precise code);
* report data equals the expected binding; TCB status and advisories are claims.

Two judgements cannot be left to policies because dcap-qvl refuses to verify such quotes at all: a
debug TD (``TdxDebugEnabledError``, the error's claims say ``debug: true``) and a Revoked TCB level
(``TdxTcbRevokedError``). Every other status (UpToDate, SWHardeningNeeded, ConfigurationNeeded,
OutOfDate, ...) is returned as the ``tcb_status`` claim.
"""

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

import dcap_qvl
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.errors import (
    AttestationError,
    CertificateChainError,
    CertificateExpiredError,
    CertificateRevokedError,
    CollateralStaleError,
    EvidenceMalformedError,
    ReportDataMismatchError,
    SignatureInvalidError,
)
from attestation.evidence import TeeType
from attestation.pki import load_pem_chain
from attestation.result import (
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    RevocationStatus,
    TcbStatus,
    TdxClaims,
)
from attestation.roots import PinnedRoot, pinned_root_name
from attestation.tdx.collateral import TdxCollateral
from attestation.tdx.errors import (
    TdxCollateralInvalidError,
    TdxCollateralMismatchError,
    TdxDebugEnabledError,
    TdxQuoteRejectedError,
    TdxRootNotPinnedError,
    TdxTcbLevelNotFoundError,
    TdxTcbRevokedError,
)
from attestation.tdx.quote import TdxQuote, parse_quote

T = TypeVar("T")

# dcap-qvl reports failures as ValueError text; these patterns give them stable codes. Order matters:
# the first match wins, and anything unmatched becomes TdxQuoteRejectedError with the engine's text.
_ENGINE_ERRORS: tuple[tuple[re.Pattern[str], type[AttestationError]], ...] = (
    (re.compile(r"no matching tcb level", re.I), TdxTcbLevelNotFoundError),
    (re.compile(r"debug mode is enabled", re.I), TdxDebugEnabledError),
    (re.compile(r"tcb status is invalid: revoked", re.I), TdxTcbRevokedError),
    (re.compile(r"(tcbinfo|qeidentity|tcb info|qe identity).*expired", re.I), CollateralStaleError),
    (re.compile(r"CertNotValidYet|CertExpired", re.I), CertificateExpiredError),
    (re.compile(r"revoked", re.I), CertificateRevokedError),
    (
        re.compile(r"signature is invalid for (tcb_info|qe_identity)|InvalidCrlSignature", re.I),
        TdxCollateralInvalidError,
    ),
    (re.compile(r"signature|hash mismatch", re.I), SignatureInvalidError),
    (re.compile(r"certificate chain|UnknownIssuer|BadSignature", re.I), CertificateChainError),
    (re.compile(r"decode quote|not enough data", re.I), EvidenceMalformedError),
)


def _step(progress: dict[str, object], run: Callable[[], T]) -> T:
    try:
        return run()
    except AttestationError as exc:
        exc.claims = {**progress, **exc.claims}
        raise


def _check_root(collateral: TdxCollateral) -> bool:
    """Return whether the root is simulated; refuse an unpinned root unless explicitly allowed."""
    if pinned_root_name(collateral.root_ca) is PinnedRoot.INTEL_SGX_ROOT:
        return False
    if not collateral.allow_simulated_root:
        raise TdxRootNotPinnedError("the root CA is not the pinned Intel SGX Root CA")
    return True


def _check_fresh(collateral: TdxCollateral, now: datetime) -> datetime:
    """Refuse collateral past its nextUpdate at ``now``; return the earliest nextUpdate."""
    deadlines = {
        "the TCB info": collateral.tcb_info.next_update,
        "the QE identity": collateral.qe_identity.next_update,
        "the PCK CRL": collateral.pck_crl.next_update_utc,
        "the root CA CRL": collateral.root_ca_crl.next_update_utc,
    }
    for what, deadline in deadlines.items():
        if deadline is None or deadline < now:
            raise CollateralStaleError(
                f"{what} is stale: nextUpdate {deadline} is before {now:%Y-%m-%dT%H:%M:%SZ}"
            )
    return min(deadline for deadline in deadlines.values() if deadline is not None)


def _pck_chain(quote: TdxQuote) -> tuple[x509.Certificate, ...]:
    # The embedded PEM chain may end with a NUL terminator, as the quote generation library writes it.
    return load_pem_chain(quote.pck_chain_pem.rstrip(b"\0"))


def _check_revocation(chain: tuple[x509.Certificate, ...], collateral: TdxCollateral) -> None:
    pck, ca = chain[0], chain[1] if len(chain) > 1 else None
    if collateral.pck_crl.get_revoked_certificate_by_serial_number(pck.serial_number) is not None:
        raise CertificateRevokedError(f"the PCK certificate (serial {pck.serial_number:#x}) is revoked")
    if ca is not None and collateral.root_ca_crl.get_revoked_certificate_by_serial_number(ca.serial_number):
        raise CertificateRevokedError("the PCK CA certificate is revoked by the root CA CRL")


def _pck_identity(quote: TdxQuote, collateral: TdxCollateral) -> tuple[str, str, str]:
    """(fmspc, pce_id, ppid) from the PCK's SGX extension; the TCB info must be for that FMSPC/PCE-ID."""
    try:
        extension = dcap_qvl.parse_pck_extension_from_pem(quote.pck_chain_pem.rstrip(b"\0"))
    except ValueError as exc:
        raise EvidenceMalformedError(f"the PCK certificate's SGX extension does not parse: {exc}") from exc
    fmspc, pce_id, ppid = extension.fmspc.hex(), extension.pce_id.hex(), extension.ppid.hex()
    if collateral.tcb_info.fmspc != fmspc or collateral.tcb_info.pce_id != pce_id:
        raise TdxCollateralMismatchError(
            f"the TCB info is for FMSPC {collateral.tcb_info.fmspc} / PCE-ID {collateral.tcb_info.pce_id}, "
            f"the quote's PCK for {fmspc} / {pce_id}"
        )
    return fmspc, pce_id, ppid


def _engine(quote: bytes, collateral: TdxCollateral, now: datetime) -> dict[str, object]:
    """Run dcap-qvl with a claims-only policy (status is judged by policies) and return its claims."""
    qvl_collateral = dcap_qvl.QuoteCollateralV3(
        pck_crl_issuer_chain=collateral.pck_crl_issuer_chain,
        root_ca_crl=collateral.root_ca_crl.public_bytes(Encoding.DER),
        pck_crl=collateral.pck_crl.public_bytes(Encoding.DER),
        tcb_info_issuer_chain=collateral.tcb_info_issuer_chain,
        tcb_info=collateral.tcb_info.text,
        tcb_info_signature=collateral.tcb_info.signature,
        qe_identity_issuer_chain=collateral.qe_identity_issuer_chain,
        qe_identity=collateral.qe_identity.text,
        qe_identity_signature=collateral.qe_identity.signature,
    )
    now_secs = int(now.timestamp())
    verifier = dcap_qvl.QuoteVerifier(collateral.root_ca.public_bytes(Encoding.DER))
    try:
        claims = verifier.verify_with_policy(
            quote, qvl_collateral, now_secs, dcap_qvl.QuotePolicy.claims_only(now_secs)
        )
    except ValueError as exc:
        message = " ".join(str(exc).split())
        for pattern, error in _ENGINE_ERRORS:
            if pattern.search(message):
                raise error(f"DCAP verification failed: {message}") from exc
        raise TdxQuoteRejectedError(f"DCAP verification failed: {message}") from exc
    document = json.loads(claims.to_json())
    if not isinstance(document, dict):
        raise TdxQuoteRejectedError("the DCAP engine returned no claims")
    return document


def _mapping(value: object, *path: str) -> object:
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _status(value: object) -> TcbStatus:
    try:
        return TcbStatus(str(value))
    except ValueError as exc:
        raise TdxQuoteRejectedError(f"unknown TCB status {value!r}") from exc


def _date(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _claims(
    quote: TdxQuote,
    engine: dict[str, object],
    *,
    identity: tuple[str, str, str],
    simulated: bool,
    binding: BindingStatus,
    chain_expires: datetime,
    collateral_expires: datetime,
) -> CpuClaims:
    body = quote.body
    status = _status(_mapping(engine, "tcb", "status"))
    advisories = _mapping(engine, "tcb", "advisory_ids")
    advisory_ids = tuple(sorted(str(item) for item in advisories)) if isinstance(advisories, list) else ()
    fmspc, pce_id, ppid = identity
    tdx = TdxClaims(
        quote_version=quote.version,
        tee_tcb_svn=body.tee_tcb_svn.hex(),
        mrseam=body.mrseam.hex(),
        mrsignerseam=body.mrsignerseam.hex(),
        seam_attributes=body.seam_attributes.hex(),
        td_attributes=body.td_attributes.hex(),
        debug=body.debug,
        xfam=body.xfam.hex(),
        mrtd=body.mrtd.hex(),
        mrconfigid=body.mrconfigid.hex(),
        mrowner=body.mrowner.hex(),
        mrownerconfig=body.mrownerconfig.hex(),
        rtmr0=body.rtmr0.hex(),
        rtmr1=body.rtmr1.hex(),
        rtmr2=body.rtmr2.hex(),
        rtmr3=body.rtmr3.hex(),
        report_data=body.report_data.hex(),
        fmspc=fmspc,
        pce_id=pce_id,
        ppid=ppid,
        tcb_status=status,
        advisory_ids=advisory_ids,
        qe_tcb_status=_status(_mapping(engine, "qe", "tcb_level", "tcbStatus")),
        tcb_date=_date(_mapping(engine, "platform", "tcb_level", "tcbDate")),
        collateral_expiration_date=collateral_expires,
        tee_tcb_svn2=None if body.tee_tcb_svn2 is None else body.tee_tcb_svn2.hex(),
        mrservicetd=None if body.mrservicetd is None else body.mrservicetd.hex(),
    )
    return CpuClaims(
        tee=TeeType.TDX,
        simulated=simulated,
        debug=body.debug,
        measurement=tdx.mrtd,
        report_data=tdx.report_data,
        report_data_binding=binding,
        hardware_id=ppid,
        tcb_status=status,
        cert_chain=CertChainClaims(ocsp_status=RevocationStatus.CHECKED_GOOD, expiration_date=chain_expires),
        advisory_ids=advisory_ids,
        tdx=tdx,
    )


def verify_tdx_quote(
    quote: bytes,
    *,
    collateral: TdxCollateral,
    expected_report_data: bytes | None,
    now: datetime,
) -> CpuClaims:
    """Verify a TDX quote (v4/v5) against Intel collateral at ``now`` and return its claims.

    ``expected_report_data``: the 64-byte binding (None: not checked, and the claims say so).
    The TCB status (UpToDate, OutOfDate, ...) and advisories are claims; so is ``debug``.

    Raises:
        EvidenceMalformedError: the quote or its PCK chain does not parse.
        UnsupportedEvidenceError: not a v4/v5 ECDSA-P256 TDX quote with an embedded PCK chain.
        TdxRootNotPinnedError: the root CA is not pinned and simulated roots were not allowed.
        TdxCollateralMismatchError: the TCB info is for another FMSPC / PCE-ID (retryable).
        CollateralStaleError: TCB info, QE identity or a CRL is past its nextUpdate (retryable).
        TdxCollateralInvalidError: collateral that does not parse or whose signature fails.
        CertificateRevokedError: a CRL lists the PCK or its CA.
        CertificateExpiredError: a certificate is not valid at ``now``.
        CertificateChainError: the PCK chain does not lead to the root.
        SignatureInvalidError: the quote or QE report signature, or the attestation-key binding, fails.
        TdxTcbLevelNotFoundError: no TCB level matches the platform.
        TdxDebugEnabledError: the TD is a debug TD (the engine refuses to verify it).
        TdxTcbRevokedError: the platform's TCB level is Revoked.
        TdxQuoteRejectedError: the engine refused the quote for another reason.
        ReportDataMismatchError: REPORT_DATA is not ``expected_report_data``.
    """
    progress: dict[str, object] = {"tee": TeeType.TDX.value}
    parsed = _step(progress, lambda: parse_quote(quote))
    progress.update(
        quote_version=parsed.version,
        debug=parsed.body.debug,
        measurement=parsed.body.mrtd.hex(),
        report_data=parsed.body.report_data.hex(),
    )
    simulated = _step(progress, lambda: _check_root(collateral))
    progress["simulated"] = simulated
    identity = _step(progress, lambda: _pck_identity(parsed, collateral))
    progress.update(fmspc=identity[0], ppid=identity[2])
    collateral_expires = _step(progress, lambda: _check_fresh(collateral, now))
    chain = _step(progress, lambda: _pck_chain(parsed))
    _step(progress, lambda: _check_revocation(chain, collateral))
    engine = _step(progress, lambda: _engine(quote, collateral, now))
    progress["tcb_status"] = str(_mapping(engine, "tcb", "status"))
    binding = BindingStatus.NOT_CHECKED
    if expected_report_data is not None:
        if parsed.body.report_data != expected_report_data:
            raise ReportDataMismatchError("REPORT_DATA is not the expected binding", claims=progress)
        binding = BindingStatus.VERIFIED
    chain_expires = min(
        [certificate.not_valid_after_utc for certificate in chain] + [collateral.root_ca.not_valid_after_utc]
    )
    return _step(
        progress,
        lambda: _claims(
            parsed,
            engine,
            identity=identity,
            simulated=simulated,
            binding=binding,
            chain_expires=chain_expires,
            collateral_expires=collateral_expires,
        ),
    )
