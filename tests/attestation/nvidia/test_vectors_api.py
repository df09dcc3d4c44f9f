"""Every real NVIDIA vector gives the verdict PROVENANCE.md states, through the Python API."""

from datetime import datetime

import pytest

from attestation.errors import CollateralError, EvidenceError, NonceMismatchError
from attestation.nvidia import expected_rim_ids, nvidia_trust_anchors, verify_gpu_evidence
from attestation.nvidia.collateral import NvidiaCollateral
from attestation.nvidia.errors import (
    DeviceChainError,
    ReportSignatureError,
    RimChainError,
    RimDigestError,
    RimExpiredError,
    RimMissingError,
    RimSignatureError,
    RootNotPinnedError,
)
from attestation.result import GpuClaims, RevocationStatus
from tests.attestation.nvidia import vectors as v

pytestmark = pytest.mark.vectors


def _full_pass(*, now: datetime = v.PINNED_TIME, collateral: NvidiaCollateral | None = None) -> GpuClaims:
    return verify_gpu_evidence(
        v.evidence(v.HOPPER_545),
        expected_nonce=v.FULL_PASS_NONCE,
        collateral=collateral or v.full_pass_collateral(),
        now=now,
    )


def test_the_full_pass_vector_passes_with_zero_mismatches_and_nvidias_claims() -> None:
    claims = verify_gpu_evidence(
        v.evidence(v.HOPPER_545),
        expected_nonce=v.FULL_PASS_NONCE,
        collateral=v.full_pass_collateral(),
        now=v.PINNED_TIME,
    )
    assert claims.measres == "success"
    assert claims.mismatches == ()
    assert (claims.secboot, claims.dbgstat) == (True, "disabled")
    assert claims.hwmodel == "GH100 A01 GSP BROM"
    assert claims.ueid == "460032006552296075780760406069494258829212062021"
    assert claims.oemid == "5703"
    assert (claims.driver_version, claims.vbios_version) == ("545.00", "96.00.5E.00.01")
    assert (claims.driver_rim_id, claims.vbios_rim_id) == (v.FULL_PASS_DRIVER_ID, v.FULL_PASS_VBIOS_ID)
    assert claims.driver_rim_version_match
    assert claims.vbios_rim_version_match
    assert claims.vbios_index_no_conflict
    assert claims.fwid_match is None, "the 545.00 report has no opaque FWID: the check is skipped"
    assert claims.nvdec0_enabled is False
    assert claims.simulated is False
    assert claims.cert_chain.expiration_date == v.at("9999-12-31T23:59:59Z")
    assert claims.driver_rim_cert_chain.expiration_date == v.at("2025-06-26T06:10:12Z")
    assert claims.vbios_rim_cert_chain.expiration_date == v.at("2025-06-22T09:38:54Z")
    for chain in (claims.cert_chain, claims.driver_rim_cert_chain, claims.vbios_rim_cert_chain):
        assert chain.ocsp_status is RevocationStatus.NOT_CHECKED


@pytest.mark.parametrize(
    ("time", "passes"),
    [
        pytest.param("2023-06-27T06:10:11Z", False, id="one second before the driver RIM signer is valid"),
        pytest.param("2023-06-27T06:10:13Z", True, id="one second after the driver RIM signer is valid"),
        pytest.param("2025-05-01T00:00:00Z", True, id="the pinned time"),
        pytest.param("2025-06-22T09:38:53Z", True, id="one second before the VBIOS RIM signer expires"),
        pytest.param("2025-06-22T09:38:55Z", False, id="one second after the VBIOS RIM signer expires"),
        pytest.param("2026-11-26T00:00:00Z", False, id="NOW, when both signers and L3 GH100 001 expired"),
    ],
)
def test_the_full_pass_vector_holds_exactly_inside_its_rim_chain_window(time: str, passes: bool) -> None:
    if passes:
        assert _full_pass(now=v.at(time)).measres == "success"
    else:
        with pytest.raises(RimExpiredError) as caught:
            _full_pass(now=v.at(time))
        assert isinstance(caught.value, CollateralError)
        assert caught.value.retryable
        assert caught.value.claims["x-nvidia-gpu-attestation-report-signature-verified"] is True


