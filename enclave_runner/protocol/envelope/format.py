"""Envelope format v1: the byte layout, declared once, and the per-segment cipher.

An envelope is a 50-byte ccgate header followed by an unmodified Tink AES-GCM-HKDF streaming
ciphertext (AES-256, HKDF-SHA256, associated data = the artefact id in UTF-8)::

    offset  size  field
    0       4     magic               b"CCGE"
    4       1     format version      0x01
    5       1     flags               0x00 (reserved; anything else is refused)
    6       4     segment size S      u32 big-endian: Tink's ciphertext segment size
    10      8     plaintext length    u64 big-endian; 0xFFFF_FFFF_FFFF_FFFF when the writer streamed
                                      input of unknown length
    18      16    key check           HMAC-SHA256(K, "ccgate/v1/envelope/key-check" ‖ bytes[0:18] ‖ T)[:16]
    34      16    artefact check      HMAC-SHA256(K, "ccgate/v1/envelope/artefact-check" ‖ bytes[0:18] ‖ T
                                                  ‖ lp(artefact id))[:16]
    50      40    T: Tink header      0x28 (its own length) ‖ salt (32 bytes) ‖ nonce prefix (7 bytes)
    90      ...   Tink segments

Tink segment i (0-based): ciphertext size S - 40 for i = 0 and S afterwards, the last one shorter
(at least the 16-byte tag); plaintext size = ciphertext size - 16; nonce = nonce prefix ‖ u32 BE i ‖
0x01 for the last segment, else 0x00; key = HKDF-SHA256(ikm=K, salt=salt, info=artefact id, 32 bytes);
AES-256-GCM with no per-segment associated data. ``bytes[50:]`` is therefore exactly what Tink's
``AES256_GCM_HKDF`` streaming primitive (with ``ciphertext_segment_size = S``) writes and reads.

Why a ccgate header at all, when Tink's format is adopted unchanged:

* Tink's header does not carry the segment size or any version, so a reader must learn both
  out of band; the ccgate header carries them, authenticated.
* AES-GCM does not commit to its key. With Tink alone, a wrong key, a wrong artefact id and a
  flipped bit in the first segment are the same opaque tag failure, and a crafted stream can decrypt
  validly under two different keys. The two HMAC checks commit the envelope to its key and its
  artefact id before any segment is opened, so each failure gets its own error code.
* The plaintext length lets a reader tell truncation from trailing data from corruption exactly.

A Tink user reads a ccgate envelope by skipping the first 50 bytes; ccgate reads a bare Tink stream
with ``format="tink"`` and the segment size given by the caller.
"""

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from enclave_runner.protocol.binding import length_prefixed
from enclave_runner.protocol.envelope.errors import (
    EnvelopeArtefactMismatchError,
    EnvelopeEmptyError,
    EnvelopeError,
    EnvelopeHeaderError,
    EnvelopeKeyError,
    EnvelopeTruncatedError,
    EnvelopeVersionError,
    EnvelopeWrongKeyError,
)

MAGIC: Final = b"CCGE"
FORMAT_VERSION: Final = 1
KEY_SIZE: Final = 32
TAG_SIZE: Final = 16
SALT_SIZE: Final = 32
NONCE_PREFIX_SIZE: Final = 7
TINK_HEADER_SIZE: Final = 1 + SALT_SIZE + NONCE_PREFIX_SIZE
CHECK_SIZE: Final = 16
UNKNOWN_LENGTH: Final = 0xFFFF_FFFF_FFFF_FFFF
MAX_SEGMENTS: Final = 2**32

_FIXED: Final = struct.Struct(">4sBBIQ")
FIXED_SIZE: Final = _FIXED.size
CCGATE_HEADER_SIZE: Final = FIXED_SIZE + 2 * CHECK_SIZE
HEADER_SIZE: Final = CCGATE_HEADER_SIZE + TINK_HEADER_SIZE

# 1 MiB is Tink's own "1MB" template and measured fastest here (see ``ccgate bench envelope``);
# the bounds keep a hostile header from making a reader allocate gigabytes per segment.
DEFAULT_SEGMENT_SIZE: Final = 1 << 20
MIN_SEGMENT_SIZE: Final = 4096
MAX_SEGMENT_SIZE: Final = 1 << 26

