"""A SIMULATED NVIDIA GPU in confidential-computing mode: NOT SECURITY (see the package docstring).

``SimulatedGpu`` holds what a real GPU holds in fuses, ROM and firmware: its device identity (the
attestation key of its "FMC LF" leaf certificate and the 5-certificate chain up to a device root), the 64
firmware measurements, the driver and VBIOS versions, its project/SKU ids, the NVDEC0 status and the
FWID. ``collect(nonce)`` answers SPDM GET_MEASUREMENTS exactly as a Hopper GPU does, so the real NVIDIA
Verifier code parses and verifies it unchanged. The key lives in process memory: this proves nothing.
"""

import secrets
from dataclasses import dataclass, field
from typing import Final, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from enclave_runner.protocol.errors import SimulatedDeviceError
from enclave_runner.protocol.simulated.spdm import (
    BLOCK_COUNT,
    DIGEST_SIZE,
    NONCE_SIZE,
    SIGNATURE_SIZE,
    OpaqueField,
    encode_vbios_version,
    get_measurements_request,
    measurements_response_unsigned,
    nul_terminated,
    opaque_data,
)

NVDEC0_DISABLED: Final = 0x55
NVDEC0_ENABLED: Final = 0xAA
FWID_SIZE: Final = 48

# Device attributes a Hopper GPU reports that no Verifier judges; the values have the shape of real ones.
_GPU_INFO: Final = (0x180).to_bytes(8, "little")
_BOARD_ID: Final = (0x3B1).to_bytes(4, "little")
_CPRINFO: Final = (0x1C000).to_bytes(4, "little")
# Hopper reports carry PROJECT_SKU_MOD as two NUL bytes when it is empty.
_PROJECT_SKU_MOD_WIDTH: Final = 2


class CollectedGpuEvidence(NamedTuple):
    """What one GPU returns: the SPDM request+response bytes and its certificate chain (PEM, leaf first)."""

    report: bytes
    certificate_chain: bytes


@dataclass(frozen=True, slots=True)
class SimulatedGpu:
    """One simulated Hopper GPU. Construction checks the material; ``collect`` signs Evidence with it."""

    leaf_private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate_chain_pem: bytes = field(repr=False)
    measurements: tuple[bytes, ...] = field(repr=False)
    driver_version: str
    vbios_version: str
    project: str
    project_sku: str
    chip_sku: str
    chip_sku_mod: str = "0"
    project_sku_mod: str = ""
    nvdec0_status: int = NVDEC0_DISABLED
    fwid: bytes | None = None
    # Laid out once: what a GPU reports besides its measurements does not change between reports.
    _opaque: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse material a real GPU could not have.

        Raises:
            SimulatedDeviceError: wrong measurement count or size, a key that is not P-384 or not the
                chain leaf's, a malformed version, an NVDEC0 status outside a byte, an FWID not 48 bytes.
        """
        if len(self.measurements) != BLOCK_COUNT or any(len(m) != DIGEST_SIZE for m in self.measurements):
            raise SimulatedDeviceError(f"a GPU holds {BLOCK_COUNT} measurements of {DIGEST_SIZE} bytes")
        if not isinstance(self.leaf_private_key.curve, ec.SECP384R1):
            raise SimulatedDeviceError("a GPU attestation key is ECDSA P-384")
        try:
            leaf = x509.load_pem_x509_certificate(self.certificate_chain_pem)
        except ValueError as exc:
            raise SimulatedDeviceError(
                f"the GPU certificate chain does not start with a PEM certificate: {exc}"
            ) from exc
        if leaf.public_key() != self.leaf_private_key.public_key():
            raise SimulatedDeviceError(
                "the GPU attestation key is not the key of the chain's leaf certificate"
            )
        encode_vbios_version(self.vbios_version)
        for text in (self.driver_version, self.project, self.project_sku, self.chip_sku, self.chip_sku_mod):
            nul_terminated(text)
        if not 0 <= self.nvdec0_status <= 0xFF:
            raise SimulatedDeviceError(f"the NVDEC0 status is one byte, got {self.nvdec0_status}")
        if self.fwid is not None and len(self.fwid) != FWID_SIZE:
            raise SimulatedDeviceError(f"an FWID is {FWID_SIZE} bytes, got {len(self.fwid)}")
        object.__setattr__(self, "_opaque", opaque_data(self.opaque_fields()))

    def opaque_fields(self) -> list[tuple[OpaqueField, bytes]]:
        """The opaque fields this GPU reports, in the order real Hopper reports list them."""
        measured = b"".join((1 if any(m) else 0).to_bytes(4, "little") for m in self.measurements)
        fields = [
            (OpaqueField.VBIOS_VERSION, encode_vbios_version(self.vbios_version)),
            (OpaqueField.BOARD_ID, _BOARD_ID),
            (OpaqueField.CHIP_SKU, nul_terminated(self.chip_sku)),
            (OpaqueField.CHIP_SKU_MOD, nul_terminated(self.chip_sku_mod)),
            (OpaqueField.PROJECT, nul_terminated(self.project)),
            (OpaqueField.PROJECT_SKU, nul_terminated(self.project_sku)),
            (
                OpaqueField.PROJECT_SKU_MOD,
                nul_terminated(self.project_sku_mod).ljust(_PROJECT_SKU_MOD_WIDTH, b"\x00"),
            ),
            (OpaqueField.DRIVER_VERSION, nul_terminated(self.driver_version)),
            (OpaqueField.GPU_INFO, _GPU_INFO),
            (OpaqueField.MSRSCNT, measured),
            (OpaqueField.CPRINFO, _CPRINFO),
            (OpaqueField.NVDEC0_STATUS, bytes([self.nvdec0_status])),
        ]
        # Newer firmware reports the FWID so a Verifier can compare it with the leaf certificate's;
        # older firmware (the 545 driver's report) leaves it out and Verifiers skip that check.
        if self.fwid is not None:
            fields.append((OpaqueField.FWID, self.fwid))
        return fields

    def collect(self, nonce: bytes, *, responder_nonce: bytes | None = None) -> CollectedGpuEvidence:
        """Answer GET_MEASUREMENTS for ``nonce``: request + response, signed with the attestation key.

        ``responder_nonce`` defaults to 32 fresh random bytes, as the GPU draws them.

        Raises:
            SimulatedDeviceError: the nonce or responder nonce is not 32 bytes.
        """
        if responder_nonce is None:
            responder_nonce = secrets.token_bytes(NONCE_SIZE)
        unsigned = get_measurements_request(nonce) + measurements_response_unsigned(
            self.measurements, responder_nonce, self._opaque
        )
        r, s = decode_dss_signature(self.leaf_private_key.sign(unsigned, ec.ECDSA(hashes.SHA384())))
        half = SIGNATURE_SIZE // 2
        return CollectedGpuEvidence(
            report=unsigned + r.to_bytes(half, "big") + s.to_bytes(half, "big"),
            certificate_chain=self.certificate_chain_pem,
        )
