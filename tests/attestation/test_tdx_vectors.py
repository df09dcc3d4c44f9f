"""Every TDX vector in ../shared/testvectors/tdx gives the verdict its PROVENANCE.md states."""

import json
from datetime import UTC, datetime, timedelta

import dcap_qvl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.binary_layout import Field
from attestation.errors import CollateralStaleError
from attestation.result import BindingStatus, TcbStatus
from attestation.tdx import TdxCollateral, layout, parse_quote, verify_tdx_quote
from attestation.tdx.collateral import split_signed_json
from attestation.tdx.errors import TdxCollateralMismatchError, TdxTcbLevelNotFoundError
from tests.attestation.tdx_synthetic import IntelPki, intel_pki, sgx_extension, sign_quote
from tests.attestation.tdx_vectors import (
    collateral_2023,
    near_mpc_collateral,
    outofdate_collateral,
    tdx_dir,
    v5_collateral,
)

pytestmark = pytest.mark.vectors
QUOTES = [
    "near-mpc-2026-04",
    "spr-v4-gotdxguest",
    "v5-gotdxguest",
    "cos-v4-padded-gotdxguest",
    "outofdate-v4-trustee",
]


def _quote(name: str) -> bytes:
    return (tdx_dir() / name / "quote.dat").read_bytes()


def test_near_mpc_verifies_up_to_date_at_2026_04_15() -> None:
    expected = bytes.fromhex(
        "00014ee5e70e861db29a95224e48a47c016ab03c61238333319af7614593cd155ba531073edd69921742beb1c510ff433948"
    ) + bytes(14)
    claims = verify_tdx_quote(
        _quote("near-mpc-2026-04"),
        collateral=near_mpc_collateral(),
        expected_report_data=expected,
        now=datetime(2026, 4, 15, tzinfo=UTC),
    )
    tdx = claims.tdx
    assert tdx is not None
    assert (claims.tcb_status, tdx.qe_tcb_status, claims.debug, claims.simulated) == (
        TcbStatus.UP_TO_DATE,
        TcbStatus.UP_TO_DATE,
        False,
        False,
    )
    assert claims.report_data_binding is BindingStatus.VERIFIED
    assert claims.advisory_ids == ()
    assert (tdx.td_attributes, tdx.xfam, tdx.fmspc, tdx.quote_version) == (
        "0000001000000000",
        "e702060000000000",
        "b0c06f000000",
        4,
    )
    assert tdx.mrtd == (
        "f06dfda6dce1cf904d4e2bab1dc370634cf95cefa2ceb2de2eee127c9382698090d7a4a13e14c536ec6c9c3c8fa87077"
    )
    assert tdx.rtmr3.startswith("b7662ac19c27af648a939be0")
    assert tdx.mrconfigid.startswith("01cb9b2d6204f5e4")
    assert tdx.tcb_date == datetime(2024, 11, 13, tzinfo=UTC)
    assert claims.measurement == tdx.mrtd
    assert claims.hardware_id == tdx.ppid


def test_near_mpc_collateral_is_stale_at_now() -> None:
    with pytest.raises(CollateralStaleError) as caught:
        verify_tdx_quote(
            _quote("near-mpc-2026-04"),
            collateral=near_mpc_collateral(),
            expected_report_data=None,
            now=datetime(2026, 11, 26, tzinfo=UTC),
        )
    assert caught.value.retryable
    assert caught.value.claims["fmspc"] == "b0c06f000000"


def test_spr_has_no_matching_tcb_level() -> None:
    with pytest.raises(TdxTcbLevelNotFoundError) as caught:
        verify_tdx_quote(
            _quote("spr-v4-gotdxguest"),
            collateral=collateral_2023(),
            expected_report_data=None,
            now=datetime(2023, 7, 1, 1, tzinfo=UTC),
        )
    assert caught.value.code == "attestation.tdx.tcb_level_not_found"
    assert str(caught.value.claims["measurement"]).startswith("6363b8043668a3ad")
    assert caught.value.claims["debug"] is False


def test_outofdate_platform_is_a_claim_not_an_error() -> None:
    claims = verify_tdx_quote(
        _quote("outofdate-v4-trustee"),
        collateral=outofdate_collateral(),
        expected_report_data=None,
        now=datetime(2025, 11, 1, tzinfo=UTC),
    )
    assert claims.tdx is not None
    assert claims.tcb_status is TcbStatus.OUT_OF_DATE
    assert claims.tdx.qe_tcb_status is TcbStatus.UP_TO_DATE
    assert claims.tdx.tcb_date == datetime(2018, 1, 4, tzinfo=UTC)
    assert claims.tdx.mrtd.startswith("21e8dead92d6c69d")


def test_v5_with_only_the_2023_qe_identity_is_stale() -> None:
    with pytest.raises(CollateralStaleError, match="QE identity"):
        verify_tdx_quote(
            _quote("v5-gotdxguest"),
            collateral=v5_collateral(),
            expected_report_data=None,
            now=datetime(2026, 2, 15, tzinfo=UTC),
        )


