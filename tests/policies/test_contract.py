"""The claims contract is generated from the result and context types, so no claim escapes policy."""

import dataclasses
from datetime import UTC, datetime
from typing import get_args, get_origin, get_type_hints

import pytest

from attestation.claims import claim_fields
from attestation.evidence import TeeType
from attestation.result import AttestationResult, CpuClaims, GpuClaims, SimulatedCpuClaims, SnpTcb
from policies import ClaimType, claims_contract
from policies.outcomes import State
from policies.readers import careful_read, conformer
from policies.request import PolicyInput, ReleaseContext
from policies.samples import sample_cpu, sample_input


def _expected_paths(cls: type, prefix: str) -> set[str]:
    """Every claim path below ``prefix``, walked independently of the contract's own code.

    Optional records are walked into; a tuple of records (the mismatch records) is one claim whose
    items are its value, so its item fields are not separate paths.
    """
    paths: set[str] = set()
    hints = get_type_hints(cls)
    for name, field in claim_fields(cls):
        path = f"{prefix}.{name}"
        paths.add(path)
        hint = hints[field.name]
        optional = get_origin(hint) is not None and get_origin(hint) is not tuple
        members = [arg for arg in get_args(hint) if arg is not type(None)] if optional else [hint]
        for member in members:
            if isinstance(member, type) and dataclasses.is_dataclass(member):
                paths |= _expected_paths(member, path)
    return paths


def test_every_claim_of_the_result_types_is_in_the_contract() -> None:
    contract = set(claims_contract().specs)
    expected = _expected_paths(CpuClaims, "cpu0") | _expected_paths(GpuClaims, "gpu")
    own = {f"result.{field.name}" for field in dataclasses.fields(AttestationResult)} - {
        "result.cpu",
        "result.gpus",
    }
    missing = (expected | own) - contract
    assert not missing


def test_every_claim_of_the_request_context_is_in_the_contract() -> None:
    contract = set(claims_contract().specs)
    expected = {"now"}
    for field in dataclasses.fields(ReleaseContext):
        expected |= {field.name} | _expected_paths(get_type_hints(ReleaseContext)[field.name], field.name)
    assert not expected - contract


def test_nvidia_claim_names_are_spelled_as_nvidia_spells_them() -> None:
    specs = claims_contract().specs
    assert specs["gpu.x-nvidia-gpu-driver-version"].attributes == ("driver_version",)
    assert specs["cpu0.snp.reported_tcb.microcode"].attributes == (
        "result",
        "cpu",
        "snp",
        "reported_tcb",
        "microcode",
    )
    assert specs["release.max"].attributes == ("context", "release", "maximum")


def test_every_claim_has_a_type_a_policy_can_compare() -> None:
    opaque = [spec.path for spec in claims_contract() if spec.kind is ClaimType.OPAQUE]
    assert not opaque, f"claims with a type the contract cannot compare: {opaque}"


def _fully_populated() -> PolicyInput:
    """The SNP sample with every optional claim set (TDX and simulated records too, and a Turin FMC)."""
    request = sample_input(tee=TeeType.SNP, gpus=2)
    cpu = request.result.cpu
    assert cpu.snp is not None
    tdx = sample_cpu(TeeType.TDX).tdx
    assert tdx is not None
    tcb = SnpTcb("x", 1, 2, 3, 4, fmc=5)
    revoked = dataclasses.replace(cpu.cert_chain, revocation_reason="keyCompromise")
    full_cpu = dataclasses.replace(
        cpu,
        cert_chain=revoked,
        advisory_ids=("INTEL-SA-00615",),
        snp=dataclasses.replace(
            cpu.snp, current_tcb=tcb, reported_tcb=tcb, committed_tcb=tcb, launch_tcb=tcb
        ),
        tdx=dataclasses.replace(tdx, tee_tcb_svn2="00" * 16, mrservicetd="00" * 48),
        sim=SimulatedCpuClaims("aa", "bb"),
    )
    gpus = tuple(
        dataclasses.replace(
            gpu,
            cert_chain=dataclasses.replace(gpu.cert_chain, revocation_reason="unspecified"),
            driver_rim_cert_chain=dataclasses.replace(
                gpu.driver_rim_cert_chain, revocation_reason="unspecified"
            ),
            vbios_rim_cert_chain=dataclasses.replace(
                gpu.vbios_rim_cert_chain, revocation_reason="unspecified"
            ),
        )
        for gpu in request.result.gpus
    )
    result = dataclasses.replace(request.result, cpu=full_cpu, gpus=gpus, warnings=("a warning",))
    return dataclasses.replace(request, result=result)


@pytest.mark.parametrize("spec", list(claims_contract()), ids=lambda spec: spec.path)
def test_every_contract_path_resolves_on_a_fully_populated_sample(spec: object) -> None:
    from policies.contract import ClaimSpec  # noqa: PLC0415 - for the type only.

    assert isinstance(spec, ClaimSpec)
    request = _fully_populated()
    subject = request.result.gpus[1] if spec.per_gpu else request
    value, state, shown = careful_read(subject, spec, conformer(spec))
    assert state is State.PASS, f"{spec.path}: {shown}"
    assert conformer(spec)(value)


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("cpu0.snp.vmlp", "cpu0.snp.vmpl"),
        ("gpu.driver-version", "gpu.x-nvidia-gpu-driver-version"),
        ("gpu.x-nvidia-gpu-vbios-verison", "gpu.x-nvidia-gpu-vbios-version"),
        ("node.regoin", "node.region"),
        ("provider.kyc", "provider.kyc_status"),
        ("cpu0.tdx.tcbstatus", "cpu0.tdx.tcb_status"),
    ],
)
def test_a_misspelled_path_gets_a_suggestion(typo: str, suggestion: str) -> None:
    assert claims_contract().suggest(typo) == suggestion


def test_the_contract_is_built_once() -> None:
    assert claims_contract() is claims_contract()


def test_the_sample_is_realistic_and_complete() -> None:
    request = sample_input(datetime(2026, 5, 1, tzinfo=UTC), tee=TeeType.SNP, gpus=8)
    assert len(request.result.gpus) == 8
    assert len({gpu.ueid for gpu in request.result.gpus}) == 8
    assert request.result.cpu.snp is not None
    assert request.result.cpu.snp.reported_tcb.microcode == 115
