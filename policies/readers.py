"""Reading claims from the typed input: fast attribute getters, a careful reader, and type checks.

Each contract path is resolved once, at compile time, to a chain of attribute names, and read with
``operator.attrgetter`` (C code) on every decision: no dict of claims is built per decision. The
careful reader walks the same chain step by step; it is used to explain a failure (which step was
missing, or held a value of the wrong type) and wherever a missing value could make a test pass.
"""

from collections.abc import Callable
from datetime import datetime
from operator import attrgetter

from policies.contract import TCB_RECORD, ClaimSpec, ClaimType
from policies.outcomes import State, render
from policies.problems import with_article

Reader = Callable[[object], object]


def fast_reader(spec: ClaimSpec) -> Reader:
    """A getter for ``spec`` on its subject (the input, or one GPU); None when a step is missing.

    A step holding a value of the wrong type also reads as None here; callers that must tell the
    two apart (``exists: false``) use ``careful_read``.
    """
    getter = attrgetter(".".join(spec.attributes))

    def read(subject: object) -> object:
        try:
            return getter(subject)
        except AttributeError:
            return None

    return read


def raw_getter(spec: ClaimSpec) -> Callable[[object], object]:
    """The bare ``attrgetter`` (raises AttributeError on a missing step); for the vectorised GPU loops."""
    return attrgetter(".".join(spec.attributes))


def careful_value(subject: object, attributes: tuple[str, ...]) -> tuple[object, State]:
    """Walk ``attributes`` step by step: (value, PASS) when every step was there, else MISSING or
    MISTYPED (a step that is not a record). Renders nothing, so it is cheap enough for the fast path."""
    value: object = subject
    for attribute in attributes:
        if value is None:
            return None, State.MISSING
        try:
            value = getattr(value, attribute)
        except AttributeError:
            return None, State.MISTYPED
    return value, (State.MISSING if value is None else State.PASS)


def careful_read(
    subject: object, spec: ClaimSpec, conforms: Callable[[object], bool]
) -> tuple[object, State, str]:
    """Read ``spec`` step by step: (value, MISSING / MISTYPED / PASS-as-present, what was wrong).

    The state is PASS when the value is present and of the claim's type (the operator decides the
    rest); the text says which step was missing or mistyped.
    """
    value: object = subject
    for depth, attribute in enumerate(spec.attributes):
        if value is None:
            return None, State.MISSING, "missing"
        try:
            value = getattr(value, attribute)
        except AttributeError:
            step = ".".join(spec.path.split(".")[: depth + 1]) if depth else spec.path.split(".")[0]
            return None, State.MISTYPED, f"mistyped: {step} is {render(value)}, not a record"
    if value is None:
        return None, State.MISSING, "missing"
    if not conforms(value):
        shown = f"{value!r}" if isinstance(value, str) else render(value)
        return (
            value,
            State.MISTYPED,
            f"mistyped: {shown} ({type(value).__name__}) is not {with_article(spec.describe_type())}",
        )
    if spec.kind is ClaimType.RECORD and spec.record is not TCB_RECORD:
        # A whole record (cpu0.snp) is too long to show; what matters is that it is there.
        return value, State.PASS, f"present ({spec.describe_type()})"
    return value, State.PASS, render(value)


def conformer(spec: ClaimSpec) -> Callable[[object], bool]:
    """The runtime type check of a claim: True when a value really has the claim's type.

    Booleans are not integers here (``vmpl: false`` must not pass ``equals: 0``), an enum claim
    accepts only its enum's values, and timestamps must carry a time zone.
    """
    simple = _SIMPLE_CONFORMERS.get(spec.kind)
    if simple is not None:
        return simple
    if spec.kind is ClaimType.ENUM and spec.enum is not None:
        values = frozenset(str(member) for member in spec.enum)
        return lambda value: isinstance(value, str) and value in values
    record = spec.record
    if spec.kind is ClaimType.RECORD_LIST and record is not None:
        return lambda value: type(value) is tuple and all(isinstance(item, record) for item in value)
    if spec.kind is ClaimType.RECORD and record is not None:
        return lambda value: isinstance(value, record)
    return lambda value: value is not None


_SIMPLE_CONFORMERS: dict[ClaimType, Callable[[object], bool]] = {
    ClaimType.BOOLEAN: lambda value: value is True or value is False,
    ClaimType.INTEGER: lambda value: type(value) is int,
    ClaimType.STRING: lambda value: isinstance(value, str),
    ClaimType.TIMESTAMP: lambda value: isinstance(value, datetime) and value.tzinfo is not None,
    ClaimType.STRING_LIST: lambda value: (
        type(value) is tuple and all(isinstance(item, str) for item in value)
    ),
}
