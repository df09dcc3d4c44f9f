"""The envelope's byte layout, pinned by a known-answer test and checked field by field."""

import hashlib
import struct

from enclave_runner.protocol.envelope import read_header
from enclave_runner.protocol.envelope.format import (
    CCGATE_HEADER_SIZE,
    HEADER_SIZE,
    MAGIC,
    TINK_HEADER_SIZE,
    SegmentLayout,
)
from tests.enclave_runner.envelope_helpers import SMALL_SEGMENT, counter_random, open_bytes, seal_bytes

KEY = bytes(range(32))
PLAINTEXT = bytes(i % 251 for i in range(10_000))

# SHA-256 of the envelope of PLAINTEXT under KEY, artefact id "kat-artefact", segment size 4096 and
# the deterministic randomness below. Pinned: any change here is an incompatible format change.
ENVELOPE_SHA256 = "dd20eac362cd15990be3a6d7ee621c5656fd3e686fd160878d318a9cd1a66745"


def _kat_envelope() -> bytes:
    return seal_bytes(PLAINTEXT, KEY, "kat-artefact", random_bytes=counter_random(b"kat"))


def test_known_answer() -> None:
    assert hashlib.sha256(_kat_envelope()).hexdigest() == ENVELOPE_SHA256


def test_header_fields_sit_where_the_layout_says() -> None:
    envelope = _kat_envelope()
    magic, version, flags, segment_size, length = struct.unpack(">4sBBIQ", envelope[:18])
    assert (magic, version, flags, segment_size, length) == (MAGIC, 1, 0, SMALL_SEGMENT, len(PLAINTEXT))
    assert envelope[CCGATE_HEADER_SIZE] == TINK_HEADER_SIZE == 40
    random = counter_random(b"kat")
    assert envelope[51:83] == random(32)  # salt
    assert envelope[83:90] == random(7)  # nonce prefix
    header = read_header(envelope[:HEADER_SIZE])
    assert header.to_bytes() == envelope[:HEADER_SIZE]


def test_segment_sizes_follow_tink() -> None:
    layout = SegmentLayout(SMALL_SEGMENT)
    # First segment: 4096 - 40 (Tink header) - 16 (tag) plaintext bytes; later ones 4096 - 16.
    assert layout.first_plaintext_size == 4040
    assert layout.plaintext_size == 4080
    assert layout.segment_count(0) == 1
    assert layout.segment_count(4040) == 1
    assert layout.segment_count(4041) == 2
    assert layout.segment_count(4040 + 4080) == 2
    assert layout.ciphertext_offset(1) == CCGATE_HEADER_SIZE + SMALL_SEGMENT
    assert (
        len(_kat_envelope())
        == layout.ciphertext_size(len(PLAINTEXT))
        == HEADER_SIZE + len(PLAINTEXT) + 3 * 16
    )


def test_the_known_answer_decrypts() -> None:
    assert open_bytes(_kat_envelope(), KEY, "kat-artefact") == PLAINTEXT


def test_plaintext_length_can_be_unknown() -> None:
    envelope = seal_bytes(PLAINTEXT, KEY, "a", known_length=False)
    assert read_header(envelope).plaintext_length is None
    assert open_bytes(envelope, KEY, "a") == PLAINTEXT
