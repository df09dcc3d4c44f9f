"""Every way an envelope can be bad gets its own stable error code, on the file path and the stream path."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from enclave_runner.protocol.envelope import (
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
    decrypt_file,
    encrypt_file,
)
from enclave_runner.protocol.envelope.format import CCGATE_HEADER_SIZE, HEADER_SIZE, SegmentLayout
from tests.enclave_runner.envelope_helpers import SMALL_SEGMENT, open_bytes, seal_bytes

KEY = os.urandom(32)
LAYOUT = SegmentLayout(SMALL_SEGMENT)
PLAINTEXT = os.urandom(LAYOUT.first_plaintext_size + 2 * LAYOUT.plaintext_size + 100)  # four segments
ENVELOPE = seal_bytes(PLAINTEXT, KEY, "art")
UNSIZED = seal_bytes(PLAINTEXT, KEY, "art", known_length=False)


def _segment(envelope: bytes, index: int) -> slice:
    start = LAYOUT.ciphertext_offset(index)
    return slice(start, min(len(envelope), start + (SMALL_SEGMENT - 40 if index == 0 else SMALL_SEGMENT)))


def _flip(envelope: bytes, offset: int) -> bytes:
    mutated = bytearray(envelope)
    mutated[offset] ^= 0x01
    return bytes(mutated)


def _swap_segments(envelope: bytes, a: int, b: int) -> bytes:
    mutated = bytearray(envelope)
    sa, sb = _segment(envelope, a), _segment(envelope, b)
    mutated[sa], mutated[sb] = envelope[sb], envelope[sa]
    return bytes(mutated)


Opener = Callable[[bytes, bytes, str], bytes]


def _via_stream(envelope: bytes, key: bytes, artefact_id: str) -> bytes:
    return open_bytes(envelope, key, artefact_id)


def _via_file(tmp: Path) -> Opener:
    def opener(envelope: bytes, key: bytes, artefact_id: str) -> bytes:
        source, target = tmp / "in.ccge", tmp / "out.bin"
        source.write_bytes(envelope)
        try:
            decrypt_file(source, target, key, artefact_id)
        except EnvelopeError:
            assert not target.exists(), "a failed decryption must leave no plaintext behind"
            assert not list(tmp.glob("*.partial")), "a failed decryption must leave no temporary file"
            raise
        return target.read_bytes()

    return opener


@pytest.fixture(params=["stream", "file"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return _via_stream if request.param == "stream" else _via_file(tmp_path)


CASES: list[tuple[str, Callable[[], tuple[bytes, bytes, str]], type[EnvelopeError]]] = [
    ("an empty file", lambda: (b"", KEY, "art"), EnvelopeEmptyError),
    ("a file cut inside the header", lambda: (ENVELOPE[:30], KEY, "art"), EnvelopeTruncatedError),
    ("a file cut after the header", lambda: (ENVELOPE[:HEADER_SIZE], KEY, "art"), EnvelopeTruncatedError),
    ("a file cut mid-segment", lambda: (ENVELOPE[:-100], KEY, "art"), EnvelopeTruncatedError),
    (
        "a file cut at a segment boundary",
        lambda: (ENVELOPE[: LAYOUT.ciphertext_offset(2)], KEY, "art"),
        EnvelopeTruncatedError,
    ),
    (
        "a stream of unknown length cut at a segment boundary",
        lambda: (UNSIZED[: LAYOUT.ciphertext_offset(2)], KEY, "art"),
        EnvelopeTruncatedError,
    ),
    ("trailing garbage", lambda: (ENVELOPE + b"\x00", KEY, "art"), EnvelopeTrailingDataError),
    (
        "a header of another version",
        lambda: (ENVELOPE[:4] + b"\x02" + ENVELOPE[5:], KEY, "art"),
        EnvelopeVersionError,
    ),
    ("not an envelope at all", lambda: (b"PK\x03\x04" + ENVELOPE[4:], KEY, "art"), EnvelopeHeaderError),
    ("reserved flags set", lambda: (ENVELOPE[:5] + b"\x80" + ENVELOPE[6:], KEY, "art"), EnvelopeHeaderError),
    (
        "an absurd segment size",
        lambda: (ENVELOPE[:6] + b"\xff\xff\xff\xff" + ENVELOPE[10:], KEY, "art"),
        EnvelopeHeaderError,
    ),
    ("a wrong key", lambda: (ENVELOPE, os.urandom(32), "art"), EnvelopeWrongKeyError),
    ("a wrong artefact id", lambda: (ENVELOPE, KEY, "another-art"), EnvelopeArtefactMismatchError),
    ("an altered plaintext length", lambda: (_flip(ENVELOPE, 17), KEY, "art"), EnvelopeWrongKeyError),
    ("an altered salt", lambda: (_flip(ENVELOPE, CCGATE_HEADER_SIZE + 5), KEY, "art"), EnvelopeWrongKeyError),
    (
        "a flipped bit in the first segment",
        lambda: (_flip(ENVELOPE, HEADER_SIZE + 3), KEY, "art"),
        EnvelopeSegmentError,
    ),
    (
        "a flipped bit in the last tag",
        lambda: (_flip(ENVELOPE, len(ENVELOPE) - 1), KEY, "art"),
        EnvelopeSegmentError,
    ),
    ("two segments swapped", lambda: (_swap_segments(ENVELOPE, 1, 2), KEY, "art"), EnvelopeSegmentError),
]


@pytest.mark.parametrize(("case", "make", "error"), CASES, ids=[case for case, _, _ in CASES])
def test_bad_envelopes_are_refused_with_their_code(
    opener: Opener, case: str, make: Callable[[], tuple[bytes, bytes, str]], error: type[EnvelopeError]
) -> None:
    envelope, key, artefact_id = make()
    with pytest.raises(error) as failure:
        opener(envelope, key, artefact_id)
    assert type(failure.value) is error
    assert failure.value.code.startswith("envelope.")


def test_the_codes_are_distinct() -> None:
    codes = {error.code for _, _, error in CASES}
    assert len(codes) == len({error for _, _, error in CASES})


@pytest.mark.parametrize("index", range(4))
def test_a_flipped_bit_in_any_segment_names_that_segment(opener: Opener, index: int) -> None:
    where = _segment(ENVELOPE, index)
    with pytest.raises(EnvelopeSegmentError) as failure:
        opener(_flip(ENVELOPE, where.start + 7), KEY, "art")
    assert failure.value.index == index


def test_a_segment_spliced_from_another_file_is_refused(opener: Opener) -> None:
    other = seal_bytes(os.urandom(len(PLAINTEXT)), KEY, "art")
    spliced = bytearray(ENVELOPE)
    where = _segment(ENVELOPE, 2)
    spliced[where] = other[where]
    with pytest.raises(EnvelopeSegmentError) as failure:
        opener(bytes(spliced), KEY, "art")
    assert failure.value.index == 2


@pytest.mark.parametrize(
    "size",
    [
        0,
        1,
        LAYOUT.first_plaintext_size,
        LAYOUT.first_plaintext_size + 1,
        LAYOUT.first_plaintext_size + LAYOUT.plaintext_size,
    ],
    ids=["empty", "one byte", "exactly one segment", "one segment + 1 byte", "exactly two segments"],
)
def test_boundary_sizes_round_trip(opener: Opener, size: int) -> None:
    plaintext = os.urandom(size)
    assert opener(seal_bytes(plaintext, KEY, "edge"), KEY, "edge") == plaintext
    assert opener(seal_bytes(plaintext, KEY, "edge", known_length=False), KEY, "edge") == plaintext


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_keys_of_the_wrong_size_are_refused(tmp_path: Path, size: int) -> None:
    source = tmp_path / "plain"
    source.write_bytes(b"data")
    with pytest.raises(EnvelopeKeyError):
        encrypt_file(source, tmp_path / "out", bytes(size), "art")
    with pytest.raises(EnvelopeKeyError):
        open_bytes(ENVELOPE, bytes(size), "art")


def test_file_path_round_trips_and_matches_the_stream_format(tmp_path: Path) -> None:
    source, envelope, output = tmp_path / "plain", tmp_path / "env", tmp_path / "out"
    source.write_bytes(PLAINTEXT)
    header = encrypt_file(source, envelope, KEY, "art", segment_size=SMALL_SEGMENT, workers=2)
    assert header.plaintext_length == len(PLAINTEXT)
    assert open_bytes(envelope.read_bytes(), KEY, "art") == PLAINTEXT
    decrypt_file(envelope, output, KEY, "art", workers=2)
    assert output.read_bytes() == PLAINTEXT
    assert (output.stat().st_mode & 0o777) == 0o600


def test_decrypting_to_a_device_writes_through(tmp_path: Path) -> None:
    source = tmp_path / "env"
    source.write_bytes(ENVELOPE)
    decrypt_file(source, os.devnull, KEY, "art")
