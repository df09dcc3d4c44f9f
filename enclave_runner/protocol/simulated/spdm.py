"""SPDM 1.1 GET_MEASUREMENTS as an NVIDIA GPU in CC mode emits it: the layout, declared once, and a writer.

Part of the SIMULATED hardware (see the package docstring): NOT SECURITY.

The byte layout follows real Hopper reports (``../shared/testvectors/nvidia/PROVENANCE.md``, "Report
layout"); all integers are little-endian except the ECDSA r and s:

* request (37 bytes): version ``0x11``, code ``0xE0``, attributes ``0x01`` (signature requested),
  operation ``0xFF`` (all measurements), the 32-byte nonce, slot ``0x00``;
* response: version ``0x11``, code ``0x60``, param1, param2, NumberOfBlocks (64), a 3-byte
  MeasurementRecordLength (64 × 55 = 3520), then 64 DMTF measurement blocks
  ``[index (1-based), spec 0x01, u16 51][type 0x01, u16 48, 48-byte digest]``, the 32-byte responder
  nonce, a u16 OpaqueLength, the opaque data, and the 96-byte raw r‖s signature;
* opaque data: NVIDIA's legacy TLV list ``[u16 type][u16 length][value]``, strings NUL-terminated.

The signature (ECDSA P-384 over SHA-384 of everything before it) is made in ``simulated.gpu``; this
module only lays out bytes.
"""

import struct
from collections.abc import Sequence
from enum import IntEnum
from typing import Final

from enclave_runner.protocol.errors import SimulatedDeviceError

SPDM_VERSION_1_1: Final = 0x11
GET_MEASUREMENTS: Final = 0xE0
MEASUREMENTS: Final = 0x60
SIGNATURE_REQUESTED: Final = 0x01
ALL_MEASUREMENTS: Final = 0xFF
SLOT_ID: Final = 0x00

NONCE_SIZE: Final = 32
BLOCK_COUNT: Final = 64
DIGEST_SIZE: Final = 48
SIGNATURE_SIZE: Final = 96
MEASUREMENT_SPEC_DMTF: Final = 0x01
# DMTF measurement value type 0x01: firmware configuration, the type NVIDIA's reports use for every block.
DMTF_VALUE_TYPE: Final = 0x01

# version, code, param1 (request attributes), param2 (measurement operation), nonce, slot id.
REQUEST: Final = struct.Struct("<BBBB32sB")
# version, code, param1, param2, NumberOfBlocks, MeasurementRecordLength (u24, packed as 3 bytes).
RESPONSE_HEADER: Final = struct.Struct("<BBBBB3s")
# index (1-based), measurement specification, measurement size, DMTF value type, digest size, digest.
MEASUREMENT_BLOCK: Final = struct.Struct("<BBHBH48s")
RESPONDER_NONCE: Final = struct.Struct("<32s")
OPAQUE_LENGTH: Final = struct.Struct("<H")
OPAQUE_FIELD_HEADER: Final = struct.Struct("<HH")

# The size of the DMTF measurement (type + size + digest) that each block's measurement size announces.
DMTF_MEASUREMENT_SIZE: Final = MEASUREMENT_BLOCK.size - 4
MEASUREMENT_RECORD_LENGTH: Final = BLOCK_COUNT * MEASUREMENT_BLOCK.size

VBIOS_VERSION_PARTS: Final = 5


class OpaqueField(IntEnum):
    """NVIDIA's legacy opaque-data field types (the ones a simulated Hopper GPU emits)."""

    DRIVER_VERSION = 3
    GPU_INFO = 4
    VBIOS_VERSION = 6
    NVDEC0_STATUS = 11
    MSRSCNT = 12
    CPRINFO = 13
    BOARD_ID = 14
    CHIP_SKU = 15
    CHIP_SKU_MOD = 16
    PROJECT = 17
    PROJECT_SKU = 18
    PROJECT_SKU_MOD = 19
    FWID = 20


def nul_terminated(text: str) -> bytes:
    """Encode an opaque string field the way the GPU does: ASCII followed by one NUL.

    Raises:
        SimulatedDeviceError: the text is not printable ASCII.
    """
    if not text.isascii() or not text.isprintable():
        raise SimulatedDeviceError(f"opaque string fields are printable ASCII, got {text!r}")
    return text.encode("ascii") + b"\x00"


