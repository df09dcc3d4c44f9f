"""Evaluation: scopes, GPU failures named per GPU, denial on anything unexpected, digests, and the
effective decision (baseline AND artefact)."""

import dataclasses
from typing import NoReturn

import pytest

from attestation.canonical import canonical_digest
from policies import Decision, FailureCode, PolicyInput, Verdict, effective_decision, evaluate, explain
from policies.decision import EVALUATION_RULE, NO_RULES_RULE
from policies.yaml_source import as_json_value, load_yaml_mapping
from tests.policies.policy_helpers import (
    Change,
    compile_rules,
    context,
    cpu,
    default_sets,
    reference_set,
    rules_document,
    same,
    snp,
    snp_input,
    with_cpu,
    with_gpu,
    with_gpus,
)


def test_a_failure_names_the_failing_gpus_and_what_they_hold() -> None:
    policy = compile_rules(
        "- {id: m, require: {all_gpus: {claim: gpu.measres, equals: success}}, message: x}"
    )
    request = with_gpu(with_gpu(snp_input(gpus=4), 1, measres="fail"), 3, measres=None)
    (failure,) = evaluate(policy, request).failures
    assert failure.actual == "gpu1.measres = fail; gpu3.measres = missing"
    assert failure.code is FailureCode.CLAIM_MISSING
    assert failure.expected == "every GPU equals success"


WHEN = "- id: scoped\n  when: {when}\n  require: {{claim: cpu0.snp.vmpl, equals: 0}}\n  message: m"


@pytest.mark.parametrize(
    ("when", "change", "applies"),
    [
        ("{claim: cpu0.tee, equals: snp}", same, True),
        ("{claim: cpu0.tee, equals: tdx}", same, False),
        ("{claim: cpu0.tee, equals: snp}", cpu(tee=None), True),
        ("{claim: cpu0.tee, equals: tdx}", cpu(tee=42), True),
        ("[{claim: cpu0.tee, equals: snp}, {claim: artefact.labels, contains: pii}]", same, True),
        ("[{claim: cpu0.tee, equals: snp}, {claim: artefact.labels, contains: public}]", same, False),
        ("[{claim: cpu0.tee, equals: tdx}, {claim: artefact.labels, contains: pii}]", cpu(tee=None), True),
        ("{claim: release.max, exists: true}", context("release", maximum=None), False),
        ("{gpu_count: {at_least: 1}}", lambda r: with_gpus(r, 0), False),
    ],
    ids=[
        "a scope that holds applies the rule",
        "a scope that is definitely false skips the rule",
        "a scope over a missing claim still applies the rule",
        "a scope over a mistyped claim still applies the rule",
        "every scope of a list must hold",
        "one definitely false scope of a list skips the rule",
        "an undecidable scope does not skip the rule when the others hold",
        "an exists scope over a missing claim skips the rule",
        "a GPU-count scope over no GPUs skips the rule",
    ],
)
def test_a_when_scope_skips_a_rule_only_when_it_is_definitely_false(
    when: str, change: Change, applies: bool
) -> None:
    policy = compile_rules(WHEN.format(when=when))
    # The requirement fails whenever the rule applies, so the verdict tells whether it applied.
    request = snp(vmpl=1)(change(snp_input()))
    decision = evaluate(policy, request)
    assert decision.verdict is (Verdict.DENY if applies else Verdict.ALLOW)
    assert (explain(policy, request).rules[0].status == "not-applicable") is not applies


def test_every_failed_rule_is_listed_in_document_order() -> None:
    policy = compile_rules(
        """
        - {id: first, require: {claim: cpu0.debug, equals: false}, message: a}
        - {id: second, require: {claim: cpu0.simulated, equals: false}, message: b}
        - {id: third, require: {claim: cpu0.snp.vmpl, equals: 0}, message: c}
        """
    )
    request = snp(vmpl=2)(with_cpu(snp_input(), debug=True))
    assert evaluate(policy, request).failed_rules() == ("first", "third")


