"""Reference values (IETF RATS): named, versioned sets of allowed values that policies refer to by name.

A security team keeps, for example, ``gpu-driver-minimums`` current without touching the policies
that use it. Three kinds:

* ``strings``: allowed (or forbidden) values for ``in: {set: NAME}`` / ``not_in: {set: NAME}``;
* ``version-minimums``: one minimum version per branch (first component), for
  ``version_at_least: {set: NAME}``; a version whose branch has no minimum fails;
* ``snp-tcb-minimums``: per SEV-SNP product, a minimum for each TCB component, for
  ``tcb_at_least: {set: NAME}``; a product without an entry fails.

Sets are parsed once here; the compiler then pre-parses them into the form each rule compares with.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import get_type_hints

from attestation.canonical import canonical_digest
from policies.contract import TCB_RECORD
from policies.decision import ReferenceValuesRef
from policies.problems import Reporter, check_keys, expect_list, expect_mapping, type_name
from policies.yaml_source import as_json_value


class ReferenceKind(StrEnum):
    """What a reference-value set holds."""

    STRINGS = "strings"
    VERSION_MINIMUMS = "version-minimums"
    SNP_TCB_MINIMUMS = "snp-tcb-minimums"


def _tcb_components() -> tuple[str, ...]:
    hints = get_type_hints(TCB_RECORD)
    return tuple(name for name, hint in hints.items() if hint in (int, int | None))


#: The SEV-SNP TCB components a minimum may name (the integer fields of ``SnpTcb``).
TCB_COMPONENTS = _tcb_components()


@dataclass(frozen=True, slots=True)
class ReferenceSet:
    """One named, versioned set of reference values."""

    name: str
    version: int
    kind: ReferenceKind
    digest: str
    description: str
    source: str
    values: tuple[str, ...] = ()
    tcb_minimums: Mapping[str, Mapping[str, int]] | None = None

    def ref(self) -> ReferenceValuesRef:
        """How a Decision names this set."""
        return ReferenceValuesRef(self.name, self.version, self.digest)

    def describe(self) -> str:
        """``name v3`` for messages."""
        return f"{self.name} v{self.version}"


def parse_reference_spec(
    spec: Mapping[str, object],
    *,
    name: str,
    version: int,
    description: str,
    document: Mapping[str, object],
    source: str,
    report: Reporter,
) -> ReferenceSet | None:
    """Build a ``ReferenceSet`` from the ``spec`` of a ``kind: ReferenceValues`` document.

    Problems are added to ``report``; returns None when there were any.
    """
    before = len(report.problems)
    check_keys(spec, "spec", ("type", "values"), (), report)
    raw_kind = spec.get("type")
    kinds = [str(kind) for kind in ReferenceKind]
    if raw_kind not in kinds:
        report.add(
            "policy.reference_set_type", f"spec.type must be one of {', '.join(kinds)}, not {raw_kind!r}"
        )
        return None
    kind = ReferenceKind(str(raw_kind))
    values: tuple[str, ...] = ()
    tcb: dict[str, dict[str, int]] | None = None
    if kind is ReferenceKind.SNP_TCB_MINIMUMS:
        tcb = _parse_tcb_minimums(spec.get("values"), report)
    else:
        values = _parse_strings(spec.get("values"), report)
    if len(report.problems) > before:
        return None
    digest = canonical_digest(as_json_value(document))
    return ReferenceSet(name, version, kind, digest, description, source, values, tcb)


def _parse_strings(raw: object, report: Reporter) -> tuple[str, ...]:
    items = expect_list(raw, "spec.values", report)
    if items is None:
        return ()
    values: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, str) or not item:
            report.add(
                "policy.operand_type",
                f"spec.values[{index}] must be a non-empty string, not {type_name(item)}",
            )
        elif item in values:
            report.add("policy.duplicate_value", f"spec.values lists {item!r} twice")
        else:
            values.append(item)
    return tuple(values)


def _parse_tcb_minimums(raw: object, report: Reporter) -> dict[str, dict[str, int]]:
    products = expect_mapping(raw, "spec.values", report)
    if products is None:
        return {}
    minimums: dict[str, dict[str, int]] = {}
    for product, components in products.items():
        where = f"spec.values.{product}"
        mapping = expect_mapping(components, where, report)
        if mapping is None:
            continue
        check_keys(mapping, where, (), TCB_COMPONENTS, report)
        parsed: dict[str, int] = {}
        for component, minimum in mapping.items():
            if component not in TCB_COMPONENTS:
                continue
            if type(minimum) is not int or not 0 <= minimum <= 255:
                report.add(
                    "policy.operand_type", f"{where}.{component} must be an integer 0..255, not {minimum!r}"
                )
            else:
                parsed[component] = minimum
        if not mapping:
            report.add("policy.empty_value", f"{where} names no TCB component")
        minimums[product] = parsed
    if not products:
        report.add("policy.empty_value", "spec.values names no product")
    return minimums


def index_reference_sets(
    defaults: Iterable[ReferenceSet], overrides: Iterable[ReferenceSet] = ()
) -> dict[str, ReferenceSet]:
    """Sets by name: ``overrides`` (e.g. a tenant's own sets) replace ``defaults`` of the same name."""
    index = {reference.name: reference for reference in defaults}
    index.update({reference.name: reference for reference in overrides})
    return index
