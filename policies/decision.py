"""Decisions: allow or deny, every failed rule with what was found and what was expected, and digests.

A Decision names the policies it came from by digest (and the reference-value sets they used, by
name, version and digest), so a ledger entry says exactly what was applied. The effective decision
of a release is the baseline AND the artefact policy (``effective_decision``).
"""

from dataclasses import dataclass
from enum import StrEnum

from attestation.canonical import JsonValue


class Verdict(StrEnum):
    """The outcome of a decision."""

    ALLOW = "allow"
    DENY = "deny"


class FailureCode(StrEnum):
    """Why a rule (or a pseudo-rule) failed; stable codes for ledgers and clients."""

    RULE_FAILED = "policy.rule_failed"
    CLAIM_MISSING = "policy.claim_missing"
    CLAIM_MISTYPED = "policy.claim_mistyped"
    INTERNAL_ERROR = "policy.internal_error"
    NO_RULES = "policy.no_rules"


#: Pseudo-rule ids cannot collide with real ones: rule ids are lowercase letters, digits and hyphens.
NO_RULES_RULE = "<no-rules>"
EVALUATION_RULE = "<evaluation>"


@dataclass(frozen=True, slots=True)
class RuleFailure:
    """One failed rule: the rule, why (code), its message, what it requires, what was found."""

    policy: str
    rule: str
    code: FailureCode
    message: str
    requirement: str
    actual: str
    expected: str

    def to_json(self) -> dict[str, JsonValue]:
        """JSON-ready form (for the CLI, the ledger and problem details)."""
        return {
            "policy": self.policy,
            "rule": self.rule,
            "code": str(self.code),
            "message": self.message,
            "requirement": self.requirement,
            "actual": self.actual,
            "expected": self.expected,
        }


@dataclass(frozen=True, slots=True)
class ReferenceValuesRef:
    """A reference-value set a policy used: name, version, and digest of its document."""

    name: str
    version: int
    digest: str


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy a decision came from: name, digest of its canonical form, reference values used."""

    name: str
    digest: str
    reference_values: tuple[ReferenceValuesRef, ...] = ()

    def to_json(self) -> dict[str, JsonValue]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "digest": self.digest,
            "reference_values": [
                {"name": ref.name, "version": ref.version, "digest": ref.digest}
                for ref in self.reference_values
            ],
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow or deny, with every failed rule. There is no ``__bool__``: read ``verdict`` or ``allowed``."""

    verdict: Verdict
    policies: tuple[PolicyRef, ...]
    failures: tuple[RuleFailure, ...] = ()

    @property
    def allowed(self) -> bool:
        """True only for an allow verdict with no failures from at least one policy."""
        return self.verdict is Verdict.ALLOW and not self.failures and bool(self.policies)

    def failed_rules(self) -> tuple[str, ...]:
        """The ids of the failed rules, in evaluation order."""
        return tuple(failure.rule for failure in self.failures)

    def to_json(self) -> dict[str, JsonValue]:
        """JSON-ready form."""
        return {
            "decision": str(self.verdict),
            "policies": [policy.to_json() for policy in self.policies],
            "failures": [failure.to_json() for failure in self.failures],
        }


def effective_decision(baseline: Decision, artefact: Decision) -> Decision:
    """The release decision: the tenant baseline AND the artefact's policy, both digests recorded.

    Allows only when both decisions allow; every failure of either is kept, baseline first.
    """
    allowed = baseline.allowed and artefact.allowed
    return Decision(
        Verdict.ALLOW if allowed else Verdict.DENY,
        (*baseline.policies, *artefact.policies),
        (*baseline.failures, *artefact.failures),
    )
