"""Evaluation: (compiled policy, input) → Decision. Pure, deterministic, and closed on failure.

``evaluate`` runs every rule in document order (no short-circuit: a Decision lists *every* failed
rule). Each rule first takes its fast path, which is sound but incomplete: it says "passed" only
when it is sure, and anything else (a failure, an exception, a value it has no shortcut for, such
as one accepted by an exception) sends the rule down the careful path, which decides and explains.
Both paths apply the same compiled value tests. Any exception on the careful path fails the rule
with ``policy.internal_error``; any exception outside the rules denies the whole decision. There is
no clock: ``now`` is part of the input.

``explain`` evaluates every rule on the careful path and reports each one, passed, failed or out of
scope, with the values it read. Its verdict always comes from ``evaluate``.
"""

from dataclasses import dataclass
from enum import StrEnum

from policies.compiler import CompiledPolicy, CompiledRule
from policies.decision import (
    EVALUATION_RULE,
    NO_RULES_RULE,
    Decision,
    FailureCode,
    RuleFailure,
    Verdict,
)
from policies.outcomes import Observation, State, failure_code
from policies.request import PolicyInput


class RuleStatus(StrEnum):
    """How one rule came out."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True, slots=True)
class RuleExplanation:
    """One rule, explained: its status, what it requires, and what was found (scope first)."""

    rule: str
    message: str
    status: RuleStatus
    requirement: str
    expected: str
    scope: tuple[Observation, ...]
    observations: tuple[Observation, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decision and every rule's explanation, in document order."""

    decision: Decision
    rules: tuple[RuleExplanation, ...]


def _internal(policy: CompiledPolicy, rule: str, what: str) -> RuleFailure:
    # Only the exception's type is recorded: its message could carry values from the input.
    return RuleFailure(policy.name, rule, FailureCode.INTERNAL_ERROR, "internal error; denied", "", what, "")


def _explain_rule(rule: CompiledRule, request: PolicyInput) -> RuleExplanation:
    scope: list[Observation] = []
    for condition in rule.when:
        state, observations = condition.observe(request)
        scope.extend(observations)
        if state is State.FAIL:
            return RuleExplanation(
                rule.id,
                rule.message,
                RuleStatus.NOT_APPLICABLE,
                rule.require.text,
                rule.require.expected,
                tuple(scope),
                (),
            )
    state, observations = rule.require.observe(request)
    status = RuleStatus.PASSED if state is State.PASS else RuleStatus.FAILED
    return RuleExplanation(
        rule.id, rule.message, status, rule.require.text, rule.require.expected, tuple(scope), observations
    )


def _diagnose(policy: CompiledPolicy, rule: CompiledRule, request: PolicyInput) -> RuleFailure | None:
    """Decide a rule the fast path could not pass: None if the careful path passes it, else its failure."""
    try:
        explained = _explain_rule(rule, request)
    except Exception as exc:  # noqa: BLE001 - a rule that cannot be explained fails, closed.
        return _internal(policy, rule.id, f"{type(exc).__name__} while explaining the rule")
    if explained.status is not RuleStatus.FAILED:
        return None
    failing = [obs for obs in explained.observations if obs.state is not State.PASS] or list(
        explained.observations
    )
    return RuleFailure(
        policy.name,
        rule.id,
        failure_code([obs.state for obs in failing]),
        rule.message,
        explained.requirement,
        "; ".join(obs.show() for obs in failing),
        explained.expected,
    )


def evaluate(policy: CompiledPolicy, request: PolicyInput) -> Decision:
    """Decide: allow only if every rule in scope is definitely satisfied.

    Never raises: an empty rule list, a missing or mistyped claim, or an internal error all deny,
    each recorded as a failed (pseudo-)rule with a stable code.
    """
    try:
        rules = policy.rules
        if not rules:
            empty = RuleFailure(
                policy.name, NO_RULES_RULE, FailureCode.NO_RULES, "a policy without rules denies", "", "", ""
            )
            return Decision(Verdict.DENY, (policy.ref,), (empty,))
        failures: list[RuleFailure] | None = None
        for rule in rules:
            try:
                if rule.check(request):
                    continue
            except Exception:  # noqa: BLE001, S110 - the careful path below decides and explains.
                pass
            failure = _diagnose(policy, rule, request)
            if failure is not None:
                if failures is None:
                    failures = []
                failures.append(failure)
        if failures is None:
            # Every allow of one policy is the same immutable Decision, built once at compile time.
            return policy.allow
        return Decision(Verdict.DENY, (policy.ref,), tuple(failures))
    except Exception as exc:  # noqa: BLE001 - the boundary: whatever went wrong, deny.
        ref = getattr(policy, "ref", None)
        refs = (ref,) if ref is not None else ()
        name = getattr(policy, "name", "?")
        failure = RuleFailure(
            str(name),
            EVALUATION_RULE,
            FailureCode.INTERNAL_ERROR,
            "internal error; denied",
            "",
            type(exc).__name__,
            "",
        )
        return Decision(Verdict.DENY, refs, (failure,))


def explain(policy: CompiledPolicy, request: PolicyInput) -> Explanation:
    """Every rule on the careful path, with the Decision of ``evaluate``.

    A rule that cannot be explained (an internal error) is reported as failed with no observations.
    """
    explained: list[RuleExplanation] = []
    for rule in policy.rules:
        try:
            explained.append(_explain_rule(rule, request))
        except Exception as exc:  # noqa: BLE001 - shown as a failure; evaluate() denies it too.
            failure = Observation(rule.id, f"internal error ({type(exc).__name__})", State.MISTYPED)
            explained.append(
                RuleExplanation(
                    rule.id,
                    rule.message,
                    RuleStatus.FAILED,
                    rule.require.text,
                    rule.require.expected,
                    (),
                    (failure,),
                )
            )
    return Explanation(evaluate(policy, request), tuple(explained))
