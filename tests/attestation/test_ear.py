"""The EAR status of each device follows the documented mapping from its claims."""

import dataclasses

import pytest

from attestation.ear import EarStatus, cpu_status, gpu_status
from attestation.result import BindingStatus, CertChainClaims, RevocationStatus, TcbStatus
from tests.attestation import token_fixtures as f

CPU = f.cpu_claims()
REAL_CPU = dataclasses.replace(
    CPU, simulated=False, cert_chain=CertChainClaims(ocsp_status=RevocationStatus.CHECKED_GOOD)
)
GPU = f.gpu_claims()
REVOKED = CertChainClaims(status="revoked", ocsp_status=RevocationStatus.CHECKED_REVOKED)
STALE = CertChainClaims(ocsp_status=RevocationStatus.STALE)

CPU_CASES = [
    ("a real, current, checked CPU", {}, EarStatus.AFFIRMING),
    ("a simulated CPU", {"simulated": True}, EarStatus.WARNING),
    ("a debuggable guest", {"debug": True}, EarStatus.CONTRAINDICATED),
    ("an out-of-date TCB", {"tcb_status": TcbStatus.OUT_OF_DATE}, EarStatus.CONTRAINDICATED),
    ("a revoked TCB", {"tcb_status": TcbStatus.REVOKED}, EarStatus.CONTRAINDICATED),
    ("a TCB needing SW hardening", {"tcb_status": TcbStatus.SW_HARDENING_NEEDED}, EarStatus.WARNING),
    ("an SNP TCB with no status notion", {"tcb_status": TcbStatus.NOT_APPLICABLE}, EarStatus.AFFIRMING),
    ("advisories", {"advisory_ids": ("INTEL-SA-00837",)}, EarStatus.WARNING),
    ("unchecked report data", {"report_data_binding": BindingStatus.NOT_CHECKED}, EarStatus.CONTRAINDICATED),
    ("a revoked chain", {"cert_chain": REVOKED}, EarStatus.CONTRAINDICATED),
    ("stale revocation data", {"cert_chain": STALE}, EarStatus.WARNING),
    ("unchecked revocation", {"cert_chain": CertChainClaims()}, EarStatus.WARNING),
    ("debug and simulated: the worst wins", {"debug": True, "simulated": True}, EarStatus.CONTRAINDICATED),
]


@pytest.mark.parametrize(("name", "changes", "status"), CPU_CASES, ids=[case[0] for case in CPU_CASES])
def test_cpu_status(name: str, changes: dict[str, object], status: EarStatus) -> None:
    assert cpu_status(dataclasses.replace(REAL_CPU, **changes)) is status, name  # type: ignore[arg-type] # table.


GPU_CASES = [
    ("a matching, checked GPU", {}, EarStatus.AFFIRMING),
    ("a simulated GPU", {"simulated": True}, EarStatus.WARNING),
    ("no FWID to compare", {"fwid_match": None}, EarStatus.WARNING),
    ("unchecked revocation of the device chain", {"cert_chain": CertChainClaims()}, EarStatus.WARNING),
    ("stale revocation of a RIM chain", {"vbios_rim_cert_chain": STALE}, EarStatus.WARNING),
    ("measurements that differ", {"measres": "fail"}, EarStatus.CONTRAINDICATED),
    ("mismatched indexes", {"mismatches": f.mismatching_gpu_claims().mismatches}, EarStatus.CONTRAINDICATED),
    ("an FWID that differs", {"fwid_match": False}, EarStatus.CONTRAINDICATED),
    ("secure boot off", {"secboot": False}, EarStatus.CONTRAINDICATED),
    ("debug not disabled", {"dbgstat": "enabled"}, EarStatus.CONTRAINDICATED),
    ("a driver RIM of another version", {"driver_rim_version_match": False}, EarStatus.CONTRAINDICATED),
    ("a VBIOS RIM of another version", {"vbios_rim_version_match": False}, EarStatus.CONTRAINDICATED),
    ("RIMs claiming one index", {"vbios_index_no_conflict": False}, EarStatus.CONTRAINDICATED),
    ("a revoked device chain", {"cert_chain": REVOKED}, EarStatus.CONTRAINDICATED),
    ("a revoked driver RIM chain", {"driver_rim_cert_chain": REVOKED}, EarStatus.CONTRAINDICATED),
    ("another nonce", {"nonce_match": False}, EarStatus.CONTRAINDICATED),
    ("an unverified signature", {"signature_verified": False}, EarStatus.CONTRAINDICATED),
]


@pytest.mark.parametrize(("name", "changes", "status"), GPU_CASES, ids=[case[0] for case in GPU_CASES])
def test_gpu_status(name: str, changes: dict[str, object], status: EarStatus) -> None:
    assert gpu_status(dataclasses.replace(GPU, **changes)) is status, name  # type: ignore[arg-type] # table.
