"""Every SEV-SNP vector in ../shared/testvectors/snp gives the verdict its PROVENANCE.md states."""

import warnings
from datetime import UTC, datetime
from pathlib import Path

import cryptography
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from attestation.errors import CertificateChainError, CertificateExpiredError, SignatureInvalidError
from attestation.pki import load_pem_chain
from attestation.result import BindingStatus, RevocationStatus, TcbStatus
from attestation.roots import PinnedRoot, pinned_root_name
from attestation.snp import SnpCollateral, verify_snp_report
from attestation.snp.certificates import (
    check_times,
    load_amd_certificate,
    read_key_extensions,
    verify_amd_signed,
)
from tests.attestation.snp_synthetic import ReportSpec, make_report
from tests.conftest import vector_dir

pytestmark = pytest.mark.vectors
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def _snp() -> Path:
    return vector_dir("snp")


def _collateral(product: str) -> SnpCollateral:
    return SnpCollateral.from_pem((_snp() / "roots" / f"{product}_ask_ark_asvk.pem").read_bytes())


def test_milan_v2_trustee_verifies_with_every_stated_field() -> None:
    folder = _snp() / "milan-v2-trustee"
    claims = verify_snp_report(
        (folder / "report.bin").read_bytes(),
        vcek_or_vlek=(folder / "vcek.der").read_bytes(),
        collateral=_collateral("milan"),
        expected_report_data=bytes.fromhex("ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2")
        + bytes(32),
        now=NOW,
    )
    snp = claims.snp
    assert snp is not None
    assert (claims.debug, claims.simulated, claims.report_data_binding) == (
        False,
        False,
        BindingStatus.VERIFIED,
    )
    assert claims.tcb_status is TcbStatus.NOT_APPLICABLE
    assert claims.cert_chain.ocsp_status is RevocationStatus.NOT_CHECKED
    assert (snp.version, snp.product, snp.signing_key, snp.vmpl, snp.guest_svn) == (2, "Milan", "vcek", 0, 4)
    assert (snp.policy, snp.policy_abi_minor, snp.smt_allowed, snp.migrate_ma) == (0x3001F, 31, True, False)
    assert snp.reported_tcb.raw == "7308000000000003"
    assert (snp.reported_tcb.boot_loader, snp.reported_tcb.snp, snp.reported_tcb.microcode) == (3, 8, 115)
    assert snp.current_tcb.raw == "ce08000000000003"
    assert snp.committed_tcb.raw == snp.launch_tcb.raw == "7308000000000003"
    assert snp.current_firmware == "1.52.4"
    assert snp.family_id == "01" + "00" * 15
    assert snp.image_id == "02" + "00" * 15
    assert snp.measurement.startswith("a1f3930413247bb38cfc171579ea3c12")
    assert snp.chip_id.startswith("c38427a30d4c7af9")
    assert claims.hardware_id == snp.chip_id
    assert snp.cpuid is None


def test_milan_v2_debug_report_verifies_and_claims_debug() -> None:
    folder = _snp() / "milan-v2-debug-gosevguest"
    claims = verify_snp_report(
        (folder / "report.bin").read_bytes(),
        vcek_or_vlek=(folder / "vcek.der").read_bytes(),
        collateral=_collateral("milan"),
        expected_report_data=bytes.fromhex("0102030405") + bytes(59),
        now=NOW,
    )
    assert claims.debug is True
    assert claims.snp is not None
    assert (claims.snp.policy, claims.snp.debug_allowed, claims.snp.smt_allowed) == (0xB0000, True, True)
    assert claims.snp.reported_tcb.raw == "4405000000000002"
    assert claims.snp.current_firmware == "1.49.3"
    assert claims.snp.product == "Milan"  # from the VCEK: a version 2 report has no CPUID


def test_milan_v3_vlek_verifies_at_2025_06_01_with_vmpl_1() -> None:
    folder = _snp() / "milan-v3-vlek-trustee"
    claims = verify_snp_report(
        (folder / "report.bin").read_bytes(),
        vcek_or_vlek=(folder / "vlek.der").read_bytes(),
        collateral=_collateral("milan"),
        expected_report_data=None,
        now=datetime(2025, 6, 1, tzinfo=UTC),
    )
    assert claims.snp is not None
    assert (claims.snp.signing_key, claims.snp.vmpl, claims.snp.cpuid) == ("vlek", 1, "19-01-1")
    assert claims.snp.reported_tcb.raw == "d918000000000004"
    assert claims.snp.platform_info == 0x27
    assert claims.report_data_binding is BindingStatus.NOT_CHECKED
    assert claims.snp.chip_id == "00" * 64


