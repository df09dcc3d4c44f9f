"""Property tests against the production baseline: removing or mistyping claims never allows a release
that a rule in scope needed them for, and the fast path never passes what the careful path fails."""

import copy
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attestation.canonical import JsonValue
from attestation.evidence import TeeType
from policies import RuleStatus, Verdict, evaluate, explain, input_document, load_baseline, parse_input
from policies.samples import sample_input
from tests.policies.policy_helpers import default_sets

POLICY = load_baseline("production", tuple(default_sets().values()))
BASES = {tee: input_document(sample_input(tee=tee, gpus=3)) for tee in (TeeType.SNP, TeeType.TDX)}

#: Values of the wrong JSON type for a claim, chosen to be the traps a loose comparison falls into.
WRONG = {bool: [1, 0, "true", "false", None], int: [True, False, "0", "1", 0.0], str: [0, 1, True, [], {}]}


def _leaves(document: JsonValue, prefix: str = "") -> Iterator[tuple[str, JsonValue]]:
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path, value
            yield from _leaves(value, path)


def _contract_path(path: str) -> str:
    """``gpu2.measres`` → ``gpu.measres``: the contract's name for a path of the input document."""
    root, _, rest = path.partition(".")
    if root.startswith("gpu") and root[3:].isdigit():
        return f"gpu.{rest}" if rest else "gpu"
    return path


def _apply(document: JsonValue, path: str, value: object, remove: bool) -> None:
    *parents, last = path.split(".")
    node = document
    for part in parents:
        assert isinstance(node, dict)
        node = node[part]
    assert isinstance(node, dict)
    if remove:
        del node[last]
    else:
        node[last] = value


@st.composite
def damaged(draw: st.DrawFn) -> tuple[TeeType, JsonValue, dict[str, str]]:
    """A healthy input with a random subset of its claims removed or replaced by a wrong type."""
    tee = draw(st.sampled_from(sorted(BASES)))
    document = copy.deepcopy(BASES[tee])
    leaves = [path for path, _ in _leaves(document) if "." in path]
    chosen = draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=6, unique=True))
    damage: dict[str, str] = {}
    for path in sorted(chosen, key=lambda p: p.count(".")):
        if any(path.startswith(f"{done}.") for done in damage):
            continue  # Already inside a removed or replaced record.
        current = dict(_leaves(document)).get(path)
        if draw(st.booleans()) or isinstance(current, dict | list):
            _apply(document, path, None, remove=True)
            damage[path] = "removed"
        else:
            wrong = draw(st.sampled_from(WRONG.get(type(current), [42])))
            _apply(document, path, wrong, remove=False)
            damage[path] = f"set to {wrong!r}"
    return tee, document, damage


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_production_never_allows_an_input_lacking_a_claim_a_rule_in_scope_requires(
    case: tuple[TeeType, JsonValue, dict[str, str]],
) -> None:
    _, document, damage = case
    assert isinstance(document, dict)
    request = parse_input(document)
    decision = evaluate(POLICY, request)
    explanation = explain(POLICY, request)
    # The careful path and the decision agree rule by rule.
    failed = {rule.rule for rule in explanation.rules if rule.status is RuleStatus.FAILED}
    assert set(decision.failed_rules()) == failed
    damaged_paths = {_contract_path(path) for path in damage}
    for rule, compiled in zip(explanation.rules, POLICY.rules, strict=True):
        if rule.status is RuleStatus.NOT_APPLICABLE:
            continue
        lacking = {
            required
            for required in compiled.require.requires
            if any(required == path or required.startswith(f"{path}.") for path in damaged_paths)
        }
        if lacking:
            assert rule.status is RuleStatus.FAILED, (rule.rule, lacking, damage)
            assert decision.verdict is Verdict.DENY


@settings(max_examples=200, deadline=None)
@given(damaged())
def test_the_fast_path_never_passes_a_rule_the_careful_path_fails(
    case: tuple[TeeType, JsonValue, dict[str, str]],
) -> None:
    _, document, _ = case
    assert isinstance(document, dict)
    request = parse_input(document)
    for compiled, explained in zip(POLICY.rules, explain(POLICY, request).rules, strict=True):
        try:
            fast = compiled.check(request)
        except Exception:  # noqa: BLE001 - an exception on the fast path means "not sure": fine.
            continue
        if fast:
            assert explained.status is not RuleStatus.FAILED, (compiled.id, explained.observations)


def test_the_healthy_bases_are_allowed() -> None:
    for document in BASES.values():
        assert isinstance(document, dict)
        assert evaluate(POLICY, parse_input(document)).verdict is Verdict.ALLOW
