"""A SIMULATED confidential-VM CPU: NOT SECURITY (see the package docstring).

``SimulatedCpu`` signs a ccgate-defined report, labelled ``ccgate/v1/simulated-cpu-report``, that carries
the same things an SEV-SNP report does where a policy looks: the 64-byte report data, a launch
measurement, a debug flag and a chip id. The signing key is an ordinary in-memory P-384 key certified
by a locally generated "CPU root"; anyone holding the key file can forge reports.

Report layout, version 1 (declared here for the Attester and, as a twin, in
``attestation.simulated.cpu_report`` for the Verifier; a test holds the two to the same bytes).
Integers are big-endian:

=========== ===== ================================================================
field       bytes meaning
=========== ===== ================================================================
label       32    ``ccgate/v1/simulated-cpu-report``, NUL-padded
version     2     1
flags       2     bit 0: the guest is debuggable; every other bit must be zero
report_data 64    the binding of DESIGN §5 step 3
measurement 48    the launch measurement of the runner image (SHA-384 size)
chip_id     32    the simulated chip's identity, also in its certificate's serialNumber
signature   96    ECDSA P-384 / SHA-384 over every byte before it, raw r‖s (big-endian)
=========== ===== ================================================================
"""

import struct
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from enclave_runner.protocol.errors import SimulatedDeviceError

CPU_REPORT_LABEL: Final = b"ccgate/v1/simulated-cpu-report"
CPU_REPORT_VERSION: Final = 1
FLAG_DEBUG: Final = 0x0001
LABEL_SIZE: Final = 32
REPORT_DATA_SIZE: Final = 64
MEASUREMENT_SIZE: Final = 48
CHIP_ID_SIZE: Final = 32
# label, version, flags, report_data, measurement, chip_id: the signed body.
CPU_REPORT_BODY: Final = struct.Struct(
    f">{LABEL_SIZE}sHH{REPORT_DATA_SIZE}s{MEASUREMENT_SIZE}s{CHIP_ID_SIZE}s"
)
SIGNATURE_SIZE: Final = 96
CPU_REPORT_SIZE: Final = CPU_REPORT_BODY.size + SIGNATURE_SIZE


class CollectedCpuEvidence(NamedTuple):
    """What the simulated CPU returns: the signed report and its certificate chain (PEM, leaf first)."""

    report: bytes
    certificates: bytes


@dataclass(frozen=True, slots=True)
class SimulatedCpu:
    """One simulated confidential-VM CPU. Construction checks the material; ``collect`` signs reports."""

    signing_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate_chain_pem: bytes = field(repr=False)
    chip_id: bytes
    measurement: bytes
    debug: bool = False

    def __post_init__(self) -> None:
        """Refuse material the report format cannot carry.

        Raises:
            SimulatedDeviceError: a chip id or measurement of the wrong size, a key that is not P-384,
                or a key that is not the chain leaf's.
        """
        if len(self.chip_id) != CHIP_ID_SIZE:
            raise SimulatedDeviceError(
                f"a simulated chip id is {CHIP_ID_SIZE} bytes, got {len(self.chip_id)}"
            )
        if len(self.measurement) != MEASUREMENT_SIZE:
            raise SimulatedDeviceError(
                f"a simulated measurement is {MEASUREMENT_SIZE} bytes, got {len(self.measurement)}"
            )
        if not isinstance(self.signing_key.curve, ec.SECP384R1):
            raise SimulatedDeviceError("the simulated CPU signing key is ECDSA P-384")
        try:
            leaf = x509.load_pem_x509_certificate(self.certificate_chain_pem)
        except ValueError as exc:
            raise SimulatedDeviceError(
                f"the CPU certificate chain does not start with a certificate: {exc}"
            ) from exc
        if leaf.public_key() != self.signing_key.public_key():
            raise SimulatedDeviceError("the CPU signing key is not the key of the chain's leaf certificate")

    def collect(self, report_data: bytes) -> CollectedCpuEvidence:
        """Sign a version-1 report carrying ``report_data``.

        Raises:
            SimulatedDeviceError: ``report_data`` is not 64 bytes.
        """
        if len(report_data) != REPORT_DATA_SIZE:
            raise SimulatedDeviceError(f"report data is {REPORT_DATA_SIZE} bytes, got {len(report_data)}")
        body = CPU_REPORT_BODY.pack(
            CPU_REPORT_LABEL,
            CPU_REPORT_VERSION,
            FLAG_DEBUG if self.debug else 0,
            report_data,
            self.measurement,
            self.chip_id,
        )
        r, s = decode_dss_signature(self.signing_key.sign(body, ec.ECDSA(hashes.SHA384())))
        half = SIGNATURE_SIZE // 2
        return CollectedCpuEvidence(
            report=body + r.to_bytes(half, "big") + s.to_bytes(half, "big"),
            certificates=self.certificate_chain_pem,
        )
