"""One error root for release policies, with stable dotted codes (STYLE 7).

Loading a document never stops at the first problem: every problem found is collected as a
``Problem`` (file, rule id, code, what is wrong) and raised together in one ``PolicyInvalidError``,
so a security team fixes a policy in one pass. Evaluation itself never raises for bad input: a
missing or mistyped claim fails its rule, and an internal error becomes a failed pseudo-rule.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where it is (file, rule id) and what is wrong."""

    source: str
    code: str
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        where = self.source if self.rule is None else f"{self.source}: rule {self.rule}"
        return f"{where}: {self.message} [{self.code}]"


class PolicyError(Exception):
    """Base of every error the policies package raises on purpose."""

    code: ClassVar[str] = "policy.error"


class PolicyInvalidError(PolicyError):
    """A policy or reference-values document was rejected; ``problems`` lists every problem found."""

    code = "policy.invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        summary = "; ".join(str(problem) for problem in self.problems[:3])
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"{count} problem{'s' if count != 1 else ''}: {summary}{more}")


class PolicyInputError(PolicyError):
    """A policy input document (the JSON given to explain or to test vectors) has the wrong structure."""

    code = "policy.input_invalid"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems))


class BaselineNotFoundError(PolicyError):
    """No bundled baseline or reference-value set has the requested name."""

    code = "policy.baseline_unknown"


class PolicyDeniedError(PolicyError):
    """Raised by a relying party that refuses a release because the effective decision is deny."""

    code = "policy.denied"
