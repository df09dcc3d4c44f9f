"""Property tests: random sizes round-trip; every single-byte mutation of an envelope is refused."""

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enclave_runner.protocol.envelope import EnvelopeError
from enclave_runner.protocol.envelope.format import SegmentLayout
from tests.enclave_runner.envelope_helpers import SMALL_SEGMENT, open_bytes, seal_bytes

KEY = os.urandom(32)
LAYOUT = SegmentLayout(SMALL_SEGMENT)
MAX_SIZE = LAYOUT.first_plaintext_size + 4 * LAYOUT.plaintext_size


@settings(max_examples=150, deadline=None)
@given(size=st.integers(min_value=0, max_value=MAX_SIZE), known=st.booleans(), chunk=st.integers(1, 9000))
def test_random_sizes_round_trip(size: int, known: bool, chunk: int) -> None:
    plaintext = os.urandom(size)
    envelope = seal_bytes(plaintext, KEY, "prop", known_length=known)
    assert len(envelope) == LAYOUT.ciphertext_size(size)
    assert open_bytes(envelope, KEY, "prop", chunk=chunk) == plaintext


ENVELOPE = seal_bytes(os.urandom(LAYOUT.first_plaintext_size + LAYOUT.plaintext_size + 10), KEY, "prop")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    position=st.integers(min_value=0, max_value=len(ENVELOPE) - 1),
    xor=st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_mutation_is_refused(position: int, xor: int) -> None:
    mutated = bytearray(ENVELOPE)
    mutated[position] ^= xor
    with pytest.raises(EnvelopeError):
        open_bytes(bytes(mutated), KEY, "prop")


@pytest.mark.slow
def test_every_byte_position_of_a_multi_segment_envelope_is_protected() -> None:
    for position in range(len(ENVELOPE)):
        mutated = bytearray(ENVELOPE)
        mutated[position] ^= 0x80
        with pytest.raises(EnvelopeError):
            open_bytes(bytes(mutated), KEY, "prop")
