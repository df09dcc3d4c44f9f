"""Claims documents read back into their frozen types exactly, and nothing else reads back at all."""

import dataclasses
from collections.abc import Callable

import pytest

from attestation.claims import to_claims
from attestation.claims_reader import read_claims
from attestation.errors import ClaimsDocumentError
from attestation.result import CpuClaims, GpuClaims, MeasurementMismatch
from tests.attestation import token_fixtures as f


def _document(value: object) -> dict[str, object]:
    document = to_claims(value)
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize(
    "claims",
    [
        f.cpu_claims(),
        f.cpu_claims(debug=True),
        f.gpu_claims(),
        f.mismatching_gpu_claims(),
        f.gpu_claims(fwid_match=None),
    ],
    ids=["CPU", "debuggable CPU", "GPU", "GPU with mismatches", "GPU without FWID"],
)
def test_claims_round_trip(claims: CpuClaims | GpuClaims) -> None:
    assert read_claims(type(claims), _document(claims)) == claims


def _set(name: str, value: object) -> Callable[[dict[str, object]], None]:
    return lambda document: document.__setitem__(name, value)


def _offset_timestamp(document: dict[str, object]) -> None:
    chain = document["x-nvidia-gpu-attestation-report-cert-chain"]
    assert isinstance(chain, dict)
    chain["x-nvidia-cert-expiration-date"] = "2030-01-01T00:00:00+01:00"


CASES = [
    ("a missing claim", lambda d: d.pop("measres")),
    ("an unknown claim", _set("x-extra", 1)),
    ("a string for a bool", _set("secboot", "true")),
    ("a number for a bool", _set("secboot", 1)),
    ("a bool for a string", _set("measres", True)),
    ("an unknown enum value", _set("x-nvidia-gpu-arch", "ampere")),
    ("a list that is not a list", _set("x-nvidia-mismatch-measurement-records", "none")),
    ("a chain that is not an object", _set("x-nvidia-gpu-attestation-report-cert-chain", [])),
    ("a timestamp with an offset", _offset_timestamp),
]


@pytest.mark.parametrize(("name", "edit"), CASES, ids=[case[0] for case in CASES])
def test_a_document_that_does_not_fit_the_type_is_refused(
    name: str, edit: Callable[[dict[str, object]], None]
) -> None:
    document = _document(f.gpu_claims())
    edit(document)
    with pytest.raises(ClaimsDocumentError):
        read_claims(GpuClaims, document)


def test_an_int_field_refuses_a_bool() -> None:
    document = _document(MeasurementMismatch(index=3, golden_values=("00",), runtime_value="11"))
    document["index"] = True
    with pytest.raises(ClaimsDocumentError):
        read_claims(MeasurementMismatch, document)


def test_a_claim_with_a_default_may_be_absent() -> None:
    document = _document(f.gpu_claims())
    del document["x-nvidia-gpu-nvdec0-enabled"]
    assert read_claims(GpuClaims, document) == dataclasses.replace(f.gpu_claims(), nvdec0_enabled=None)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ClaimsDocumentError):
        read_claims(CpuClaims, ["not", "an", "object"])