def test_milan_v3_vlek_is_expired_at_now() -> None:
    folder = _snp() / "milan-v3-vlek-trustee"
    with pytest.raises(CertificateExpiredError) as caught:
        verify_snp_report(
            (folder / "report.bin").read_bytes(),
            vcek_or_vlek=(folder / "vlek.der").read_bytes(),
            collateral=_collateral("milan"),
            expected_report_data=None,
            now=NOW,
        )
    assert caught.value.code == "attestation.cert_expired"
    assert caught.value.claims["signing_key"] == "vlek"


def test_vlek_must_chain_to_the_asvk_not_the_ask() -> None:
    folder = _snp() / "milan-v3-vlek-trustee"
    roots = _collateral("milan")
    only_ask_as_asvk = SnpCollateral(ark=roots.ark, ask=roots.ask, asvk=roots.ask)
    with pytest.raises(CertificateChainError):
        verify_snp_report(
            (folder / "report.bin").read_bytes(),
            vcek_or_vlek=(folder / "vlek.der").read_bytes(),
            collateral=only_ask_as_asvk,
            expected_report_data=None,
            now=datetime(2025, 6, 1, tzinfo=UTC),
        )


@pytest.mark.parametrize("name", ["vcek-invalid-legacy.der", "vcek-invalid-new.der"])
def test_tampered_vceks_parse_but_do_not_chain(name: str) -> None:
    tampered = (_snp() / "milan-vcek-tampered-trustee" / name).read_bytes()
    extensions = read_key_extensions(load_amd_certificate(tampered))
    assert extensions.hw_id is not None
    assert len(extensions.hw_id) == 64
    folder = _snp() / "milan-v2-trustee"
    with pytest.raises(CertificateChainError) as caught:
        verify_snp_report(
            (folder / "report.bin").read_bytes(),
            vcek_or_vlek=tampered,
            collateral=_collateral("milan"),
            expected_report_data=None,
            now=NOW,
        )
    assert caught.value.code == "attestation.cert_chain_invalid"


def test_tampered_vcek_hw_id_encodings_both_decode_to_the_synthetic_id() -> None:
    folder = _snp() / "milan-vcek-tampered-trustee"
    for name in ("vcek-invalid-legacy.der", "vcek-invalid-new.der"):
        extensions = read_key_extensions(load_amd_certificate((folder / name).read_bytes()))
        assert extensions.hw_id == bytes(range(64)), name


def test_turin_vcek_extensions_use_the_turin_layout() -> None:
    folder = _snp() / "turin-vcek-chain-virtee"
    extensions = read_key_extensions(load_amd_certificate((folder / "vcek.der").read_bytes()))
    assert extensions.product_name == "Turin"
    assert (extensions.fmc, extensions.boot_loader, extensions.tee, extensions.snp, extensions.microcode) == (
        0,
        0,
        0,
        0,
        9,
    )
    assert extensions.hw_id == bytes.fromhex("1e550a8ee5cf9f4d")


def test_turin_vcek_chains_to_the_pinned_turin_ark_at_now() -> None:
    folder = _snp() / "turin-vcek-chain-virtee"
    collateral = SnpCollateral.from_pem((folder / "cert_chain.pem").read_bytes())
    vcek = load_amd_certificate((folder / "vcek.der").read_bytes())
    assert collateral.ask is not None
    assert collateral.asvk is None
    assert pinned_root_name(collateral.ark) is PinnedRoot.AMD_ARK_TURIN
    verify_amd_signed(collateral.ark, collateral.ark, "the Turin ARK")
    verify_amd_signed(collateral.ask, collateral.ark, "the Turin ASK")
    verify_amd_signed(vcek, collateral.ask, "the Turin VCEK")
    chain = {"ARK": collateral.ark, "ASK": collateral.ask, "VCEK": vcek}
    # The VCEK (2024-11-06..2031-11-06) is the first to expire.
    assert check_times(chain, NOW) == vcek.not_valid_after_utc
    assert vcek.not_valid_after_utc.date().isoformat() == "2031-11-06"
    with pytest.raises(CertificateExpiredError):
        check_times(chain, datetime(2031, 11, 7, tzinfo=UTC))
    # PROVENANCE: the chain file is the first two certificates of the Turin roots bundle.
    bundle = load_pem_chain((_snp() / "roots" / "turin_ask_ark_asvk.pem").read_bytes())
    assert [c.public_bytes(Encoding.DER) for c in bundle[:2]] == [
        c.public_bytes(Encoding.DER) for c in load_pem_chain((folder / "cert_chain.pem").read_bytes())
    ]


