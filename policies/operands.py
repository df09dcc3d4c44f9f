"""Operands as written in a policy, checked against the type of the claim they are compared with.

Everything an operand can be is parsed here once, at compile time: literals of the claim's type,
durations (``120s``, ``2m``, ``1h30m``, ``7d``), RFC 3339 timestamps and expiry dates, references to
reference-value sets (``{set: NAME}``) and to other claims (``{claim: PATH}``).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import ge, gt, le, lt
from typing import Any

from policies.contract import ClaimsContract, ClaimSpec, ClaimType
from policies.problems import Reporter, did_you_mean, type_name, with_article
from policies.reference_values import ReferenceKind, ReferenceSet

# The comparison functions of the ``operator`` module; their operand types depend on the claim type
# (integers, timestamps, versions, enum ranks), which the compiler has already checked.
Compare = Callable[[Any, Any], Any]


#: The ordered comparisons: operator name → (comparison, how it reads).
ORDERED_COMPARISONS: dict[str, tuple[Compare, str]] = {
    "at_least": (ge, "at least"),
    "at_most": (le, "at most"),
    "above": (gt, "above"),
    "below": (lt, "below"),
}


class Invalid:
    """The marker for an operand that was rejected (a problem has been reported)."""


INVALID = Invalid()

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_MAX_DURATION = timedelta(days=3660)


@dataclass
class Scope:
    """What compiling one policy needs: the contract, the reference sets, and what was used and read."""

    contract: ClaimsContract
    sets: Mapping[str, ReferenceSet]
    report: Reporter
    used_sets: dict[str, ReferenceSet] = field(default_factory=dict)
    reads: set[str] = field(default_factory=set)

    def for_rule(self, rule: str) -> "Scope":
        """The same scope, reporting problems under ``rule`` and collecting that rule's reads apart."""
        return Scope(self.contract, self.sets, self.report.for_rule(rule), self.used_sets, set())


def single_key(operand: object, key: str) -> object | None:
    """The value of ``operand`` when it is a one-key mapping ``{key: value}``, else None."""
    if isinstance(operand, dict) and len(operand) == 1 and key in operand:
        value: object = operand[key]
        return value
    return None


def literal(spec: ClaimSpec, operand: object, operator: str, scope: Scope) -> object:
    """``operand`` as a value of the claim's type (an enum member for enums), or INVALID."""
    claim_type = spec.kind
    ok: bool
    value: object = operand
    if claim_type is ClaimType.BOOLEAN:
        ok = isinstance(operand, bool)
    elif claim_type is ClaimType.INTEGER:
        ok = type(operand) is int
    elif claim_type is ClaimType.STRING:
        ok = isinstance(operand, str)
    elif claim_type is ClaimType.ENUM and spec.enum is not None:
        members = {str(member): member for member in spec.enum}
        if isinstance(operand, str) and operand not in members:
            scope.report.add(
                "policy.operand_value",
                f"{spec.path} {operator} {operand!r}: not a value of {spec.describe_type()} "
                f"({', '.join(members)}){did_you_mean(operand, members)}",
            )
            return INVALID
        ok = isinstance(operand, str)
        value = members.get(str(operand))
    elif claim_type is ClaimType.TIMESTAMP:
        if isinstance(operand, str):
            try:
                return parse_timestamp(operand)
            except ValueError:
                pass
        ok = False
    else:
        ok = False
    if not ok:
        scope.report.add(
            "policy.operand_type",
            f"{spec.path} is {with_article(spec.describe_type())}; {operator} {render_operand(operand)} "
            f"({type_name(operand)}) cannot be compared with it",
        )
        return INVALID
    return value


def render_operand(operand: object) -> str:
    """An operand as it was written, for messages."""
    return (
        repr(operand)
        if isinstance(operand, str)
        else str(operand).replace("True", "true").replace("False", "false")
    )


def parse_duration(text: object) -> timedelta:
    """Parse ``120s``, ``2m``, ``1h30m``, ``7d`` (whole units, largest first).

    Raises:
        ValueError: not a duration in that syntax, zero-length text, or longer than ten years.
    """
    match = _DURATION.fullmatch(text) if isinstance(text, str) and text else None
    if match is None:
        raise ValueError(f"{text!r} is not a duration such as 120s, 5m, 1h30m or 7d")
    days, hours, minutes, seconds = (int(part) if part else 0 for part in match.groups())
    value = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if value > _MAX_DURATION:
        raise ValueError(f"{text!r} is longer than ten years")
    return value


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp with a time zone (``2027-01-31T00:00:00Z``).

    Raises:
        ValueError: not a timestamp, or no time zone.
    """
    if "T" not in text and "t" not in text:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return parsed.astimezone(UTC)


def parse_expiry(text: object) -> datetime:
    """An exception's expiry: a date (expires at 00:00 UTC that day) or an RFC 3339 timestamp.

    A bare date ends the exception at the *start* of that day: the stricter reading, so that an
    exception never lasts longer than whoever wrote it could have meant.

    Raises:
        ValueError: neither a date nor a timestamp.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a date such as 2027-01-31")
    if "T" in text or "t" in text:
        return parse_timestamp(text)
    day = date.fromisoformat(text)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def reference_set(operand: object, kind: ReferenceKind, what: str, scope: Scope) -> ReferenceSet | None:
    """The reference set named by ``{set: NAME}``, checked to be of ``kind``; None after a problem."""
    name = single_key(operand, "set")
    if not isinstance(name, str):
        scope.report.add(
            "policy.operand_type", f"{what}: a reference set is written {{set: NAME}}, not {operand!r}"
        )
        return None
    found = scope.sets.get(name)
    if found is None:
        known = ", ".join(sorted(scope.sets)) or "none"
        scope.report.add(
            "policy.unknown_reference_set",
            f"{what}: no reference-value set named {name!r}{did_you_mean(name, scope.sets)} (known: {known})",
        )
        return None
    if found.kind is not kind:
        scope.report.add(
            "policy.reference_set_type",
            f"{what}: reference set {name!r} holds {found.kind}, but this comparison needs {kind}",
        )
        return None
    scope.used_sets[name] = found
    return found


def claim_reference(operand: object, spec: ClaimSpec, what: str, scope: Scope) -> ClaimSpec | None:
    """The claim named by ``{claim: PATH}`` as an operand; it must be of the same type and not per GPU."""
    path = single_key(operand, "claim")
    if not isinstance(path, str):
        return None
    other = scope.contract.get(path)
    if other is None:
        suggestion = scope.contract.suggest(path)
        hint = f" (did you mean {suggestion!r}?)" if suggestion else ""
        scope.report.add("policy.unknown_path", f"{what}: unknown claim path {path!r}{hint}")
        return None
    if other.per_gpu:
        scope.report.add("policy.path_scope", f"{what}: a per-GPU claim ({path}) cannot be an operand")
        return None
    if other.kind is not spec.kind:
        scope.report.add(
            "policy.operand_type",
            f"{what}: {path} is {with_article(other.describe_type())} and {spec.path} is "
            f"{with_article(spec.describe_type())}; "
            "they cannot be compared",
        )
        return None
    scope.reads.add(path)
    return other
