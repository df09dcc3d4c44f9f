"""Attestation Results for token tests: CPU claims from the simulated Verifier, GPU claims written out."""

import os
import warnings
from datetime import UTC, datetime

from attestation.evidence import GpuArch
from attestation.result import (
    AttestationResult,
    CertChainClaims,
    CpuClaims,
    GpuClaims,
    MeasurementMismatch,
    RevocationStatus,
)
from attestation.simulated.roots import SimulatedTeeWarning
from attestation.simulated.verifier import verify_simulated_cpu_report
from attestation.token import BoundKeys
from gateway.simulation import cpu_from_material
from tests.simulation import sites

NOW = sites.NOW
ISSUER = "https://gateway.example/ccgate"
NONCE = bytes(range(32))
REPORT_DATA = bytes(range(64))
MANIFEST_DIGEST = bytes(range(100, 132))
BOUND_KEYS = BoundKeys(x25519=os.urandom(32), ed25519=os.urandom(32))


def cpu_claims(*, debug: bool = False) -> CpuClaims:
    report, certificates = cpu_from_material(sites.vendor().issue_cpu(debug=debug)).collect(REPORT_DATA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        return verify_simulated_cpu_report(
            report,
            certificates=certificates,
            roots=sites.roots(),
            expected_report_data=REPORT_DATA,
            now=NOW,
        )


def gpu_claims(**changes: object) -> GpuClaims:
    chain = CertChainClaims(
        status="valid",
        ocsp_status=RevocationStatus.CHECKED_GOOD,
        expiration_date=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    values: dict[str, object] = {
        "arch": GpuArch.HOPPER,
        "arch_check": True,
        "simulated": False,
        "hwmodel": "GH100 A01 GSP BROM",
        "ueid": "460032006552296075780760406069494258829212062021",
        "oemid": "5703",
        "driver_version": "550.54.15",
        "vbios_version": "96.00.CC.00.01",
        "secboot": True,
        "dbgstat": "disabled",
        "measres": "success",
        "mismatches": (),
        "eat_nonce": NONCE.hex(),
        "nonce_match": True,
        "report_parsed": True,
        "signature_verified": True,
        "fwid_match": True,
        "cert_chain": chain,
        "driver_rim_id": "NV_GPU_DRIVER_GH100_550.54.15",
        "driver_rim_fetched": True,
        "driver_rim_schema_validated": True,
        "driver_rim_signature_verified": True,
        "driver_rim_version_match": True,
        "driver_rim_measurements_available": True,
        "driver_rim_cert_chain": chain,
        "vbios_rim_id": "NV_GPU_VBIOS_1010_0200_882_9600CC0001",
        "vbios_rim_fetched": True,
        "vbios_rim_schema_validated": True,
        "vbios_rim_signature_verified": True,
        "vbios_rim_version_match": True,
        "vbios_rim_measurements_available": True,
        "vbios_rim_cert_chain": chain,
        "vbios_index_no_conflict": True,
        "nvdec0_enabled": False,
    }
    values.update(changes)
    return GpuClaims(**values)  # type: ignore[arg-type] # the table above holds each field's type.


def mismatching_gpu_claims() -> GpuClaims:
    return gpu_claims(
        measres="fail",
        secboot=False,
        dbgstat="unknown",
        mismatches=(
            MeasurementMismatch(index=9, golden_values=("00" * 48, "11" * 48), runtime_value="22" * 48),
        ),
    )


def result(gpus: int = 2) -> AttestationResult:
    return AttestationResult(
        cpu=cpu_claims(),
        gpus=tuple(gpu_claims() for _ in range(gpus)),
        evidence_digest="ab" * 32,
        verified_at=NOW,
    )
