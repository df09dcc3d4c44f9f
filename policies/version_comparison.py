"""``version_at_least`` and friends: a string claim compared as a version of its claim's scheme.

The operand is a version, or (for ``version_at_least``) ``{set: NAME}``: a ``version-minimums``
reference set holding one minimum per branch, so ``550.127.05`` is held to the 550 minimum and a
driver of a branch without a minimum fails. Versions are parsed once per distinct text and the
verdict remembered, so a GPU list is checked by C code alone on every decision after the first.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from policies.contract import ClaimSpec
from policies.operands import ORDERED_COMPARISONS, Scope, reference_set, single_key
from policies.problems import type_name
from policies.reference_values import ReferenceKind
from policies.request import PolicyInput
from policies.versions import Version, cached_version, parse_version, scheme_for

_MEMO_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class VersionComparison:
    """The parts of an ``Operator`` that a version comparison provides."""

    expected: str
    test: Callable[[object, PolicyInput], bool | None]
    all_values: Callable[[Iterator[object]], bool]
    reason: str


def _memoised(
    predicate: Callable[[str], bool | None],
) -> tuple[Callable[[object], bool | None], Callable[[Iterator[object]], bool]]:
    """Memoise a predicate over version text; return (test of one value, vector test of many).

    The vector test is ``all(map(memo.get, values))``: C code only, and True only for texts the
    predicate already passed (an unseen text reads as None and sends the rule down the careful
    path, which computes and remembers it). The memo is bounded and keyed by the text alone, so it
    changes speed, never results.
    """
    memo: dict[str, bool | None] = {}

    def value_test(value: object) -> bool | None:
        if not isinstance(value, str):
            return None
        try:
            return memo[value]
        except KeyError:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            verdict = memo[value] = predicate(value)
            return verdict

    return value_test, lambda values: all(map(memo.get, values))  # type: ignore[arg-type] # unhashables raise.


def compile_version_comparison(
    spec: ClaimSpec, name: str, operand: object, scope: Scope
) -> VersionComparison | None:
    """Compile ``version_<comparison>`` on the string claim ``spec``; None after reporting problems."""
    compare, words = ORDERED_COMPARISONS[name[len("version_") :]]
    scheme = scheme_for(spec.name)
    what = f"{spec.path} {name}"
    reason = f"not a {scheme} version"
    if name == "version_at_least" and single_key(operand, "set") is not None:
        found = reference_set(operand, ReferenceKind.VERSION_MINIMUMS, what, scope)
        if found is None:
            return None
        minimums: dict[int, Version] = {}
        for text in found.values:
            try:
                parsed = parse_version(text, scheme)
            except ValueError as exc:
                scope.report.add("policy.operand_value", f"{what}: set {found.name}: {exc}")
                return None
            if parsed.branch in minimums:
                scope.report.add(
                    "policy.operand_value", f"{what}: set {found.name} has two minimums for branch of {text}"
                )
                return None
            minimums[parsed.branch] = parsed

        def meets_branch_minimum(text: str) -> bool | None:
            version = cached_version(text, scheme)
            if version is None:
                return None
            minimum = minimums.get(version.branch)
            return minimum is not None and version >= minimum

        one, many = _memoised(meets_branch_minimum)
        listed = ", ".join(found.values)
        expected = f"version at least the minimum for its branch in set {found.describe()} ({listed})"
    else:
        written = str(operand) if type(operand) is int else operand
        if not isinstance(written, str):
            scope.report.add(
                "policy.operand_type", f"{what}: expects a version string, not {type_name(operand)}"
            )
            return None
        try:
            bound = parse_version(written, scheme)
        except ValueError as exc:
            scope.report.add("policy.operand_value", f"{what}: {exc}")
            return None

        def meets(text: str) -> bool | None:
            version = cached_version(text, scheme)
            return None if version is None else bool(compare(version, bound))

        one, many = _memoised(meets)
        expected = f"version {words} {written} ({scheme})"
    return VersionComparison(expected, lambda value, _request: one(value), many, reason)
