"""Streaming encryption and decryption over iterators of bytes and file objects.

Used where positional I/O is impossible: HTTP bodies in the gateway and the runner, stdin and
stdout in the CLI. Segments are cut in order, transformed by a small thread pool, and handed back in
order; at most ``2 × workers`` segments are in flight, so memory is constant for any size.
Decryption yields plaintext as each segment authenticates, so a consumer must treat an exception at
any point (including the very end: truncation) as "discard everything received".
"""

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, TypeVar

from cryptography.exceptions import InvalidTag

from enclave_runner.protocol.envelope.errors import (
    EnvelopeEmptyError,
    EnvelopeError,
    EnvelopeSegmentError,
    EnvelopeTrailingDataError,
    EnvelopeTruncatedError,
)
from enclave_runner.protocol.envelope.format import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    TAG_SIZE,
    TINK_HEADER_SIZE,
    SegmentCipher,
    SegmentLayout,
    check_key,
    check_segment_size,
    new_header,
    parse_tink_header,
    read_header,
)
from enclave_runner.protocol.envelope.parallel import default_workers

_T = TypeVar("_T")
_R = TypeVar("_R")
READ_SIZE = 1 << 20


class _Reader:
    """Cuts an iterator of byte chunks into exact-size pieces without copying more than needed."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = bytearray()
        self._done = False

    def read(self, size: int) -> bytes:
        """Return the next ``size`` bytes, fewer only at the end of the input."""
        while len(self._pending) < size and not self._done:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                self._done = True
                break
            self._pending += chunk
        piece = bytes(self._pending[:size])
        del self._pending[:size]
        return piece

    def at_end(self) -> bool:
        """Whether the input is exhausted (pulls one chunk to find out)."""
        return len(self.read_ahead()) == 0

    def read_ahead(self) -> bytes:
        """Make sure at least one byte is buffered if any remains; return the buffer."""
        while not self._pending and not self._done:
            try:
                self._pending += next(self._chunks)
            except StopIteration:
                self._done = True
        return bytes(self._pending[:1])


def _ordered(function: Callable[[_T], _R], items: Iterator[_T], workers: int) -> Iterator[_R]:
    """Map ``function`` over ``items`` on ``workers`` threads, yielding results in input order."""
    window: deque[Future[_R]] = deque()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="envelope-stream") as pool:
        try:
            for item in items:
                window.append(pool.submit(function, item))
                if len(window) >= 2 * workers:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()


def iter_fileobj(source: BinaryIO, size: int = READ_SIZE) -> Iterator[bytes]:
    """Yield ``source``'s bytes in chunks of at most ``size``."""
    while chunk := source.read(size):
        yield chunk


