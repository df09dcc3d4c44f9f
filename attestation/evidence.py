"""Evidence as the Verifier receives it: frozen, typed, and digested canonically.

The wire form (base64 in JSON) is parsed at the gateway boundary; from here on Evidence is bytes.
"""

import base64
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from attestation.canonical import JsonValue, canonical_json


class TeeType(StrEnum):
    """The CPU TEE that produced a CPU report."""

    SNP = "snp"
    TDX = "tdx"
    SIMULATED = "simulated"


class GpuArch(StrEnum):
    """The GPU architecture an NVIDIA report claims (checked against the certificate chain)."""

    HOPPER = "hopper"
    BLACKWELL = "blackwell"


@dataclass(frozen=True, slots=True)
class CpuEvidence:
    """A CPU attestation report plus any certificates the Attester sent with it.

    ``report``: the SNP attestation report (1184 bytes), the TDX quote, or the simulated report.
    ``certificates``: what the Attester could fetch locally (the SNP VCEK/VLEK from an extended
    report, PEM or DER); may be empty. A TDX quote carries its PCK chain inside itself.
    """

    tee: TeeType
    report: bytes
    certificates: bytes = b""


@dataclass(frozen=True, slots=True)
class GpuEvidence:
    """One GPU's SPDM GET_MEASUREMENTS request+response and its device certificate chain (PEM, leaf first)."""

    arch: GpuArch
    report: bytes
    certificate_chain: bytes


@dataclass(frozen=True, slots=True)
class EvidenceBundle:
    """Everything one runner posts for one attestation: a CPU report and one report per GPU."""

    cpu: CpuEvidence
    gpus: tuple[GpuEvidence, ...] = ()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def evidence_digest(bundle: EvidenceBundle) -> str:
    """SHA-256 (hex) over the canonical JSON of the bundle, labelled ``ccgate/v1/evidence``."""
    document: dict[str, JsonValue] = {
        "label": "ccgate/v1/evidence",
        "cpu": {
            "tee": str(bundle.cpu.tee),
            "report": _b64(bundle.cpu.report),
            "certificates": _b64(bundle.cpu.certificates),
        },
        "gpus": [
            {
                "arch": str(gpu.arch),
                "report": _b64(gpu.report),
                "certificate_chain": _b64(gpu.certificate_chain),
            }
            for gpu in bundle.gpus
        ],
    }
    return hashlib.sha256(canonical_json(document)).hexdigest()