def test_cos_quote_has_no_collateral_for_its_fmspc() -> None:
    with pytest.raises(TdxCollateralMismatchError) as caught:
        verify_tdx_quote(
            _quote("cos-v4-padded-gotdxguest"),
            collateral=near_mpc_collateral(),
            expected_report_data=None,
            now=datetime(2026, 4, 15, tzinfo=UTC),
        )
    assert "00806f050000" in str(caught.value)
    assert caught.value.claims["report_data"] == "00" * 64


def test_v5_quote_parses_the_tdx_1_5_body() -> None:
    quote = parse_quote(_quote("v5-gotdxguest"))
    assert (quote.version, quote.body_type) == (5, 3)
    assert quote.body.tee_tcb_svn2 is not None
    assert quote.body.tee_tcb_svn2.hex().startswith("0d010400")
    assert quote.body.mrservicetd == bytes(48)
    assert quote.body.td_attributes.hex() == "0000001000000000"


@pytest.mark.parametrize("name", QUOTES)
def test_our_parse_agrees_with_dcap_qvl(name: str) -> None:
    data = _quote(name)
    ours = parse_quote(data)
    theirs = dcap_qvl.parse_quote(data)
    assert ours.version == theirs.header.version
    assert ours.body.mrtd == theirs.report.mr_td
    assert ours.body.td_attributes == theirs.report.td_attributes
    assert ours.body.rtmr0 == theirs.report.rt_mr0
    assert ours.body.report_data == theirs.report.report_data
    assert ours.body.debug is False


# --- v5: the expected TCB evaluation (PROVENANCE: UpToDate through the TDX_01 module identity) ----------
#
# No QE identity or CRLs of 2026-02 exist, and dcap-qvl refuses an expired QE identity, so the real v5
# quote cannot verify end to end. What decides its TCB status is all real, though: the TD 1.5 body
# (TEE_TCB_SVN), the PCK's SGX TCB components and PCESVN, and the TCB info for FMSPC 90c06f000000. Those
# are kept as they are; only the signatures around them are remade by the throwaway Intel-shaped PKI:
# a PCK carrying the real PCK's SGX extension values, the quote re-signed over the real header and body,
# the real TCB info and the (re-dated) 2023 QE identity re-signed, and fresh CRLs.

V5_AT = datetime(2026, 2, 15, tzinfo=UTC)
V5_BODY = layout.HEADER_SIZE + 6  # the v5 header, then the body descriptor (type u16, size u32)


