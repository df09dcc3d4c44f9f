"""The SIMULATED CPU report (NOT SECURITY), as the Verifier parses it: layout declared once, strict bounds.

This is the Verifier's twin of the layout declared for the Attester in
``enclave_runner.protocol.simulated.cpu`` (the Verifier may import no other ccgate package); a test
holds the two to the same bytes. Version 1, big-endian integers:

=========== ===== ================================================================
field       bytes meaning
=========== ===== ================================================================
label       32    ``ccgate/v1/simulated-cpu-report``, NUL-padded
version     2     1
flags       2     bit 0: the guest is debuggable; every other bit must be zero
report_data 64    the binding of DESIGN §5 step 3
measurement 48    the launch measurement of the runner image
chip_id     32    the simulated chip's identity, also in its certificate's serialNumber
signature   96    ECDSA P-384 / SHA-384 over every byte before it, raw r‖s (big-endian)
=========== ===== ================================================================
"""

import struct
from dataclasses import dataclass
from typing import Final

from attestation.errors import EvidenceMalformedError, UnsupportedEvidenceError

CPU_REPORT_LABEL: Final = b"ccgate/v1/simulated-cpu-report"
LABEL_SIZE: Final = 32
REPORT_DATA_SIZE: Final = 64
MEASUREMENT_SIZE: Final = 48
CHIP_ID_SIZE: Final = 32
PADDED_LABEL: Final = CPU_REPORT_LABEL.ljust(LABEL_SIZE, b"\x00")
SUPPORTED_VERSIONS: Final = frozenset({1})
FLAG_DEBUG: Final = 0x0001
# label, version: enough to tell which layout follows.
CPU_REPORT_PREFIX: Final = struct.Struct(f">{LABEL_SIZE}sH")
# label, version, flags, report_data, measurement, chip_id: the signed body of version 1.
CPU_REPORT_BODY_V1: Final = struct.Struct(
    f">{LABEL_SIZE}sHH{REPORT_DATA_SIZE}s{MEASUREMENT_SIZE}s{CHIP_ID_SIZE}s"
)
SIGNATURE_SIZE: Final = 96
CPU_REPORT_SIZE_V1: Final = CPU_REPORT_BODY_V1.size + SIGNATURE_SIZE


@dataclass(frozen=True, slots=True)
class SimulatedCpuReport:
    """A parsed (not yet verified) simulated CPU report."""

    version: int
    debug: bool
    report_data: bytes
    measurement: bytes
    chip_id: bytes
    signed_bytes: bytes
    signature: bytes


def parse_simulated_cpu_report(report: bytes) -> SimulatedCpuReport:
    """Parse a simulated CPU report with strict bounds.

    Raises:
        EvidenceMalformedError: too short, not labelled as a simulated CPU report, the wrong size for
            its version (including trailing bytes), or unknown flag bits.
        UnsupportedEvidenceError: a format version this Verifier does not know.
    """
    if len(report) < CPU_REPORT_PREFIX.size:
        raise EvidenceMalformedError(
            f"a simulated CPU report is {CPU_REPORT_SIZE_V1} bytes, got {len(report)}"
        )
    label, version = CPU_REPORT_PREFIX.unpack_from(report)
    if label != PADDED_LABEL:
        raise EvidenceMalformedError("not a simulated CPU report (wrong label)")
    if version not in SUPPORTED_VERSIONS:
        raise UnsupportedEvidenceError(f"simulated CPU report version {version} is not supported")
    if len(report) != CPU_REPORT_SIZE_V1:
        raise EvidenceMalformedError(
            f"a version-1 simulated CPU report is {CPU_REPORT_SIZE_V1} bytes, got {len(report)}"
        )
    _, _, flags, report_data, measurement, chip_id = CPU_REPORT_BODY_V1.unpack_from(report)
    if flags & ~FLAG_DEBUG:
        raise EvidenceMalformedError(
            f"unknown flag bits {flags & ~FLAG_DEBUG:#06x} in a simulated CPU report"
        )
    return SimulatedCpuReport(
        version=version,
        debug=bool(flags & FLAG_DEBUG),
        report_data=report_data,
        measurement=measurement,
        chip_id=chip_id,
        signed_bytes=report[: CPU_REPORT_BODY_V1.size],
        signature=report[CPU_REPORT_BODY_V1.size :],
    )
