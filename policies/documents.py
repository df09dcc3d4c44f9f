"""Policy documents: ``kind: ReleasePolicy`` and ``kind: ReferenceValues``, read into frozen types.

A release policy reads like this (DESIGN §8)::

    apiVersion: ccgate/v1
    kind: ReleasePolicy
    metadata: {name: patients-eu, description: Patient data stays in the EU.}
    spec:
      rules:
        - id: eu-regions-only
          when: {claim: artefact.labels, contains: pii}
          require: {claim: node.region, in: {set: eu-regions}}
          message: Artefacts labelled pii are released only to nodes in EU regions.
      unchecked:                      # optional: claims deliberately not checked, and why
        - {claim: job.purpose, reason: Any purpose is acceptable for this dataset.}
      tests: {...}                    # optional: see policies.test_cases

Here the document's shape is checked (keys, types, ids); the compiler then checks every condition
against the claims contract. The digest is SHA-256 over the canonical JSON of the whole document.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from attestation.canonical import canonical_digest
from policies.problems import (
    Reporter,
    check_keys,
    did_you_mean,
    expect_list,
    expect_mapping,
    expect_string,
    type_name,
)
from policies.reference_values import ReferenceSet, parse_reference_spec
from policies.yaml_source import as_json_value, load_yaml_mapping

API_VERSION = "ccgate/v1"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}$")
RULE_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class DocumentKind(StrEnum):
    """The kinds of document ccgate reads."""

    RELEASE_POLICY = "ReleasePolicy"
    REFERENCE_VALUES = "ReferenceValues"


@dataclass(frozen=True, slots=True)
class RuleDocument:
    """One rule as written: id, optional scope (``when``, all must hold), one requirement, message."""

    id: str
    message: str
    when: tuple[Mapping[str, object], ...]
    require: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class UncheckedClaim:
    """A claim (or a record of claims) the policy deliberately does not check, and why."""

    path: str
    reason: str


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A release policy whose shape is valid; its conditions are checked by the compiler."""

    name: str
    description: str
    source: str
    digest: str
    rules: tuple[RuleDocument, ...]
    unchecked: tuple[UncheckedClaim, ...]
    tests: Mapping[str, object] | None


def parse_document(data: bytes, source: str) -> PolicyDocument | ReferenceSet:
    """Read one policy or reference-values document, checking its shape.

    Raises:
        PolicyInvalidError: with every problem found (size, YAML, unknown or missing keys, wrong
            types, bad ids, duplicate rule ids, an empty rule list, ...), each naming file and rule.
    """
    return read_document(load_yaml_mapping(data, source), source)


def read_document(raw: Mapping[str, object], source: str) -> PolicyDocument | ReferenceSet:
    """``parse_document`` for a mapping that is already loaded (an inline document in a test suite).

    Raises:
        PolicyInvalidError: as ``parse_document``.
    """
    report = Reporter(source)
    document = read_document_into(raw, source, report)
    report.raise_if_any()
    if document is None:  # pragma: no cover - a None always comes with a reported problem.
        raise AssertionError("document rejected without a problem")
    return document


def read_document_into(
    raw: Mapping[str, object], source: str, report: Reporter
) -> PolicyDocument | ReferenceSet | None:
    """Read a document, adding its problems to ``report`` instead of raising.

    A policy comes back even when some of its rules are broken (those rules are left out), so the
    compiler can go on to report the problems of the others in the same pass. None when the
    document's kind cannot be known.
    """
    return _parse(raw, source, report)


def _parse(raw: Mapping[str, object], source: str, report: Reporter) -> PolicyDocument | ReferenceSet | None:
    check_keys(raw, "the document", ("apiVersion", "kind", "metadata", "spec"), (), report)
    if "apiVersion" in raw and raw["apiVersion"] != API_VERSION:
        report.add("policy.api_version", f"apiVersion must be {API_VERSION!r}, not {raw['apiVersion']!r}")
    kinds = [str(kind) for kind in DocumentKind]
    kind = raw.get("kind")
    if kind is not None and kind not in kinds:
        hint = did_you_mean(str(kind), kinds)
        report.add("policy.unknown_kind", f"kind must be one of {', '.join(kinds)}, not {kind!r}{hint}")
    metadata = expect_mapping(raw.get("metadata", {}), "metadata", report) or {}
    spec = expect_mapping(raw.get("spec", {}), "spec", report) or {}
    is_policy = kind == DocumentKind.RELEASE_POLICY
    required = ("name",) if is_policy else ("name", "version")
    check_keys(metadata, "metadata", required, _metadata_optional(is_policy), report)
    name = _name(metadata.get("name"), report) or ""
    description = metadata.get("description", "")
    if not isinstance(description, str):
        report.add(
            "policy.wrong_type", f"metadata.description must be a string, not {type_name(description)}"
        )
        description = ""
    version = metadata.get("version")
    if (version is not None or not is_policy) and (type(version) is not int or version < 1):
        report.add("policy.wrong_type", f"metadata.version must be an integer ≥ 1, not {version!r}")
        return None
    if kind == DocumentKind.REFERENCE_VALUES and isinstance(version, int):
        return parse_reference_spec(
            spec,
            name=name,
            version=version,
            description=description,
            document=raw,
            source=source,
            report=report,
        )
    if not is_policy:
        return None
    return _policy(raw, spec, source, report, name=name, description=description)


