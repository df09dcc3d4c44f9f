"""Evidence as the Verifier receives it: frozen, typed, and digested canonically.

The wire form (base64 in JSON) is parsed at the gateway boundary; from here on Evidence is bytes.
"""

import base64
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from attestation.canonical import canonical_json


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


def evidence_digest(bundle: EvidenceBundle) -> str:
    """SHA-256 (hex) over the canonical JSON of the bundle, labelled ``ccgate/v1/evidence``.

    The document is ``{"cpu": {"certificates", "report", "tee"}, "gpus": [{"arch",
    "certificate_chain", "report"}, ...], "label"}`` with every byte string in standard base64,
    written as ``attestation.canonical.canonical_json`` writes it (sorted keys, no whitespace). It is
    hashed piece by piece instead of being built as one string: base64 and the enum values need no
    JSON escaping, and an 8-GPU bundle is about 100 kB that would otherwise be encoded three times.
    """
    digest = hashlib.sha256()
    digest.update(b'{"cpu":{"certificates":"')
    digest.update(base64.b64encode(bundle.cpu.certificates))
    digest.update(b'","report":"')
    digest.update(base64.b64encode(bundle.cpu.report))
    digest.update(b'","tee":' + _json_string(bundle.cpu.tee) + b'},"gpus":[')
    for index, gpu in enumerate(bundle.gpus):
        digest.update(b'{"arch":' if index == 0 else b',{"arch":')
        digest.update(_json_string(gpu.arch) + b',"certificate_chain":"')
        digest.update(base64.b64encode(gpu.certificate_chain))
        digest.update(b'","report":"')
        digest.update(base64.b64encode(gpu.report))
        digest.update(b'"}')
    digest.update(b'],"label":"ccgate/v1/evidence"}')
    return digest.hexdigest()


def _json_string(value: str) -> bytes:
    return canonical_json(str(value))
