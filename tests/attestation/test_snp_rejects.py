"""Every SEV-SNP rejection path: real vectors mutated, and synthetic chains signed in the test."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from attestation.binary_layout import Field
from attestation.errors import (
    AttestationError,
    CertificateChainError,
    CertificateExpiredError,
    CertificateRevokedError,
    CollateralMissingError,
    CollateralStaleError,
    EvidenceMalformedError,
    HardwareIdentityMismatchError,
    ReportDataMismatchError,
    SignatureInvalidError,
    TcbMismatchError,
    UnsupportedEvidenceError,
)
from attestation.snp import SnpCollateral, layout, verify_snp_report
from attestation.snp.errors import SnpProductMismatchError, SnpRootNotPinnedError, SnpSigningKeyMismatchError
from tests.attestation.snp_synthetic import (
    CHIP_ID,
    NOW,
    TURIN_TCB,
    KeySpec,
    ReportSpec,
    amd_pki,
    issue_key,
    make_report,
)
from tests.conftest import vector_dir

REAL_NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _real() -> tuple[bytes, bytes, SnpCollateral]:
    folder = vector_dir("snp")
    return (
        (folder / "milan-v2-trustee" / "report.bin").read_bytes(),
        (folder / "milan-v2-trustee" / "vcek.der").read_bytes(),
        SnpCollateral.from_pem((folder / "roots" / "milan_ask_ark_asvk.pem").read_bytes()),
    )


def _flip(data: bytes, offset: int, mask: int = 0x01) -> bytes:
    mutated = bytearray(data)
    mutated[offset] ^= mask
    return bytes(mutated)


def _set(data: bytes, field: Field, value: int) -> bytes:
    mutated = bytearray(data)
    mutated[field.offset : field.end] = value.to_bytes(field.size, "little")
    return bytes(mutated)


@dataclass(frozen=True)
class RealMutation:
    id: str
    mutate: Callable[[bytes], bytes]
    error: type[AttestationError]
    code: str


REAL_MUTATIONS = [
    RealMutation(
        "a truncated report", lambda r: r[:-1], EvidenceMalformedError, "attestation.evidence_malformed"
    ),
    RealMutation(
        "an oversized report", lambda r: r + b"\0", EvidenceMalformedError, "attestation.evidence_malformed"
    ),
    RealMutation("an empty report", lambda r: b"", EvidenceMalformedError, "attestation.evidence_malformed"),
    RealMutation(
        "report version 4",
        lambda r: _set(r, layout.VERSION, 4),
        UnsupportedEvidenceError,
        "attestation.unsupported",
    ),
    RealMutation(
        "report version 1",
        lambda r: _set(r, layout.VERSION, 1),
        UnsupportedEvidenceError,
        "attestation.unsupported",
    ),
    RealMutation(
        "another signature algorithm",
        lambda r: _set(r, layout.SIGNATURE_ALGO, 2),
        UnsupportedEvidenceError,
        "attestation.unsupported",
    ),
    RealMutation(
        "a bit flipped in the signature's R",
        lambda r: _flip(r, layout.SIGNATURE_R.offset + 3),
        SignatureInvalidError,
        "attestation.signature_invalid",
    ),
    RealMutation(
        "a bit flipped in the measurement",
        lambda r: _flip(r, layout.MEASUREMENT.offset),
        SignatureInvalidError,
        "attestation.signature_invalid",
    ),
    RealMutation(
        "the debug bit set after signing",
        lambda r: _flip(r, layout.POLICY.offset + 2, 0x08),
        SignatureInvalidError,
        "attestation.signature_invalid",
    ),
    RealMutation(
        "nonzero bytes after R and S",
        lambda r: _flip(r, layout.SIGNATURE_RESERVED.offset + 10),
        EvidenceMalformedError,
        "attestation.evidence_malformed",
    ),
    RealMutation(
        "an undefined SIGNING_KEY",
        lambda r: _set(r, layout.SIGNER_INFO, 7 << 2),
        EvidenceMalformedError,
        "attestation.evidence_malformed",
    ),
]


@pytest.mark.vectors
@pytest.mark.parametrize("case", REAL_MUTATIONS, ids=[case.id for case in REAL_MUTATIONS])
def test_mutated_real_report_is_rejected(case: RealMutation) -> None:
    report, vcek, collateral = _real()
    with pytest.raises(case.error) as caught:
        verify_snp_report(
            case.mutate(report),
            vcek_or_vlek=vcek,
            collateral=collateral,
            expected_report_data=None,
            now=REAL_NOW,
        )
    assert caught.value.code == case.code
    assert caught.value.claims["tee"] == "snp"


@pytest.mark.vectors
def test_the_ark_of_another_product_is_rejected() -> None:
    report, vcek, _ = _real()
    genoa = SnpCollateral.from_pem((vector_dir("snp") / "roots" / "genoa_ask_ark_asvk.pem").read_bytes())
    with pytest.raises(CertificateChainError):
        verify_snp_report(
            report, vcek_or_vlek=vcek, collateral=genoa, expected_report_data=None, now=REAL_NOW
        )


@pytest.mark.vectors
def test_a_wrong_report_data_binding_is_rejected_with_the_claims_so_far() -> None:
    report, vcek, collateral = _real()
    with pytest.raises(ReportDataMismatchError) as caught:
        verify_snp_report(
            report, vcek_or_vlek=vcek, collateral=collateral, expected_report_data=bytes(64), now=REAL_NOW
        )
    assert caught.value.claims["signature_verified"] is True
    assert caught.value.claims["product"] == "Milan"


@pytest.mark.vectors
def test_real_chain_before_the_vcek_was_issued_is_rejected() -> None:
    report, vcek, collateral = _real()
    with pytest.raises(CertificateExpiredError):
        verify_snp_report(
            report,
            vcek_or_vlek=vcek,
            collateral=collateral,
            expected_report_data=None,
            now=datetime(2022, 1, 1, tzinfo=UTC),
        )


@pytest.mark.vectors
def test_a_collateral_without_the_ask_is_missing_collateral() -> None:
    report, vcek, collateral = _real()
    with pytest.raises(CollateralMissingError) as caught:
        verify_snp_report(
            report,
            vcek_or_vlek=vcek,
            collateral=SnpCollateral(ark=collateral.ark),
            expected_report_data=None,
            now=REAL_NOW,
        )
    assert caught.value.retryable


def test_an_unpinned_ark_is_refused_unless_simulated_roots_are_allowed() -> None:
    pki = amd_pki()
    key, vcek = issue_key(pki)
    report = make_report(key)
    strict = SnpCollateral(ark=pki.ark, ask=pki.ask, asvk=pki.asvk)
    with pytest.raises(SnpRootNotPinnedError) as caught:
        verify_snp_report(report, vcek_or_vlek=vcek, collateral=strict, expected_report_data=None, now=NOW)
    assert caught.value.code == "attestation.snp.root_not_pinned"
    with pytest.warns(UserWarning, match="simulation only"):
        allowed = pki.collateral()
    assert verify_snp_report(
        report, vcek_or_vlek=vcek, collateral=allowed, expected_report_data=None, now=NOW
    ).simulated


@dataclass(frozen=True)
class SyntheticCase:
    id: str
    key: KeySpec
    report: ReportSpec
    error: type[AttestationError]
    code: str
    now: datetime = NOW
    product: str = "Milan"


SYNTHETIC_CASES = [
    SyntheticCase(
        "the VCEK microcode SPL differs from REPORTED_TCB",
        KeySpec(microcode=114),
        ReportSpec(),
        TcbMismatchError,
        "attestation.tcb_mismatch",
    ),
    SyntheticCase(
        "the VCEK SNP SPL differs from REPORTED_TCB",
        KeySpec(snp=9),
        ReportSpec(),
        TcbMismatchError,
        "attestation.tcb_mismatch",
    ),
    SyntheticCase(
        "the VCEK hwID is another chip's",
        KeySpec(hw_id=bytes(64)),
        ReportSpec(),
        HardwareIdentityMismatchError,
        "attestation.hardware_id_mismatch",
    ),
    SyntheticCase(
        "the VCEK has no hwID",
        KeySpec(hw_id=None),
        ReportSpec(),
        HardwareIdentityMismatchError,
        "attestation.hardware_id_mismatch",
    ),
    SyntheticCase(
        "an expired VLEK at now",
        KeySpec(vlek=True, hw_id=None, not_after=NOW - timedelta(days=1)),
        ReportSpec(version=3, vlek=True),
        CertificateExpiredError,
        "attestation.cert_expired",
    ),
    SyntheticCase(
        "a VLEK offered for a VCEK-signed report",
        KeySpec(vlek=True, hw_id=None),
        ReportSpec(version=3),
        SnpSigningKeyMismatchError,
        "attestation.snp.signing_key_mismatch",
    ),
    SyntheticCase(
        "a Genoa VCEK in a Milan chain",
        KeySpec(product_name="Genoa"),
        ReportSpec(),
        SnpProductMismatchError,
        "attestation.snp.product_mismatch",
    ),
    SyntheticCase(
        "a v3 report whose CPUID is Turin's under a Milan chain",
        KeySpec(),
        ReportSpec(version=3, cpuid=(0x1A, 0x02, 0)),
        SnpProductMismatchError,
        "attestation.snp.product_mismatch",
    ),
    SyntheticCase(
        "a Turin report whose FMC SPL differs from the VCEK",
        KeySpec(product_name="Turin", fmc=2, hw_id=CHIP_ID[:8]),
        ReportSpec(version=5, reported_tcb=TURIN_TCB, cpuid=(0x1A, 0x02, 0)),
        TcbMismatchError,
        "attestation.tcb_mismatch",
        product="Turin",
    ),
    SyntheticCase(
        "a Turin VCEK whose 8-byte hwID is not CHIP_ID[0:8]",
        KeySpec(product_name="Turin", fmc=1, hw_id=CHIP_ID[8:16]),
        ReportSpec(version=5, reported_tcb=TURIN_TCB, cpuid=(0x1A, 0x02, 0)),
        HardwareIdentityMismatchError,
        "attestation.hardware_id_mismatch",
        product="Turin",
    ),
]


@pytest.mark.filterwarnings("ignore:SnpCollateral")
@pytest.mark.parametrize("case", SYNTHETIC_CASES, ids=[case.id for case in SYNTHETIC_CASES])
def test_synthetic_evidence_is_rejected(case: SyntheticCase) -> None:
    pki = amd_pki(case.product)
    key, certificate = issue_key(pki, case.key)
    with pytest.raises(case.error) as caught:
        verify_snp_report(
            make_report(key, case.report),
            vcek_or_vlek=certificate,
            collateral=pki.collateral(),
            expected_report_data=None,
            now=case.now,
        )
    assert caught.value.code == case.code


@pytest.mark.filterwarnings("ignore:SnpCollateral")
def test_turin_v5_report_with_matching_vcek_verifies_with_the_turin_layout() -> None:
    pki = amd_pki("Turin")
    key, certificate = issue_key(
        pki, KeySpec(product_name="Turin", fmc=1, hw_id=CHIP_ID[:8], hw_id_as_octet_string=True)
    )
    report = make_report(
        key, ReportSpec(version=5, reported_tcb=TURIN_TCB, cpuid=(0x1A, 0x02, 0), mit_vectors=(3, 9))
    )
    claims = verify_snp_report(
        report, vcek_or_vlek=certificate, collateral=pki.collateral(), expected_report_data=None, now=NOW
    )
    assert claims.snp is not None
    assert (claims.snp.product, claims.snp.version) == ("Turin", 5)
    assert (
        claims.snp.reported_tcb.fmc,
        claims.snp.reported_tcb.boot_loader,
        claims.snp.reported_tcb.snp,
    ) == (1, 3, 8)
    assert (claims.snp.launch_mit_vector, claims.snp.current_mit_vector) == (3, 9)


@pytest.mark.filterwarnings("ignore:SnpCollateral")
def test_a_crl_that_lists_the_ask_revokes_the_chain() -> None:
    pki = amd_pki()
    key, certificate = issue_key(pki)
    report = make_report(key)
    good = verify_snp_report(
        report,
        vcek_or_vlek=certificate,
        collateral=pki.collateral(pki.crl()),
        expected_report_data=None,
        now=NOW,
    )
    assert good.cert_chain.ocsp_status.value == "checked-good"
    with pytest.raises(CertificateRevokedError) as caught:
        verify_snp_report(
            report,
            vcek_or_vlek=certificate,
            collateral=pki.collateral(pki.crl(revoked=(pki.ask.serial_number,))),
            expected_report_data=None,
            now=NOW,
        )
    assert caught.value.code == "attestation.cert_revoked"


@pytest.mark.filterwarnings("ignore:SnpCollateral")
def test_a_stale_crl_is_retryable() -> None:
    pki = amd_pki()
    key, certificate = issue_key(pki)
    with pytest.raises(CollateralStaleError) as caught:
        verify_snp_report(
            make_report(key),
            vcek_or_vlek=certificate,
            collateral=pki.collateral(pki.crl(next_update=NOW - timedelta(hours=1))),
            expected_report_data=None,
            now=NOW,
        )
    assert caught.value.retryable


@pytest.mark.filterwarnings("ignore:SnpCollateral")
def test_a_crl_signed_by_another_ark_is_rejected() -> None:
    pki, other = amd_pki(), amd_pki("Genoa")
    key, certificate = issue_key(pki)
    with pytest.raises(CertificateChainError):
        verify_snp_report(
            make_report(key),
            vcek_or_vlek=certificate,
            collateral=pki.collateral(other.crl()),
            expected_report_data=None,
            now=NOW,
        )
