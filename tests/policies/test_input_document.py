"""The input document: strict about structure, faithful about claims (missing stays missing)."""

import dataclasses

import pytest

from attestation.evidence import TeeType
from attestation.result import TcbStatus
from policies import PolicyInputError, input_document, parse_input
from policies.samples import sample_input


@pytest.mark.parametrize("tee", list(TeeType))
def test_a_typed_input_survives_the_round_trip(tee: TeeType) -> None:
    request = sample_input(tee=tee, gpus=3)
    assert parse_input(input_document(request)) == request


def test_claims_arrive_typed() -> None:
    request = parse_input(input_document(sample_input(tee=TeeType.TDX, gpus=1)))
    assert request.result.cpu.tcb_status is TcbStatus.UP_TO_DATE
    assert request.result.cpu.tdx is not None
    assert request.result.cpu.tdx.tcb_date is not None
    assert request.result.cpu.tdx.tcb_date.tzinfo is not None


def test_absent_and_mistyped_claims_are_kept_as_found() -> None:
    document = input_document(sample_input(gpus=1))
    cpu0 = document["cpu0"]
    assert isinstance(cpu0, dict)
    del cpu0["debug"]
    cpu0["simulated"] = "no"
    cpu0["tcb_status"] = "Fine"
    cpu = parse_input(document).result.cpu
    # Read through the field list: the annotations say bool and enum, and the point is they are not.
    found = {field.name: getattr(cpu, field.name) for field in dataclasses.fields(cpu)}
    assert found["debug"] is None
    assert found["simulated"] == "no"
    assert found["tcb_status"] == "Fine"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d.update(cpu1={}), "unknown key 'cpu1'"),
        (lambda d: d.update(gpu5={}), "without gaps"),
        (lambda d: d["cpu0"].update(debgu=False), "cpu0: unknown claim 'debgu'"),
        (lambda d: d["gpu0"]["x-nvidia-gpu-driver-rim-cert-chain"].update(status="x"), "unknown claim"),
        (lambda d: d["result"].update(extra=1), "result: unknown field"),
        (lambda d: d.update(result=[]), "result must be an object"),
    ],
    ids=["an unknown root", "a gap in the GPU keys", "a misspelled CPU claim", "a misspelled nested claim",
         "an unknown result field", "a result that is not an object"],
)  # fmt: skip
def test_structural_problems_are_input_errors(edit: object, says: str) -> None:
    document = input_document(sample_input(gpus=1))
    edit(document)  # type: ignore[operator] # the lambdas above.
    with pytest.raises(PolicyInputError) as caught:
        parse_input(document)
    assert caught.value.code == "policy.input_invalid"
    assert any(says in problem for problem in caught.value.problems), caught.value.problems


def test_an_input_that_is_not_an_object_is_an_input_error() -> None:
    with pytest.raises(PolicyInputError):
        parse_input([])  # type: ignore[arg-type] # garbage in is the point.


def test_no_gpus_is_an_empty_gpu_list() -> None:
    document = input_document(sample_input(gpus=0))
    assert parse_input(document).result.gpus == ()