def encrypt_stream(
    chunks: Iterable[bytes],
    key: bytes,
    artefact_id: str,
    *,
    plaintext_length: int | None = None,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> Iterator[bytes]:
    """Encrypt a stream of plaintext chunks; yield the envelope: the header, then segment by segment.

    When ``plaintext_length`` is given it goes into the header, and the input must have exactly
    that many bytes.

    Raises:
        EnvelopeKeyError: the key is not 32 bytes.
        EnvelopeHeaderError: the segment size is out of bounds.
        EnvelopeError: the input is longer or shorter than ``plaintext_length``.
    """
    check_key(key)
    header = new_header(key, artefact_id, plaintext_length, segment_size, random_bytes)
    layout = header.layout
    cipher = SegmentCipher(key, artefact_id, header.salt, header.nonce_prefix)
    reader = _Reader(chunks)

    def segments() -> Iterator[tuple[int, bool, bytes]]:
        index = 0
        total = 0
        while True:
            span = layout.first_plaintext_size if index == 0 else layout.plaintext_size
            piece = reader.read(span)
            total += len(piece)
            last = len(piece) < span or reader.at_end()
            if plaintext_length is not None and (
                total > plaintext_length or (last and total != plaintext_length)
            ):
                raise EnvelopeError(f"the input is not the declared {plaintext_length} bytes long")
            yield index, last, piece
            if last:
                return
            index += 1

    def encrypt(item: tuple[int, bool, bytes]) -> bytes:
        index, last, piece = item
        out = bytearray(len(piece) + TAG_SIZE)
        cipher.encrypt_into(index, last, memoryview(piece), memoryview(out))
        if progress is not None:
            progress(len(piece))
        return bytes(out)

    yield header.to_bytes()
    yield from _ordered(encrypt, segments(), workers or default_workers())


def decrypt_stream(
    chunks: Iterable[bytes],
    key: bytes,
    artefact_id: str,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Decrypt a stream of envelope chunks; yield plaintext segment by segment as each authenticates.

    Raises:
        EnvelopeKeyError: the key is not 32 bytes.
        EnvelopeEmptyError, EnvelopeHeaderError, EnvelopeVersionError: the header is unusable.
        EnvelopeWrongKeyError, EnvelopeArtefactMismatchError: the header commits to another key or id.
        EnvelopeTruncatedError: the stream ends early (possibly after earlier plaintext was yielded).
        EnvelopeTrailingDataError: bytes follow the last segment.
        EnvelopeSegmentError: a segment failed authentication.
    """
    check_key(key)
    reader = _Reader(chunks)
    head = reader.read(HEADER_SIZE)
    if not head:
        raise EnvelopeEmptyError("the envelope is empty")
    header = read_header(head)
    header.verify(key, artefact_id)
    cipher = SegmentCipher(key, artefact_id, header.salt, header.nonce_prefix)
    segments = _cut_segments(reader, header.layout, header.plaintext_length)
    yield from _ordered(
        _segment_decrypter(cipher, header.plaintext_length, progress), segments, workers or default_workers()
    )


def decrypt_tink_stream(
    chunks: Iterable[bytes],
    key: bytes,
    artefact_id: str,
    segment_size: int,
    *,
    workers: int | None = None,
) -> Iterator[bytes]:
    """Decrypt a bare Tink AES256_GCM_HKDF stream (no ccgate header), as written by Tink itself.

    Tink's format carries no key commitment and no length, so a wrong key, a wrong artefact id and
    a corrupted first segment all surface as ``EnvelopeSegmentError(0)``.

    Raises:
        EnvelopeKeyError, EnvelopeHeaderError, EnvelopeTruncatedError, EnvelopeSegmentError.
    """
    check_key(key)
    check_segment_size(segment_size)
    reader = _Reader(chunks)
    salt, nonce_prefix = parse_tink_header(reader.read(TINK_HEADER_SIZE))
    cipher = SegmentCipher(key, artefact_id, salt, nonce_prefix)
    segments = _cut_segments(reader, SegmentLayout(segment_size, base=0), None)
    yield from _ordered(_segment_decrypter(cipher, None, None), segments, workers or default_workers())


def _cut_segments(
    reader: _Reader, layout: SegmentLayout, declared: int | None
) -> Iterator[tuple[int, bool, bytes]]:
    """Cut the ciphertext after the header into (index, is_last, segment) in order.

    With a declared length the sizes are exact and any shortfall or excess is reported as such;
    without one, a segment is the last when the input ends with it.
    """
    count = None if declared is None else layout.segment_count(declared)
    index = 0
    while True:
        if count is not None and declared is not None:
            want = layout.plaintext_span(index, declared) + TAG_SIZE
            piece = reader.read(want)
            if len(piece) < want:
                raise EnvelopeTruncatedError(f"the envelope ends inside segment {index}")
            last = index == count - 1
            if last and not reader.at_end():
                raise EnvelopeTrailingDataError("bytes follow the last segment")
        else:
            full = layout.first_plaintext_size + TAG_SIZE if index == 0 else layout.segment_size
            piece = reader.read(full)
            if len(piece) < TAG_SIZE:
                raise EnvelopeTruncatedError(f"the envelope ends inside segment {index}")
            last = len(piece) < full or reader.at_end()
        yield index, last, piece
        if last:
            return
        index += 1


def _segment_decrypter(
    cipher: SegmentCipher, declared: int | None, progress: Callable[[int], None] | None
) -> Callable[[tuple[int, bool, bytes]], bytes]:
    def decrypt(item: tuple[int, bool, bytes]) -> bytes:
        index, last, piece = item
        out = bytearray(len(piece) - TAG_SIZE)
        try:
            cipher.decrypt_into(index, last, memoryview(piece), memoryview(out))
        except InvalidTag:
            if last and declared is None and cipher.opens_as_middle(index, memoryview(piece)):
                raise EnvelopeTruncatedError("the envelope was cut at a segment boundary") from None
            raise EnvelopeSegmentError(index) from None
        if progress is not None:
            progress(len(out))
        return bytes(out)

    return decrypt


def encrypt_fileobj(
    source: BinaryIO,
    target: BinaryIO,
    key: bytes,
    artefact_id: str,
    *,
    plaintext_length: int | None = None,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Encrypt from one binary file object to another (pipes, sockets, stdin/stdout).

    Raises:
        The errors of ``encrypt_stream``, and ``OSError`` from the file objects.
    """
    for piece in encrypt_stream(
        iter_fileobj(source),
        key,
        artefact_id,
        plaintext_length=plaintext_length,
        segment_size=segment_size,
        workers=workers,
        progress=progress,
    ):
        target.write(piece)


def decrypt_fileobj(
    source: BinaryIO,
    target: BinaryIO,
    key: bytes,
    artefact_id: str,
    *,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Decrypt from one binary file object to another. Plaintext is written as it authenticates.

    Raises:
        The errors of ``decrypt_stream``, and ``OSError`` from the file objects.
    """
    for piece in decrypt_stream(iter_fileobj(source), key, artefact_id, workers=workers, progress=progress):
        target.write(piece)