@pytest.mark.parametrize(
    ("slot", "rim", "indexes", "version_match"),
    [
        pytest.param("vbios", v.VBIOS_PROD_RIM, [1, 2, 3, 9], True, id="the PROD RIM under the same id"),
        pytest.param("vbios", v.NVAT_VBIOS_MISMATCH_RIM, [1, 2, 3, 9], True, id="NVAT's re-issued VBIOS RIM"),
        pytest.param("vbios", v.VBIOS_0003_RIM, [1, 2, 3, 9, 11], False, id="the 96005E0003 RIM"),
        pytest.param(
            "driver",
            v.NVAT_DRIVER_550_RIM,
            [7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 37, 39, 40],
            False,
            id="the 550.144.03 driver RIM",
        ),
    ],
)
def test_substituted_rims_report_their_exact_mismatches(
    slot: str, rim: str, indexes: list[int], version_match: bool
) -> None:
    rims = {v.FULL_PASS_DRIVER_ID: (v.DRIVER_TEST_RIM,), v.FULL_PASS_VBIOS_ID: (v.VBIOS_TEST_RIM,)}
    rims[v.FULL_PASS_DRIVER_ID if slot == "driver" else v.FULL_PASS_VBIOS_ID] = (rim,)
    claims = _full_pass(collateral=v.collateral(rims))
    assert claims.measres == "fail"
    assert [m.index for m in claims.mismatches] == indexes
    assert getattr(claims, f"{slot}_rim_version_match") is version_match


@pytest.mark.parametrize(
    "order",
    [
        pytest.param((v.VBIOS_PROD_RIM, v.VBIOS_TEST_RIM), id="the mismatching RIM first"),
        pytest.param((v.VBIOS_TEST_RIM, v.VBIOS_PROD_RIM), id="the matching RIM first"),
    ],
)
def test_of_several_rims_under_one_id_the_matching_one_is_chosen(order: tuple[str, str]) -> None:
    rims = {v.FULL_PASS_DRIVER_ID: (v.DRIVER_TEST_RIM,), v.FULL_PASS_VBIOS_ID: order}
    claims = _full_pass(collateral=v.collateral(rims))
    assert claims.measres == "success"


def test_a_forged_candidate_next_to_a_genuine_one_under_the_same_id_does_not_block_it() -> None:
    rims = {
        v.FULL_PASS_DRIVER_ID: (v.NVAT_BAD_SIGNATURE_RIM, v.DRIVER_TEST_RIM),
        v.FULL_PASS_VBIOS_ID: (v.VBIOS_TEST_RIM,),
    }
    assert _full_pass(collateral=v.collateral(rims)).measres == "success"


@pytest.mark.parametrize(
    ("slot", "rim", "error"),
    [
        pytest.param("driver", v.NVAT_EDITED_535_RIM, RimDigestError, id="535.86.09 edited after signing"),
        pytest.param("driver", v.NVAT_EDITED_570_RIM, RimDigestError, id="570.124.03 edited and expired"),
        pytest.param(
            "driver", v.NVAT_BAD_SIGNATURE_RIM, RimSignatureError, id="one SignatureValue character changed"
        ),
        pytest.param("vbios", v.NVAT_BAD_CHAIN_RIM, RimChainError, id="signed under a debug root"),
    ],
)
def test_edited_or_badly_signed_rims_are_refused(slot: str, rim: str, error: type[Exception]) -> None:
    rims = {v.FULL_PASS_DRIVER_ID: (v.DRIVER_TEST_RIM,), v.FULL_PASS_VBIOS_ID: (v.VBIOS_TEST_RIM,)}
    rims[v.FULL_PASS_DRIVER_ID if slot == "driver" else v.FULL_PASS_VBIOS_ID] = (rim,)
    with pytest.raises(error) as caught:
        _full_pass(collateral=v.collateral(rims))
    assert isinstance(caught.value, EvidenceError), "a forged RIM is final, not retryable"
    assert caught.value.claims[f"x-nvidia-gpu-{slot}-rim-fetched"] is True


