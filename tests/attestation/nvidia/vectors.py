"""The real NVIDIA vectors of ``../shared/testvectors/nvidia`` and their facts from PROVENANCE.md."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia import NvidiaCollateral, NvidiaTrustAnchors, nvidia_trust_anchors
from tests.conftest import vector_dir

FULL_PASS_NONCE = bytes.fromhex("4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e")
SAMPLE_NONCE = bytes.fromhex("931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb")
PINNED_TIME = datetime(2025, 5, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 26, tzinfo=UTC)

FULL_PASS_DRIVER_ID = "NV_GPU_DRIVER_GH100_545.00"
FULL_PASS_VBIOS_ID = "NV_GPU_VBIOS_1010_0200_882_96005E0001"
DRIVER_TEST_RIM = "rims-nvtrust/Driver_RIM_test_no_gpu.swidtag"
VBIOS_TEST_RIM = "rims-nvtrust/1010_0200_882_96005E0001_test_no_gpu.swidtag"
VBIOS_PROD_RIM = "rims-nvtrust/1010_0200_882_96005E0001_PROD.swidtag"
VBIOS_0003_RIM = "rims-nvtrust/1010_0200_882_96005E0003_PROD.swidtag"
NVAT_VBIOS_MISMATCH_RIM = "rims-nvat/NV_GPU_VBIOS_1010_0200_882_96005E0001_measurement_mismatch.xml"
NVAT_DRIVER_550_RIM = "rims-nvat/NV_GPU_DRIVER_GH100_550.144.03.xml"
NVAT_BAD_SIGNATURE_RIM = "rims-nvat/incorrect_signature_driver_rim.xml"
NVAT_EDITED_535_RIM = "rims-nvat/NV_GPU_DRIVER_GH100_535.86.09_measurement_mismatch.xml"
NVAT_EDITED_570_RIM = "rims-nvat/NV_GPU_DRIVER_GH100_570.124.03_expired.xml"
NVAT_BAD_CHAIN_RIM = "rims-nvat/incorrect_cert_chain_driver_rim.xml"


@dataclass(frozen=True)
class ReportVector:
    """One real report and its chain."""

    folder: str
    report: str
    chain: str
    arch: GpuArch


HOPPER_545 = ReportVector(
    "hopper-545-fullpass-gonvtrust", "attestationReport.txt", "gpuAkCertChain.txt", GpuArch.HOPPER
)
HOPPER_550 = ReportVector(
    "hopper-550-nvtrust-sample", "hopperAttestationReport.txt", "hopperCertChain.txt", GpuArch.HOPPER
)
BLACKWELL_575 = ReportVector(
    "blackwell-575-nvat", "blackwellAttestationReport.txt", "blackwellCertChain.txt", GpuArch.BLACKWELL
)


def nvidia_dir() -> Path:
    """The vector folder, or skip the test."""
    return vector_dir("nvidia")


def read(relative: str) -> bytes:
    """The bytes of a vector file."""
    return (nvidia_dir() / relative).read_bytes()


def report_bytes(vector: ReportVector) -> bytes:
    """The report of ``vector`` decoded from its hex text."""
    return bytes.fromhex(read(f"{vector.folder}/{vector.report}").decode("ascii").strip())


def evidence(vector: ReportVector, *, chain: str | None = None, report: bytes | None = None) -> GpuEvidence:
    """``vector`` as Evidence, optionally with another chain file or report bytes."""
    chain_bytes = read(f"{vector.folder}/{chain or vector.chain}")
    return GpuEvidence(vector.arch, report if report is not None else report_bytes(vector), chain_bytes)


def pinned_anchors() -> NvidiaTrustAnchors:
    """The pinned NVIDIA roots from the vector set."""
    return nvidia_trust_anchors(read("roots/verifier_device_root.pem"), read("roots/verifier_RIM_root.pem"))


def collateral(rims: Mapping[str, tuple[str, ...]], ocsp: tuple[bytes, ...] = ()) -> NvidiaCollateral:
    """Collateral with the pinned roots and RIM files (vector-relative paths) by id."""
    return NvidiaCollateral(
        anchors=pinned_anchors(),
        rims={rim_id: tuple(read(path) for path in paths) for rim_id, paths in rims.items()},
        ocsp_responses=ocsp,
    )


def full_pass_collateral() -> NvidiaCollateral:
    """The full-pass combination: the two ``*_test_no_gpu`` RIMs under the report's ids."""
    return collateral({FULL_PASS_DRIVER_ID: (DRIVER_TEST_RIM,), FULL_PASS_VBIOS_ID: (VBIOS_TEST_RIM,)})


def at(text: str) -> datetime:
    """An RFC 3339 UTC time."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
