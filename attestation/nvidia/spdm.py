"""SPDM 1.1 GET_MEASUREMENTS request + MEASUREMENTS response, as an NVIDIA GPU returns them.

The Evidence is the 37-byte request followed by the signed response (DMTF DSP0274 1.1, §10.11):

    request:  SPDMVersion 0x11 | 0xE0 | Param1 (0x01: signature requested) | Param2 (0xFF: all)
              | Nonce (32) | SlotIDParam
    response: SPDMVersion 0x11 | 0x60 | Param1 | Param2 (slot) | NumberOfBlocks
              | MeasurementRecordLength (u24) | MeasurementRecord | Nonce (32) | OpaqueLength (u16)
              | OpaqueData | Signature (96, raw r‖s)

Every layout is declared once below as named fields; the parser reads through a bounded reader, so
a length past the end is a typed error, never a short slice. Trailing bytes after the signature
are REJECTED (not ignored): the signature covers exactly the parsed length, and a report whose
length fields disagree with its size is not the report the device signed.
"""

import hashlib
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from attestation.nvidia.errors import (
    SpdmCodeError,
    SpdmMeasurementBlockError,
    SpdmRequestError,
    SpdmTrailingBytesError,
    SpdmVersionError,
)
from attestation.nvidia.memo import BoundedMemo
from attestation.nvidia.wire import ByteReader


class Field(NamedTuple):
    """One fixed-size field of a binary layout: its name in the specification and its size in bytes."""

    name: str
    size: int


SPDM_VERSION_1_1 = 0x11
GET_MEASUREMENTS = 0xE0
MEASUREMENTS = 0x60
SIGNATURE_REQUESTED = 0x01
ALL_MEASUREMENTS = 0xFF
MAX_SLOT_ID = 7
DMTF_MEASUREMENT_SPECIFICATION = 0x01
RAW_BIT_STREAM_FLAG = 0x80
SHA384_DIGEST_SIZE = 48
# ECDSA P-384 signatures travel as raw r‖s, 48 bytes each (both Hopper and Blackwell).
SIGNATURE_SIZE = 96

VERSION = Field("SPDMVersion", 1)
CODE = Field("RequestResponseCode", 1)
PARAM1 = Field("Param1", 1)
PARAM2 = Field("Param2", 1)
NONCE = Field("Nonce", 32)
SLOT_ID_PARAM = Field("SlotIDParam", 1)
NUMBER_OF_BLOCKS = Field("NumberOfBlocks", 1)
MEASUREMENT_RECORD_LENGTH = Field("MeasurementRecordLength", 3)
OPAQUE_LENGTH = Field("OpaqueLength", 2)
SIGNATURE = Field("Signature", SIGNATURE_SIZE)

# Measurement block (DSP0274 table "Measurement block format") and its DMTF measurement value.
BLOCK_INDEX = Field("Index", 1)
BLOCK_SPECIFICATION = Field("MeasurementSpecification", 1)
BLOCK_SIZE = Field("MeasurementSize", 2)
VALUE_TYPE = Field("DMTFSpecMeasurementValueType", 1)
VALUE_SIZE = Field("DMTFSpecMeasurementValueSize", 2)

REQUEST_LAYOUT = (VERSION, CODE, PARAM1, PARAM2, NONCE, SLOT_ID_PARAM)
REQUEST_SIZE = sum(field.size for field in REQUEST_LAYOUT)
DMTF_VALUE_HEADER_SIZE = VALUE_TYPE.size + VALUE_SIZE.size


@dataclass(frozen=True, slots=True)
class MeasurementBlock:
    """One SPDM measurement block: a 1-based index and its SHA-384 digest."""

    index: int
    value_type: int
    digest: bytes


@dataclass(frozen=True, slots=True)
class SpdmMeasurementReport:
    """A parsed, not yet verified, GET_MEASUREMENTS request + MEASUREMENTS response."""

    nonce: bytes
    slot_id: int
    blocks: tuple[MeasurementBlock, ...]
    responder_nonce: bytes
    opaque_data: bytes
    signature: bytes
    signed_bytes: bytes
    # Derived from ``blocks``: every golden value of two RIMs is looked up here, per GPU per release.
    _digests: dict[int, bytes] = field(init=False, repr=False, compare=False)
    _measurements_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        digests: dict[int, bytes] = {}
        for block in self.blocks:
            digests.setdefault(block.index, block.digest)
        object.__setattr__(self, "_digests", digests)
        described = b"".join(
            bytes((block.index & 0xFF, block.value_type & 0xFF)) + block.digest for block in self.blocks
        )
        object.__setattr__(self, "_measurements_key", hashlib.sha256(described).digest())

    def digest_at(self, spdm_index: int) -> bytes | None:
        """The digest of block ``spdm_index`` (1-based, as in SPDM), or None when the report has none."""
        return self._digests.get(spdm_index)

    @property
    def measurements_key(self) -> bytes:
        """SHA-256 over the blocks (index, type, digest): what a comparison with a RIM depends on."""
        return self._measurements_key


