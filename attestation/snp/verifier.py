"""The SEV-SNP Verifier: an attestation report + VCEK/VLEK + AMD collateral + ``now`` → ``CpuClaims``.

Steps, each failing closed with a stable code:

1. parse the report (size, version 2/3/5, algorithm);
2. the ARK is pinned (or simulated roots were explicitly allowed), self-signed, and issued the
   ASK (VCEK reports) or ASVK (VLEK reports), which issued the VCEK/VLEK: RSA-PSS, each valid at ``now``;
3. when a CRL is in the collateral: signed by the ARK, current, and not listing the ASK/ASVK;
4. the products named by the ARK, the VCEK/VLEK and (version 3+) the report's CPUID agree;
5. the report signature (ECDSA P-384/SHA-384) verifies under the VCEK/VLEK;
6. the VCEK/VLEK TCB extensions equal REPORTED_TCB, and the VCEK hwID equals CHIP_ID;
7. REPORT_DATA equals the expected binding, when one is given.

Debug, migration agent, SMT and VMPL are claims: policies judge them.
"""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from attestation.errors import (
    AttestationError,
    CollateralMissingError,
    HardwareIdentityMismatchError,
    ReportDataMismatchError,
    SignatureInvalidError,
    TcbMismatchError,
)
from attestation.evidence import TeeType
from attestation.result import (
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    RevocationStatus,
    SnpClaims,
    SnpTcb,
    TcbStatus,
)
from attestation.roots import PinnedRoot, pinned_root_name
from attestation.snp.certificates import (
    AmdKeyExtensions,
    check_crl,
    check_times,
    load_amd_certificate,
    product_of,
    read_key_extensions,
    report_signing_key,
    verify_amd_signed,
)
from attestation.snp.collateral import SnpCollateral
from attestation.snp.errors import SnpProductMismatchError, SnpRootNotPinnedError, SnpSigningKeyMismatchError
from attestation.snp.layout import PolicyBit
from attestation.snp.report import SigningKey, SnpReport, parse_report
from attestation.snp.tcb import SnpProduct, decode_tcb, product_from_cpuid

_PINNED_PRODUCTS = {
    PinnedRoot.AMD_ARK_MILAN: SnpProduct.MILAN,
    PinnedRoot.AMD_ARK_GENOA: SnpProduct.GENOA,
    PinnedRoot.AMD_ARK_TURIN: SnpProduct.TURIN,
}
# Turin VCEKs carry an 8-byte hwID: the first 8 bytes of CHIP_ID.
_TURIN_HW_ID_SIZE = 8

T = TypeVar("T")


def _step(progress: dict[str, object], run: Callable[[], T]) -> T:
    """Run one verification step; on failure attach what was established so far to the error."""
    try:
        return run()
    except AttestationError as exc:
        exc.claims = {**progress, **exc.claims}
        raise


def _check_root(collateral: SnpCollateral) -> tuple[SnpProduct | None, bool]:
    pinned = pinned_root_name(collateral.ark)
    if pinned in _PINNED_PRODUCTS:
        return _PINNED_PRODUCTS[pinned], False
    if not collateral.allow_simulated_root:
        raise SnpRootNotPinnedError(
            "the ARK is not a pinned AMD root (Milan, Genoa or Turin); pass simulated roots explicitly"
        )
    return None, True


def _verify_chain(
    report: SnpReport, key_cert: x509.Certificate, collateral: SnpCollateral, now: datetime
) -> tuple[x509.Certificate, datetime, RevocationStatus]:
    """Verify ARK → ASK/ASVK → VCEK/VLEK; return the intermediate, the chain's expiry and CRL status."""
    is_vlek = report.signing_key is SigningKey.VLEK
    intermediate = collateral.asvk if is_vlek else collateral.ask
    name = "ASVK" if is_vlek else "ASK"
    if intermediate is None:
        raise CollateralMissingError(f"the AMD collateral has no {name} for this {report.signing_key} report")
    ark = collateral.ark
    verify_amd_signed(ark, ark, "the ARK")
    verify_amd_signed(intermediate, ark, f"the {name}")
    try:
        verify_amd_signed(key_cert, intermediate, f"the {report.signing_key.upper()}")
    except AttestationError as exc:
        other = collateral.ask if is_vlek else collateral.asvk
        if other is not None and key_cert.issuer == other.subject:
            raise SnpSigningKeyMismatchError(
                f"the report is signed by a {report.signing_key.upper()} but the certificate offered "
                f"chains to the {'ASK' if is_vlek else 'ASVK'}"
            ) from exc
        raise
    expires = check_times(
        {"the ARK": ark, f"the {name}": intermediate, f"the {report.signing_key.upper()}": key_cert}, now
    )
    revocation = RevocationStatus.NOT_CHECKED
    if collateral.crl is not None:
        check_crl(collateral.crl, ark, intermediate, now)
        revocation = RevocationStatus.CHECKED_GOOD
    return intermediate, expires, revocation


