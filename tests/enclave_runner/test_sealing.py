"""Sealed data keys: they open only with the right key, and only in the context they were sealed for."""

import os

import pytest

from enclave_runner.protocol.errors import SealedContextMismatchError, SealingError
from enclave_runner.protocol.sealing import (
    SealContext,
    generate_x25519,
    open_data_key,
    seal,
    seal_data_key,
    unseal,
    x25519_public_from_private,
)

KEY = os.urandom(32)


def test_a_sealed_key_opens_in_its_context() -> None:
    pair = generate_x25519()
    context = SealContext.release("art-1", "job-1", "sess-1")
    assert open_data_key(seal_data_key(KEY, pair.public, context), pair.private, context) == KEY


def test_the_public_half_is_derived_from_the_private_half() -> None:
    pair = generate_x25519()
    assert x25519_public_from_private(pair.private) == pair.public


def test_repr_never_shows_the_private_key() -> None:
    pair = generate_x25519()
    assert pair.private.hex() not in repr(pair)


@pytest.mark.parametrize(
    "other",
    [
        SealContext.release("art-2", "job-1", "sess-1"),
        SealContext.release("art-1", "job-2", "sess-1"),
        SealContext.release("art-1", "job-1", "sess-2"),
        SealContext.deposit("art-1", "kek-1"),
    ],
    ids=["another artefact", "another job", "another session", "another purpose"],
)
def test_a_sealed_key_refuses_another_context(other: SealContext) -> None:
    pair = generate_x25519()
    sealed = seal_data_key(KEY, pair.public, SealContext.release("art-1", "job-1", "sess-1"))
    with pytest.raises(SealedContextMismatchError):
        open_data_key(sealed, pair.private, other)


def test_a_sealed_key_refuses_another_private_key() -> None:
    sealed = seal_data_key(KEY, generate_x25519().public, SealContext.result("job-1"))
    with pytest.raises(SealingError):
        open_data_key(sealed, generate_x25519().private, SealContext.result("job-1"))


def test_an_altered_box_is_refused() -> None:
    pair = generate_x25519()
    sealed = bytearray(seal_data_key(KEY, pair.public, SealContext.result("job-1")))
    sealed[-1] ^= 1
    with pytest.raises(SealingError):
        open_data_key(bytes(sealed), pair.private, SealContext.result("job-1"))


def test_a_box_that_is_not_a_sealed_key_is_refused() -> None:
    pair = generate_x25519()
    with pytest.raises(SealingError, match="does not hold"):
        open_data_key(seal(b"not json", pair.public), pair.private, SealContext.result("job-1"))
    with pytest.raises(SealingError, match="does not hold"):
        open_data_key(
            seal(b'{"label":"other","context":{},"key":""}', pair.public),
            pair.private,
            SealContext.result("j"),
        )


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_data_keys_of_the_wrong_size_are_refused(size: int) -> None:
    with pytest.raises(SealingError):
        seal_data_key(bytes(size), generate_x25519().public, SealContext.result("job-1"))


def test_wrong_sized_public_and_private_keys_are_refused() -> None:
    with pytest.raises(SealingError):
        seal(b"x", bytes(31))
    with pytest.raises(SealingError):
        unseal(b"x" * 80, bytes(33))
    with pytest.raises(SealingError):
        x25519_public_from_private(bytes(5))