def test_a_rule_that_raises_fails_with_an_internal_error_and_the_others_still_run() -> None:
    policy = compile_rules(
        """
        - {id: broken, require: {claim: cpu0.debug, equals: false}, message: a}
        - {id: fine, require: {claim: cpu0.simulated, equals: true}, message: b}
        """
    )

    def explode(request: PolicyInput) -> NoReturn:
        raise ZeroDivisionError("a value from the input that must not leak")

    broken_condition = dataclasses.replace(policy.rules[0].require, holds=explode, observe=explode)
    broken = dataclasses.replace(policy.rules[0], require=broken_condition, check=explode)
    decision = evaluate(dataclasses.replace(policy, rules=(broken, policy.rules[1])), snp_input())
    assert decision.verdict is Verdict.DENY
    assert [(failure.rule, failure.code) for failure in decision.failures] == [
        ("broken", FailureCode.INTERNAL_ERROR),
        ("fine", FailureCode.RULE_FAILED),
    ]
    assert "must not leak" not in str(decision.to_json())


def test_an_error_outside_the_rules_denies_the_whole_decision() -> None:
    policy = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")

    class Exploding:
        name = "exploding"
        ref = policy.ref

        @property
        def rules(self) -> tuple[()]:
            raise RuntimeError("boom")

    decision = evaluate(Exploding(), snp_input())  # type: ignore[arg-type] # a broken policy is the point.
    assert decision.verdict is Verdict.DENY
    assert decision.failures[0].rule == EVALUATION_RULE
    assert decision.failures[0].code is FailureCode.INTERNAL_ERROR


def test_a_policy_without_rules_denies() -> None:
    policy = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")
    decision = evaluate(dataclasses.replace(policy, rules=()), snp_input())
    assert decision.verdict is Verdict.DENY
    assert (decision.failures[0].rule, decision.failures[0].code) == (NO_RULES_RULE, FailureCode.NO_RULES)


def test_an_input_that_is_not_an_input_denies() -> None:
    policy = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")
    decision = evaluate(policy, None)  # type: ignore[arg-type] # garbage in is the point.
    assert decision.verdict is Verdict.DENY


def test_decisions_are_deterministic_and_the_allow_decision_is_shared() -> None:
    policy = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")
    denied = with_cpu(snp_input(), debug=True)
    assert evaluate(policy, denied) == evaluate(policy, denied)
    assert evaluate(policy, snp_input()) is evaluate(policy, snp_input())


def test_the_digest_is_the_sha256_of_the_canonical_document() -> None:
    text = rules_document("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")
    policy = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}")
    assert policy.digest == canonical_digest(as_json_value(load_yaml_mapping(text, "p")))
    assert evaluate(policy, snp_input()).policies[0].digest == policy.digest
    reformatted = compile_rules(
        "# a comment\n-   id: r\n    require: {claim: cpu0.debug,   equals: false}\n    message: m"
    )
    assert reformatted.digest == policy.digest
    changed = compile_rules("- {id: r, require: {claim: cpu0.debug, equals: true}, message: m}")
    assert changed.digest != policy.digest


def test_the_decision_records_the_reference_sets_it_used() -> None:
    regions = reference_set("eu-regions", "strings", "[eu-west-1, eu-central-1]", version=3)
    policy = compile_rules(
        "- {id: r, require: {claim: node.region, in: {set: eu-regions}}, message: m}", default_sets(regions)
    )
    (used,) = evaluate(policy, snp_input()).policies[0].reference_values
    assert (used.name, used.version, used.digest) == ("eu-regions", 3, regions.digest)


def _decision(allowed: bool, name: str) -> Decision:
    policy = compile_rules(f"- {{id: {name}, require: {{claim: cpu0.debug, equals: false}}, message: m}}")
    return evaluate(policy, snp_input() if allowed else with_cpu(snp_input(), debug=True))


@pytest.mark.parametrize(
    ("baseline", "artefact", "allowed", "failed"),
    [
        (True, True, True, ()),
        (True, False, False, ("artefact-rule",)),
        (False, True, False, ("baseline-rule",)),
        (False, False, False, ("baseline-rule", "artefact-rule")),
    ],
    ids=["both allow", "the artefact policy denies", "the baseline denies", "both deny"],
)
def test_the_effective_decision_is_baseline_and_artefact(
    baseline: bool, artefact: bool, allowed: bool, failed: tuple[str, ...]
) -> None:
    combined = effective_decision(_decision(baseline, "baseline-rule"), _decision(artefact, "artefact-rule"))
    assert combined.allowed is allowed
    assert combined.verdict is (Verdict.ALLOW if allowed else Verdict.DENY)
    assert combined.failed_rules() == failed
    assert len(combined.policies) == 2


def test_a_decision_without_policies_is_never_allowed() -> None:
    assert not Decision(Verdict.ALLOW, ()).allowed