def _policy(
    raw: Mapping[str, object],
    spec: Mapping[str, object],
    source: str,
    report: Reporter,
    *,
    name: str,
    description: str,
) -> PolicyDocument:
    check_keys(spec, "spec", ("rules",), ("tests", "unchecked"), report)
    rules = _rules(spec.get("rules"), report)
    unchecked = _unchecked(spec.get("unchecked", []), report)
    tests = spec.get("tests")
    if tests is not None and not isinstance(tests, dict):
        report.add("policy.wrong_type", f"spec.tests must be a mapping, not {type_name(tests)}")
        tests = None
    digest = canonical_digest(as_json_value(raw))
    return PolicyDocument(name, description, source, digest, rules, unchecked, tests)


def _metadata_optional(is_policy: bool) -> tuple[str, ...]:
    return ("description", "version") if is_policy else ("description",)


def _name(value: object, report: Reporter) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        report.add(
            "policy.bad_name",
            f"metadata.name must be lowercase letters, digits, '.' and '-' (at most 63), not {value!r}",
        )
        return None
    return value


def _rules(raw: object, report: Reporter) -> tuple[RuleDocument, ...]:
    if raw is None:
        return ()
    items = expect_list(raw, "spec.rules", report)
    if items is None:
        return ()
    if not items:
        report.add("policy.empty_rules", "spec.rules is empty; a policy without rules would deny everything")
        return ()
    rules: list[RuleDocument] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        raw_id = item.get("id") if isinstance(item, dict) else None
        label = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
        rule_report = report.for_rule(label)
        mapping = expect_mapping(item, "the rule", rule_report)
        if mapping is None:
            continue
        check_keys(mapping, "the rule", ("id", "require", "message"), ("when",), rule_report)
        rule_id = expect_string(mapping.get("id"), "id", rule_report) if "id" in mapping else None
        if rule_id is not None and not RULE_ID_PATTERN.fullmatch(rule_id):
            rule_report.add(
                "policy.bad_rule_id", "rule ids are lowercase letters, digits and '-' (at most 64)"
            )
            rule_id = None
        if rule_id is not None:
            if rule_id in seen:
                rule_report.add("policy.duplicate_rule_id", f"the rule id {rule_id!r} is used more than once")
            seen.add(rule_id)
        message = (
            expect_string(mapping.get("message"), "message", rule_report) if "message" in mapping else None
        )
        require = (
            expect_mapping(mapping.get("require"), "require", rule_report) if "require" in mapping else None
        )
        when = _when(mapping.get("when"), rule_report)
        if rule_id is not None and message is not None and require is not None and when is not None:
            rules.append(RuleDocument(rule_id, message, when, require))
    return tuple(rules)


def _when(raw: object, report: Reporter) -> tuple[Mapping[str, object], ...] | None:
    if raw is None:
        return ()
    if isinstance(raw, dict):
        return (raw,)
    if isinstance(raw, list) and raw and all(isinstance(item, dict) for item in raw):
        return tuple(raw)
    report.add(
        "policy.wrong_type",
        f"when must be a condition or a non-empty list of conditions, not {type_name(raw)}",
    )
    return None


def _unchecked(raw: object, report: Reporter) -> tuple[UncheckedClaim, ...]:
    items = expect_list(raw, "spec.unchecked", report)
    entries: list[UncheckedClaim] = []
    for index, item in enumerate(items or []):
        where = f"spec.unchecked[{index}]"
        mapping = expect_mapping(item, where, report)
        if mapping is None or not check_keys(mapping, where, ("claim", "reason"), (), report):
            continue
        path = expect_string(mapping["claim"], f"{where}.claim", report)
        reason = expect_string(mapping["reason"], f"{where}.reason", report)
        if path is not None and reason is not None:
            entries.append(UncheckedClaim(path, reason))
    return tuple(entries)