def _product(
    report: SnpReport, extensions: AmdKeyExtensions, intermediate: x509.Certificate, pinned: SnpProduct | None
) -> SnpProduct:
    from_key = product_of(extensions.product_name)
    names = {"VCEK/VLEK productName": from_key, "ASK/ASVK": product_of(intermediate.subject.rfc4514_string())}
    if pinned is not None:
        names["pinned ARK"] = pinned
    if report.cpuid is not None:
        from_cpuid = product_from_cpuid(report.cpuid[0], report.cpuid[1])
        if from_cpuid is not None:
            names["report CPUID"] = from_cpuid
    if len(set(names.values())) != 1:
        found = ", ".join(f"{where}: {product}" for where, product in names.items())
        raise SnpProductMismatchError(f"the evidence names different products ({found})")
    return from_key


def _verify_signature(report: SnpReport, key: ec.EllipticCurvePublicKey) -> None:
    signature = encode_dss_signature(report.signature_r, report.signature_s)
    try:
        key.verify(signature, report.signed_bytes, ec.ECDSA(hashes.SHA384()))
    except InvalidSignature as exc:
        raise SignatureInvalidError(
            "the SEV-SNP report signature does not verify under the VCEK/VLEK"
        ) from exc


def _check_tcb(reported: SnpTcb, extensions: AmdKeyExtensions) -> None:
    pairs = {
        "boot loader": (reported.boot_loader, extensions.boot_loader),
        "TEE": (reported.tee, extensions.tee),
        "SNP": (reported.snp, extensions.snp),
        "microcode": (reported.microcode, extensions.microcode),
    }
    if reported.fmc is not None:
        pairs["FMC"] = (reported.fmc, extensions.fmc or 0)
    differing = [f"{name} {report} ≠ {cert}" for name, (report, cert) in pairs.items() if report != cert]
    if differing:
        raise TcbMismatchError(f"REPORTED_TCB differs from the certificate's TCB: {', '.join(differing)}")


def _check_hw_id(report: SnpReport, extensions: AmdKeyExtensions, product: SnpProduct) -> None:
    if extensions.hw_id is None:
        raise HardwareIdentityMismatchError("the VCEK has no hwID extension")
    expected = report.chip_id[:_TURIN_HW_ID_SIZE] if product is SnpProduct.TURIN else report.chip_id
    if extensions.hw_id != expected:
        raise HardwareIdentityMismatchError("the VCEK's hwID is not the report's CHIP_ID")


def _firmware(version: tuple[int, int, int]) -> str:
    major, minor, build = version
    return f"{major}.{minor}.{build}"


def _claims(
    report: SnpReport,
    *,
    product: SnpProduct,
    simulated: bool,
    binding: BindingStatus,
    expires: datetime,
    revocation: RevocationStatus,
) -> CpuClaims:
    reported = decode_tcb(report.reported_tcb, product)
    snp = SnpClaims(
        version=report.version,
        product=product.value,
        signing_key=report.signing_key.value,
        guest_svn=report.guest_svn,
        policy=report.policy,
        policy_abi_major=report.policy >> PolicyBit.ABI_MAJOR_SHIFT & 0xFF,
        policy_abi_minor=report.policy >> PolicyBit.ABI_MINOR_SHIFT & 0xFF,
        smt_allowed=report.policy_bit(PolicyBit.SMT),
        migrate_ma=report.policy_bit(PolicyBit.MIGRATE_MA),
        debug_allowed=report.debug_allowed,
        single_socket=report.policy_bit(PolicyBit.SINGLE_SOCKET),
        vmpl=report.vmpl,
        measurement=report.measurement.hex(),
        host_data=report.host_data.hex(),
        report_data=report.report_data.hex(),
        family_id=report.family_id.hex(),
        image_id=report.image_id.hex(),
        id_key_digest=report.id_key_digest.hex(),
        author_key_digest=report.author_key_digest.hex(),
        author_key_en=report.author_key_en,
        report_id=report.report_id.hex(),
        report_id_ma=report.report_id_ma.hex(),
        chip_id=report.chip_id.hex(),
        platform_info=report.platform_info,
        current_tcb=decode_tcb(report.current_tcb, product),
        reported_tcb=reported,
        committed_tcb=decode_tcb(report.committed_tcb, product),
        launch_tcb=decode_tcb(report.launch_tcb, product),
        current_firmware=_firmware(report.current_firmware),
        committed_firmware=_firmware(report.committed_firmware),
        cpuid=None if report.cpuid is None else "{:02x}-{:02x}-{:x}".format(*report.cpuid),
        mask_chip_key=report.mask_chip_key,
        launch_mit_vector=report.launch_mit_vector,
        current_mit_vector=report.current_mit_vector,
    )
    return CpuClaims(
        tee=TeeType.SNP,
        simulated=simulated,
        debug=report.debug_allowed,
        measurement=snp.measurement,
        report_data=snp.report_data,
        report_data_binding=binding,
        hardware_id=snp.chip_id,
        tcb_status=TcbStatus.NOT_APPLICABLE,
        cert_chain=CertChainClaims(ocsp_status=revocation, expiration_date=expires),
        snp=snp,
    )


