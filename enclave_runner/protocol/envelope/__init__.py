"""The artefact envelope (DESIGN §6.1): Tink's AES-GCM-HKDF streaming format behind a 50-byte ccgate header.

Byte layout and the reasons for the ccgate header are in ``enclave_runner/protocol/envelope/format.py``.
"""

from enclave_runner.protocol.envelope.errors import (
    EnvelopeArtefactMismatchError,
    EnvelopeEmptyError,
    EnvelopeError,
    EnvelopeHeaderError,
    EnvelopeKeyError,
    EnvelopeSegmentError,
    EnvelopeTrailingDataError,
    EnvelopeTruncatedError,
    EnvelopeVersionError,
    EnvelopeWrongKeyError,
)
from enclave_runner.protocol.envelope.files import decrypt_file, encrypt_file
from enclave_runner.protocol.envelope.format import (
    DEFAULT_SEGMENT_SIZE,
    EnvelopeHeader,
    ciphertext_size,
    read_header,
)
from enclave_runner.protocol.envelope.streams import (
    decrypt_fileobj,
    decrypt_stream,
    decrypt_tink_stream,
    encrypt_fileobj,
    encrypt_stream,
)

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "EnvelopeArtefactMismatchError",
    "EnvelopeEmptyError",
    "EnvelopeError",
    "EnvelopeHeader",
    "EnvelopeHeaderError",
    "EnvelopeKeyError",
    "EnvelopeSegmentError",
    "EnvelopeTrailingDataError",
    "EnvelopeTruncatedError",
    "EnvelopeVersionError",
    "EnvelopeWrongKeyError",
    "ciphertext_size",
    "decrypt_file",
    "decrypt_fileobj",
    "decrypt_stream",
    "decrypt_tink_stream",
    "encrypt_file",
    "encrypt_fileobj",
    "encrypt_stream",
    "read_header",
]