def _expect(actual: int, expected: int, field: Field, error: type[SpdmVersionError | SpdmCodeError]) -> None:
    if actual != expected:
        raise error(f"{field.name} is 0x{actual:02x}, expected 0x{expected:02x}")


def _parse_request(reader: ByteReader) -> tuple[bytes, int]:
    _expect(reader.uint(VERSION.size, "request " + VERSION.name), SPDM_VERSION_1_1, VERSION, SpdmVersionError)
    _expect(reader.uint(CODE.size, "request " + CODE.name), GET_MEASUREMENTS, CODE, SpdmCodeError)
    param1 = reader.uint(PARAM1.size, "request " + PARAM1.name)
    param2 = reader.uint(PARAM2.size, "request " + PARAM2.name)
    if param1 != SIGNATURE_REQUESTED or param2 != ALL_MEASUREMENTS:
        raise SpdmRequestError(
            f"the request has Param1 0x{param1:02x} and Param2 0x{param2:02x}; only a signed request for "
            "all measurements (0x01, 0xff) can be checked against the RIMs"
        )
    nonce = reader.take(NONCE.size, "request " + NONCE.name)
    slot_id = reader.uint(SLOT_ID_PARAM.size, "request " + SLOT_ID_PARAM.name)
    if slot_id > MAX_SLOT_ID:
        raise SpdmRequestError(f"SlotIDParam 0x{slot_id:02x} is not a certificate slot (0..7)")
    return nonce, slot_id


def _parse_block(reader: ByteReader) -> MeasurementBlock:
    index = reader.uint(BLOCK_INDEX.size, BLOCK_INDEX.name)
    specification = reader.uint(BLOCK_SPECIFICATION.size, BLOCK_SPECIFICATION.name)
    size = reader.uint(BLOCK_SIZE.size, BLOCK_SIZE.name)
    if specification != DMTF_MEASUREMENT_SPECIFICATION:
        raise SpdmMeasurementBlockError(
            f"block {index}: MeasurementSpecification 0x{specification:02x} is not DMTF (0x01)"
        )
    measurement = ByteReader(reader.take(size, f"block {index} Measurement"))
    value_type = measurement.uint(VALUE_TYPE.size, f"block {index} {VALUE_TYPE.name}")
    value_size = measurement.uint(VALUE_SIZE.size, f"block {index} {VALUE_SIZE.name}")
    if size != DMTF_VALUE_HEADER_SIZE + value_size:
        raise SpdmMeasurementBlockError(
            f"block {index}: MeasurementSize {size} disagrees with a {value_size}-byte value"
        )
    if value_type & RAW_BIT_STREAM_FLAG or value_size != SHA384_DIGEST_SIZE:
        raise SpdmMeasurementBlockError(
            f"block {index}: value type 0x{value_type:02x} of {value_size} bytes is not a SHA-384 digest"
        )
    return MeasurementBlock(index, value_type, measurement.take(value_size, f"block {index} value"))


# The measurement block fields above, back to back: read 64 of them per GPU per release, so the
# well-formed case is read with one struct call per block; anything unusual goes the careful way.
_BLOCK_HEADER = struct.Struct("<BBHBH")


def _parse_record_fast(record: bytes, number_of_blocks: int) -> tuple[MeasurementBlock, ...] | None:
    """The blocks of a well-formed record of SHA-384 digests, or None to let the careful path decide."""
    blocks = []
    offset = 0
    end = len(record)
    header = _BLOCK_HEADER.size
    for _ in range(number_of_blocks):
        if offset + header > end:
            return None
        index, specification, size, value_type, value_size = _BLOCK_HEADER.unpack_from(record, offset)
        if (
            specification != DMTF_MEASUREMENT_SPECIFICATION
            or value_size != SHA384_DIGEST_SIZE
            or size != DMTF_VALUE_HEADER_SIZE + value_size
            or value_type & RAW_BIT_STREAM_FLAG
            or offset + header + value_size > end
        ):
            return None
        start = offset + header
        blocks.append(MeasurementBlock(index, value_type, record[start : start + value_size]))
        offset = start + value_size
    return tuple(blocks) if offset == end else None


