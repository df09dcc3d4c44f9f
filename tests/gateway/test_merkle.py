"""RFC 6962 Merkle hashing and proofs, against a recursive reference written from the RFC's definitions."""

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)


def reference_mth(entries: list[bytes]) -> bytes:
    # MTH as RFC 6962 §2.1 defines it, recursively over entries (not leaf hashes).
    if not entries:
        return hashlib.sha256(b"").digest()
    if len(entries) == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < len(entries):
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(entries[:k]) + reference_mth(entries[k:])).digest()


def _leaves(n: int) -> tuple[list[bytes], list[bytes]]:
    entries = [f"entry-{i}".encode() for i in range(n)]
    return entries, [leaf_hash(e) for e in entries]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100])
def test_root_matches_the_rfc_definition(n: int) -> None:
    entries, leaves = _leaves(n)
    assert root_hash(leaves) == reference_mth(entries)


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_known_two_leaf_root() -> None:
    assert root_hash([leaf_hash(b"a"), leaf_hash(b"b")]) == node_hash(leaf_hash(b"a"), leaf_hash(b"b"))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_inclusion_proofs_verify_and_reject_other_leaves(n: int, data: st.DataObject) -> None:
    _, leaves = _leaves(n)
    index = data.draw(st.integers(0, n - 1))
    root = root_hash(leaves)
    proof = inclusion_proof(index, leaves)
    verify_inclusion(leaves[index], index, n, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), index, n, proof, root)
    if n > 1:
        other = (index + 1) % n
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], other, n, proof, root)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_consistency_proofs_verify_and_reject_rewritten_history(n: int, data: st.DataObject) -> None:
    _, leaves = _leaves(n)
    m = data.draw(st.integers(1, n))
    proof = consistency_proof(m, leaves)
    verify_consistency(m, n, root_hash(leaves[:m]), root_hash(leaves), proof)
    rewritten = [*leaves[: m - 1], leaf_hash(b"rewritten"), *leaves[m:]]
    if m < n:
        with pytest.raises(ProofError):
            verify_consistency(m, n, root_hash(rewritten[:m]), root_hash(leaves), proof)


def test_compact_range_tracks_the_root_incrementally() -> None:
    compact = CompactRange()
    _, leaves = _leaves(40)
    for i, leaf in enumerate(leaves):
        compact.append(leaf)
        assert compact.root() == root_hash(leaves[: i + 1])
    assert len(compact.peaks) == bin(40).count("1")


def test_malformed_proofs_are_refused() -> None:
    _, leaves = _leaves(5)
    root = root_hash(leaves)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[0], 0, 5, [*inclusion_proof(0, leaves), b"\x00" * 32], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaves[0], 7, 5, [], root)
    with pytest.raises(ProofError):
        verify_consistency(6, 5, root, root, [])
    with pytest.raises(ProofError):
        verify_consistency(5, 5, root, root_hash(leaves[:4]), [])
    with pytest.raises(ValueError):
        inclusion_proof(5, leaves)
    with pytest.raises(ValueError):
        consistency_proof(0, leaves)
