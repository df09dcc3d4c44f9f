"""Build SPDM GET_MEASUREMENTS reports field by field, for parser tests and synthetic Evidence."""

from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_NONCE = bytes(range(32))


def u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def legacy_opaque(fields: Sequence[tuple[int, bytes]]) -> bytes:
    """Legacy TLV opaque data."""
    return b"".join(u16(field_id) + u16(len(value)) + value for field_id, value in fields)


def nvdaod_opaque(
    fields: Sequence[tuple[int, int, bytes]],
    *,
    major: int = 1,
    minor: int = 0,
    profile: int = 0,
    reserved: int = 0,
) -> bytes:
    """NVDAOD opaque data: the 12-byte header, then [type][value type][size][value] entries."""
    header = b"NVDAOD" + u16(profile) + bytes([major, minor]) + u16(reserved)
    return header + b"".join(u16(t) + u16(vt) + u16(len(value)) + value for t, vt, value in fields)


def opaque_fields(
    *, driver: bytes = b"550.90.07\x00", fwid: bytes | None = None, nvdec0: int = 0x55
) -> list[tuple[int, bytes]]:
    """The fields every report carries (ids 3, 6, 11, 15, 17, 18), plus an optional FWID (20)."""
    fields = [
        (6, bytes.fromhex("009f009601000000")),
        (15, b"882\x00"),
        (17, b"1010\x00"),
        (18, b"0200\x00"),
        (3, driver),
        (11, bytes([nvdec0])),
    ]
    if fwid is not None:
        fields.append((20, fwid))
    return fields


def block(index: int, digest: bytes, *, spec: int = 1, value_type: int = 1, size: int | None = None) -> bytes:
    """One measurement block; ``size`` overrides MeasurementSize."""
    measurement = bytes([value_type]) + u16(len(digest)) + digest
    return bytes([index, spec]) + u16(len(measurement) if size is None else size) + measurement


@dataclass
class ReportParts:
    """Every field of a report, to be changed one at a time by tests."""

    digests: list[bytes] = field(default_factory=lambda: [bytes([i]) * 48 for i in range(1, 65)])
    nonce: bytes = DEFAULT_NONCE
    request_header: bytes = bytes([0x11, 0xE0, 0x01, 0xFF])
    slot: int = 0
    response_header: bytes = bytes([0x11, 0x60, 0x00, 0x00])
    blocks: bytes | None = None
    number_of_blocks: int | None = None
    record_length: int | None = None
    responder_nonce: bytes = bytes(32)
    opaque: bytes = field(default_factory=lambda: legacy_opaque(opaque_fields()))
    opaque_length: int | None = None
    signature: bytes = bytes(96)

    def unsigned(self) -> bytes:
        """Request + response up to (not including) the signature."""
        blocks = self.blocks
        if blocks is None:
            blocks = b"".join(block(i + 1, digest) for i, digest in enumerate(self.digests))
        count = len(self.digests) if self.number_of_blocks is None else self.number_of_blocks
        length = len(blocks) if self.record_length is None else self.record_length
        opaque_length = len(self.opaque) if self.opaque_length is None else self.opaque_length
        return (
            self.request_header
            + self.nonce
            + bytes([self.slot])
            + self.response_header
            + bytes([count])
            + length.to_bytes(3, "little")
            + blocks
            + self.responder_nonce
            + u16(opaque_length)
            + self.opaque
        )

    def build(self) -> bytes:
        """The whole report."""
        return self.unsigned() + self.signature
