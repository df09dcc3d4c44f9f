"""Test doubles for the gateway's seams: a fake Evidence verifier with a tiny, honest Evidence format.

The fake CPU "report" is JSON naming its TEE, chip id and report data; each fake GPU "report" names
its UEID and the nonce it answered. The fake verifier checks the bindings exactly as a real one must
(report data equal to the expected value, every GPU nonce equal to ``gpu_nonce`` of it) and builds a
real ``AttestationResult``; it signs nothing, which is what makes it a fake and not a simulator.
"""

import base64
import json
from collections.abc import Sequence
from datetime import datetime

from attestation.errors import NonceMismatchError, ReportDataMismatchError
from attestation.evidence import CpuEvidence, EvidenceBundle, GpuArch, GpuEvidence, TeeType, evidence_digest
from attestation.result import (
    AttestationResult,
    BindingStatus,
    CertChainClaims,
    CpuClaims,
    GpuClaims,
    TcbStatus,
)
from enclave_runner.protocol.binding import gpu_nonce


def fake_evidence(tee: TeeType, chip_id: str, report_data: bytes, gpu_ueids: Sequence[str]) -> EvidenceBundle:
    """Evidence in the fake format, bound to ``report_data``."""
    nonce = gpu_nonce(report_data)
    cpu = json.dumps({"tee": str(tee), "chip_id": chip_id, "report_data": report_data.hex()}).encode()
    gpus = tuple(
        GpuEvidence(GpuArch.HOPPER, json.dumps({"ueid": ueid, "nonce": nonce.hex()}).encode(), b"chain")
        for ueid in gpu_ueids
    )
    return EvidenceBundle(CpuEvidence(tee, cpu), gpus)


def evidence_json(bundle: EvidenceBundle) -> dict[str, object]:
    """The DESIGN §5 wire shape of a bundle."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "cpu": {"type": str(bundle.cpu.tee), "report": b64(bundle.cpu.report), "certificates": ""},
        "gpus": [
            {"arch": str(g.arch), "evidence": b64(g.report), "certificate": b64(g.certificate_chain)}
            for g in bundle.gpus
        ],
    }


def _gpu_claims(ueid: str, nonce: str) -> GpuClaims:
    chain = CertChainClaims()
    return GpuClaims(
        arch=GpuArch.HOPPER,
        arch_check=True,
        simulated=True,
        hwmodel="GH100",
        ueid=ueid,
        oemid="5703",
        driver_version="550.54.15",
        vbios_version="96.00.74.00.1C",
        secboot=True,
        dbgstat="disabled",
        measres="success",
        mismatches=(),
        eat_nonce=nonce,
        nonce_match=True,
        report_parsed=True,
        signature_verified=True,
        fwid_match=True,
        cert_chain=chain,
        driver_rim_id="NV_GPU_DRIVER_GH100_550.54.15",
        driver_rim_fetched=True,
        driver_rim_schema_validated=True,
        driver_rim_signature_verified=True,
        driver_rim_version_match=True,
        driver_rim_measurements_available=True,
        driver_rim_cert_chain=chain,
        vbios_rim_id="NV_GPU_VBIOS_1010_0200_882_96007400",
        vbios_rim_fetched=True,
        vbios_rim_schema_validated=True,
        vbios_rim_signature_verified=True,
        vbios_rim_version_match=True,
        vbios_rim_measurements_available=True,
        vbios_rim_cert_chain=chain,
        vbios_index_no_conflict=True,
    )


class FakeEvidenceVerifier:
    """Checks the bindings of fake Evidence and returns a real Attestation Result; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def verify(
        self, bundle: EvidenceBundle, *, expected_report_data: bytes, now: datetime
    ) -> AttestationResult:
        self.calls += 1
        cpu = json.loads(bundle.cpu.report)
        if bytes.fromhex(cpu["report_data"]) != expected_report_data:
            raise ReportDataMismatchError("the report data is not the expected binding")
        expected_nonce = gpu_nonce(expected_report_data).hex()
        gpus = []
        for gpu in bundle.gpus:
            claims = json.loads(gpu.report)
            if claims["nonce"] != expected_nonce:
                raise NonceMismatchError("a GPU answered another nonce")
            gpus.append(_gpu_claims(claims["ueid"], claims["nonce"]))
        tee = TeeType(cpu["tee"])
        return AttestationResult(
            cpu=CpuClaims(
                tee=tee,
                # A vendor-format report the simulated vendor signed verifies as simulated hardware.
                simulated=tee is TeeType.SIMULATED or bool(cpu.get("simulated_vendor", False)),
                debug=False,
                measurement="00" * 48,
                report_data=expected_report_data.hex(),
                report_data_binding=BindingStatus.VERIFIED,
                hardware_id=cpu["chip_id"],
                tcb_status=TcbStatus.NOT_APPLICABLE,
                cert_chain=CertChainClaims(),
            ),
            gpus=tuple(gpus),
            evidence_digest=evidence_digest(bundle),
            verified_at=now,
        )
