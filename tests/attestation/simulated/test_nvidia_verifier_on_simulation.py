"""The real NVIDIA Verifier, unchanged, on simulated Evidence and RIMs under allowed simulated roots.

Skipped until ``attestation.nvidia`` is on the branch (it is built in parallel and merged by the lead).
"""

import warnings
from datetime import timedelta

import pytest

from attestation.errors import CollateralMissingError, NonceMismatchError
from attestation.evidence import GpuArch, GpuEvidence
from attestation.result import GpuClaims
from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedTeeWarning
from gateway.simulation import gpu_from_material
from tests.simulation import sites

nvidia = pytest.importorskip("attestation.nvidia")

NONCE = bytes(range(32, 64))
pytestmark = pytest.mark.filterwarnings(
    "ignore::attestation.simulated.roots.SimulatedTeeWarning", "ignore::UserWarning"
)


def _collateral(rims: dict[str, bytes]) -> object:
    pem = sites.roots().to_pem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        warnings.simplefilter("ignore", UserWarning)
        anchors = nvidia.nvidia_trust_anchors(pem["device-root"], pem["rim-root"], allow_simulated_roots=True)
    return nvidia.NvidiaCollateral(anchors=anchors, rims={rim_id: (doc,) for rim_id, doc in rims.items()})


def _verify(
    firmware: SimulatedFirmware | None = None,
    *,
    rims_for: SimulatedFirmware | None = None,
    nonce: bytes = NONCE,
    **issue: object,
) -> GpuClaims:
    firmware = firmware or SimulatedFirmware()
    material = sites.vendor().issue_gpu(firmware, **issue)  # type: ignore[arg-type] # keyword pass-through.
    report, chain = gpu_from_material(material).collect(nonce)
    claims: GpuClaims = nvidia.verify_gpu_evidence(
        GpuEvidence(arch=GpuArch.HOPPER, report=report, certificate_chain=chain),
        expected_nonce=NONCE,
        collateral=_collateral(sites.vendor().sign_rims([rims_for or firmware])),
        now=sites.NOW + timedelta(minutes=5),
    )
    return claims


def test_simulated_evidence_passes_the_real_verifier_with_zero_mismatches() -> None:
    claims = _verify()
    assert claims.simulated is True
    assert claims.measres == "success"
    assert claims.mismatches == ()
    assert claims.signature_verified
    assert claims.nonce_match
    assert claims.fwid_match is True
    assert claims.driver_version == "550.54.15"
    assert claims.vbios_version == "96.00.CC.00.01"
    assert claims.driver_rim_version_match
    assert claims.vbios_rim_version_match
    assert claims.hwmodel == "GH100 A01 GSP BROM"
    assert claims.nvdec0_enabled is False


def test_an_old_driver_verifies_and_says_so_for_the_policy_to_deny() -> None:
    claims = _verify(SimulatedFirmware(driver_version=sites.OLD_DRIVER))
    assert claims.measres == "success"
    assert claims.driver_version == sites.OLD_DRIVER
    assert claims.driver_rim_id == "NV_GPU_DRIVER_GH100_535.86.10"


def test_an_old_driver_without_its_rim_is_missing_collateral() -> None:
    with pytest.raises(CollateralMissingError):
        _verify(SimulatedFirmware(driver_version=sites.OLD_DRIVER), rims_for=SimulatedFirmware())


def test_mismatched_firmware_is_reported_by_index() -> None:
    claims = _verify(mismatched_indexes=[2, 30])
    assert claims.measres != "success"
    assert [mismatch.index for mismatch in claims.mismatches] == [2, 30]


def test_firmware_that_does_not_report_its_fwid_skips_the_fwid_check() -> None:
    assert _verify(report_fwid=False).fwid_match is None


def test_evidence_for_another_nonce_is_rejected() -> None:
    with pytest.raises(NonceMismatchError):
        _verify(nonce=bytes(32))
