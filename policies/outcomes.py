"""What one look at a claim found: its state and how it is shown to a person.

``MISSING`` and ``MISTYPED`` are kept apart from ``FAIL`` because they mean different things to the
security team (the Verifier did not establish the claim, versus the claim is established and wrong),
but a rule treats all three the same way: it fails.
"""

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import singledispatch

from policies.decision import FailureCode


class State(Enum):
    """The outcome of testing one value, or of a whole condition."""

    PASS = "pass"  # noqa: S105 - an outcome, not a password.
    FAIL = "fail"
    MISSING = "missing"
    MISTYPED = "mistyped"

    @property
    def settled(self) -> bool:
        """True for PASS and FAIL: the claim was there and well-typed, so the outcome is definite."""
        return self in (State.PASS, State.FAIL)


@dataclass(frozen=True, slots=True)
class Observation:
    """One value as found: where (``gpu3.measres``), shown as text, its state, and an optional note."""

    where: str
    actual: str
    state: State
    note: str = ""

    def show(self) -> str:
        """``where = actual`` plus the note, for messages."""
        note = f" ({self.note})" if self.note else ""
        return f"{self.where} = {self.actual}{note}"


def failure_code(states: list[State]) -> FailureCode:
    """The code of a failure: a missing claim outranks a mistyped one, which outranks a plain failure."""
    if State.MISSING in states:
        return FailureCode.CLAIM_MISSING
    if State.MISTYPED in states:
        return FailureCode.CLAIM_MISTYPED
    return FailureCode.RULE_FAILED


@singledispatch
def render(value: object) -> str:
    """A claim value as a person reads it: ``true``, ``UpToDate``, ``2026-05-01T12:00:00Z``, ``[a, b]``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(
            f"{field.name} {render(getattr(value, field.name))}" for field in dataclasses.fields(value)
        )
        return f"{{{fields}}}"
    return repr(value)


@render.register
def _(value: None) -> str:
    return "missing"


@render.register
def _(value: bool) -> str:
    return "true" if value else "false"


@render.register
def _(value: str) -> str:
    return str(value) if value else '""'


@render.register
def _(value: datetime) -> str:
    if value.tzinfo is None:
        return f"{value.isoformat()} (no time zone)"
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@render.register
def _(value: timedelta) -> str:
    return render_duration(value)


@render.register(tuple)
@render.register(list)
def _(value: tuple[object, ...] | list[object]) -> str:
    shown = ", ".join(render(item) for item in value[:8])
    more = f", … ({len(value)} in all)" if len(value) > 8 else ""
    return f"[{shown}{more}]"


@render.register
def _(value: dict) -> str:  # type: ignore[type-arg] # raw JSON mappings of a mistyped claim.
    return "{" + ", ".join(f"{key}: {render(item)}" for key, item in value.items()) + "}"


def render_duration(value: timedelta) -> str:
    """A duration in the policy syntax, e.g. ``2m5s``; negative durations keep their sign."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    parts = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, seconds)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")
