"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and proof verification.

Leaf hash ``SHA-256(0x00 ‖ entry)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``; the tree over n
leaves splits at the largest power of two smaller than n. Proof generation takes the leaf hashes;
verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) and raises on failure.
``CompactRange`` keeps only the roots of the perfect subtrees of a growing tree, so an append and
the new root cost O(log n) — what the gateway persists between appends.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.errors import GatewayError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(GatewayError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "ledger.proof_invalid"


def leaf_hash(entry: bytes) -> bytes:
    """``SHA-256(0x00 ‖ entry)``."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash over ``leaves`` (leaf hashes), iteratively."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


def _subtree(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    return root_hash(leaves[start:end])


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path for leaf ``index`` in the tree over ``leaves`` (RFC 9162 §2.1.3.1).

    Raises:
        ValueError: ``index`` is outside the tree.
    """
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is outside a tree of {len(leaves)}")
    path: list[bytes] = []
    start, end = 0, len(leaves)
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(_subtree(leaves, start + k, end))
            end = start + k
        else:
            path.append(_subtree(leaves, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The proof that the tree of ``old_size`` leaves is a prefix of the tree over ``leaves`` (§2.1.4.1).

    Raises:
        ValueError: ``old_size`` is not in ``1..len(leaves)``.
    """
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from {old_size} to {len(leaves)}")
    return _subproof(old_size, leaves, 0, len(leaves), True)


def _subproof(m: int, leaves: Sequence[bytes], start: int, end: int, complete: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [_subtree(leaves, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves, start, start + k, complete), _subtree(leaves, start + k, end)]
    return [*_subproof(m - k, leaves, start + k, end, False), _subtree(leaves, start, start + k)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` sits at ``index`` in the tree of ``size`` leaves whose root is ``root``.

    Raises:
        ProofError: the proof does not lead to ``root``.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} is outside a tree of {size}")
    fn, sn = index, size - 1
    hashed = leaf
    for step in proof:
        if sn == 0:
            raise ProofError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            hashed = node_hash(step, hashed)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            hashed = node_hash(hashed, step)
        fn >>= 1
        sn >>= 1
    if sn != 0 or hashed != root:
        raise ProofError(f"the inclusion proof for leaf {index} does not lead to the tree head's root")


def verify_consistency(  # noqa: PLR0912 - RFC 9162 §2.1.4.2, kept step for step as the RFC writes it.
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree (old_size, old_root) is a prefix of (new_size, new_root).

    Raises:
        ProofError: the proof is malformed or does not reproduce both roots.
    """
    if old_size > new_size or old_size < 0:
        raise ProofError(f"a tree of {old_size} cannot be a prefix of one of {new_size}")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofError("trees of equal size must have equal roots and an empty proof")
        return
    if old_size == 0:
        if proof:
            raise ProofError("the empty tree needs an empty consistency proof")
        return
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # A power of two: the old root is the first node of the path.
        path.insert(0, old_root)
    if not path:
        raise ProofError("empty consistency proof")
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for step in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(step, fr)
            sr = node_hash(step, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, step)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofError(f"the consistency proof from {old_size} to {new_size} does not reproduce both roots")


@dataclass
class CompactRange:
    """The roots of the perfect subtrees of a tree of ``size`` leaves, largest first.

    Appending merges equal-height subtrees like binary addition; the root folds them right to left.
    """

    size: int = 0
    peaks: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash."""
        self.peaks.append(leaf)
        merged = self.size
        while merged & 1:
            right = self.peaks.pop()
            left = self.peaks.pop()
            self.peaks.append(node_hash(left, right))
            merged >>= 1
        self.size += 1

    def root(self) -> bytes:
        """The Merkle tree hash of everything appended so far."""
        if not self.peaks:
            return EMPTY_ROOT
        hashed = self.peaks[-1]
        for peak in reversed(self.peaks[:-1]):
            hashed = node_hash(peak, hashed)
        return hashed

    def copy(self) -> "CompactRange":
        """An independent copy."""
        return CompactRange(self.size, list(self.peaks))
