"""A bounded little-endian reader: every read checks the remaining length first.

SPDM and NVIDIA's opaque data are little-endian, length-prefixed structures. Each read either
returns exactly the bytes asked for or raises the caller's malformed-Evidence error naming the
field, so no slice can silently come back short.
"""

from attestation.nvidia.errors import SpdmMalformedError, SpdmTruncatedError


class ByteReader:
    """Reads fields in order from ``data``; raises ``truncated`` when a field runs past the end."""

    __slots__ = ("_data", "_offset", "_truncated")

    def __init__(
        self, data: bytes, *, truncated: type[SpdmMalformedError] = SpdmTruncatedError, offset: int = 0
    ) -> None:
        self._data = data
        self._offset = offset
        self._truncated = truncated

    @property
    def offset(self) -> int:
        """How many bytes of ``data`` have been consumed."""
        return self._offset

    @property
    def remaining(self) -> int:
        """How many bytes are left."""
        return len(self._data) - self._offset

    def take(self, size: int, what: str) -> bytes:
        """The next ``size`` bytes.

        Raises:
            SpdmMalformedError: (the reader's ``truncated`` class) fewer than ``size`` bytes remain.
        """
        if size > self.remaining:
            raise self._truncated(
                f"{what}: needs {size} bytes at offset {self._offset}, only {self.remaining} remain"
            )
        start = self._offset
        self._offset += size
        return self._data[start : self._offset]

    def uint(self, size: int, what: str) -> int:
        """The next ``size`` bytes as an unsigned little-endian integer.

        Raises:
            SpdmMalformedError: (the reader's ``truncated`` class) fewer than ``size`` bytes remain.
        """
        return int.from_bytes(self.take(size, what), "little")
