"""Helpers for policy tests: compile a policy from a few lines of YAML, and change sample inputs."""

import dataclasses
import textwrap
from collections.abc import Callable, Mapping

from attestation.evidence import TeeType
from policies import CompiledPolicy, PolicyDocument, PolicyInput, ReferenceSet, compile_policy, parse_document
from policies.baselines import bundled_reference_sets
from policies.reference_values import index_reference_sets
from policies.samples import SAMPLE_NOW, sample_input, sample_runner_measurements

HEADER = "apiVersion: ccgate/v1\nkind: ReleasePolicy\nmetadata: {name: test-policy}\nspec:\n  rules:\n"


def rules_document(rules: str) -> bytes:
    """A complete policy document around ``rules`` (YAML list items, any indentation)."""
    return (HEADER + textwrap.indent(textwrap.dedent(rules).strip("\n"), "    ") + "\n").encode()


def default_sets(*extra: ReferenceSet) -> dict[str, ReferenceSet]:
    """The bundled reference sets, with the sample runners allowed, replaced by ``extra`` by name."""
    return index_reference_sets([*bundled_reference_sets(), sample_runner_measurements()], extra)


def compile_rules(rules: str, sets: Mapping[str, ReferenceSet] | None = None) -> CompiledPolicy:
    """Compile a policy made of ``rules``."""
    document = parse_document(rules_document(rules), "test.yaml")
    assert isinstance(document, PolicyDocument)
    return compile_policy(document, default_sets() if sets is None else sets)


def reference_set_document(name: str, kind: str, values: str, version: int = 1) -> bytes:
    """A ReferenceValues document."""
    return (
        f"apiVersion: ccgate/v1\nkind: ReferenceValues\nmetadata: {{name: {name}, version: {version}}}\n"
        f"spec: {{type: {kind}, values: {values}}}\n"
    ).encode()


def reference_set(name: str, kind: str, values: str, version: int = 1) -> ReferenceSet:
    """A parsed ReferenceValues document."""
    document = parse_document(reference_set_document(name, kind, values, version), f"{name}.yaml")
    assert isinstance(document, ReferenceSet)
    return document


def snp_input(gpus: int = 2) -> PolicyInput:
    """The healthy SEV-SNP sample node."""
    return sample_input(SAMPLE_NOW, tee=TeeType.SNP, gpus=gpus)


def with_cpu(request: PolicyInput, **changes: object) -> PolicyInput:
    """``request`` with fields of ``cpu0`` replaced (values may be deliberately mistyped)."""
    cpu = dataclasses.replace(request.result.cpu, **changes)  # type: ignore[arg-type] # mistyping is the point.
    return dataclasses.replace(request, result=dataclasses.replace(request.result, cpu=cpu))


def with_gpu(request: PolicyInput, index: int, **changes: object) -> PolicyInput:
    """``request`` with fields of ``gpu<index>`` replaced."""
    gpus = list(request.result.gpus)
    gpus[index] = dataclasses.replace(gpus[index], **changes)  # type: ignore[arg-type] # mistyping is the point.
    return dataclasses.replace(request, result=dataclasses.replace(request.result, gpus=tuple(gpus)))


def with_gpus(request: PolicyInput, count: int) -> PolicyInput:
    """``request`` with only its first ``count`` GPUs."""
    result = dataclasses.replace(request.result, gpus=request.result.gpus[:count])
    return dataclasses.replace(request, result=result)


Change = Callable[[PolicyInput], PolicyInput]


def same(request: PolicyInput) -> PolicyInput:
    """No change."""
    return request


def snp(**changes: object) -> Change:
    """Replace fields of ``cpu0.snp``."""

    def change(request: PolicyInput) -> PolicyInput:
        assert request.result.cpu.snp is not None
        return with_cpu(request, snp=dataclasses.replace(request.result.cpu.snp, **changes))  # type: ignore[arg-type]  # the caller names which fields of the claims record to replace

    return change


def cpu(**changes: object) -> Change:
    """Replace fields of ``cpu0``."""
    return lambda request: with_cpu(request, **changes)


def gpu(index: int, **changes: object) -> Change:
    """Replace fields of ``gpu<index>``."""
    return lambda request: with_gpu(request, index, **changes)


def context(part: str, **changes: object) -> Change:
    """Replace fields of one part of the release context (``release``, ``session``...)."""

    def change(request: PolicyInput) -> PolicyInput:
        updated = dataclasses.replace(getattr(request.context, part), **changes)
        return dataclasses.replace(request, context=dataclasses.replace(request.context, **{part: updated}))

    return change


def reported_tcb(**changes: object) -> Change:
    """Replace components of ``cpu0.snp.reported_tcb``."""

    def change(request: PolicyInput) -> PolicyInput:
        assert request.result.cpu.snp is not None
        tcb = dataclasses.replace(request.result.cpu.snp.reported_tcb, **changes)  # type: ignore[arg-type]  # the caller names which fields of the claims record to replace
        return snp(reported_tcb=tcb)(request)

    return change
