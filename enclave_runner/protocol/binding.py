"""The bindings that tie Evidence to one session, one pair of runner keys and one job (DESIGN §5 step 3).

``enrollment_report_data`` is the third binding: a node's enrolment Evidence answers a gateway nonce
and names the node it enrols, so it cannot be replayed to enrol another node.

``report_data`` goes into the CPU report's 64-byte report-data field; ``gpu_nonce`` is the 32-byte
SPDM nonce every GPU signs. Both are recomputed by the gateway from what it issued and what the
runner posted, so Evidence produced for another session, another key or another job cannot verify.
"""

import hashlib
from typing import Final

from enclave_runner.protocol.errors import BindingError

REPORT_DATA_LABEL: Final = b"ccgate/v1/report-data"
GPU_NONCE_LABEL: Final = b"ccgate/v1/gpu-nonce"
ENROLLMENT_LABEL: Final = b"ccgate/v1/enrollment"

NONCE_SIZE: Final = 32
X25519_PUBLIC_KEY_SIZE: Final = 32
ED25519_PUBLIC_KEY_SIZE: Final = 32
MANIFEST_DIGEST_SIZE: Final = 32
REPORT_DATA_SIZE: Final = 64
GPU_NONCE_SIZE: Final = 32


def length_prefixed(value: bytes) -> bytes:
    """Return ``value`` preceded by its length as a 4-byte big-endian integer (``lp`` in DESIGN §5)."""
    return len(value).to_bytes(4, "big") + value


def _require(name: str, value: bytes, size: int) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise BindingError(f"{name} must be bytes, got {type(value).__name__}")
    if len(value) != size:
        raise BindingError(f"{name} must be {size} bytes, got {len(value)}")


def report_data(nonce: bytes, x25519_public: bytes, ed25519_public: bytes, manifest_digest: bytes) -> bytes:
    """Compute the 64-byte report data a CPU report must carry.

    ``SHA-512("ccgate/v1/report-data" ‖ lp(nonce) ‖ lp(x25519_pub) ‖ lp(ed25519_pub) ‖ lp(manifest_digest))``.
    ``manifest_digest`` is the raw 32-byte SHA-256 of the job manifest, not its hex form.

    Raises:
        BindingError: an input is not bytes of its fixed size.
    """
    _require("nonce", nonce, NONCE_SIZE)
    _require("x25519_public", x25519_public, X25519_PUBLIC_KEY_SIZE)
    _require("ed25519_public", ed25519_public, ED25519_PUBLIC_KEY_SIZE)
    _require("manifest_digest", manifest_digest, MANIFEST_DIGEST_SIZE)
    hasher = hashlib.sha512(REPORT_DATA_LABEL)
    for part in (nonce, x25519_public, ed25519_public, manifest_digest):
        hasher.update(length_prefixed(bytes(part)))
    return hasher.digest()


def gpu_nonce(report_data_value: bytes) -> bytes:
    """Compute the 32-byte SPDM nonce every GPU report must carry.

    ``SHA-256("ccgate/v1/gpu-nonce" ‖ report_data)``.

    Raises:
        BindingError: ``report_data_value`` is not 64 bytes.
    """
    _require("report_data", report_data_value, REPORT_DATA_SIZE)
    return hashlib.sha256(GPU_NONCE_LABEL + bytes(report_data_value)).digest()


def enrollment_report_data(nonce: bytes, node_id: str) -> bytes:
    """Compute the 64-byte report data of a node's enrolment Evidence.

    ``SHA-512("ccgate/v1/enrollment" ‖ lp(nonce) ‖ lp(utf8(node_id)))``; the GPUs answer
    ``gpu_nonce`` of it, exactly as during a release.

    Raises:
        BindingError: the nonce is not 32 bytes or the node id is empty.
    """
    _require("nonce", nonce, NONCE_SIZE)
    if not node_id:
        raise BindingError("node_id must not be empty")
    hasher = hashlib.sha512(ENROLLMENT_LABEL)
    for part in (bytes(nonce), node_id.encode("utf-8")):
        hasher.update(length_prefixed(part))
    return hasher.digest()
