"""An independent, minimal reader of NVIDIA SPDM GET_MEASUREMENTS reports, written from PROVENANCE.md.

It shares no code with the product (neither the simulated GPU's writer nor the Verifier's parser), so
a test that reads simulated Evidence with it checks the bytes against the documented layout, not
against the writer's own idea of it. It also reads the real vectors, which is how we know it is right.
"""

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int) -> bytes:
        if self.position + size > len(self.data):
            raise ValueError(f"{size} bytes wanted at {self.position}, only {len(self.data)} in all")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "little")

    def u24(self) -> int:
        return int.from_bytes(self.take(3), "little")


@dataclass
class Block:
    index: int
    spec: int
    size: int
    value_type: int
    value_size: int
    digest: bytes


@dataclass
class SpdmReport:
    request_header: bytes
    nonce: bytes
    slot: int
    response_header: bytes
    block_count: int
    record_length: int
    blocks: list[Block]
    responder_nonce: bytes
    opaque_length: int
    opaque: list[tuple[int, bytes]]
    signature: bytes
    signed: bytes

    def field(self, field_type: int) -> bytes:
        values = [value for kind, value in self.opaque if kind == field_type]
        assert len(values) == 1, f"opaque field {field_type} appears {len(values)} times"
        return values[0]

    def has_field(self, field_type: int) -> bool:
        return any(kind == field_type for kind, _ in self.opaque)


def read_report(data: bytes) -> SpdmReport:
    cursor = Cursor(data)
    request_header = cursor.take(4)
    nonce = cursor.take(32)
    slot = cursor.u8()
    response_header = cursor.take(4)
    block_count = cursor.u8()
    record_length = cursor.u24()
    record_end = cursor.position + record_length
    blocks = []
    for _ in range(block_count):
        index, spec, size = cursor.u8(), cursor.u8(), cursor.u16()
        value_type, value_size = cursor.u8(), cursor.u16()
        blocks.append(Block(index, spec, size, value_type, value_size, cursor.take(value_size)))
    assert cursor.position == record_end, "the measurement record length does not match its blocks"
    responder_nonce = cursor.take(32)
    opaque_length = cursor.u16()
    opaque_cursor = Cursor(cursor.take(opaque_length))
    opaque = []
    while opaque_cursor.position < opaque_length:
        kind, length = opaque_cursor.u16(), opaque_cursor.u16()
        opaque.append((kind, opaque_cursor.take(length)))
    signature = cursor.take(96)
    assert cursor.position == len(data), f"{len(data) - cursor.position} trailing bytes"
    return SpdmReport(
        request_header,
        nonce,
        slot,
        response_header,
        block_count,
        record_length,
        blocks,
        responder_nonce,
        opaque_length,
        opaque,
        signature,
        data[:-96],
    )


def c_string(value: bytes) -> str:
    """A NUL-terminated opaque string (some fields are NUL-padded further)."""
    assert b"\x00" in value, "opaque strings end with NUL"
    return value.split(b"\x00", 1)[0].decode("ascii")


def vbios_version(raw: bytes) -> str:
    """NVIDIA's VBIOS shuffle: bytes 3, 2, 1, 0, then byte 4, as upper-case hex pairs."""
    assert len(raw) == 8
    return ".".join(f"{byte:02X}" for byte in (raw[3], raw[2], raw[1], raw[0], raw[4]))


def chain_certificates(pem: bytes) -> list[x509.Certificate]:
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.DOTALL)
    return [x509.load_pem_x509_certificate(block) for block in blocks]


def verify_report_signature(report: SpdmReport, leaf: x509.Certificate) -> None:
    """Raises InvalidSignature unless the leaf key signed everything but the last 96 bytes."""
    public_key = leaf.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    r = int.from_bytes(report.signature[:48], "big")
    s = int.from_bytes(report.signature[48:], "big")
    public_key.verify(encode_dss_signature(r, s), report.signed, ec.ECDSA(hashes.SHA384()))
