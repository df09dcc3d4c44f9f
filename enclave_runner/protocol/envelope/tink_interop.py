"""Moving artefacts between Tink and ccgate without re-encrypting them.

An owner whose pipeline already encrypts with Tink (Java, Go, C++: ``AES256_GCM_HKDF_1MB`` or another
segment size) wraps the bare Tink stream into a ccgate envelope by adding the 50-byte header; the
Tink bytes are kept exactly. Unwrapping removes the header again for a Tink reader. Both open every
segment first, so a wrong key, a wrong artefact id (Tink's associated data) or a damaged stream is
reported before anything is written, and the output appears only when complete.
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from enclave_runner.protocol.envelope.errors import EnvelopeTruncatedError
from enclave_runner.protocol.envelope.format import (
    CCGATE_HEADER_SIZE,
    DEFAULT_SEGMENT_SIZE,
    TINK_HEADER_SIZE,
    EnvelopeHeader,
    SegmentLayout,
    check_key,
    check_segment_size,
    committed_header,
    parse_tink_header,
    read_header,
)
from enclave_runner.protocol.envelope.streams import decrypt_stream, decrypt_tink_stream

_CHUNK: Final = 1 << 20


def _chunks(path: Path, offset: int = 0) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(_CHUNK):
            yield chunk


def _write_atomically(target: Path, head: bytes, source: Path, offset: int) -> None:
    partial = target.with_name(f".{target.name}.partial")
    try:
        with open(partial, "wb") as out:
            out.write(head)
            for chunk in _chunks(source, offset):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def wrap_tink_file(
    source: Path, target: Path, key: bytes, artefact_id: str, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> int:
    """Give the bare Tink stream in ``source`` a ccgate header; return the plaintext length.

    ``artefact_id`` must be the associated data the Tink writer used.

    Raises:
        EnvelopeKeyError, EnvelopeHeaderError: a bad key or segment size, or not a Tink header.
        EnvelopeTruncatedError, EnvelopeSegmentError: the stream is cut short, or a segment does not
            open under this key and artefact id.
        OSError: a file cannot be read or written.
    """
    check_key(key)
    check_segment_size(segment_size)
    plaintext_length = SegmentLayout(segment_size, base=0).plaintext_length_for(source.stat().st_size)
    with open(source, "rb") as handle:
        salt, nonce_prefix = parse_tink_header(handle.read(TINK_HEADER_SIZE))
    opened = sum(len(piece) for piece in decrypt_tink_stream(_chunks(source), key, artefact_id, segment_size))
    if opened != plaintext_length:
        raise EnvelopeTruncatedError(
            f"the stream opened to {opened} bytes, its size implies {plaintext_length}"
        )
    header = committed_header(
        key, artefact_id, EnvelopeHeader(segment_size, plaintext_length, salt, nonce_prefix)
    )
    _write_atomically(target, header.to_bytes()[:CCGATE_HEADER_SIZE], source, 0)
    return plaintext_length


def unwrap_tink_file(source: Path, target: Path, key: bytes, artefact_id: str) -> int:
    """Write the Tink stream inside the ccgate envelope ``source`` to ``target``; return its segment size.

    Raises:
        The errors of ``decrypt_stream``: the envelope is checked whole before anything is written.
        OSError: a file cannot be read or written.
    """
    with open(source, "rb") as handle:
        head = handle.read(CCGATE_HEADER_SIZE + TINK_HEADER_SIZE)
    for _ in decrypt_stream(_chunks(source), key, artefact_id):
        pass
    segment_size = read_header(head).segment_size
    _write_atomically(target, b"", source, CCGATE_HEADER_SIZE)
    return segment_size
