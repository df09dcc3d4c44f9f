"""The SEV-SNP extended-report certificate table (GHCB spec, SNP_GET_EXT_REPORT; configfs-tsm ``auxblob``).

The table is a list of 24-byte entries ``GUID (16, little-endian UUID) ‖ offset (u32 LE) ‖ length
(u32 LE)`` ended by an all-zero entry; each offset is from the start of the table and points at a
DER certificate. The Attester sends the table as it came from the kernel, and the gateway extracts the
VCEK (or VLEK) from it here.
"""

import uuid
from typing import Final

from attestation.binary_layout import Field
from attestation.errors import EvidenceMalformedError

VCEK_GUID: Final = uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd")
VLEK_GUID: Final = uuid.UUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1")
ASK_GUID: Final = uuid.UUID("4ab7b379-bbac-4fe4-a02f-05aef327c782")
ARK_GUID: Final = uuid.UUID("c0b406a4-a803-4952-9743-3fb6014cd0ae")

ENTRY_GUID: Final = Field("guid", 0, 16)
ENTRY_OFFSET: Final = Field("offset", 16, 4)
ENTRY_LENGTH: Final = Field("length", 20, 4)
ENTRY_SIZE: Final = 24
MAX_ENTRIES: Final = 64


def parse_cert_table(table: bytes) -> dict[uuid.UUID, bytes]:
    """The certificates of an extended-report certificate table, by GUID.

    Raises:
        EvidenceMalformedError: an entry runs past the end, a certificate lies outside the table, a
            GUID repeats, or the table has no terminating entry.
    """
    certificates: dict[uuid.UUID, bytes] = {}
    for index in range(MAX_ENTRIES):
        base = index * ENTRY_SIZE
        guid_bytes = ENTRY_GUID.read(table, base)
        offset, length = ENTRY_OFFSET.integer(table, base), ENTRY_LENGTH.integer(table, base)
        if guid_bytes == bytes(16) and offset == 0 and length == 0:
            return certificates
        guid = uuid.UUID(bytes_le=bytes(guid_bytes))
        if guid in certificates:
            raise EvidenceMalformedError(f"certificate table: GUID {guid} appears twice")
        if offset < ENTRY_SIZE or offset + length > len(table):
            raise EvidenceMalformedError(f"certificate table: entry {index} points outside the table")
        certificates[guid] = bytes(table[offset : offset + length])
    raise EvidenceMalformedError(f"certificate table: no terminating entry within {MAX_ENTRIES} entries")


def build_cert_table(certificates: dict[uuid.UUID, bytes]) -> bytes:
    """Write a certificate table (for tests and the simulated Attester)."""
    header = bytearray()
    body = bytearray()
    start = (len(certificates) + 1) * ENTRY_SIZE
    for guid, der in certificates.items():
        header += guid.bytes_le + (start + len(body)).to_bytes(4, "little") + len(der).to_bytes(4, "little")
        body += der
    return bytes(header + bytes(ENTRY_SIZE) + body)


def signing_key_certificate(certificates: bytes) -> bytes:
    """The VCEK or VLEK the Attester sent: from a certificate table, or a bare PEM/DER certificate.

    Raises:
        EvidenceMalformedError: a table without a VCEK or VLEK, or a malformed table.
    """
    stripped = certificates.lstrip()
    if stripped.startswith(b"-----BEGIN") or stripped.startswith(b"\x30\x82"):
        return certificates
    table = parse_cert_table(certificates)
    for guid in (VCEK_GUID, VLEK_GUID):
        if guid in table:
            return table[guid]
    raise EvidenceMalformedError("the certificate table holds neither a VCEK nor a VLEK")
