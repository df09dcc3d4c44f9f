"""Policy tests: named inputs, and cases that change them and state the exact expected decision.

The same shape is used for a policy's embedded ``spec.tests`` and for an external vectors file::

    inputs:                          # complete inputs in the input-document format
      snp-two-gpus: {now: ..., cpu0: {...}, gpu0: {...}, gpu1: {...}, artefact: {...}, ...}
      tdx-two-gpus: {extends: snp-two-gpus, set: {cpu0: {...}}}     # or one derived from another
    reference_values: [...]         # optional: ReferenceValues documents that apply to the tests only
    cases:
      - name: A healthy SNP node with two GPUs is allowed
        input: snp-two-gpus
        expect: allow
      - name: A GPU with debug enabled is denied by exactly one rule
        input: snp-two-gpus
        set: {gpu1.dbgstat: enabled}     # paths of the input document; gpu*.x sets every GPU
        remove: [cpu0.snp.vmpl]          # removed claims are missing
        expect: {deny: [gpu-debug-disabled, snp-vmpl-0]}

Every case is prepared when the policy is loaded (patches applied, inputs parsed), so a broken test
is reported by ``ccgate policy check`` like any other problem.
"""

import copy
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from policies.decision import Verdict
from policies.documents import read_document
from policies.errors import PolicyInputError, PolicyInvalidError
from policies.input_document import parse_input
from policies.problems import Reporter, check_keys, expect_list, expect_mapping, expect_string, type_name
from policies.reference_values import ReferenceSet
from policies.request import PolicyInput

_GPU_KEY = re.compile(r"^gpu[0-9]+$")


@dataclass(frozen=True, slots=True)
class TestCase:
    """One prepared case: the input it evaluates and the exact decision it expects."""

    name: str
    origin: str
    request: PolicyInput
    verdict: Verdict
    failed: frozenset[str]


@dataclass(frozen=True, slots=True)
class TestSuite:
    """Prepared cases, and reference sets that replace the defaults while they run."""

    cases: tuple[TestCase, ...]
    reference_sets: tuple[ReferenceSet, ...] = ()


def parse_suite(
    raw: Mapping[str, object], rule_ids: Collection[str], report: Reporter, origin: str
) -> TestSuite:
    """Prepare a test suite; problems (unknown input, rule id, patch path...) go to ``report``."""
    check_keys(raw, "tests", ("inputs", "cases"), ("reference_values",), report)
    inputs = _inputs(expect_mapping(raw.get("inputs", {}), "tests.inputs", report) or {}, report)
    references = _reference_sets(raw.get("reference_values", []), report)
    cases: list[TestCase] = []
    names: set[str] = set()
    for index, item in enumerate(expect_list(raw.get("cases", []), "tests.cases", report) or []):
        case = expect_mapping(item, f"tests.cases[{index}]", report)
        if case is None:
            continue
        label = case.get("name") if isinstance(case.get("name"), str) else f"#{index + 1}"
        where = f"test {label!r}"
        if not check_keys(case, where, ("name", "input", "expect"), ("set", "remove"), report):
            continue
        name = expect_string(case["name"], f"{where}: name", report)
        if name in names:
            report.add("policy.duplicate_test", f"{where}: the name is used more than once")
        names.add(str(name))
        expectation = _expectation(case["expect"], rule_ids, where, report)
        base = inputs.get(str(case["input"]))
        if not isinstance(base, dict):
            report.add("policy.test_invalid", f"{where}: no input named {case['input']!r} in tests.inputs")
            continue
        document = _patched(base, case.get("set", {}), case.get("remove", []), where, report)
        if document is None or expectation is None or name is None:
            continue
        try:
            request = parse_input(document)
        except PolicyInputError as exc:
            for problem in exc.problems:
                report.add("policy.test_invalid", f"{where}: input: {problem}")
            continue
        cases.append(TestCase(name, origin, request, *expectation))
    return TestSuite(tuple(cases), references)


