"""The operators a requirement may apply to one claim, each compiled once into a value test.

A value test answers for one value: True (satisfied), False (present, well-typed, not satisfied) or
None (missing, mistyped, or not comparable). Only True satisfies a requirement, so every path that
is not a clear yes denies. Operands are parsed and type-checked here, at compile time.

Operators by claim type (``exists: true|false`` applies to every claim):

=========================  =====================================================================
boolean                    ``equals``, ``not_equals``
integer                    ``equals``, ``not_equals``, ``in``, ``not_in``, ``at_least``, ``at_most``,
                           ``above``, ``below`` (a literal or ``{claim: PATH}`` of the same type)
string, enum               ``equals`` (optionally ``unless``: expiring exceptions), ``not_equals``,
                           ``in`` / ``not_in`` (a list, or ``{set: NAME}``); ordered enums (TCB
                           status) also ``at_least`` / ``at_most`` / ``above`` / ``below``
string (versions)          ``version_at_least`` (a version, or ``{set: NAME}`` of branch minimums),
                           ``version_at_most``, ``version_above``, ``version_below``
timestamp                  ``at_least`` / ``at_most`` / ``above`` / ``below`` (RFC 3339 or a claim)
string list                ``contains``, ``not_contains``, ``is_empty``
record list                ``is_empty``
SEV-SNP TCB record         ``tcb_at_least`` (per-component minimums, or ``{set: NAME}`` per product)
=========================  =====================================================================
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import eq, is_

from policies.contract import ENUM_ORDER, TCB_RECORD, ClaimSpec, ClaimType
from policies.exceptions import compile_unless
from policies.operands import (
    INVALID,
    ORDERED_COMPARISONS,
    Scope,
    claim_reference,
    literal,
    reference_set,
    render_operand,
    single_key,
)
from policies.outcomes import render
from policies.problems import did_you_mean, type_name, with_article
from policies.readers import conformer, fast_reader
from policies.reference_values import ReferenceKind
from policies.request import PolicyInput
from policies.tcb import compile_tcb_at_least
from policies.version_comparison import compile_version_comparison

ValueTest = Callable[[object, PolicyInput], bool | None]
VectorTest = Callable[[Iterator[object]], bool]


@dataclass(frozen=True, slots=True)
class Operator:
    """A compiled operator: what it expects (for messages) and its value test.

    ``all_values`` is an optional C-speed check that every value of an iterator satisfies the
    operator; it may only say True when ``test`` would say True for each value (it is the fast
    path for GPU lists, and a False or an exception sends evaluation down the careful path).
    ``careful`` operators can pass on a missing value (``exists: false``) and are always read with
    the careful reader, so a mistyped step is not taken for a missing one.
    """

    name: str
    expected: str
    test: ValueTest
    all_values: VectorTest | None = None
    careful: bool = False
    unknown_reason: str = ""
    note: Callable[[object, PolicyInput], str] | None = None


_SCALARS = (ClaimType.BOOLEAN, ClaimType.INTEGER, ClaimType.STRING, ClaimType.ENUM)


_ORDERED_KINDS = (ClaimType.INTEGER, ClaimType.TIMESTAMP)
_APPLIES: dict[str, Callable[[ClaimSpec], bool]] = {
    "exists": lambda spec: True,
    "equals": lambda spec: spec.kind in _SCALARS,
    "not_equals": lambda spec: spec.kind in _SCALARS,
    "in": lambda spec: spec.kind in (ClaimType.INTEGER, ClaimType.STRING, ClaimType.ENUM),
    "not_in": lambda spec: spec.kind in (ClaimType.INTEGER, ClaimType.STRING, ClaimType.ENUM),
    **{
        name: lambda spec: (
            spec.kind in _ORDERED_KINDS or (spec.kind is ClaimType.ENUM and spec.enum in ENUM_ORDER)
        )
        for name in ORDERED_COMPARISONS
    },
    **{f"version_{name}": lambda spec: spec.kind is ClaimType.STRING for name in ORDERED_COMPARISONS},
    "contains": lambda spec: spec.kind is ClaimType.STRING_LIST,
    "not_contains": lambda spec: spec.kind is ClaimType.STRING_LIST,
    "is_empty": lambda spec: spec.kind in (ClaimType.STRING_LIST, ClaimType.RECORD_LIST),
    "tcb_at_least": lambda spec: spec.kind is ClaimType.RECORD and spec.record is TCB_RECORD,
}

#: Every operator, in the order the documentation lists them.
OPERATOR_NAMES: tuple[str, ...] = tuple(_APPLIES)


def applies(name: str, spec: ClaimSpec) -> bool:
    """Whether operator ``name`` applies to claims like ``spec``."""
    check = _APPLIES.get(name)
    return check is not None and check(spec)


def compile_operator(
    spec: ClaimSpec, name: str, operand: object, unless: object, scope: Scope
) -> Operator | None:
    """Compile ``name`` with ``operand`` against the claim ``spec``; None after reporting problems."""
    if name not in _APPLIES:
        scope.report.add(
            "policy.unknown_operator", f"unknown operator {name!r}{did_you_mean(name, OPERATOR_NAMES)}"
        )
        return None
    if not applies(name, spec):
        usable = ", ".join(op for op in OPERATOR_NAMES if applies(op, spec))
        scope.report.add(
            "policy.operator_type",
            f"{name} does not apply to {spec.path}, which is {with_article(spec.describe_type())} "
            f"(usable: {usable})",
        )
        return None
    if unless is not None and name != "equals":
        scope.report.add("policy.unknown_key", "'unless' (exceptions) can only follow 'equals'")
        return None
    conforms = conformer(spec)
    if name == "equals":
        return _equals_operator(spec, operand, unless, conforms, scope)
    return _COMPILERS[name](spec, name, operand, conforms, scope)


def _equals_operator(
    spec: ClaimSpec, operand: object, unless: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    expected = literal(spec, operand, "equals", scope)
    if expected is INVALID:
        return None
    plain = _equals(spec, expected, conforms)
    if unless is None:
        return plain
    compiled = compile_unless(spec, expected, unless, conforms, scope)
    if compiled is None:
        return None
    # The vector shortcut passes a GPU list only when every value equals the required one; a value
    # accepted by an exception takes the careful path, which applies the exceptions.
    return Operator("equals", compiled.expected, compiled.test, plain.all_values, note=compiled.note)


def _not_equals_operator(
    spec: ClaimSpec, name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    expected = literal(spec, operand, name, scope)
    return None if expected is INVALID else _not_equals(expected, conforms)


def _exists(
    _spec: ClaimSpec, _name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    if not isinstance(operand, bool):
        scope.report.add("policy.operand_type", f"exists takes true or false, not {render_operand(operand)}")
        return None
    want = operand

    def value_test(value: object, _request: PolicyInput) -> bool | None:
        if value is None:
            return not want
        return want if conforms(value) else None

    return Operator("exists", "exists" if want else "is absent", value_test, careful=True)


def _equals(spec: ClaimSpec, expected: object, conforms: Callable[[object], bool]) -> Operator:
    def value_test(value: object, _request: PolicyInput) -> bool | None:
        return value == expected if value is not None and conforms(value) else None

    all_values: VectorTest | None = None
    if spec.kind is ClaimType.BOOLEAN:
        # Identity with True/False: no other value (not 1, not "true") is the same object.
        all_values = lambda values: all(map(is_, values, repeat(expected)))  # noqa: E731
    elif spec.kind in (ClaimType.STRING, ClaimType.ENUM):
        # Only a string can equal a string, so plain equality is already type-safe here.
        all_values = lambda values: all(map(eq, values, repeat(expected)))  # noqa: E731
    return Operator("equals", f"equals {render(expected)}", value_test, all_values)


def _not_equals(expected: object, conforms: Callable[[object], bool]) -> Operator:
    def value_test(value: object, _request: PolicyInput) -> bool | None:
        return value != expected if value is not None and conforms(value) else None

    return Operator("not_equals", f"does not equal {render(expected)}", value_test)


def _listed_values(
    spec: ClaimSpec, name: str, operand: object, scope: Scope
) -> tuple[str, list[object]] | None:
    """The values of ``in`` / ``not_in``: (how they read, the raw values), from a list or a set."""
    what = f"{spec.path} {name}"
    if single_key(operand, "set") is not None:
        if spec.kind is ClaimType.INTEGER:
            scope.report.add(
                "policy.operand_type", f"{what}: reference sets hold strings; {spec.path} is an integer"
            )
            return None
        found = reference_set(operand, ReferenceKind.STRINGS, what, scope)
        return None if found is None else (f"set {found.describe()}", list(found.values))
    if not isinstance(operand, list):
        scope.report.add(
            "policy.operand_type", f"{what}: expects a list or {{set: NAME}}, not {type_name(operand)}"
        )
        return None
    if not operand:
        scope.report.add("policy.operand_value", f"{what}: an empty list matches nothing")
        return None
    return "[" + ", ".join(render(item) for item in operand) + "]", operand


def _membership(
    spec: ClaimSpec, name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    listed = _listed_values(spec, name, operand, scope)
    if listed is None:
        return None
    shown, raw_items = listed
    items = [literal(spec, item, name, scope) for item in raw_items]
    if any(item is INVALID for item in items):
        return None
    members = frozenset(items)
    negate = name == "not_in"

    def value_test(value: object, _request: PolicyInput) -> bool | None:
        if value is None or not conforms(value):
            return None
        return (value in members) != negate

    all_values: VectorTest | None = None
    if spec.kind is ClaimType.ENUM and spec.enum is not None:
        # For an enum, "not in X" is "in (all values - X)", which needs no separate type check.
        allowed = frozenset(str(m) for m in spec.enum) - members if negate else members
        all_values = lambda values: all(map(allowed.__contains__, values))  # noqa: E731
    elif spec.kind is ClaimType.STRING and not negate:
        all_values = lambda values: all(map(members.__contains__, values))  # noqa: E731
    expected = f"{'not ' if negate else ''}in {shown}"
    return Operator(name, expected, value_test, all_values)


def _ordered_enum(
    spec: ClaimSpec, name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    """An ordered comparison of an enum claim (TCB statuses) by rank in ``ENUM_ORDER``."""
    compare, words = ORDERED_COMPARISONS[name]
    order = ENUM_ORDER[spec.enum] if spec.enum is not None else ()
    bound = literal(spec, operand, name, scope)
    if bound is INVALID:
        return None
    if bound not in order:
        scope.report.add(
            "policy.operand_value", f"{spec.path} {name}: {render(bound)} has no place in the order"
        )
        return None
    rank = {str(member): index for index, member in enumerate(order)}
    bound_rank = rank[str(bound)]

    def rank_test(value: object, _request: PolicyInput) -> bool | None:
        if value is None or not conforms(value):
            return None
        found = rank.get(str(value))
        # A value outside the order (NotApplicable) is present and well-typed, and not comparable.
        return False if found is None else compare(found, bound_rank)

    worst_first = " < ".join(str(member) for member in order)
    return Operator(name, f"{words} {render(bound)} (order: {worst_first})", rank_test)


def _ordered(
    spec: ClaimSpec, name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    compare, words = ORDERED_COMPARISONS[name]
    if spec.kind is ClaimType.ENUM:
        return _ordered_enum(spec, name, operand, conforms, scope)
    if single_key(operand, "claim") is not None:
        other = claim_reference(operand, spec, f"{spec.path} {name}", scope)
        if other is None:
            return None
        read_other = fast_reader(other)
        other_conforms = conformer(other)

        def claim_test(value: object, request: PolicyInput) -> bool | None:
            if value is None or not conforms(value):
                return None
            bound_value = read_other(request)
            return (
                compare(value, bound_value)
                if bound_value is not None and other_conforms(bound_value)
                else None
            )

        reason = f"the claim it is compared with ({other.path}) is missing or mistyped"
        return Operator(
            name,
            f"{words} {other.path}",
            claim_test,
            unknown_reason=reason,
            note=lambda _value, request: f"{other.path} = {render(read_other(request))}",
        )
    bound = literal(spec, operand, name, scope)
    if bound is INVALID:
        return None

    def value_test(value: object, _request: PolicyInput) -> bool | None:
        return compare(value, bound) if value is not None and conforms(value) else None

    return Operator(name, f"{words} {render(bound)}", value_test)


def _version(
    spec: ClaimSpec, name: str, operand: object, _conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    compiled = compile_version_comparison(spec, name, operand, scope)
    if compiled is None:
        return None
    return Operator(
        name, compiled.expected, compiled.test, compiled.all_values, unknown_reason=compiled.reason
    )


def _contains(
    spec: ClaimSpec, name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    if not isinstance(operand, str):
        scope.report.add(
            "policy.operand_type", f"{spec.path} {name}: expects a string, not {type_name(operand)}"
        )
        return None
    negate = name == "not_contains"

    def value_test(value: object, _request: PolicyInput) -> bool | None:
        if value is None or not conforms(value):
            return None
        return (operand in value) != negate  # type: ignore[operator] # conforms() made it a tuple of str.

    return Operator(name, f"{'does not contain' if negate else 'contains'} {operand}", value_test)


def _is_empty(
    _spec: ClaimSpec, _name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    if not isinstance(operand, bool):
        scope.report.add(
            "policy.operand_type", f"is_empty takes true or false, not {render_operand(operand)}"
        )
        return None
    want = operand

    def value_test(value: object, _request: PolicyInput) -> bool | None:
        return (value == ()) == want if value is not None and conforms(value) else None

    all_values: VectorTest | None = None
    if want:
        all_values = lambda values: all(map(eq, values, repeat(())))  # noqa: E731
    return Operator("is_empty", "is empty" if want else "is not empty", value_test, all_values)


def _tcb_at_least(
    spec: ClaimSpec, _name: str, operand: object, conforms: Callable[[object], bool], scope: Scope
) -> Operator | None:
    compiled = compile_tcb_at_least(spec, operand, conforms, scope)
    if compiled is None:
        return None
    return Operator(
        "tcb_at_least", compiled.expected, compiled.test, unknown_reason=compiled.reason, note=compiled.note
    )


_Compiler = Callable[[ClaimSpec, str, object, Callable[[object], bool], Scope], Operator | None]
_COMPILERS: dict[str, _Compiler] = {
    "exists": _exists,
    "not_equals": _not_equals_operator,
    "in": _membership,
    "not_in": _membership,
    **dict.fromkeys(ORDERED_COMPARISONS, _ordered),
    **{f"version_{name}": _version for name in ORDERED_COMPARISONS},
    "contains": _contains,
    "not_contains": _contains,
    "is_empty": _is_empty,
    "tcb_at_least": _tcb_at_least,
}