def _parse_record(
    record: bytes, number_of_blocks: int, *, fast_path: bool = True
) -> tuple[MeasurementBlock, ...]:
    if number_of_blocks == 0:
        raise SpdmMeasurementBlockError("the response holds no measurement block")
    fast = _parse_record_fast(record, number_of_blocks) if fast_path else None
    if fast is not None:
        indexes = [block.index for block in fast]
        if len(set(indexes)) == len(indexes) and 0 not in indexes:
            return fast
    reader = ByteReader(record)
    blocks = tuple(_parse_block(reader) for _ in range(number_of_blocks))
    if reader.remaining:
        raise SpdmMeasurementBlockError(
            f"MeasurementRecordLength exceeds its {number_of_blocks} blocks by {reader.remaining} bytes"
        )
    indexes = [block.index for block in blocks]
    if len(set(indexes)) != len(indexes) or 0 in indexes:
        raise SpdmMeasurementBlockError("measurement block indexes must be unique and 1-based")
    return blocks


def parse_measurement_report(
    report: bytes, *, records: BoundedMemo[bytes, tuple[MeasurementBlock, ...]] | None = None
) -> SpdmMeasurementReport:
    """Parse an NVIDIA GPU attestation report (request + response) with strict bounds.

    ``records`` memoises the measurement record's blocks by the SHA-256 of the record (and its
    block count): a GPU reports the same measurements on every attestation, only the nonces and the
    signature change.

    Raises:
        SpdmVersionError: a message is not SPDM 1.1.
        SpdmCodeError: the codes are not GET_MEASUREMENTS / MEASUREMENTS.
        SpdmRequestError: the request is not a signed request for all measurements.
        SpdmTruncatedError: a length points past the end.
        SpdmMeasurementBlockError: a measurement block has the wrong shape.
        SpdmTrailingBytesError: bytes follow the signature.
    """
    reader = ByteReader(report)
    nonce, slot_id = _parse_request(reader)
    _expect(
        reader.uint(VERSION.size, "response " + VERSION.name), SPDM_VERSION_1_1, VERSION, SpdmVersionError
    )
    _expect(reader.uint(CODE.size, "response " + CODE.name), MEASUREMENTS, CODE, SpdmCodeError)
    param1 = reader.uint(PARAM1.size, "response " + PARAM1.name)
    param2 = reader.uint(PARAM2.size, "response " + PARAM2.name)
    if param1 != 0 or param2 != slot_id:
        raise SpdmRequestError(
            f"response Param1 0x{param1:02x} / Param2 0x{param2:02x} "
            f"do not answer a request for slot {slot_id}"
        )
    number_of_blocks = reader.uint(NUMBER_OF_BLOCKS.size, NUMBER_OF_BLOCKS.name)
    record_length = reader.uint(MEASUREMENT_RECORD_LENGTH.size, MEASUREMENT_RECORD_LENGTH.name)
    record = reader.take(record_length, "MeasurementRecord")
    if records is None:
        blocks = _parse_record(record, number_of_blocks)
    else:
        key = hashlib.sha256(number_of_blocks.to_bytes(1, "big") + record).digest()
        blocks = records.get_or_compute(key, lambda: _parse_record(record, number_of_blocks))
    responder_nonce = reader.take(NONCE.size, "response " + NONCE.name)
    opaque_length = reader.uint(OPAQUE_LENGTH.size, OPAQUE_LENGTH.name)
    opaque_data = reader.take(opaque_length, "OpaqueData")
    signed_length = reader.offset
    signature = reader.take(SIGNATURE.size, SIGNATURE.name)
    if reader.remaining:
        raise SpdmTrailingBytesError(f"{reader.remaining} bytes follow the signature")
    return SpdmMeasurementReport(
        nonce=nonce,
        slot_id=slot_id,
        blocks=blocks,
        responder_nonce=responder_nonce,
        opaque_data=opaque_data,
        signature=signature,
        signed_bytes=report[:signed_length],
    )
