"""Expiring exceptions: ``equals X unless`` a named, dated, reasoned exception accepts another value.

Written inside a requirement::

    require:
      claim: cpu0.tcb_status
      equals: UpToDate
      unless:
        - value: SWHardeningNeeded
          advisory_ids: [INTEL-SA-00615]
          expires: 2027-01-31
          reason: Mitigated in the guest kernel; platform update scheduled for January.

An exception accepts the claim only while ``now`` is before ``expires`` (a bare date ends at 00:00
UTC that day), and, for a TCB status with advisory ids next to it (``cpu0.advisory_ids``), only when
every advisory id of the Evidence is named by the exception (``[]`` means "only with no advisories").
Some values can never be excepted: a revoked TCB and a revoked certificate.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from attestation.result import RevocationStatus, TcbStatus
from policies.contract import ClaimSpec, ClaimType
from policies.operands import INVALID, Scope, literal, parse_expiry
from policies.outcomes import render
from policies.problems import check_keys, expect_list, expect_mapping, expect_string
from policies.readers import fast_reader
from policies.request import PolicyInput

#: Values no exception may accept, whatever its expiry.
NEVER_EXCEPTED: frozenset[str] = frozenset({str(TcbStatus.REVOKED), str(RevocationStatus.CHECKED_REVOKED)})


@dataclass(frozen=True, slots=True)
class ExceptionEntry:
    """One exception: the value it accepts, until when, why, and (for TCB statuses) which advisories."""

    value: object
    expires: datetime
    reason: str
    advisory_ids: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class CompiledUnless:
    """The parts of an ``Operator`` that ``equals … unless`` provides."""

    expected: str
    test: Callable[[object, PolicyInput], bool | None]
    note: Callable[[object, PolicyInput], str]


def _advisory_sibling(spec: ClaimSpec, scope: Scope) -> ClaimSpec | None:
    if spec.kind is not ClaimType.ENUM or spec.per_gpu:
        return None
    sibling = scope.contract.get(f"{spec.parent}.advisory_ids")
    return sibling if sibling is not None and sibling.kind is ClaimType.STRING_LIST else None


@dataclass(frozen=True, slots=True)
class _Claim:
    """The claim an exception list belongs to: its spec, required value, and advisory-id sibling."""

    spec: ClaimSpec
    expected: object
    sibling: ClaimSpec | None


def _expiry(raw: object, where: str, scope: Scope) -> datetime | None:
    try:
        return parse_expiry(raw)
    except ValueError as exc:
        scope.report.add("policy.exception_invalid", f"{where}.expires: {exc}")
        return None


def _advisories(
    entry: Mapping[str, object], where: str, sibling: ClaimSpec, scope: Scope
) -> frozenset[str] | None:
    if "advisory_ids" not in entry:
        scope.report.add(
            "policy.exception_invalid",
            f"{where}: must list the advisory_ids it accepts (from {sibling.path}; [] for none)",
        )
        return None
    items = expect_list(entry["advisory_ids"], f"{where}.advisory_ids", scope.report)
    if items is None or not all(isinstance(item, str) and item for item in items):
        scope.report.add("policy.exception_invalid", f"{where}.advisory_ids must be a list of advisory ids")
        return None
    return frozenset(str(item) for item in items)


def _parse_entry(raw: object, index: int, claim: _Claim, scope: Scope) -> ExceptionEntry | None:
    """One exception; every problem of the entry is reported before giving up on it."""
    where = f"unless[{index}]"
    entry = expect_mapping(raw, where, scope.report)
    optional = ("advisory_ids",) if claim.sibling is not None else ()
    if entry is None or not check_keys(entry, where, ("value", "expires", "reason"), optional, scope.report):
        return None
    before = len(scope.report.problems)
    value = literal(claim.spec, entry["value"], f"{where}.value", scope)
    if value is not INVALID and str(value) in NEVER_EXCEPTED:
        scope.report.add("policy.exception_invalid", f"{where}: {render(value)} can never be excepted")
    elif value is not INVALID and value == claim.expected:
        scope.report.add(
            "policy.exception_invalid", f"{where}: {render(value)} is already the required value"
        )
    expires = _expiry(entry["expires"], where, scope)
    reason = expect_string(entry["reason"], f"{where}.reason", scope.report)
    advisories = None if claim.sibling is None else _advisories(entry, where, claim.sibling, scope)
    if len(scope.report.problems) > before or expires is None or reason is None:
        return None
    return ExceptionEntry(value, expires, reason, advisories)


def compile_unless(
    spec: ClaimSpec, expected: object, unless: object, conforms: Callable[[object], bool], scope: Scope
) -> CompiledUnless | None:
    """Compile ``equals expected unless [...]``; None after reporting problems."""
    items = expect_list(unless, "unless", scope.report)
    if items is None:
        return None
    sibling = _advisory_sibling(spec, scope)
    claim = _Claim(spec, expected, sibling)
    entries = [_parse_entry(raw, index, claim, scope) for index, raw in enumerate(items)]
    if any(entry is None for entry in entries):
        return None
    exceptions = tuple(entry for entry in entries if entry is not None)
    read_advisories = fast_reader(sibling) if sibling is not None else None
    if sibling is not None and exceptions:
        # The advisory ids are read only through exceptions; with none, the rule never reads them.
        scope.reads.add(sibling.path)

    def covering(value: object, request: PolicyInput) -> tuple[ExceptionEntry | None, str]:
        # Typed as a datetime, but a hand-written input may hold anything: check, do not trust.
        now: object = request.now
        if not isinstance(now, datetime) or now.tzinfo is None:
            return None, "now is missing or has no time zone"
        reasons = []
        for exception in exceptions:
            if value != exception.value:
                continue
            if now >= exception.expires:
                reasons.append(f"the exception for {render(value)} expired {render(exception.expires)}")
                continue
            if exception.advisory_ids is None or read_advisories is None:
                return exception, ""
            found = read_advisories(request)
            if type(found) is not tuple or not all(isinstance(item, str) for item in found):
                reasons.append("the advisory ids are missing or mistyped")
                continue
            extra = sorted(set(found) - exception.advisory_ids)
            if not extra:
                return exception, ""
            reasons.append(f"advisories not named by the exception: {', '.join(extra)}")
        return None, "; ".join(reasons) or f"no exception names {render(value)}"

    def test(value: object, request: PolicyInput) -> bool | None:
        if value is None or not conforms(value):
            return None
        if value == expected:
            return True
        return covering(value, request)[0] is not None

    def note(value: object, request: PolicyInput) -> str:
        if value == expected:
            return ""
        exception, why_not = covering(value, request)
        if exception is None:
            return why_not
        return f"accepted by an exception until {render(exception.expires)}: {exception.reason}"

    listed = "; ".join(_describe(exception) for exception in exceptions) or "none"
    return CompiledUnless(f"equals {render(expected)} unless excepted (exceptions: {listed})", test, note)


def _describe(exception: ExceptionEntry) -> str:
    advisories = (
        ""
        if exception.advisory_ids is None
        else f" with advisories [{', '.join(sorted(exception.advisory_ids))}]"
    )
    return f"{render(exception.value)}{advisories} until {render(exception.expires)}"