def verify_snp_report(
    report: bytes,
    *,
    vcek_or_vlek: bytes,
    collateral: SnpCollateral,
    expected_report_data: bytes | None,
    now: datetime,
) -> CpuClaims:
    """Verify an SEV-SNP attestation report and return its claims.

    ``vcek_or_vlek``: the report's signing certificate, DER or PEM. ``expected_report_data``: the
    64-byte binding the relying party computed (None: not checked, and the claims say so). ``now``:
    an aware datetime, the verification time.

    Raises:
        EvidenceMalformedError: the report or a certificate does not parse.
        UnsupportedEvidenceError: an unsupported report version or signature algorithm.
        SnpRootNotPinnedError: the ARK is not pinned and simulated roots were not allowed.
        CertificateChainError: a link of ARK → ASK/ASVK → VCEK/VLEK does not verify (subclasses:
            SnpSigningKeyMismatchError, SnpProductMismatchError).
        CertificateExpiredError: a certificate is not valid at ``now``.
        CertificateRevokedError: the CRL lists the ASK/ASVK.
        CollateralMissingError: the collateral lacks the ASK/ASVK the report needs.
        CollateralStaleError: the CRL's nextUpdate has passed.
        SignatureInvalidError: the report signature does not verify.
        TcbMismatchError: the certificate's TCB is not REPORTED_TCB.
        HardwareIdentityMismatchError: the VCEK's hwID is not CHIP_ID.
        ReportDataMismatchError: REPORT_DATA is not ``expected_report_data``.
    """
    progress: dict[str, object] = {"tee": TeeType.SNP.value}
    parsed = _step(progress, lambda: parse_report(report))
    progress.update(
        version=parsed.version,
        signing_key=parsed.signing_key.value,
        debug=parsed.debug_allowed,
        vmpl=parsed.vmpl,
        measurement=parsed.measurement.hex(),
        report_data=parsed.report_data.hex(),
    )
    key_cert = _step(progress, lambda: load_amd_certificate(vcek_or_vlek))
    pinned, simulated = _step(progress, lambda: _check_root(collateral))
    progress["simulated"] = simulated
    intermediate, expires, revocation = _step(
        progress, lambda: _verify_chain(parsed, key_cert, collateral, now)
    )
    progress["cert_chain"] = "valid"
    extensions = _step(progress, lambda: read_key_extensions(key_cert))
    product = _step(progress, lambda: _product(parsed, extensions, intermediate, pinned))
    progress["product"] = product.value
    _step(progress, lambda: _verify_signature(parsed, report_signing_key(key_cert)))
    progress["signature_verified"] = True
    reported = decode_tcb(parsed.reported_tcb, product)
    _step(progress, lambda: _check_tcb(reported, extensions))
    if parsed.signing_key is SigningKey.VCEK:
        _step(progress, lambda: _check_hw_id(parsed, extensions, product))
    binding = BindingStatus.NOT_CHECKED
    if expected_report_data is not None:
        if parsed.report_data != expected_report_data:
            raise ReportDataMismatchError("REPORT_DATA is not the expected binding", claims=progress)
        binding = BindingStatus.VERIFIED
    return _claims(
        parsed,
        product=product,
        simulated=simulated,
        binding=binding,
        expires=expires,
        revocation=revocation,
    )
