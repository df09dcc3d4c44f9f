"""Declared binary layouts: named fields with offsets and sizes, read in one place.

The SEV-SNP report and the TDX quote are fixed little-endian structures. Each is declared once as a
table of ``Field`` values; parsers read fields by name through ``Field.read`` / ``Field.integer``, so
no offset appears anywhere else (STYLE 3).
"""

from dataclasses import dataclass

from attestation.errors import EvidenceMalformedError


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a binary layout: ``size`` bytes at ``offset``, present from layout version ``since``."""

    name: str
    offset: int
    size: int
    since: int = 0

    @property
    def end(self) -> int:
        """The offset just past this field."""
        return self.offset + self.size

    def read(self, data: bytes, base: int = 0) -> bytes:
        """The field's bytes in ``data`` (relative to ``base``).

        Raises:
            EvidenceMalformedError: ``data`` ends before the field does.
        """
        start = base + self.offset
        if start + self.size > len(data):
            raise EvidenceMalformedError(
                f"{self.name}: needs bytes {start}..{start + self.size}, the input has {len(data)}"
            )
        return data[start : start + self.size]

    def integer(self, data: bytes, base: int = 0) -> int:
        """The field read as an unsigned little-endian integer.

        Raises:
            EvidenceMalformedError: ``data`` ends before the field does.
        """
        return int.from_bytes(self.read(data, base), "little")


def check_layout(fields: tuple[Field, ...], total: int) -> None:
    """Assert at import time that ``fields`` tile ``[0, total)`` without gaps or overlaps.

    Raises:
        ValueError: the declaration is inconsistent (a programming error, caught by any test run).
    """
    position = 0
    for field in fields:
        if field.offset != position:
            raise ValueError(f"layout: {field.name} starts at {field.offset:#x}, expected {position:#x}")
        position = field.end
    if position != total:
        raise ValueError(f"layout: fields end at {position:#x}, expected {total:#x}")
