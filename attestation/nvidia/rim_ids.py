"""Which RIMs a report needs: the driver RIM id and the VBIOS RIM id, built from its opaque data.

* Hopper driver: ``NV_GPU_DRIVER_GH100_<driver version>``;
* Blackwell driver: ``NV_GPU_CC_DRIVER_<CHIP_INFO>_<driver version>``, where a report without the
  CHIP_INFO field (every Blackwell report before CHIP_INFO existed) falls back to ``GB100``, as
  NVIDIA's C++ verifier does;
* VBIOS: ``NV_GPU_VBIOS_<PROJECT>_<PROJECT_SKU>_<CHIP_SKU>_<VBIOS version without dots, upper case>``.

The RIM documents do not contain these ids; binding a document to an id is the collateral store's
job, and the RIM's ``colloquialVersion`` is then checked against the report's version.
"""

from dataclasses import dataclass

from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia.opaque import GpuOpaqueData, parse_opaque_data
from attestation.nvidia.spdm import parse_measurement_report

HOPPER_DRIVER_CHIP = "GH100"
BLACKWELL_DEFAULT_CHIP = "GB100"


@dataclass(frozen=True, slots=True)
class RimIds:
    """The two RIM ids a report needs."""

    driver: str
    vbios: str


def rim_ids(opaque: GpuOpaqueData, arch: GpuArch) -> RimIds:
    """The driver and VBIOS RIM ids for a report's opaque data."""
    if arch is GpuArch.HOPPER:
        driver = f"NV_GPU_DRIVER_{HOPPER_DRIVER_CHIP}_{opaque.driver_version}"
    else:
        chip = (opaque.chip_info or BLACKWELL_DEFAULT_CHIP).upper()
        driver = f"NV_GPU_CC_DRIVER_{chip}_{opaque.driver_version}"
    vbios_digits = opaque.vbios_version.replace(".", "").upper()
    vbios = (
        f"NV_GPU_VBIOS_{opaque.project.upper()}_{opaque.project_sku.upper()}_"
        f"{opaque.chip_sku.upper()}_{vbios_digits}"
    )
    return RimIds(driver=driver, vbios=vbios)


def expected_rim_ids(evidence: GpuEvidence) -> RimIds:
    """Parse (without verifying) a GPU report and return the RIM ids it needs, e.g. to fetch them.

    Raises:
        SpdmMalformedError: the report does not parse (see ``parse_measurement_report`` and
            ``parse_opaque_data`` for the subclasses).
        OpaqueVersionUnsupportedError: the opaque data is of an unsupported version.
    """
    report = parse_measurement_report(evidence.report)
    return rim_ids(parse_opaque_data(report.opaque_data), evidence.arch)