def _inputs(raw: Mapping[str, object], report: Reporter) -> dict[str, dict[str, object]]:
    """Named inputs; ``{extends: NAME, set: {...}, remove: [...]}`` derives one from a complete input."""
    complete = {
        name: value for name, value in raw.items() if isinstance(value, dict) and "extends" not in value
    }
    inputs = dict(complete)
    for name, value in raw.items():
        where = f"tests.inputs.{name}"
        if not isinstance(value, dict):
            report.add("policy.test_invalid", f"{where} must be a mapping, not {type_name(value)}")
            continue
        if "extends" not in value:
            continue
        if not check_keys(value, where, ("extends",), ("set", "remove"), report):
            continue
        base = complete.get(str(value["extends"]))
        if base is None:
            report.add(
                "policy.test_invalid", f"{where}: extends {value['extends']!r}, which is not a complete input"
            )
            continue
        derived = _patched(base, value.get("set", {}), value.get("remove", []), where, report)
        if derived is not None:
            inputs[name] = derived
    return inputs


def _reference_sets(raw: object, report: Reporter) -> tuple[ReferenceSet, ...]:
    found: list[ReferenceSet] = []
    for index, item in enumerate(expect_list(raw, "tests.reference_values", report) or []):
        mapping = expect_mapping(item, f"tests.reference_values[{index}]", report)
        if mapping is None:
            continue
        try:
            document = read_document(mapping, f"{report.source} (tests.reference_values[{index}])")
        except PolicyInvalidError as exc:
            report.problems.extend(exc.problems)
            continue
        if not isinstance(document, ReferenceSet):
            report.add(
                "policy.test_invalid", f"tests.reference_values[{index}] must be kind: ReferenceValues"
            )
            continue
        found.append(document)
    return tuple(found)


def _expectation(
    raw: object, rule_ids: Collection[str], where: str, report: Reporter
) -> tuple[Verdict, frozenset[str]] | None:
    if raw == "allow":
        return Verdict.ALLOW, frozenset()
    denied = raw.get("deny") if isinstance(raw, dict) and set(raw) == {"deny"} else None
    if not isinstance(denied, list) or not denied or not all(isinstance(rule, str) for rule in denied):
        report.add(
            "policy.test_invalid", f"{where}: expect must be 'allow' or {{deny: [rule ids]}}, not {raw!r}"
        )
        return None
    unknown = [rule for rule in denied if rule not in rule_ids]
    if unknown:
        report.add(
            "policy.test_invalid",
            f"{where}: expects failures of rules this policy lacks: {', '.join(map(str, unknown))}",
        )
        return None
    return Verdict.DENY, frozenset(str(rule) for rule in denied)


def _targets(document: dict[str, object], path: str) -> list[tuple[dict[str, object], str]] | None:
    """(parent mapping, key) for every place ``path`` names; intermediate mappings are created."""
    first, *rest = path.split(".")
    roots = [key for key in document if _GPU_KEY.fullmatch(key)] if first == "gpu*" else [first]
    targets = []
    for root in roots:
        parent: object = document
        for segment in [root, *rest][:-1]:
            if not isinstance(parent, dict):
                return None
            parent = parent.setdefault(segment, {})
        if not isinstance(parent, dict):
            return None
        targets.append((parent, [root, *rest][-1]))
    return targets


def _patched(
    base: dict[str, object], sets: object, removes: object, where: str, report: Reporter
) -> dict[str, object] | None:
    document = copy.deepcopy(base)
    removals = expect_list(removes, f"{where}: remove", report)
    changes = expect_mapping(sets, f"{where}: set", report)
    if removals is None or changes is None:
        return None
    for path in removals:
        targets = _targets(document, path) if isinstance(path, str) else None
        if not targets or any(key not in parent for parent, key in targets):
            report.add("policy.test_invalid", f"{where}: remove: the input has no {path!r}")
            return None
        for parent, key in targets:
            del parent[key]
    for path, value in changes.items():
        targets = _targets(document, path)
        if not targets:
            report.add("policy.test_invalid", f"{where}: set: cannot set {path!r} ({type_name(value)})")
            return None
        for parent, key in targets:
            parent[key] = copy.deepcopy(value)
    return document
