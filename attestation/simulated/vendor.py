"""A SIMULATED hardware vendor (NOT SECURITY): device PKI, RIM PKI and CPU root, made in memory.

``SimulatedVendor.create(now)`` plays NVIDIA and a CPU maker at once:

* an NVIDIA-shaped device PKI: root → "GH100 Identity" → "GH100 Provisioner ICA 1" → per-GPU
  "GH100 A01 GSP BROM" → per-GPU "GH100 A01 GSP FMC LF" leaf (the attestation key), with the FWID
  extension in its Hopper form and the ``NVIDIA:GH100:<16 hex>`` SAN;
* an NVIDIA-shaped RIM PKI: root → "Reference Value GH100 CA" → "Reference Value L3 GH100 001" →
  "HCC RIM L4 Signer", and RIMs signed with it for any simulated firmware;
* a CPU root that certifies each simulated chip's report-signing key.

It issues device material (``issue_gpu``, ``issue_cpu``) that the composition root hands to the
simulated hardware in ``enclave_runner.protocol.simulated``, and exports the three roots
(``roots``), which the gateway must be given explicitly. Pure: randomness only; ``now`` is a
parameter; no file I/O (``ccgate sim init`` writes the files). The CA private keys exist only in this
object: once it is gone, no further device can be issued under these roots.
"""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from attestation.simulated.certificates import (
    BACKDATE,
    FOREVER,
    FWID_EXTENSION_OID,
    Authority,
    chain_pem,
    hopper_fwid_extension,
    intermediate,
    issue,
    name,
    new_key,
    nvidia_device_san,
    self_signed_root,
    serial_from_key,
    whole_seconds,
)
from attestation.simulated.cpu_report import CHIP_ID_SIZE, MEASUREMENT_SIZE
from attestation.simulated.firmware import BLOCK_COUNT, RimComponent, SimulatedFirmware, tampered_measurement
from attestation.simulated.rim import rim_document, sign_rim
from attestation.simulated.roots import SimulatedRoots

YEAR: Final = timedelta(days=365)
# Lifetimes like NVIDIA's RIM PKI: a 30-year root, a 10-year CA, an L3 of a few years and a 2-year L4.
RIM_ROOT_LIFETIME: Final = 30 * YEAR
RIM_CA_LIFETIME: Final = 10 * YEAR
RIM_L3_LIFETIME: Final = 3 * YEAR
RIM_SIGNER_LIFETIME: Final = 2 * YEAR
CPU_ROOT_LIFETIME: Final = 30 * YEAR
CPU_CHIP_LIFETIME: Final = 10 * YEAR
# NVIDIA's NVDEC0 status byte: 0x55 = the video decoder is disabled, so RIM index 35 is not compared.
NVDEC0_DISABLED: Final = 0x55
_RUNNER_IMAGE_LABEL: Final = b"ccgate/v1/simulated-runner-image"
_RIM_TAG_LABEL: Final = b"ccgate/v1/simulated-rim-tag"


@dataclass(frozen=True, slots=True)
class SimulatedGpuMaterial:
    """Everything a simulated GPU holds, as issued by the vendor (to build ``SimulatedGpu`` from)."""

    leaf_private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate_chain_pem: bytes = field(repr=False)
    firmware: SimulatedFirmware
    measurements: tuple[bytes, ...] = field(repr=False)
    fwid: bytes
    report_fwid: bool
    nvdec0_status: int
    ueid: str


@dataclass(frozen=True, slots=True)
class SimulatedCpuMaterial:
    """Everything a simulated CPU holds, as issued by the vendor (to build ``SimulatedCpu`` from)."""

    signing_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate_chain_pem: bytes = field(repr=False)
    chip_id: bytes
    measurement: bytes
    debug: bool


def default_runner_measurement() -> bytes:
    """The launch measurement of the simulated runner image (what reference values list for the demo)."""
    return hashlib.sha384(_RUNNER_IMAGE_LABEL).digest()