def encode_vbios_version(version: str) -> bytes:
    """Encode ``AA.BB.CC.DD.EE`` as the 8 raw bytes of opaque field 6.

    NVIDIA's verifiers read the field as a little-endian 64-bit value and print bytes 3, 2, 1, 0 and
    then byte 4 (``005e009601000000`` → ``96.00.5E.00.01``), so the device stores ``DD CC BB AA EE``
    followed by three zero bytes.

    Raises:
        SimulatedDeviceError: the version is not five dot-separated hex bytes.
    """
    parts = version.split(".")
    try:
        values = [int(part, 16) for part in parts if len(part) == 2]
    except ValueError:
        values = []
    if len(parts) != VBIOS_VERSION_PARTS or len(values) != VBIOS_VERSION_PARTS:
        raise SimulatedDeviceError(f"a VBIOS version is five hex bytes like 96.00.5E.00.01, got {version!r}")
    aa, bb, cc, dd, ee = values
    return bytes([dd, cc, bb, aa, ee, 0, 0, 0])


def opaque_data(fields: Sequence[tuple[OpaqueField, bytes]]) -> bytes:
    """Lay out opaque fields as NVIDIA's legacy TLV list, in the given order.

    Raises:
        SimulatedDeviceError: a value does not fit a u16 length, or the whole list does not.
    """
    parts = []
    for field_type, value in fields:
        if len(value) > 0xFFFF:
            raise SimulatedDeviceError(f"opaque field {field_type.name} is too long ({len(value)} bytes)")
        parts.append(OPAQUE_FIELD_HEADER.pack(field_type, len(value)) + value)
    data = b"".join(parts)
    if len(data) > 0xFFFF:
        raise SimulatedDeviceError(f"opaque data is too long ({len(data)} bytes)")
    return data


def get_measurements_request(nonce: bytes) -> bytes:
    """The 37-byte GET_MEASUREMENTS request: all measurements, signed, answering ``nonce``.

    Raises:
        SimulatedDeviceError: the nonce is not 32 bytes.
    """
    if len(nonce) != NONCE_SIZE:
        raise SimulatedDeviceError(f"an SPDM nonce is {NONCE_SIZE} bytes, got {len(nonce)}")
    return REQUEST.pack(
        SPDM_VERSION_1_1, GET_MEASUREMENTS, SIGNATURE_REQUESTED, ALL_MEASUREMENTS, nonce, SLOT_ID
    )


def measurements_response_unsigned(
    measurements: Sequence[bytes], responder_nonce: bytes, opaque: bytes
) -> bytes:
    """The MEASUREMENTS response up to (not including) its signature.

    Raises:
        SimulatedDeviceError: not 64 digests of 48 bytes, a responder nonce that is not 32 bytes, or
            opaque data longer than a u16 length allows.
    """
    if len(measurements) != BLOCK_COUNT or any(len(digest) != DIGEST_SIZE for digest in measurements):
        raise SimulatedDeviceError(f"a GPU reports {BLOCK_COUNT} measurements of {DIGEST_SIZE} bytes")
    if len(responder_nonce) != NONCE_SIZE:
        raise SimulatedDeviceError(f"a responder nonce is {NONCE_SIZE} bytes, got {len(responder_nonce)}")
    if len(opaque) > 0xFFFF:
        raise SimulatedDeviceError(f"opaque data is too long ({len(opaque)} bytes)")
    header = RESPONSE_HEADER.pack(
        SPDM_VERSION_1_1,
        MEASUREMENTS,
        0,
        SLOT_ID,
        BLOCK_COUNT,
        MEASUREMENT_RECORD_LENGTH.to_bytes(3, "little"),
    )
    record = b"".join(
        MEASUREMENT_BLOCK.pack(
            index, MEASUREMENT_SPEC_DMTF, DMTF_MEASUREMENT_SIZE, DMTF_VALUE_TYPE, DIGEST_SIZE, digest
        )
        for index, digest in enumerate(measurements, start=1)
    )
    return header + record + RESPONDER_NONCE.pack(responder_nonce) + OPAQUE_LENGTH.pack(len(opaque)) + opaque
