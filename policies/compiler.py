"""Compiling a policy: every condition checked against the claims contract, then turned into closures.

Compilation happens once per policy version (and reference-value versions). It resolves each claim
path to attribute getters on the typed input, parses every operand, version and reference set, and
reports every problem of the document at once. The result evaluates without building any dict of
claims per decision (``policies.engine``).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from policies.conditions import Condition, compile_condition
from policies.contract import GPU_ROOT, claims_contract
from policies.decision import Decision, PolicyRef, Verdict
from policies.documents import PolicyDocument, UncheckedClaim, read_document_into
from policies.errors import PolicyInvalidError, Problem
from policies.operands import Scope
from policies.problems import Reporter
from policies.reference_values import ReferenceSet
from policies.request import PolicyInput
from policies.test_cases import TestSuite, parse_suite
from policies.yaml_source import load_yaml_mapping


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready to evaluate. ``check`` is the fast path: True when satisfied or out of scope."""

    id: str
    message: str
    when: tuple[Condition, ...]
    require: Condition
    reads: frozenset[str]
    check: Callable[[PolicyInput], bool]


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A validated, compiled policy bound to the reference-value sets it uses."""

    name: str
    description: str
    source: str
    digest: str
    document: PolicyDocument
    rules: tuple[CompiledRule, ...]
    ref: PolicyRef
    allow: Decision
    unchecked: tuple[UncheckedClaim, ...]
    tests: TestSuite | None


def _check(when: tuple[Condition, ...], require: Condition) -> Callable[[PolicyInput], bool]:
    holds = require.holds
    if not when:
        return holds
    if len(when) == 1:
        excludes = when[0].excludes
        return lambda request: excludes(request) or holds(request)
    scopes = tuple(condition.excludes for condition in when)
    return lambda request: any(excluded(request) for excluded in scopes) or holds(request)


def compile_policy(
    document: PolicyDocument, reference_sets: Mapping[str, ReferenceSet], report: Reporter | None = None
) -> CompiledPolicy:
    """Compile a policy document against the claims contract and the given reference-value sets.

    ``report`` carries problems already found in the document (``load_document`` passes them on),
    so that all are raised together.

    Raises:
        PolicyInvalidError: every problem found: unknown claim paths (with a did-you-mean), wrong
            operand types, unknown operators, unknown reference sets, bad exceptions, bad
            ``unchecked`` entries and broken embedded tests, each naming its file and rule.
    """
    report = report if report is not None else Reporter(document.source)
    scope = Scope(claims_contract(), reference_sets, report)
    rules: list[CompiledRule] = []
    for rule in document.rules:
        rule_scope = scope.for_rule(rule.id)
        when = [compile_condition(raw, rule_scope) for raw in rule.when]
        require = compile_condition(rule.require, rule_scope)
        if require is None or any(condition is None for condition in when):
            continue
        scopes = tuple(condition for condition in when if condition is not None)
        reads = frozenset(rule_scope.reads)
        rules.append(CompiledRule(rule.id, rule.message, scopes, require, reads, _check(scopes, require)))
    _check_unchecked(document, rules, scope)
    tests = None
    if document.tests is not None:
        tests = parse_suite(document.tests, [rule.id for rule in document.rules], report, "embedded")
    if not document.rules and not report.problems:
        report.add("policy.empty_rules", "the policy has no rules; it would deny everything")
    report.raise_if_any()
    used = tuple(reference.ref() for _, reference in sorted(scope.used_sets.items()))
    ref = PolicyRef(document.name, document.digest, used)
    return CompiledPolicy(
        document.name,
        document.description,
        document.source,
        document.digest,
        document,
        tuple(rules),
        ref,
        Decision(Verdict.ALLOW, (ref,)),
        document.unchecked,
        tests,
    )


def _check_unchecked(document: PolicyDocument, rules: list[CompiledRule], scope: Scope) -> None:
    read = {path for rule in rules for path in rule.reads}
    seen: set[str] = set()
    for entry in document.unchecked:
        path = entry.path
        if path in seen:
            scope.report.add("policy.duplicate_unchecked", f"spec.unchecked lists {path!r} twice")
        seen.add(path)
        if path != GPU_ROOT and scope.contract.get(path) is None:
            suggestion = scope.contract.suggest(path)
            hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
            scope.report.add("policy.unknown_path", f"spec.unchecked: unknown claim path {path!r}{hint}")
        elif (
            path in read
            and scope.contract.get(path) is not None
            and scope.contract.specs[path].record is None
        ):
            scope.report.add(
                "policy.unchecked_but_checked", f"spec.unchecked lists {path!r}, but a rule checks it"
            )


def load_document(
    data: bytes, source: str, reference_sets: Mapping[str, ReferenceSet]
) -> CompiledPolicy | ReferenceSet:
    """Parse a policy or reference-values document and, for a policy, compile it.

    Raises:
        PolicyInvalidError: every problem of the document's shape *and* of its rules, together.
    """
    report = Reporter(source)
    document = read_document_into(load_yaml_mapping(data, source), source, report)
    if isinstance(document, PolicyDocument):
        return compile_policy(document, reference_sets, report)
    report.raise_if_any()
    if document is None:  # pragma: no cover - a None always comes with a reported problem.
        raise AssertionError("document rejected without a problem")
    return document


def load_policy(data: bytes, source: str, reference_sets: Mapping[str, ReferenceSet]) -> CompiledPolicy:
    """Parse and compile a ``kind: ReleasePolicy`` document.

    Raises:
        PolicyInvalidError: as ``load_document``, or the document is a ``ReferenceValues`` document.
    """
    loaded = load_document(data, source, reference_sets)
    if not isinstance(loaded, CompiledPolicy):
        raise PolicyInvalidError([Problem(source, "policy.wrong_kind", "expected kind: ReleasePolicy")])
    return loaded