@dataclass(frozen=True, eq=False, slots=True)
class SimulatedVendor:
    """The simulated vendor's authorities. Build with ``create``; the fields are its CAs."""

    created_at: datetime
    device_root: Authority
    device_identity: Authority
    device_provisioner: Authority
    rim_root: Authority
    rim_ca: Authority
    rim_l3: Authority
    rim_signer: Authority
    cpu_root: Authority

    @classmethod
    def create(cls, now: datetime) -> "SimulatedVendor":
        """Generate every root and intermediate, valid from a day before ``now`` (an aware datetime)."""
        start = whole_seconds(now) - BACKDATE
        device_root = self_signed_root("ccgate SIMULATED Device Identity CA", start, FOREVER)
        identity = intermediate("SIMULATED GH100 Identity", device_root, start, FOREVER)
        provisioner = intermediate("SIMULATED GH100 Provisioner ICA 1", identity, start, FOREVER)
        rim_root = self_signed_root(
            "ccgate SIMULATED CoRIM signing Root CA", start, start + RIM_ROOT_LIFETIME
        )
        rim_ca = intermediate("SIMULATED Reference Value GH100 CA", rim_root, start, start + RIM_CA_LIFETIME)
        rim_l3 = intermediate(
            "SIMULATED Reference Value L3 GH100 001", rim_ca, start, start + RIM_L3_LIFETIME, path_length=0
        )
        signer_key = new_key()
        signer = Authority(
            issue(
                subject=name("SIMULATED HCC RIM L4 Signer"),
                public_key=signer_key.public_key(),
                issuer=rim_l3,
                signing_key=rim_l3.private_key,
                not_before=start,
                not_after=start + RIM_SIGNER_LIFETIME,
                ca=False,
            ),
            signer_key,
        )
        cpu_root = self_signed_root("ccgate SIMULATED CPU Root CA", start, start + CPU_ROOT_LIFETIME)
        return cls(
            start + BACKDATE, device_root, identity, provisioner, rim_root, rim_ca, rim_l3, signer, cpu_root
        )

    @property
    def roots(self) -> SimulatedRoots:
        """The three roots a gateway must be given explicitly to accept this vendor's devices (warns)."""
        return SimulatedRoots(
            device_root=self.device_root.certificate,
            rim_root=self.rim_root.certificate,
            cpu_root=self.cpu_root.certificate,
        )

    def issue_gpu(
        self,
        firmware: SimulatedFirmware | None = None,
        *,
        report_fwid: bool = True,
        nvdec0_status: int = NVDEC0_DISABLED,
        mismatched_indexes: Iterable[int] = (),
    ) -> SimulatedGpuMaterial:
        """Issue one simulated Hopper GPU running ``firmware`` (default: the current simulated build).

        ``report_fwid=False`` makes the GPU leave the FWID out of its reports, as 545-era firmware did.
        ``nvdec0_status`` is 0x55 (NVDEC0 disabled, as in every real report seen) or 0xAA (enabled).
        ``mismatched_indexes`` (0-based RIM indexes) get measurements that match no RIM, to make
        Evidence that verifies but fails the measurement comparison.

        Raises:
            ValueError: a mismatched index outside 0..63.
        """
        firmware = firmware or SimulatedFirmware()
        measurements = list(firmware.runtime_measurements())
        for index in mismatched_indexes:
            if not 0 <= index < BLOCK_COUNT:
                raise ValueError(f"RIM indexes are 0..{BLOCK_COUNT - 1}, got {index}")
            measurements[index] = tampered_measurement(measurements[index])
        brom_key, leaf_key = new_key(), new_key()
        brom_serial = serial_from_key(brom_key.public_key(), 9)
        brom = Authority(
            issue(
                subject=name("GH100 A01 GSP BROM", serial_number=f"{brom_serial:X}"),
                public_key=brom_key.public_key(),
                issuer=self.device_provisioner,
                signing_key=self.device_provisioner.private_key,
                not_before=self.created_at - BACKDATE,
                not_after=FOREVER,
                ca=True,
                serial=brom_serial,
            ),
            brom_key,
        )
        leaf_serial = serial_from_key(leaf_key.public_key(), 20)
        fwid = firmware.fwid
        leaf = issue(
            subject=name("GH100 A01 GSP FMC LF", serial_number=f"{leaf_serial:040X}"),
            public_key=leaf_key.public_key(),
            issuer=brom,
            signing_key=brom_key,
            not_before=self.created_at - BACKDATE,
            not_after=FOREVER,
            ca=None,
            serial=leaf_serial,
            extensions=(
                (nvidia_device_san(firmware.chip, secrets.token_bytes(8)), False),
                (
                    x509.UnrecognizedExtension(
                        FWID_EXTENSION_OID, hopper_fwid_extension(brom_key.public_key(), fwid)
                    ),
                    False,
                ),
            ),
        )
        chain = (
            leaf,
            brom.certificate,
            self.device_provisioner.certificate,
            self.device_identity.certificate,
            self.device_root.certificate,
        )
        return SimulatedGpuMaterial(
            leaf_private_key=leaf_key,
            certificate_chain_pem=chain_pem(chain),
            firmware=firmware,
            measurements=tuple(measurements),
            fwid=fwid,
            report_fwid=report_fwid,
            nvdec0_status=nvdec0_status,
            ueid=str(leaf_serial),
        )

    def issue_cpu(
        self, *, measurement: bytes | None = None, debug: bool = False, chip_id: bytes | None = None
    ) -> SimulatedCpuMaterial:
        """Issue one simulated CPU: a chip id, its report-signing key and a certificate for it.

        ``measurement`` defaults to the simulated runner image's; ``debug=True`` makes its reports say
        the guest is debuggable (a claim policies deny).

        Raises:
            ValueError: a measurement that is not 48 bytes or a chip id that is not 32 bytes.
        """
        measurement = default_runner_measurement() if measurement is None else measurement
        chip_id = secrets.token_bytes(CHIP_ID_SIZE) if chip_id is None else chip_id
        if len(measurement) != MEASUREMENT_SIZE or len(chip_id) != CHIP_ID_SIZE:
            raise ValueError(f"a measurement is {MEASUREMENT_SIZE} bytes and a chip id {CHIP_ID_SIZE} bytes")
        key = new_key()
        start = self.created_at - BACKDATE
        certificate = issue(
            subject=name("ccgate SIMULATED CPU", serial_number=chip_id.hex()),
            public_key=key.public_key(),
            issuer=self.cpu_root,
            signing_key=self.cpu_root.private_key,
            not_before=start,
            not_after=start + CPU_CHIP_LIFETIME,
            ca=False,
        )
        return SimulatedCpuMaterial(
            signing_key=key,
            certificate_chain_pem=chain_pem((certificate,)),
            chip_id=chip_id,
            measurement=measurement,
            debug=debug,
        )

    def sign_rims(self, firmwares: Iterable[SimulatedFirmware]) -> dict[str, bytes]:
        """Sign the driver and VBIOS RIMs of every firmware, keyed by RIM id (one RIM per id)."""
        chain = (
            self.rim_signer.certificate,
            self.rim_l3.certificate,
            self.rim_ca.certificate,
            self.rim_root.certificate,
        )
        rims: dict[str, bytes] = {}
        for firmware in firmwares:
            for component in RimComponent:
                rim_id = firmware.rim_id(component)
                if rim_id in rims:
                    continue
                document = rim_document(
                    tag_id=hashlib.sha384(_RIM_TAG_LABEL + rim_id.encode("ascii")).hexdigest(),
                    product=firmware.chip,
                    colloquial_version=firmware.colloquial_version(component),
                    measurements=firmware.golden_measurements(component),
                )
                rims[rim_id] = sign_rim(document, self.rim_signer.private_key, chain)
        return rims
