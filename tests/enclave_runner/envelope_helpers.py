"""Helpers for envelope tests: deterministic randomness and in-memory round trips."""

import hashlib
import os
from collections.abc import Callable

from enclave_runner.protocol.envelope import decrypt_stream, encrypt_stream

SMALL_SEGMENT = 4096


def counter_random(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic stand-in for os.urandom, for known-answer tests only."""
    state = {"n": 0}

    def draw(size: int) -> bytes:
        out = b""
        while len(out) < size:
            out += hashlib.sha256(seed + state["n"].to_bytes(8, "big")).digest()
            state["n"] += 1
        return out[:size]

    return draw


def seal_bytes(
    plaintext: bytes,
    key: bytes,
    artefact_id: str,
    segment_size: int = SMALL_SEGMENT,
    *,
    known_length: bool = True,
    random_bytes: Callable[[int], bytes] | None = None,
) -> bytes:
    """Encrypt in memory through the streaming path (small segments, so tests see many of them)."""
    length = len(plaintext) if known_length else None
    stream = encrypt_stream(
        [plaintext],
        key,
        artefact_id,
        plaintext_length=length,
        segment_size=segment_size,
        random_bytes=random_bytes or os.urandom,
    )
    return b"".join(stream)


def open_bytes(envelope: bytes, key: bytes, artefact_id: str, chunk: int = 1000) -> bytes:
    pieces = [envelope[i : i + chunk] for i in range(0, len(envelope), chunk)]
    return b"".join(decrypt_stream(pieces, key, artefact_id))
