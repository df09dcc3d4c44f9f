"""Wire messages parse strictly; manifests digest canonically; receipts verify only under the attested key."""

import base64
import hashlib
from datetime import UTC, datetime

import nacl.signing
import pytest
from pydantic import ValidationError

from enclave_runner.protocol.canonical import canonical_json
from enclave_runner.protocol.messages import AttestationRequest, JobManifest, ManifestArtefact, Requirements
from enclave_runner.protocol.receipts import (
    Receipt,
    ReceiptError,
    ReceiptInput,
    parse_signed_receipt,
    sign_receipt,
    verify_receipt,
)

DIGEST = "ab" * 32


def _manifest(**changes: object) -> JobManifest:
    fields: dict[str, object] = {
        "job_id": "job-1",
        "tenant": "acme",
        "datasets": (
            ManifestArtefact(artefact_id="ds-1", version=1, kind="dataset", ciphertext_digest=DIGEST),
        ),
        "model": ManifestArtefact(artefact_id="m-1", version=2, kind="model", ciphertext_digest=DIGEST),
        "entrypoint": "train.py",
        "arguments": ("--epochs", "3"),
        "result_recipient": base64.b64encode(b"\x01" * 32).decode(),
        "requirements": Requirements(tee_types=("snp",), gpu_count=8, gpu_arch="hopper"),
        "max_runtime_seconds": 600,
    }
    fields.update(changes)
    return JobManifest.model_validate(fields)


def test_manifest_digest_is_sha256_of_labelled_canonical_json() -> None:
    manifest = _manifest()
    document = manifest.model_dump(mode="json")
    assert document["label"] == "ccgate/v1/job-manifest"
    assert manifest.digest() == hashlib.sha256(canonical_json(document)).digest()
    assert _manifest(arguments=("--epochs", "4")).digest() != manifest.digest()


@pytest.mark.parametrize(
    "changes",
    [{"unknown": 1}, {"job_id": "../etc"}, {"result_recipient": "not base64!"}, {"max_runtime_seconds": 0}],
    ids=["an unknown field", "a path in an id", "bad base64", "a zero runtime"],
)
def test_bad_manifests_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _manifest(**changes)


def test_attestation_requests_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        AttestationRequest.model_validate(
            {
                "session_id": "s",
                "keys": {"x25519": "", "ed25519": ""},
                "evidence": {"cpu": {"type": "snp", "report": ""}},
                "extra": True,
            }
        )


def _receipt() -> Receipt:
    return Receipt(
        job_id="job-1",
        manifest_digest=DIGEST,
        inputs=(ReceiptInput(artefact_id="ds-1", ciphertext_digest=DIGEST),),
        output_digest="cd" * 32,
        started_at=datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 26, 12, 5, tzinfo=UTC),
        exit_code=0,
        network_isolation="namespace",
    )


def test_a_receipt_verifies_under_its_key_only() -> None:
    key = nacl.signing.SigningKey.generate()
    signed = sign_receipt(_receipt(), bytes(key))
    assert (
        verify_receipt(parse_signed_receipt(signed.model_dump_json().encode()), bytes(key.verify_key))
        == _receipt()
    )
    with pytest.raises(ReceiptError):
        verify_receipt(signed, bytes(nacl.signing.SigningKey.generate().verify_key))


def test_an_altered_receipt_does_not_verify() -> None:
    key = nacl.signing.SigningKey.generate()
    signed = sign_receipt(_receipt(), bytes(key))
    altered = signed.model_copy(update={"receipt": _receipt().model_copy(update={"exit_code": 1})})
    with pytest.raises(ReceiptError):
        verify_receipt(altered, bytes(key.verify_key))


def test_garbage_is_not_a_receipt() -> None:
    with pytest.raises(ReceiptError):
        parse_signed_receipt(b'{"receipt": {}}')
