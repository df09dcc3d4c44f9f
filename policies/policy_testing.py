"""Running policy tests: embedded cases and external vectors, with a report of what they exercised.

A case passes only when the decision is exactly as expected: the verdict, and for a denial the exact
set of failed rule ids (a rule failing for the wrong reason elsewhere is a mismatch, not a pass).
The report also says which rules no case made pass and which no case made fail, because a rule that
never fails in any test is a rule nobody knows to work.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from policies.compiler import CompiledPolicy, compile_policy
from policies.decision import Decision, Verdict
from policies.engine import RuleStatus, evaluate, explain
from policies.problems import Reporter
from policies.reference_values import ReferenceSet, index_reference_sets
from policies.test_cases import TestCase, TestSuite, parse_suite
from policies.yaml_source import load_yaml_mapping


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: its decision, whether it matched, and what differed."""

    case: TestCase
    decision: Decision
    passed: bool
    mismatch: str


@dataclass(frozen=True, slots=True)
class TestReport:
    """The results of every case, and which rules were exercised each way."""

    results: tuple[CaseResult, ...]
    rule_ids: tuple[str, ...]
    exercised_pass: frozenset[str]
    exercised_fail: frozenset[str]

    @property
    def passed(self) -> bool:
        """True when there was at least one case and every case matched."""
        return bool(self.results) and all(result.passed for result in self.results)

    def unexercised(self) -> dict[str, str]:
        """Rules not exercised both ways, with what is missing ("never passed", "never failed")."""
        missing: dict[str, str] = {}
        for rule in self.rule_ids:
            gaps = [
                label
                for label, seen in (
                    ("never passed", self.exercised_pass),
                    ("never failed", self.exercised_fail),
                )
                if rule not in seen
            ]
            if gaps:
                missing[rule] = " and ".join(gaps)
        return missing


def load_vectors(data: bytes, source: str, policy: CompiledPolicy) -> TestSuite:
    """Read a vectors file (the shape of ``spec.tests``) for ``policy``.

    Raises:
        PolicyInvalidError: the file is not a valid test suite for this policy (every problem listed).
    """
    report = Reporter(source)
    suite = parse_suite(load_yaml_mapping(data, source), [rule.id for rule in policy.rules], report, source)
    report.raise_if_any()
    return suite


def _mismatch(case: TestCase, decision: Decision) -> str:
    failed = set(decision.failed_rules())
    if decision.verdict is Verdict.ALLOW:
        return "" if case.verdict is Verdict.ALLOW else f"expected deny by {sorted(case.failed)}, got allow"
    if case.verdict is Verdict.ALLOW:
        return f"expected allow, got deny by {sorted(failed)}"
    if failed == case.failed:
        return ""
    parts = []
    if case.failed - failed:
        parts.append(f"did not fail: {', '.join(sorted(case.failed - failed))}")
    if failed - case.failed:
        parts.append(f"also failed: {', '.join(sorted(failed - case.failed))}")
    return "; ".join(parts)


def run_tests(
    policy: CompiledPolicy, reference_sets: Mapping[str, ReferenceSet], vectors: Sequence[TestSuite] = ()
) -> TestReport:
    """Run the policy's embedded tests and the given vectors.

    A suite that brings its own reference sets runs against the policy recompiled with them
    (replacing ``reference_sets`` of the same names).

    Raises:
        PolicyInvalidError: a suite's reference sets do not fit the policy.
    """
    suites = ([policy.tests] if policy.tests is not None else []) + list(vectors)
    results: list[CaseResult] = []
    passed: set[str] = set()
    failed: set[str] = set()
    for suite in suites:
        compiled = policy
        if suite.reference_sets:
            compiled = compile_policy(
                policy.document, index_reference_sets(reference_sets.values(), suite.reference_sets)
            )
        for case in suite.cases:
            decision = evaluate(compiled, case.request)
            mismatch = _mismatch(case, decision)
            results.append(CaseResult(case, decision, not mismatch, mismatch))
            for rule in explain(compiled, case.request).rules:
                if rule.status is RuleStatus.PASSED:
                    passed.add(rule.rule)
                elif rule.status is RuleStatus.FAILED:
                    failed.add(rule.rule)
    return TestReport(
        tuple(results), tuple(rule.id for rule in policy.rules), frozenset(passed), frozenset(failed)
    )
