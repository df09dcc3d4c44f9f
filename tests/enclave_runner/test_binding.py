"""Known-answer tests for the report-data and GPU-nonce bindings of DESIGN §5 step 3."""

import hashlib

import pytest

from enclave_runner.protocol.binding import enrollment_report_data, gpu_nonce, length_prefixed, report_data
from enclave_runner.protocol.errors import BindingError

NONCE = bytes(range(32))
X25519 = bytes([0xA0 + i % 16 for i in range(32)])
ED25519 = bytes([0x50] * 32)
MANIFEST = hashlib.sha256(b'{"job":"kat"}').digest()

# Pinned when the protocol was fixed; a change here is a wire-protocol change.
REPORT_DATA_KAT = (
    "58762c489b394c698f1eed7bcf5da39f16284df39c7afc1577b21f3b5e1b8865"
    "e2f467f3d44de57c5464133b90439f0ef91328cbcd612c09829e0455718f24b2"
)
GPU_NONCE_KAT = "75da5dedb574a788b2413cb655900d2f80dee7ec9702e0088d1828c9ddc420c3"


def _definition() -> bytes:
    # The DESIGN text, spelled out independently of the implementation.
    message = b"ccgate/v1/report-data"
    for part in (NONCE, X25519, ED25519, MANIFEST):
        message += len(part).to_bytes(4, "big") + part
    return hashlib.sha512(message).digest()


def test_report_data_follows_the_design_definition() -> None:
    assert report_data(NONCE, X25519, ED25519, MANIFEST) == _definition()


def test_report_data_known_answer() -> None:
    assert report_data(NONCE, X25519, ED25519, MANIFEST).hex() == REPORT_DATA_KAT


def test_gpu_nonce_known_answer() -> None:
    value = report_data(NONCE, X25519, ED25519, MANIFEST)
    assert gpu_nonce(value) == hashlib.sha256(b"ccgate/v1/gpu-nonce" + value).digest()
    assert gpu_nonce(value).hex() == GPU_NONCE_KAT


def test_every_input_changes_the_binding() -> None:
    base = report_data(NONCE, X25519, ED25519, MANIFEST)
    flipped = bytes([NONCE[0] ^ 1]) + NONCE[1:]
    assert report_data(flipped, X25519, ED25519, MANIFEST) != base
    assert report_data(NONCE, ED25519, X25519, MANIFEST) != base
    assert report_data(NONCE, X25519, ED25519, hashlib.sha256(b"other").digest()) != base


def test_length_prefix_is_four_bytes_big_endian() -> None:
    assert length_prefixed(b"abc") == b"\x00\x00\x00\x03abc"


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("nonce", (NONCE[:31], X25519, ED25519, MANIFEST)),
        ("x25519_public", (NONCE, X25519 + b"\x00", ED25519, MANIFEST)),
        ("ed25519_public", (NONCE, X25519, b"", MANIFEST)),
        ("manifest_digest", (NONCE, X25519, ED25519, MANIFEST.hex().encode())),
    ],
)
def test_wrong_sized_inputs_are_refused(field: str, args: tuple[bytes, bytes, bytes, bytes]) -> None:
    with pytest.raises(BindingError, match=field):
        report_data(*args)


def test_gpu_nonce_refuses_wrong_sized_report_data() -> None:
    with pytest.raises(BindingError):
        gpu_nonce(bytes(32))


ENROLLMENT_NODE = "nod_" + "0" * 32
# Pinned when the enrolment binding was fixed; a change here is a wire-protocol change.
ENROLLMENT_KAT = (
    "7cf2a286cbf77ba628ad90f3a1149e401dc2827a966983d51de15b0b2ddb1604"
    "12f1498f6fa1a83151338c6c16fa013ecbb21aaaca6ca55c401bbc8f0c673a50"
)


def test_enrollment_report_data_follows_its_definition_and_known_answer() -> None:
    message = b"ccgate/v1/enrollment"
    for part in (NONCE, ENROLLMENT_NODE.encode()):
        message += len(part).to_bytes(4, "big") + part
    value = enrollment_report_data(NONCE, ENROLLMENT_NODE)
    assert value == hashlib.sha512(message).digest()
    assert value.hex() == ENROLLMENT_KAT


def test_enrollment_binding_names_the_node_and_differs_from_the_release_binding() -> None:
    value = enrollment_report_data(NONCE, ENROLLMENT_NODE)
    assert enrollment_report_data(NONCE, "nod_" + "1" * 32) != value
    assert value != report_data(NONCE, X25519, ED25519, MANIFEST)


@pytest.mark.parametrize(
    ("nonce", "node_id"),
    [
        pytest.param(NONCE[:16], ENROLLMENT_NODE, id="short nonce"),
        pytest.param(NONCE, "", id="empty node id"),
    ],
)
def test_enrollment_binding_refuses_bad_inputs(nonce: bytes, node_id: str) -> None:
    with pytest.raises(BindingError):
        enrollment_report_data(nonce, node_id)
