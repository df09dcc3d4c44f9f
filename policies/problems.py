"""Collecting every problem of a document instead of stopping at the first one.

A ``Reporter`` is bound to a file and, once inside a rule, to that rule's id; the document readers and
the compiler add problems to it and carry on, and the loader raises them all at once.
"""

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from policies.errors import PolicyInvalidError, Problem


@dataclass
class Reporter:
    """Collects problems for one source file; ``for_rule`` binds further problems to a rule id."""

    source: str
    rule: str | None = None
    problems: list[Problem] = field(default_factory=list)

    def add(self, code: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(Problem(self.source, code, message, self.rule))

    def for_rule(self, rule: str | None) -> "Reporter":
        """A reporter that shares this one's list but names ``rule`` in every problem."""
        return Reporter(self.source, rule, self.problems)

    def raise_if_any(self) -> None:
        """Raise every collected problem together.

        Raises:
            PolicyInvalidError: at least one problem was recorded.
        """
        if self.problems:
            raise PolicyInvalidError(self.problems)


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def with_article(noun: str) -> str:
    """``an integer``, ``a boolean``, ``an enum TcbStatus``."""
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def type_name(value: object) -> str:
    """How a YAML value's type is named in messages."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


_TYPE_NAMES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    str: "string",
    list: "list",
    dict: "mapping",
}


def check_keys(
    value: Mapping[str, object],
    where: str,
    required: Sequence[str],
    optional: Sequence[str],
    report: Reporter,
) -> bool:
    """Report unknown keys (with a did-you-mean) and missing required keys; True when there were none."""
    allowed = (*required, *optional)
    clean = True
    for key in value:
        if key not in allowed:
            report.add("policy.unknown_key", f"unknown key {key!r} in {where}{did_you_mean(key, allowed)}")
            clean = False
    for key in required:
        if key not in value:
            report.add("policy.missing_key", f"{where} needs {key!r}")
            clean = False
    return clean


def expect_mapping(value: object, where: str, report: Reporter) -> Mapping[str, object] | None:
    """``value`` as a mapping, or None after reporting that it is not one."""
    if isinstance(value, dict):
        return value
    report.add("policy.wrong_type", f"{where} must be a mapping, not {type_name(value)}")
    return None


def expect_list(value: object, where: str, report: Reporter) -> list[object] | None:
    """``value`` as a list, or None after reporting that it is not one."""
    if isinstance(value, list):
        return value
    report.add("policy.wrong_type", f"{where} must be a list, not {type_name(value)}")
    return None


def expect_string(value: object, where: str, report: Reporter, *, non_empty: bool = True) -> str | None:
    """``value`` as a string, or None after reporting that it is not one (or is empty)."""
    if isinstance(value, str) and (value.strip() or not non_empty):
        return value
    what = "an empty string" if isinstance(value, str) else type_name(value)
    report.add("policy.wrong_type", f"{where} must be a non-empty string, not {what}")
    return None