def _raw_signature(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _pem(*certificates: x509.Certificate) -> str:
    return "".join(certificate.public_bytes(Encoding.PEM).decode() for certificate in certificates)


def _pki_with_the_v5_pck() -> IntelPki:
    pki = intel_pki()
    pck_chain = parse_quote(_quote("v5-gotdxguest")).pck_chain_pem.rstrip(b"\0")
    real = dcap_qvl.parse_pck_extension_from_pem(pck_chain)
    assert (real.fmspc.hex(), real.pce_id.hex(), real.pce_svn) == ("90c06f000000", "0000", 13)
    pck = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Intel SGX PCK Certificate")]))
        .issuer_name(pki.ca.subject)
        .public_key(pki.pck_key.public_key())
        .serial_number(0x5555)
        .not_valid_before(datetime(2026, 1, 27, tzinfo=UTC))
        .not_valid_after(datetime(2033, 1, 27, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.UnrecognizedExtension(
                x509.ObjectIdentifier("1.2.840.113741.1.13.1"),
                sgx_extension(real.cpu_svn, real.pce_svn, real.fmspc),
            ),
            critical=False,
        )
        .sign(pki.ca_key, hashes.SHA256())
    )
    return IntelPki(pki.root_key, pki.root, pki.ca_key, pki.ca, pki.tcb_key, pki.tcb_signer, pki.pck_key, pck)


def _resigned_v5_quote(pki: IntelPki, svns: dict[Field, bytes] | None = None) -> bytes:
    """The real v5 header and TD 1.5 body (``svns`` replacing TEE_TCB_SVN/SVN2), re-signed under ``pki``."""
    real = _quote("v5-gotdxguest")
    parsed = parse_quote(real)
    signed = bytearray(real[: parsed.signed_size])
    for field, value in (svns or {}).items():
        signed[V5_BODY + field.offset : V5_BODY + field.end] = value
    # The real QE report, its REPORT_DATA (the last 64 bytes) now binding the new attestation key.
    signature_data = sign_quote(
        pki, bytes(signed), lambda report_data: parsed.qe_report[:320] + report_data, parsed.qe_auth_data
    )
    return bytes(signed) + len(signature_data).to_bytes(4, "little") + signature_data


def _resigned(pki: IntelPki, member: str, text: str) -> str:
    return f'{{"{member}":{text},"signature":"{_raw_signature(pki.tcb_key, text.encode()).hex()}"}}'


def _fresh_crl(issuer: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> bytes:
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(V5_AT - timedelta(days=10))
        .next_update(V5_AT + timedelta(days=10))
        .add_extension(x509.CRLNumber(1), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def _v5_collateral_resigned(pki: IntelPki) -> TdxCollateral:
    folder = tdx_dir()
    tcb_info = split_signed_json((folder / "v5-gotdxguest/tcb_info_90c06f000000.json").read_text())["tcbInfo"]
    qe_response = (folder / "collateral-2023-06-gotdxguest/qe_identity_td_qe.json").read_text()
    identity = json.loads(split_signed_json(qe_response)["enclaveIdentity"])
    identity.update(issueDate="2026-02-01T00:00:00Z", nextUpdate="2026-03-03T00:00:00Z")
    chain = _pem(pki.tcb_signer, pki.root)
    return TdxCollateral.from_pcs_responses(
        root_ca=pki.root.public_bytes(Encoding.PEM),
        tcb_info_response=_resigned(pki, "tcbInfo", tcb_info),
        tcb_info_issuer_chain=chain,
        qe_identity_response=_resigned(pki, "enclaveIdentity", json.dumps(identity, separators=(",", ":"))),
        qe_identity_issuer_chain=chain,
        pck_crl=_fresh_crl(pki.ca, pki.ca_key),
        pck_crl_issuer_chain=_pem(pki.ca, pki.root),
        root_ca_crl=_fresh_crl(pki.root, pki.root_key),
        allow_simulated_root=True,
    )


@pytest.mark.filterwarnings("ignore:TdxCollateral")
def test_v5_tcb_is_up_to_date_through_the_tdx_01_module_identity() -> None:
    pki = _pki_with_the_v5_pck()
    claims = verify_tdx_quote(
        _resigned_v5_quote(pki), collateral=_v5_collateral_resigned(pki), expected_report_data=None, now=V5_AT
    )
    tdx = claims.tdx
    assert tdx is not None
    assert (tdx.quote_version, tdx.fmspc, claims.simulated) == (5, "90c06f000000", True)
    assert tdx.tee_tcb_svn.startswith("0b0104")
    assert tdx.tee_tcb_svn2 is not None
    assert tdx.tee_tcb_svn2.startswith("0d0104")
    assert tdx.mrtd.startswith("7348651a34b2d2d3")
    # PROVENANCE: the first level (tcbDate 2024-11-13) matches; TDX_01 isvsvn 11 >= 6 is UpToDate.
    assert (claims.tcb_status, tdx.tcb_date, claims.advisory_ids) == (
        TcbStatus.UP_TO_DATE,
        datetime(2024, 11, 13, tzinfo=UTC),
        (),
    )
    assert tdx.qe_tcb_status is TcbStatus.UP_TO_DATE


OLDER_MODULE = bytes.fromhex("05010400000000000000000000000000")


@pytest.mark.filterwarnings("ignore:TdxCollateral")
def test_v5_with_an_older_tdx_01_module_is_out_of_date_with_its_advisories() -> None:
    # The control for the test above: only the module SVN (byte 0 of TEE_TCB_SVN, and of TEE_TCB_SVN2,
    # the SVN after a TD-preserving update) drops from 11 to 5. The platform level does not compare it
    # (TEE_TCB_SVN[1] > 0); TDX_01's levels do (5 < 6, 5 >= 4: OutOfDate with two advisories).
    pki = _pki_with_the_v5_pck()
    claims = verify_tdx_quote(
        _resigned_v5_quote(pki, {layout.TEE_TCB_SVN: OLDER_MODULE, layout.TEE_TCB_SVN2: OLDER_MODULE}),
        collateral=_v5_collateral_resigned(pki),
        expected_report_data=None,
        now=V5_AT,
    )
    assert claims.tcb_status is TcbStatus.OUT_OF_DATE
    assert claims.tdx is not None
    assert claims.tdx.tcb_date == datetime(2024, 3, 13, tzinfo=UTC)
    assert claims.advisory_ids == ("INTEL-SA-01036", "INTEL-SA-01099")


@pytest.mark.filterwarnings("ignore:TdxCollateral")
def test_v5_launched_on_an_older_module_then_updated_is_a_relaunch_claim() -> None:
    pki = _pki_with_the_v5_pck()
    claims = verify_tdx_quote(
        _resigned_v5_quote(pki, {layout.TEE_TCB_SVN: OLDER_MODULE}),
        collateral=_v5_collateral_resigned(pki),
        expected_report_data=None,
        now=V5_AT,
    )
    # Only TEE_TCB_SVN (the module at launch) drops; TEE_TCB_SVN2 (the module now) stays current.
    assert claims.tcb_status is TcbStatus.TD_RELAUNCH_ADVISED