def test_a_missing_rim_is_retryable_and_carries_the_claims_so_far() -> None:
    with pytest.raises(RimMissingError) as caught:
        _full_pass(collateral=v.collateral({v.FULL_PASS_DRIVER_ID: (v.DRIVER_TEST_RIM,)}))
    assert caught.value.retryable
    assert caught.value.claims["x-nvidia-gpu-vbios-rim-id"] == v.FULL_PASS_VBIOS_ID
    assert caught.value.claims["x-nvidia-gpu-vbios-rim-fetched"] is False
    assert caught.value.claims["x-nvidia-gpu-driver-rim-signature-verified"] is True


def test_the_invalid_cert_chain_with_four_certificates_is_refused() -> None:
    with pytest.raises(DeviceChainError, match="4 certificates"):
        verify_gpu_evidence(
            v.evidence(v.HOPPER_545, chain="invalidCertChain.txt"),
            expected_nonce=v.FULL_PASS_NONCE,
            collateral=v.full_pass_collateral(),
            now=v.PINNED_TIME,
        )


def test_hopper_550_with_the_python_packages_nonce_is_a_nonce_mismatch() -> None:
    with pytest.raises(NonceMismatchError) as caught:
        verify_gpu_evidence(
            v.evidence(v.HOPPER_550), expected_nonce=v.FULL_PASS_NONCE, collateral=v.collateral({}), now=v.NOW
        )
    assert caught.value.claims["x-nvidia-gpu-attestation-report-signature-verified"] is True
    assert caught.value.claims["x-nvidia-gpu-attestation-report-nonce-match"] is False


@pytest.mark.parametrize(
    ("vector", "driver_id", "vbios_id"),
    [
        pytest.param(
            v.HOPPER_550,
            "NV_GPU_DRIVER_GH100_550.90.07",
            "NV_GPU_VBIOS_1010_0200_882_96009F0001",
            id="hopper-550",
        ),
        pytest.param(
            v.BLACKWELL_575,
            "NV_GPU_CC_DRIVER_GB100_575.32",
            "NV_GPU_VBIOS_G525_0220_886_970088000F",
            id="blackwell-575 (no CHIP_INFO: GB100 fallback)",
        ),
    ],
)
def test_reports_without_rims_pass_every_report_check_then_miss_their_rim(
    vector: v.ReportVector, driver_id: str, vbios_id: str
) -> None:
    assert expected_rim_ids(v.evidence(vector)) == type(expected_rim_ids(v.evidence(vector)))(
        driver_id, vbios_id
    )
    with pytest.raises(RimMissingError) as caught:
        verify_gpu_evidence(
            v.evidence(vector), expected_nonce=v.SAMPLE_NONCE, collateral=v.collateral({}), now=v.NOW
        )
    claims = caught.value.claims
    assert claims["x-nvidia-gpu-attestation-report-signature-verified"] is True
    assert claims["x-nvidia-gpu-attestation-report-nonce-match"] is True
    assert claims["x-nvidia-gpu-attestation-report-cert-chain-fwid-match"] is True
    assert claims["x-nvidia-gpu-driver-rim-id"] == driver_id
    assert claims["x-nvidia-gpu-driver-rim-fetched"] is False
    assert "measres" not in claims, "no RIM, no measurement verdict"


