"""Tink as an oracle: Tink reads what ccgate writes, and ccgate reads what Tink writes.

Tink is a dev-only dependency; ccgate never uses it at run time.
"""

import io
import os
from pathlib import Path
from typing import Any

import pytest

from enclave_runner.protocol.envelope import EnvelopeError, EnvelopeSegmentError, decrypt_tink_stream
from enclave_runner.protocol.envelope.format import CCGATE_HEADER_SIZE, DEFAULT_SEGMENT_SIZE
from enclave_runner.protocol.envelope.tink_interop import unwrap_tink_file, wrap_tink_file
from tests.enclave_runner.envelope_helpers import SMALL_SEGMENT, open_bytes, seal_bytes

tink = pytest.importorskip("tink", reason="the tink oracle is in the [dev] extra")
streaming_aead = pytest.importorskip("tink.streaming_aead")
from tink import secret_key_access  # noqa: E402
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2  # noqa: E402

TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"


def _tink_primitive(key: bytes, segment_size: int) -> Any:
    """A Tink StreamingAead holding exactly ccgate's data key as an AES256_GCM_HKDF key."""
    streaming_aead.register()
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=segment_size, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
    )
    key_proto = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(version=0, params=params, key_value=key)
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=TYPE_URL,
                    value=key_proto.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


def _tink_decrypt(primitive: Any, ciphertext: bytes, aad: bytes) -> bytes:
    with primitive.new_decrypting_stream(io.BytesIO(ciphertext), aad) as stream:
        plaintext: bytes = stream.read()
    return plaintext


def _tink_encrypt(primitive: Any, plaintext: bytes, aad: bytes) -> bytes:
    sink = io.BytesIO()
    with primitive.new_encrypting_stream(_Unclosable(sink), aad) as stream:
        stream.write(plaintext)
    return sink.getvalue()


class _Unclosable(io.BytesIO):
    def __init__(self, sink: io.BytesIO) -> None:
        super().__init__()
        self._sink = sink

    def write(self, data: "bytes | bytearray | memoryview") -> int:  # type: ignore[override]  # forwards to sink
        return self._sink.write(data)


SIZES = [0, 1, 4040, 4041, 4040 + 4080, 3 * 4096 + 17]


@pytest.mark.parametrize("size", SIZES)
def test_tink_decrypts_ccgate_envelopes(size: int) -> None:
    key, plaintext = os.urandom(32), os.urandom(size)
    envelope = seal_bytes(plaintext, key, "artefact-7", SMALL_SEGMENT)
    assert (
        _tink_decrypt(_tink_primitive(key, SMALL_SEGMENT), envelope[CCGATE_HEADER_SIZE:], b"artefact-7")
        == plaintext
    )


@pytest.mark.parametrize("size", SIZES)
def test_ccgate_decrypts_tink_streams(size: int) -> None:
    key, plaintext = os.urandom(32), os.urandom(size)
    ciphertext = _tink_encrypt(_tink_primitive(key, SMALL_SEGMENT), plaintext, b"artefact-7")
    chunks = [ciphertext[i : i + 999] for i in range(0, len(ciphertext), 999)]
    assert b"".join(decrypt_tink_stream(chunks, key, "artefact-7", SMALL_SEGMENT)) == plaintext


def test_tink_decrypts_a_default_size_envelope() -> None:
    key, plaintext = os.urandom(32), os.urandom(DEFAULT_SEGMENT_SIZE + 12345)
    envelope = seal_bytes(plaintext, key, "big", DEFAULT_SEGMENT_SIZE)
    primitive = _tink_primitive(key, DEFAULT_SEGMENT_SIZE)
    assert _tink_decrypt(primitive, envelope[CCGATE_HEADER_SIZE:], b"big") == plaintext
    assert open_bytes(envelope, key, "big") == plaintext


def test_a_bare_tink_stream_under_a_wrong_key_fails_on_its_first_segment() -> None:
    key = os.urandom(32)
    ciphertext = _tink_encrypt(_tink_primitive(key, SMALL_SEGMENT), b"secret", b"a")
    with pytest.raises(EnvelopeSegmentError) as failure:
        b"".join(decrypt_tink_stream([ciphertext], os.urandom(32), "a", SMALL_SEGMENT))
    assert failure.value.index == 0


@pytest.mark.parametrize("size", SIZES)
def test_a_tink_stream_wrapped_by_ccgate_opens_and_unwraps_to_the_same_bytes(
    size: int, tmp_path: Path
) -> None:
    key, plaintext = os.urandom(32), os.urandom(size)
    tink_bytes = _tink_encrypt(_tink_primitive(key, SMALL_SEGMENT), plaintext, b"art_9")
    (tmp_path / "in.tink").write_bytes(tink_bytes)
    assert wrap_tink_file(tmp_path / "in.tink", tmp_path / "x.ccge", key, "art_9", SMALL_SEGMENT) == size
    envelope = (tmp_path / "x.ccge").read_bytes()
    assert envelope[CCGATE_HEADER_SIZE:] == tink_bytes, "the Tink bytes are kept exactly"
    assert open_bytes(envelope, key, "art_9") == plaintext
    assert unwrap_tink_file(tmp_path / "x.ccge", tmp_path / "out.tink", key, "art_9") == SMALL_SEGMENT
    assert (
        _tink_decrypt(_tink_primitive(key, SMALL_SEGMENT), (tmp_path / "out.tink").read_bytes(), b"art_9")
        == plaintext
    )


@pytest.mark.parametrize(
    ("case", "change"),
    [
        ("a wrong key", {"key": b"\x01" * 32}),
        ("a wrong artefact id", {"artefact_id": "art_other"}),
        ("a wrong segment size", {"segment_size": SMALL_SEGMENT * 2}),
        ("a truncated stream", {"truncate": 7}),
        ("a flipped bit", {"flip": 100}),
    ],
)
def test_wrapping_refuses_what_would_not_open_and_writes_nothing(
    case: str, change: dict[str, Any], tmp_path: Path
) -> None:
    key = os.urandom(32)
    tink_bytes = bytearray(_tink_encrypt(_tink_primitive(key, SMALL_SEGMENT), os.urandom(3 * 4096), b"art_9"))
    if "truncate" in change:
        del tink_bytes[-change["truncate"] :]
    if "flip" in change:
        tink_bytes[change["flip"]] ^= 1
    (tmp_path / "in.tink").write_bytes(bytes(tink_bytes))
    with pytest.raises(EnvelopeError):
        wrap_tink_file(
            tmp_path / "in.tink",
            tmp_path / "x.ccge",
            change.get("key", key),
            change.get("artefact_id", "art_9"),
            change.get("segment_size", SMALL_SEGMENT),
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tink"]


def test_unwrapping_checks_the_envelope_first(tmp_path: Path) -> None:
    key = os.urandom(32)
    (tmp_path / "x.ccge").write_bytes(seal_bytes(os.urandom(5000), key, "art_9", SMALL_SEGMENT))
    with pytest.raises(EnvelopeError):
        unwrap_tink_file(tmp_path / "x.ccge", tmp_path / "out.tink", key, "art_other")
    assert not (tmp_path / "out.tink").exists()
