"""File-to-file encryption and decryption with positional I/O on all cores.

The layout is fixed by the header, so segment i has a known offset in both the plaintext and the
envelope: each worker thread reads, transforms and writes whole segments on its own, and no thread
waits for another to keep order. Output goes to a temporary file beside the target (mode 0600) and is
renamed into place only when every segment authenticated, so a failed decryption leaves no
plaintext behind and a failed encryption leaves no half envelope.
"""

import os
import stat
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, suppress
from pathlib import Path

from cryptography.exceptions import InvalidTag

from enclave_runner.protocol.envelope.errors import (
    EnvelopeError,
    EnvelopeSegmentError,
    EnvelopeTrailingDataError,
    EnvelopeTruncatedError,
)
from enclave_runner.protocol.envelope.format import (
    DEFAULT_SEGMENT_SIZE,
    HEADER_SIZE,
    EnvelopeHeader,
    SegmentCipher,
    check_key,
    new_header,
    read_header,
)
from enclave_runner.protocol.envelope.parallel import default_workers, pread_exact, pwrite_all, run_segments

Progress = Callable[[int], None]


def _open_output(stack: ExitStack, target: Path) -> tuple[int, Path | None]:
    """Open ``target`` for positional writes.

    A regular file is written through a 0600 temporary sibling that is renamed on success; a
    device such as ``/dev/null`` is written directly. Returns (fd, temporary path or None).
    """
    with suppress(FileNotFoundError):
        if not stat.S_ISREG(os.stat(target).st_mode):
            fd = os.open(target, os.O_WRONLY)
            stack.callback(os.close, fd)
            return fd, None
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    stack.callback(os.close, fd)
    return fd, Path(name)


def _finish(fd: int, temporary: Path | None, target: Path, size: int) -> None:
    if temporary is None:
        return
    os.ftruncate(fd, size)
    os.replace(temporary, target)


def encrypt_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    key: bytes,
    artefact_id: str,
    *,
    segment_size: int = DEFAULT_SEGMENT_SIZE,
    workers: int | None = None,
    progress: Progress | None = None,
) -> EnvelopeHeader:
    """Encrypt the regular file ``source`` into the envelope ``target``.

    Raises:
        EnvelopeKeyError: the key is not 32 bytes.
        EnvelopeHeaderError: the segment size is out of bounds.
        EnvelopeError: the source changed size while it was being read.
        OSError: the files cannot be read or written.
    """
    check_key(key)
    target_path = Path(target)
    with ExitStack() as stack:
        source_fd = os.open(source, os.O_RDONLY)
        stack.callback(os.close, source_fd)
        length = os.fstat(source_fd).st_size
        header = new_header(key, artefact_id, length, segment_size)
        layout = header.layout
        cipher = SegmentCipher(key, artefact_id, header.salt, header.nonce_prefix)
        count = layout.segment_count(length)
        out_fd, temporary = _open_output(stack, target_path)
        try:
            pwrite_all(out_fd, memoryview(header.to_bytes()), 0)

            def job(index: int, in_buffer: bytearray, out_buffer: bytearray) -> None:
                span = layout.plaintext_span(index, length)
                plaintext = memoryview(in_buffer)[:span]
                if pread_exact(source_fd, plaintext, layout.plaintext_offset(index)) != span:
                    raise EnvelopeError("the source file shrank while it was being encrypted")
                size = cipher.encrypt_into(index, index == count - 1, plaintext, memoryview(out_buffer))
                pwrite_all(out_fd, memoryview(out_buffer)[:size], layout.ciphertext_offset(index))
                if progress is not None:
                    progress(span)

            run_segments(count, job, segment_size, workers or default_workers())
            if os.fstat(source_fd).st_size != length:
                raise EnvelopeError("the source file changed size while it was being encrypted")
            _finish(out_fd, temporary, target_path, layout.ciphertext_size(length))
        except BaseException:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            raise
    return header


def decrypt_file(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    key: bytes,
    artefact_id: str,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> EnvelopeHeader:
    """Decrypt the envelope ``source`` into ``target`` (a regular file, or a device such as /dev/null).

    The header's key and artefact commitments and the envelope's size are checked before any
    segment is opened; a regular-file target appears only once every segment authenticated.

    Raises:
        EnvelopeKeyError: the key is not 32 bytes.
        EnvelopeEmptyError, EnvelopeHeaderError, EnvelopeVersionError: the header is unusable.
        EnvelopeWrongKeyError, EnvelopeArtefactMismatchError: the header commits to another key or id.
        EnvelopeTruncatedError, EnvelopeTrailingDataError: the envelope has the wrong size.
        EnvelopeSegmentError: a segment failed authentication.
        OSError: the files cannot be read or written.
    """
    check_key(key)
    target_path = Path(target)
    with ExitStack() as stack:
        source_fd = os.open(source, os.O_RDONLY)
        stack.callback(os.close, source_fd)
        size = os.fstat(source_fd).st_size
        head = bytearray(HEADER_SIZE)
        got = pread_exact(source_fd, memoryview(head), 0)
        header = read_header(bytes(head[:got]))
        header.verify(key, artefact_id)
        layout = header.layout
        length = header.plaintext_length
        if length is None:
            length = layout.plaintext_length_for(size)
        expected = layout.ciphertext_size(length)
        if size < expected:
            raise EnvelopeTruncatedError(f"the envelope is {size} bytes; its header says {expected}")
        if size > expected:
            raise EnvelopeTrailingDataError(f"{size - expected} bytes follow the last segment")
        count = layout.segment_count(length)
        cipher = SegmentCipher(key, artefact_id, header.salt, header.nonce_prefix)
        out_fd, temporary = _open_output(stack, target_path)
        try:

            def job(index: int, in_buffer: bytearray, out_buffer: bytearray) -> None:
                span = layout.plaintext_span(index, length)
                ciphertext = memoryview(in_buffer)[: span + 16]
                if pread_exact(source_fd, ciphertext, layout.ciphertext_offset(index)) != len(ciphertext):
                    raise EnvelopeTruncatedError("the envelope shrank while it was being decrypted")
                last = index == count - 1
                try:
                    cipher.decrypt_into(index, last, ciphertext, memoryview(out_buffer))
                except InvalidTag:
                    if last and header.plaintext_length is None and cipher.opens_as_middle(index, ciphertext):
                        raise EnvelopeTruncatedError("the envelope was cut at a segment boundary") from None
                    raise EnvelopeSegmentError(index) from None
                pwrite_all(out_fd, memoryview(out_buffer)[:span], layout.plaintext_offset(index))
                if progress is not None:
                    progress(span)

            run_segments(count, job, header.segment_size, workers or default_workers())
            _finish(out_fd, temporary, target_path, length)
        except BaseException:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
            raise
    return header