_KEY_CHECK_LABEL: Final = b"ccgate/v1/envelope/key-check"
_ARTEFACT_CHECK_LABEL: Final = b"ccgate/v1/envelope/artefact-check"


def check_key(key: object) -> None:
    """Refuse a data key that is not 32 bytes.

    Raises:
        EnvelopeKeyError: the key has the wrong type or length.
    """
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_SIZE:
        size = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
        raise EnvelopeKeyError(f"a data key is {KEY_SIZE} bytes, got {size}")


def check_segment_size(segment_size: int) -> None:
    """Refuse a segment size outside the supported bounds.

    Raises:
        EnvelopeHeaderError: the size is out of bounds.
    """
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise EnvelopeHeaderError(
            f"segment size {segment_size} is outside [{MIN_SEGMENT_SIZE}, {MAX_SEGMENT_SIZE}]"
        )


@dataclass(frozen=True, slots=True)
class SegmentLayout:
    """Where each segment of a Tink stream with segment size ``segment_size`` lives.

    ``base`` is the offset of the Tink stream in the file: 50 for a ccgate envelope, 0 for bare Tink.
    """

    segment_size: int
    base: int = CCGATE_HEADER_SIZE

    @property
    def first_plaintext_size(self) -> int:
        """Plaintext bytes carried by a full first segment."""
        return self.segment_size - TINK_HEADER_SIZE - TAG_SIZE

    @property
    def plaintext_size(self) -> int:
        """Plaintext bytes carried by a full later segment."""
        return self.segment_size - TAG_SIZE

    def segment_count(self, plaintext_length: int) -> int:
        """Number of segments a plaintext of this length takes (at least one, even when empty)."""
        if plaintext_length <= self.first_plaintext_size:
            return 1
        rest = plaintext_length - self.first_plaintext_size
        return 1 + -(-rest // self.plaintext_size)

    def plaintext_offset(self, index: int) -> int:
        """Offset of segment ``index``'s plaintext in the plaintext."""
        if index == 0:
            return 0
        return self.first_plaintext_size + (index - 1) * self.plaintext_size

    def ciphertext_offset(self, index: int) -> int:
        """Offset of segment ``index``'s ciphertext in the envelope."""
        if index == 0:
            return self.base + TINK_HEADER_SIZE
        return self.base + index * self.segment_size

    def plaintext_span(self, index: int, plaintext_length: int) -> int:
        """Plaintext bytes in segment ``index`` of a plaintext of ``plaintext_length`` bytes."""
        full = self.first_plaintext_size if index == 0 else self.plaintext_size
        return max(0, min(full, plaintext_length - self.plaintext_offset(index)))

    def ciphertext_size(self, plaintext_length: int) -> int:
        """Total envelope size for a plaintext of ``plaintext_length`` bytes."""
        count = self.segment_count(plaintext_length)
        return self.base + TINK_HEADER_SIZE + plaintext_length + count * TAG_SIZE

    def plaintext_length_for(self, envelope_size: int) -> int:
        """Infer the plaintext length from the envelope size (when the header does not say it).

        Raises:
            EnvelopeTruncatedError: the size leaves no room for a final segment's tag.
        """
        stream = envelope_size - self.base
        if stream < TINK_HEADER_SIZE + TAG_SIZE:
            raise EnvelopeTruncatedError("the envelope ends inside its first segment")
        count = -(-stream // self.segment_size)
        last = stream - (count - 1) * self.segment_size
        if last < TAG_SIZE or (count == 1 and last < TINK_HEADER_SIZE + TAG_SIZE):
            raise EnvelopeTruncatedError("the envelope ends inside a segment's tag")
        return stream - TINK_HEADER_SIZE - count * TAG_SIZE


def ciphertext_size(plaintext_length: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Size of the envelope of a plaintext of ``plaintext_length`` bytes."""
    return SegmentLayout(segment_size).ciphertext_size(plaintext_length)


@dataclass(frozen=True, slots=True)
class EnvelopeHeader:
    """A parsed (or freshly made) envelope header. Holds no key material."""

    segment_size: int
    plaintext_length: int | None
    salt: bytes
    nonce_prefix: bytes
    key_check: bytes = b""
    artefact_check: bytes = b""
    version: int = FORMAT_VERSION

    @property
    def layout(self) -> SegmentLayout:
        """The segment layout this header describes."""
        return SegmentLayout(self.segment_size)

    def fixed_bytes(self) -> bytes:
        """Bytes 0..18: magic, version, flags, segment size and plaintext length."""
        length = UNKNOWN_LENGTH if self.plaintext_length is None else self.plaintext_length
        return _FIXED.pack(MAGIC, self.version, 0, self.segment_size, length)

    def tink_header(self) -> bytes:
        """Tink's own 40-byte header."""
        return bytes([TINK_HEADER_SIZE]) + self.salt + self.nonce_prefix

    def to_bytes(self) -> bytes:
        """The full 90-byte header."""
        return self.fixed_bytes() + self.key_check + self.artefact_check + self.tink_header()

    def _checks(self, key: bytes, artefact_id: str) -> tuple[bytes, bytes]:
        context = self.fixed_bytes() + self.tink_header()
        key_check = hmac.new(key, _KEY_CHECK_LABEL + context, hashlib.sha256).digest()[:CHECK_SIZE]
        artefact = length_prefixed(artefact_id.encode("utf-8"))
        artefact_check = hmac.new(key, _ARTEFACT_CHECK_LABEL + context + artefact, hashlib.sha256).digest()
        return key_check, artefact_check[:CHECK_SIZE]

    def verify(self, key: bytes, artefact_id: str) -> None:
        """Check the key and artefact commitments in constant time.

        Raises:
            EnvelopeWrongKeyError: the key check fails (wrong key, or the header was altered).
            EnvelopeArtefactMismatchError: the key is right but the artefact id is not.
        """
        key_check, artefact_check = self._checks(key, artefact_id)
        if not hmac.compare_digest(key_check, self.key_check):
            raise EnvelopeWrongKeyError(
                "the data key does not open this envelope (wrong key, or altered header)"
            )
        if not hmac.compare_digest(artefact_check, self.artefact_check):
            raise EnvelopeArtefactMismatchError(
                f"this envelope was not made for artefact id {artefact_id!r} (or its header was altered)"
            )


def new_header(
    key: bytes,
    artefact_id: str,
    plaintext_length: int | None,
    segment_size: int,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> EnvelopeHeader:
    """Make a header with a fresh random salt and nonce prefix, committed to ``key`` and ``artefact_id``.

    ``random_bytes`` exists for known-answer tests; everything else uses the default.

    Raises:
        EnvelopeKeyError: the key is not 32 bytes.
        EnvelopeHeaderError: the segment size is out of bounds or the plaintext needs too many segments.
    """
    check_key(key)
    check_segment_size(segment_size)
    if (
        plaintext_length is not None
        and SegmentLayout(segment_size).segment_count(plaintext_length) > MAX_SEGMENTS
    ):
        raise EnvelopeHeaderError("the plaintext needs more than 2**32 segments at this segment size")
    return committed_header(
        key,
        artefact_id,
        EnvelopeHeader(
            segment_size, plaintext_length, random_bytes(SALT_SIZE), random_bytes(NONCE_PREFIX_SIZE)
        ),
    )


def committed_header(key: bytes, artefact_id: str, bare: EnvelopeHeader) -> EnvelopeHeader:
    """``bare`` (segment size, length, salt, nonce prefix) with its key and artefact checks computed.

    Used for fresh headers and to give an existing Tink stream (whose salt and nonce prefix are fixed)
    a ccgate header.
    """
    key_check, artefact_check = bare._checks(key, artefact_id)
    return EnvelopeHeader(
        bare.segment_size,
        bare.plaintext_length,
        bare.salt,
        bare.nonce_prefix,
        key_check=key_check,
        artefact_check=artefact_check,
    )


def parse_tink_header(data: bytes) -> tuple[bytes, bytes]:
    """Split Tink's 40-byte header into (salt, nonce prefix).

    Raises:
        EnvelopeHeaderError: the header length byte is not the one of AES-256-GCM-HKDF.
    """
    if len(data) < TINK_HEADER_SIZE:
        raise EnvelopeTruncatedError("the envelope ends inside the Tink header")
    if data[0] != TINK_HEADER_SIZE:
        raise EnvelopeHeaderError(
            f"Tink header length byte is {data[0]:#04x}; "
            f"AES-256-GCM-HKDF streaming uses {TINK_HEADER_SIZE:#04x}"
        )
    return bytes(data[1 : 1 + SALT_SIZE]), bytes(data[1 + SALT_SIZE : TINK_HEADER_SIZE])


def read_header(data: bytes) -> EnvelopeHeader:
    """Parse the 90-byte header at the start of ``data``.

    Raises:
        EnvelopeEmptyError: ``data`` is empty.
        EnvelopeTruncatedError: ``data`` ends inside the header.
        EnvelopeHeaderError: bad magic, flags, segment size or Tink header.
        EnvelopeVersionError: a ccgate header of another format version.
    """
    if len(data) == 0:
        raise EnvelopeEmptyError("the envelope is empty")
    if len(data) < FIXED_SIZE:
        raise EnvelopeTruncatedError("the envelope ends inside its header")
    magic, version, flags, segment_size, length = _FIXED.unpack_from(data)
    if magic != MAGIC:
        raise EnvelopeHeaderError("not a ccgate envelope (bad magic)")
    if version != FORMAT_VERSION:
        raise EnvelopeVersionError(
            f"envelope format version {version}; this ccgate reads version {FORMAT_VERSION}"
        )
    if flags != 0:
        raise EnvelopeHeaderError(f"reserved flags are {flags:#04x}, must be 0")
    check_segment_size(segment_size)
    if len(data) < HEADER_SIZE:
        raise EnvelopeTruncatedError("the envelope ends inside its header")
    salt, nonce_prefix = parse_tink_header(data[CCGATE_HEADER_SIZE:HEADER_SIZE])
    return EnvelopeHeader(
        segment_size=segment_size,
        plaintext_length=None if length == UNKNOWN_LENGTH else length,
        salt=salt,
        nonce_prefix=nonce_prefix,
        key_check=bytes(data[FIXED_SIZE : FIXED_SIZE + CHECK_SIZE]),
        artefact_check=bytes(data[FIXED_SIZE + CHECK_SIZE : CCGATE_HEADER_SIZE]),
        version=version,
    )


class SegmentCipher:
    """AES-256-GCM over one stream's segments, keyed by Tink's HKDF subkey. Safe to share across threads."""

    def __init__(self, key: bytes, artefact_id: str, salt: bytes, nonce_prefix: bytes) -> None:
        check_key(key)
        subkey = HKDF(
            algorithm=hashes.SHA256(), length=KEY_SIZE, salt=salt, info=artefact_id.encode("utf-8")
        ).derive(bytes(key))
        self._aead = AESGCM(subkey)
        self._prefix = nonce_prefix
        self._into = hasattr(self._aead, "encrypt_into")

    def nonce(self, index: int, last: bool) -> bytes:
        """Tink's segment nonce: prefix ‖ u32 BE index ‖ last-segment flag."""
        if index >= MAX_SEGMENTS:
            raise EnvelopeError("more than 2**32 segments")
        return self._prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")

    def encrypt_into(self, index: int, last: bool, plaintext: memoryview, out: memoryview) -> int:
        """Encrypt ``plaintext`` into ``out`` (at least 16 bytes longer); return the ciphertext size."""
        size = len(plaintext) + TAG_SIZE
        if self._into:
            self._aead.encrypt_into(self.nonce(index, last), plaintext, None, out[:size])
        else:  # cryptography < 46 has no *_into; the nv-attestation-sdk extra pins 43.
            out[:size] = self._aead.encrypt(self.nonce(index, last), bytes(plaintext), None)
        return size

    def decrypt_into(self, index: int, last: bool, ciphertext: memoryview, out: memoryview) -> int:
        """Decrypt and authenticate ``ciphertext`` into ``out``; return the plaintext size.

        Raises:
            cryptography.exceptions.InvalidTag: the segment does not authenticate.
        """
        size = len(ciphertext) - TAG_SIZE
        if size < 0:
            raise EnvelopeTruncatedError(f"segment {index} is shorter than its tag")
        if self._into:
            self._aead.decrypt_into(self.nonce(index, last), ciphertext, None, out[:size])
        else:  # cryptography < 46 has no *_into; the nv-attestation-sdk extra pins 43.
            out[:size] = self._aead.decrypt(self.nonce(index, last), bytes(ciphertext), None)
        return size

    def opens_as_middle(self, index: int, ciphertext: memoryview) -> bool:
        """Whether a final segment that failed as "last" authenticates as a middle one: a cut stream."""
        scratch = bytearray(len(ciphertext))
        try:
            self.decrypt_into(index, False, ciphertext, memoryview(scratch))
        except InvalidTag:
            return False
        return True
