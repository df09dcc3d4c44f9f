"""Every TDX rejection path, on quotes and collateral signed in the test by a throwaway Intel-shaped PKI."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from attestation.errors import (
    AttestationError,
    CertificateRevokedError,
    CollateralStaleError,
    EvidenceMalformedError,
    ReportDataMismatchError,
    SignatureInvalidError,
    UnsupportedEvidenceError,
)
from attestation.result import BindingStatus, TcbStatus
from attestation.tdx import TdxCollateral, layout, verify_tdx_quote
from attestation.tdx.errors import (
    TdxCollateralInvalidError,
    TdxCollateralMismatchError,
    TdxDebugEnabledError,
    TdxRootNotPinnedError,
    TdxTcbRevokedError,
)
from tests.attestation.tdx_synthetic import (
    NOW,
    CollateralSpec,
    QuoteSpec,
    intel_pki,
    make_collateral,
    make_quote,
)

pytestmark = pytest.mark.filterwarnings("ignore:TdxCollateral")


_ATTESTATION_KEY_OFFSET = layout.HEADER_SIZE + layout.TD10_BODY_SIZE + 4 + layout.ATTESTATION_KEY.offset


def _flip(data: bytes, offset: int) -> bytes:
    mutated = bytearray(data)
    mutated[offset] ^= 1
    return bytes(mutated)


def _put(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def test_a_clean_synthetic_quote_verifies_and_says_simulated() -> None:
    claims = verify_tdx_quote(
        make_quote(), collateral=make_collateral(), expected_report_data=bytes(range(64)), now=NOW
    )
    assert claims.simulated is True
    assert claims.tcb_status is TcbStatus.UP_TO_DATE
    assert claims.report_data_binding is BindingStatus.VERIFIED
    assert claims.debug is False


def test_out_of_date_tcb_and_advisories_are_claims() -> None:
    collateral = make_collateral(CollateralSpec(tcb_status="OutOfDate", advisory_ids=("INTEL-SA-00837",)))
    claims = verify_tdx_quote(make_quote(), collateral=collateral, expected_report_data=None, now=NOW)
    assert claims.tcb_status is TcbStatus.OUT_OF_DATE
    assert claims.advisory_ids == ("INTEL-SA-00837",)


def _with_foreign_qe_identity() -> TdxCollateral:
    collateral = make_collateral()
    signature = bytearray(collateral.qe_identity.signature)
    signature[5] ^= 1
    return replace(collateral, qe_identity=replace(collateral.qe_identity, signature=bytes(signature)))


@dataclass(frozen=True)
class Case:
    id: str
    quote: Callable[[], bytes]
    collateral: Callable[[], TdxCollateral]
    error: type[AttestationError]
    code: str
    now: datetime = NOW
    expected_report_data: bytes | None = None


CASES = [
    Case(
        "a debug TD",
        lambda: make_quote(QuoteSpec(td_attributes=0x10000001)),
        make_collateral,
        TdxDebugEnabledError,
        "attestation.tdx.debug_enabled",
    ),
    Case(
        "a PCK CRL that lists the PCK",
        make_quote,
        lambda: make_collateral(CollateralSpec(revoked_serials=(intel_pki().pck.serial_number,))),
        CertificateRevokedError,
        "attestation.cert_revoked",
    ),
    Case(
        "TCB info expired at now",
        make_quote,
        make_collateral,
        CollateralStaleError,
        "attestation.collateral_stale",
        now=NOW + timedelta(days=40),
    ),
    Case(
        "collateral for another FMSPC",
        make_quote,
        lambda: make_collateral(CollateralSpec(fmspc=bytes.fromhex("00a06d080000"))),
        TdxCollateralMismatchError,
        "attestation.tdx.collateral_mismatch",
    ),
    Case(
        "a Revoked TCB level",
        make_quote,
        lambda: make_collateral(CollateralSpec(tcb_status="Revoked")),
        TdxTcbRevokedError,
        "attestation.tdx.tcb_revoked",
    ),
    Case(
        "a bit flipped in MRTD",
        lambda: _flip(make_quote(), layout.HEADER_SIZE + layout.MRTD.offset),
        make_collateral,
        SignatureInvalidError,
        "attestation.signature_invalid",
    ),
    Case(
        "a bit flipped in the attestation key",
        lambda: _flip(make_quote(), _ATTESTATION_KEY_OFFSET),
        make_collateral,
        SignatureInvalidError,
        "attestation.signature_invalid",
    ),
    Case(
        "another report data than the binding",
        make_quote,
        make_collateral,
        ReportDataMismatchError,
        "attestation.report_data_mismatch",
        expected_report_data=bytes(64),
    ),
    Case(
        "a truncated quote",
        lambda: make_quote()[:-200],
        make_collateral,
        EvidenceMalformedError,
        "attestation.evidence_malformed",
    ),
    Case(
        "quote version 3",
        lambda: _put(make_quote(), 0, (3).to_bytes(2, "little")),
        make_collateral,
        UnsupportedEvidenceError,
        "attestation.unsupported",
    ),
    Case(
        "an SGX quote",
        lambda: _put(make_quote(), layout.TEE_TYPE.offset, bytes(4)),
        make_collateral,
        UnsupportedEvidenceError,
        "attestation.unsupported",
    ),
    Case(
        "a QE identity from another signer",
        make_quote,
        _with_foreign_qe_identity,
        TdxCollateralInvalidError,
        "attestation.tdx.collateral_invalid",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_synthetic_rejection(case: Case) -> None:
    with pytest.raises(case.error) as caught:
        verify_tdx_quote(
            case.quote(),
            collateral=case.collateral(),
            expected_report_data=case.expected_report_data,
            now=case.now,
        )
    assert caught.value.code == case.code
    assert caught.value.claims["tee"] == "tdx"


def test_debug_td_error_carries_the_debug_claim() -> None:
    with pytest.raises(TdxDebugEnabledError) as caught:
        verify_tdx_quote(
            make_quote(QuoteSpec(td_attributes=0x10000001)),
            collateral=make_collateral(),
            expected_report_data=None,
            now=NOW,
        )
    assert caught.value.claims["debug"] is True


def test_an_unpinned_root_is_refused_unless_simulated_roots_are_allowed() -> None:
    strict = replace(make_collateral(), allow_simulated_root=False)
    with pytest.raises(TdxRootNotPinnedError) as caught:
        verify_tdx_quote(make_quote(), collateral=strict, expected_report_data=None, now=NOW)
    assert caught.value.code == "attestation.tdx.root_not_pinned"


def _crl_due_before_now(
    issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateRevocationList:
    """A correctly signed, empty CRL whose nextUpdate passed an hour before ``NOW``."""
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(NOW - timedelta(days=30))
        .next_update(NOW - timedelta(hours=1))
        .add_extension(x509.CRLNumber(2), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(("member", "what"), [("pck_crl", "the PCK CRL"), ("root_ca_crl", "the root CA CRL")])
def test_a_stale_crl_on_its_own_is_retryable(member: str, what: str) -> None:
    pki = intel_pki()
    signer = (pki.ca, pki.ca_key) if member == "pck_crl" else (pki.root, pki.root_key)
    fresh = make_collateral()
    crl = _crl_due_before_now(*signer)
    stale = replace(fresh, pck_crl=crl) if member == "pck_crl" else replace(fresh, root_ca_crl=crl)
    # Only that CRL is past its nextUpdate: TCB info, QE identity and the other CRL are current at NOW.
    other = stale.root_ca_crl if member == "pck_crl" else stale.pck_crl
    assert min(stale.tcb_info.next_update, stale.qe_identity.next_update, other.next_update_utc or NOW) > NOW
    quote = make_quote()
    assert verify_tdx_quote(quote, collateral=fresh, expected_report_data=None, now=NOW).tdx is not None
    with pytest.raises(CollateralStaleError) as caught:
        verify_tdx_quote(quote, collateral=stale, expected_report_data=None, now=NOW)
    assert caught.value.retryable
    assert caught.value.code == "attestation.collateral_stale"
    assert str(caught.value).startswith(f"{what} is stale")
    assert caught.value.claims["tee"] == "tdx"
