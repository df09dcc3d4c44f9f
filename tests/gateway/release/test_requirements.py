"""A job's requirements are checked against the Attestation Result, not only the node's registration.

A node is offered a job on what it registered (its TEE type and GPU count; it registers no GPU
architecture), so the keys go only to Evidence that meets the requirements itself. The cases build
real Attestation Results with the fake Verifier and change one claim each.
"""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from attestation.evidence import GpuArch, TeeType
from attestation.result import AttestationResult
from enclave_runner.protocol.messages import Requirements
from gateway.errors import RequirementsUnmetError
from gateway.services.jobs import check_attested_requirements
from tests.gateway.fakes import FakeEvidenceVerifier, fake_evidence

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REPORT_DATA = bytes(range(64))


def _result(tee: TeeType = TeeType.SNP, gpus: int = 2) -> AttestationResult:
    bundle = fake_evidence(tee, "c0ffee", REPORT_DATA, [f"gpu-{i}" for i in range(gpus)])
    return FakeEvidenceVerifier().verify(bundle, expected_report_data=REPORT_DATA, now=NOW)


def _unconfirmed_arch(result: AttestationResult) -> AttestationResult:
    gpus = tuple(dataclasses.replace(gpu, arch_check=False) for gpu in result.gpus)
    return dataclasses.replace(result, gpus=gpus)


Change = Callable[[AttestationResult], AttestationResult]
SAME: Change = lambda result: result  # noqa: E731 - a table entry.

MET: dict[str, tuple[Requirements, Change]] = {
    "an SNP result for an SNP job": (Requirements(tee_types=("snp",), gpu_count=2), SAME),
    "an SNP result for an SNP-or-TDX job": (Requirements(tee_types=("tdx", "snp"), gpu_count=1), SAME),
    "more GPUs than the job needs": (Requirements(tee_types=("snp",), gpu_count=1), SAME),
    "no GPUs for a job that needs none": (
        Requirements(tee_types=("snp",), gpu_count=0),
        lambda result: dataclasses.replace(result, gpus=()),
    ),
    "Hopper GPUs for a Hopper job": (Requirements(tee_types=("snp",), gpu_count=2, gpu_arch="hopper"), SAME),
}

UNMET: dict[str, tuple[Requirements, Change]] = {
    "a TDX result for an SNP job": (
        Requirements(tee_types=("snp",), gpu_count=2),
        lambda result: dataclasses.replace(result, cpu=dataclasses.replace(result.cpu, tee=TeeType.TDX)),
    ),
    "a simulated result for an SNP job": (
        Requirements(tee_types=("snp",), gpu_count=2),
        lambda _result_: _result(TeeType.SIMULATED),
    ),
    "fewer GPUs than the job needs": (Requirements(tee_types=("snp",), gpu_count=4), SAME),
    "no GPUs for a job that needs one": (
        Requirements(tee_types=("snp",), gpu_count=1),
        lambda result: dataclasses.replace(result, gpus=()),
    ),
    "Hopper GPUs for a Blackwell job": (
        Requirements(tee_types=("snp",), gpu_count=2, gpu_arch="blackwell"),
        SAME,
    ),
    "one Blackwell among Hopper GPUs for a Hopper job": (
        Requirements(tee_types=("snp",), gpu_count=2, gpu_arch="hopper"),
        lambda result: dataclasses.replace(
            result, gpus=(result.gpus[0], dataclasses.replace(result.gpus[1], arch=GpuArch.BLACKWELL))
        ),
    ),
    "an architecture the Verifier could not confirm": (
        Requirements(tee_types=("snp",), gpu_count=2, gpu_arch="hopper"),
        _unconfirmed_arch,
    ),
}


@pytest.mark.parametrize(("requirements", "change"), MET.values(), ids=MET.keys())
def test_a_result_that_meets_the_requirements_passes(requirements: Requirements, change: Change) -> None:
    check_attested_requirements(requirements, change(_result()))


@pytest.mark.parametrize(("requirements", "change"), UNMET.values(), ids=UNMET.keys())
def test_a_result_that_does_not_meet_the_requirements_is_refused(
    requirements: Requirements, change: Change
) -> None:
    with pytest.raises(RequirementsUnmetError) as raised:
        check_attested_requirements(requirements, change(_result()))
    assert raised.value.code == "job.requirements_unmet"