def _turin_report_not_signed_by_the_vcek() -> bytes:
    """A v5 Turin report matching the real Turin VCEK (TCB, CHIP_ID[0:8]); no real Turin report exists,
    and the VCEK's private key is AMD's, so it is signed by another key: the verifier gets through the
    chain (and records it) and stops at the report signature."""
    return make_report(
        ec.generate_private_key(ec.SECP384R1()),
        ReportSpec(
            version=5,
            reported_tcb=bytes([0, 0, 0, 0, 0, 0, 0, 9]),
            chip_id=bytes.fromhex("1e550a8ee5cf9f4d") + bytes(56),
            cpuid=(0x1A, 0x02, 0),
        ),
    )


def test_the_verifier_accepts_the_real_turin_chain_at_now() -> None:
    folder = _snp() / "turin-vcek-chain-virtee"
    report = _turin_report_not_signed_by_the_vcek()
    vcek = (folder / "vcek.der").read_bytes()
    with pytest.raises(SignatureInvalidError) as caught:
        verify_snp_report(
            report,
            vcek_or_vlek=vcek,
            collateral=SnpCollateral.from_pem((folder / "cert_chain.pem").read_bytes()),
            expected_report_data=None,
            now=NOW,
        )
    claims = caught.value.claims
    assert (claims["cert_chain"], claims["product"], claims["simulated"]) == ("valid", "Turin", False)
    # The same report and VCEK fail earlier, at the chain, under Milan's roots or after the VCEK expired.
    with pytest.raises(CertificateChainError) as milan:
        verify_snp_report(
            report, vcek_or_vlek=vcek, collateral=_collateral("milan"), expected_report_data=None, now=NOW
        )
    assert "cert_chain" not in milan.value.claims
    with pytest.raises(CertificateExpiredError):
        verify_snp_report(
            report,
            vcek_or_vlek=vcek,
            collateral=_collateral("turin"),
            expected_report_data=None,
            now=datetime(2031, 11, 7, tzinfo=UTC),
        )


@pytest.mark.parametrize("product", ["milan", "genoa", "turin"])
def test_every_roots_bundle_has_a_pinned_ark(product: str) -> None:
    collateral = _collateral(product)
    assert pinned_root_name(collateral.ark) is not None
    assert collateral.ask is not None
    assert collateral.asvk is not None


def test_serial_zero_vcek_verifies_without_leaking_the_deprecation_warning() -> None:
    folder = _snp() / "milan-v2-trustee"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        certificate = load_amd_certificate((folder / "vcek.der").read_bytes())
        claims = verify_snp_report(
            (folder / "report.bin").read_bytes(),
            vcek_or_vlek=(folder / "vcek.der").read_bytes(),
            collateral=_collateral("milan"),
            expected_report_data=None,
            now=NOW,
        )
    assert certificate.subject.rfc4514_string().startswith("CN=SEV-VCEK")
    assert claims.snp is not None


def test_recent_cryptography_does_warn_about_serial_zero_on_its_own() -> None:
    # The reason load_amd_certificate filters: without it, cryptography 45 and later warn on this VCEK
    # (43 and 44, which the [nvidia] extra's pin allows, load it silently; measured on 43.0.1 and 44.0.3).
    if int(cryptography.__version__.split(".")[0]) < 45:
        pytest.skip(f"cryptography {cryptography.__version__} does not warn about serial number zero")
    data = (_snp() / "milan-v2-trustee" / "vcek.der").read_bytes()
    with pytest.warns(CryptographyDeprecationWarning, match="serial number"):
        x509.load_der_x509_certificate(data).serial_number  # noqa: B018
