"""How ``ccgate policy test`` and ``explain`` and ``ccgate bench policy`` show results, as text or JSON."""

import dataclasses

from rich.table import Table

from gateway.bench.policy import TARGET_MICROSECONDS, PolicyBenchReport
from gateway.cli.console import print_json, stdout
from policies import CompiledPolicy, Explanation, RuleStatus, TestReport
from policies.outcomes import Observation

_MARK = {RuleStatus.PASSED: "pass", RuleStatus.FAILED: "FAIL", RuleStatus.NOT_APPLICABLE: "n/a "}


def _observation_json(observation: Observation) -> dict[str, str]:
    return {
        "where": observation.where,
        "actual": observation.actual,
        "state": observation.state.value,
        "note": observation.note,
    }


def print_explanation(policy: CompiledPolicy, explanation: Explanation, as_json: bool) -> None:
    """Print a decision rule by rule (human-readable, or one JSON document)."""
    decision = explanation.decision
    if as_json:
        print_json(
            {
                **decision.to_json(),
                "rules": [
                    {
                        "rule": rule.rule,
                        "status": str(rule.status),
                        "message": rule.message,
                        "requirement": rule.requirement,
                        "expected": rule.expected,
                        "scope": [_observation_json(observation) for observation in rule.scope],
                        "found": [_observation_json(observation) for observation in rule.observations],
                    }
                    for rule in explanation.rules
                ],
            }
        )
        return
    failed = len(decision.failures)
    verdict = str(decision.verdict).upper()
    summary = (
        f"{failed} of {len(policy.rules)} rules failed" if failed else f"all {len(policy.rules)} rules hold"
    )
    stdout.print(f"{policy.name} (sha256 {policy.digest}): {verdict}, {summary}", markup=False)
    for rule in explanation.rules:
        stdout.print(f"  {_MARK[rule.status]}  {rule.rule}: {rule.requirement}", markup=False)
        if rule.status is RuleStatus.NOT_APPLICABLE:
            shown = "; ".join(observation.show() for observation in rule.scope)
            stdout.print(f"        out of scope: {shown}", markup=False)
            continue
        shown = "; ".join(observation.show() for observation in rule.observations)
        stdout.print(f"        found: {shown}", markup=False)
        if rule.status is RuleStatus.FAILED:
            stdout.print(f"        {rule.message}", markup=False)
    for failure in decision.failures:
        if failure.rule.startswith("<"):
            stdout.print(f"  FAIL  {failure.rule}: {failure.code}: {failure.actual}", markup=False)


def print_test_report(policy: CompiledPolicy, report: TestReport, as_json: bool) -> None:
    """Print every case's outcome and the rules not exercised both ways."""
    unexercised = report.unexercised()
    if as_json:
        print_json(
            {
                "policy": {"name": policy.name, "digest": policy.digest},
                "passed": report.passed,
                "cases": [
                    {
                        "name": result.case.name,
                        "origin": result.case.origin,
                        "passed": result.passed,
                        "mismatch": result.mismatch,
                        "decision": result.decision.to_json(),
                    }
                    for result in report.results
                ],
                "unexercised": unexercised,
            }
        )
        return
    for result in report.results:
        mark = "pass" if result.passed else "FAIL"
        origin = "" if result.case.origin == "embedded" else f" [{result.case.origin}]"
        stdout.print(f"  {mark}  {result.case.name}{origin}", markup=False)
        if not result.passed:
            stdout.print(f"        {result.mismatch}", markup=False)
    failed = sum(1 for result in report.results if not result.passed)
    stdout.print(f"{policy.name}: {len(report.results)} cases, {failed} failed", markup=False)
    if unexercised:
        stdout.print("rules not exercised both ways:", markup=False)
        for rule, gap in unexercised.items():
            stdout.print(f"  {rule}: {gap}", markup=False)
    else:
        stdout.print(f"every rule ({len(report.rule_ids)}) was exercised both ways", markup=False)


def print_policy_bench(report: PolicyBenchReport, as_json: bool) -> None:
    """Print ``ccgate bench policy``'s measurements next to the 50 µs goal."""
    if as_json:
        print_json(
            dataclasses.asdict(report) | {"target_us": TARGET_MICROSECONDS, "target_met": report.target_met}
        )
        return
    title = f"production baseline ({report.rules} rules), {report.gpus} GPUs, {report.decisions} decisions"
    table = Table(title=title)
    for column in ("input", "median µs", "p99 µs", "mean µs"):
        table.add_column(column, justify="left" if column == "input" else "right")
    denied = f"denied ({', '.join(report.deny_failed_rules)})"
    for name, latency in (("allowed", report.allow), (denied, report.deny)):
        table.add_row(name, f"{latency.median:.1f}", f"{latency.p99:.1f}", f"{latency.mean:.1f}")
    stdout.print(table)
    verdict = "met" if report.target_met else "MISSED"
    stdout.print(f"{report.decisions_per_second:,.0f} decisions/s (allowed input, one core)")
    goal = f"goal ≤ {TARGET_MICROSECONDS:.0f} µs: {verdict}"
    stdout.print(f"median allowed decision {report.allow.median:.1f} µs ({goal})")