def test_hopper_550_against_the_nearest_public_rims_is_not_a_success() -> None:
    rims = {
        "NV_GPU_DRIVER_GH100_550.90.07": (v.DRIVER_TEST_RIM,),
        "NV_GPU_VBIOS_1010_0200_882_96009F0001": (v.VBIOS_PROD_RIM,),
    }
    claims = verify_gpu_evidence(
        v.evidence(v.HOPPER_550),
        expected_nonce=v.SAMPLE_NONCE,
        collateral=v.collateral(rims),
        now=v.PINNED_TIME,
    )
    assert claims.measres == "fail"
    assert [m.index for m in claims.mismatches] == [
        1, 2, 7, 9, 11, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40,
    ]  # fmt: skip
    assert not claims.driver_rim_version_match
    assert not claims.vbios_rim_version_match


def test_the_550_144_03_driver_rim_is_the_one_fully_valid_rim_at_now() -> None:
    rims = {
        "NV_GPU_DRIVER_GH100_550.90.07": (v.NVAT_DRIVER_550_RIM,),
        "NV_GPU_VBIOS_1010_0200_882_96009F0001": (),
    }
    with pytest.raises(RimMissingError) as caught:
        verify_gpu_evidence(
            v.evidence(v.HOPPER_550), expected_nonce=v.SAMPLE_NONCE, collateral=v.collateral(rims), now=v.NOW
        )
    assert caught.value.claims["x-nvidia-gpu-driver-rim-signature-verified"] is True
    assert caught.value.claims["x-nvidia-gpu-driver-rim-version-match"] is False
    assert caught.value.claims["x-nvidia-gpu-vbios-rim-fetched"] is False


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(4 + 7, id="a bit of the nonce"),
        pytest.param(37 + 8 + 4 + 3 + 20, id="a bit of measurement block 1"),
        pytest.param(-200, id="a bit of the opaque data"),
        pytest.param(-1, id="a bit of the signature"),
    ],
)
def test_a_flipped_bit_in_the_real_report_breaks_its_signature(position: int) -> None:
    report = bytearray(v.report_bytes(v.HOPPER_545))
    report[position] ^= 0x01
    with pytest.raises(ReportSignatureError) as caught:
        verify_gpu_evidence(
            v.evidence(v.HOPPER_545, report=bytes(report)),
            expected_nonce=v.FULL_PASS_NONCE,
            collateral=v.full_pass_collateral(),
            now=v.PINNED_TIME,
        )
    assert caught.value.claims["x-nvidia-gpu-attestation-report-parsed"] is True
    assert "x-nvidia-gpu-attestation-report-signature-verified" not in caught.value.claims


def test_the_pinned_roots_are_refused_in_each_others_role() -> None:
    device, rim = v.read("roots/verifier_device_root.pem"), v.read("roots/verifier_RIM_root.pem")
    assert v.pinned_anchors().simulated is False
    with pytest.raises(RootNotPinnedError):
        nvidia_trust_anchors(rim, device)


def test_on_2025_07_01_the_96005e0003_rim_is_chain_valid_while_the_nvtrust_96005e0001_ones_are_not() -> None:
    # The 545.00 test driver RIM expired on 2025-06-26, so the driver slot holds the 550.144.03 RIM
    # (valid then, and mismatching): what is compared here is whether each VBIOS RIM is still valid.
    at = v.at("2025-07-01T00:00:00Z")
    rims = {v.FULL_PASS_DRIVER_ID: (v.NVAT_DRIVER_550_RIM,), v.FULL_PASS_VBIOS_ID: (v.VBIOS_0003_RIM,)}
    claims = _full_pass(collateral=v.collateral(rims), now=at)
    assert claims.vbios_rim_signature_verified
    assert {1, 2, 3, 9, 11} <= {m.index for m in claims.mismatches}
    for expired in (v.VBIOS_PROD_RIM, v.VBIOS_TEST_RIM):
        rims[v.FULL_PASS_VBIOS_ID] = (expired,)
        with pytest.raises(RimExpiredError):
            _full_pass(collateral=v.collateral(rims), now=at)
