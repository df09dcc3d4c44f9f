"""Every bad policy is rejected on load with a problem naming the file, the rule and what is wrong."""

from dataclasses import dataclass

import pytest

from policies import PolicyInvalidError, parse_document
from policies.compiler import load_document
from policies.yaml_source import MAX_DOCUMENT_BYTES
from tests.policies.policy_helpers import HEADER, default_sets, reference_set, rules_document


@dataclass(frozen=True)
class Bad:
    """A bad document, the problem code it must produce, the rule it must name, and words it must say."""

    document: bytes
    code: str
    rule: str | None
    says: tuple[str, ...]


def _rule(require: str, *, when: str | None = None, rule_id: str = "r1") -> bytes:
    scope = f"\n  when: {when}" if when is not None else ""
    return rules_document(f"- id: {rule_id}{scope}\n  require: {require}\n  message: m")


BAD_POLICIES = {
    "a misspelled claim path, with a did-you-mean": Bad(
        _rule("{claim: cpu0.snp.vmlp, equals: 0}"),
        "policy.unknown_path",
        "r1",
        ("cpu0.snp.vmlp", "cpu0.snp.vmpl"),
    ),
    "an NVIDIA claim written without its prefix": Bad(
        _rule("{all_gpus: {claim: gpu.driver-version, version_at_least: '550.90.07'}}"),
        "policy.unknown_path",
        "r1",
        ("gpu.x-nvidia-gpu-driver-version",),
    ),
    "a string compared with a number": Bad(
        _rule("{claim: cpu0.snp.vmpl, equals: 'zero'}"), "policy.operand_type", "r1", ("integer", "'zero'")
    ),
    "a decimal-looking number that YAML would read as a float": Bad(
        _rule("{claim: cpu0.snp.vmpl, at_most: 1.5}"), "policy.operand_type", "r1", ("'1.5'",)
    ),
    "a boolean compared with a string": Bad(
        _rule("{claim: cpu0.debug, equals: 'no'}"), "policy.operand_type", "r1", ("boolean",)
    ),
    "a version comparison on an integer claim": Bad(
        _rule("{claim: cpu0.snp.vmpl, version_at_least: '1.0'}"), "policy.operator_type", "r1", ("usable:",)
    ),
    "an unknown operator, with a did-you-mean": Bad(
        _rule("{claim: cpu0.debug, equal: false}"), "policy.unknown_operator", "r1", ("'equal'", "'equals'")
    ),
    "an operator that does not apply to the claim's type": Bad(
        _rule("{claim: cpu0.debug, at_least: 1}"), "policy.operator_type", "r1", ("cpu0.debug", "boolean")
    ),
    "an enum value misspelled": Bad(
        _rule("{claim: cpu0.tcb_status, equals: uptodate}"), "policy.operand_value", "r1", ("'UpToDate'",)
    ),
    "an empty list": Bad(_rule("{claim: cpu0.tee, in: []}"), "policy.operand_value", "r1", ("empty list",)),
    "two operators in one requirement": Bad(
        _rule("{claim: cpu0.debug, equals: false, not_equals: true}"),
        "policy.bad_condition",
        "r1",
        ("one operator",),
    ),
    "a requirement without a subject": Bad(
        _rule("{equals: false}"), "policy.bad_condition", "r1", ("subject",)
    ),
    "a requirement without an operator": Bad(
        _rule("{claim: cpu0.debug}"), "policy.bad_condition", "r1", ("no operator",)
    ),
    "a GPU claim read outside a GPU quantifier": Bad(
        _rule("{claim: gpu.measres, equals: success}"), "policy.path_scope", "r1", ("all_gpus",)
    ),
    "a CPU claim read inside all_gpus": Bad(
        _rule("{all_gpus: {claim: cpu0.debug, equals: false}}"), "policy.path_scope", "r1", ("gpu.",)
    ),
    "a when scope on an unknown label path": Bad(
        _rule("{claim: node.region, in: [eu-west-1]}", when="{claim: artefact.label, contains: pii}"),
        "policy.unknown_path",
        "r1",
        ("artefact.label", "artefact.labels"),
    ),
    "an unknown reference-value set": Bad(
        _rule("{claim: node.region, in: {set: eu-regoins}}"),
        "policy.unknown_reference_set",
        "r1",
        ("eu-regoins",),
    ),
    "a reference-value set of the wrong kind": Bad(
        _rule("{claim: node.region, in: {set: gpu-driver-minimums}}"),
        "policy.reference_set_type",
        "r1",
        ("strings",),
    ),
    "a bad duration": Bad(
        _rule("{evidence_age: {at_most: 2 minutes}}"), "policy.operand_type", "r1", ("not a duration",)
    ),
    "a bad version": Bad(
        _rule("{all_gpus: {claim: gpu.x-nvidia-gpu-driver-version, version_at_least: 550.9O.07}}"),
        "policy.operand_value",
        "r1",
        ("decimal version",),
    ),
    "a hexadecimal VBIOS component where decimal is expected": Bad(
        _rule("{all_gpus: {claim: gpu.x-nvidia-gpu-driver-version, version_at_least: 96.00.9F}}"),
        "policy.operand_value",
        "r1",
        ("'9F'",),
    ),
    "an unknown TCB component": Bad(
        _rule("{claim: cpu0.snp.reported_tcb, tcb_at_least: {microcod: 200}}"),
        "policy.unknown_key",
        "r1",
        ("'microcod'", "'microcode'"),
    ),
    "a claim compared with a claim of another type": Bad(
        _rule("{claim: release.count, below: {claim: now}}"),
        "policy.operand_type",
        "r1",
        ("cannot be compared",),
    ),
    "an exception that would accept a revoked TCB": Bad(
        _rule(
            "{claim: cpu0.tcb_status, equals: UpToDate, unless: [{value: Revoked, advisory_ids: [], "
            "expires: 2027-01-31, reason: r}]}"
        ),
        "policy.exception_invalid",
        "r1",
        ("never be excepted",),
    ),
    "an exception that would accept a revoked certificate": Bad(
        _rule(
            "{claim: cpu0.cert_chain.x-nvidia-cert-ocsp-status, equals: checked-good, unless: "
            "[{value: checked-revoked, expires: 2027-01-31, reason: r}]}"
        ),
        "policy.exception_invalid",
        "r1",
        ("never be excepted",),
    ),
    "a TCB exception that does not name its advisories": Bad(
        _rule(
            "{claim: cpu0.tcb_status, equals: UpToDate, unless: [{value: OutOfDate, expires: 2027-01-31, "
            "reason: r}]}"
        ),
        "policy.exception_invalid",
        "r1",
        ("advisory_ids",),
    ),
    "an exception without a usable expiry": Bad(
        _rule(
            "{claim: cpu0.tcb_status, equals: UpToDate, unless: [{value: OutOfDate, advisory_ids: [], "
            "expires: next year, reason: r}]}"
        ),
        "policy.exception_invalid",
        "r1",
        ("expires",),
    ),
    "exceptions after an operator other than equals": Bad(
        _rule("{claim: cpu0.tee, in: [snp], unless: []}"), "policy.unknown_key", "r1", ("unless",)
    ),
    "a duplicate rule id": Bad(
        rules_document(
            "- {id: same, require: {claim: cpu0.debug, equals: false}, message: a}\n"
            "- {id: same, require: {claim: cpu0.simulated, equals: false}, message: b}"
        ),
        "policy.duplicate_rule_id",
        "same",
        ("'same'",),
    ),
    "an empty rule list": Bad(
        (HEADER.removesuffix("  rules:\n") + "  rules: []\n").encode(), "policy.empty_rules", None, ("empty",)
    ),
    "a rule id that is not kebab-case": Bad(
        rules_document("- {id: Rule One, require: {claim: cpu0.debug, equals: false}, message: a}"),
        "policy.bad_rule_id",
        "Rule One",
        ("lowercase",),
    ),
    "a misspelled rule key": Bad(
        rules_document("- {id: r1, require: {claim: cpu0.debug, equals: false}, mesage: a}"),
        "policy.unknown_key",
        "r1",
        ("'mesage'", "'message'"),
    ),
    "an unknown top-level key": Bad(
        HEADER.replace("spec:", "specs: {}\nspec:").encode()
        + b"    - {id: r, require: {claim: now, exists: true}, message: m}\n",
        "policy.unknown_key",
        None,
        ("'specs'", "'spec'"),
    ),
    "another apiVersion": Bad(
        HEADER.replace("ccgate/v1", "ccgate/v2").encode()
        + b"    - {id: r, require: {claim: now, exists: true}, message: m}\n",
        "policy.api_version",
        None,
        ("ccgate/v1",),
    ),
    "a misspelled kind": Bad(
        HEADER.replace("ReleasePolicy", "ReleasePolcy").encode()
        + b"    - {id: r, require: {claim: now, exists: true}, message: m}\n",
        "policy.unknown_kind",
        None,
        ("'ReleasePolicy'",),
    ),
    "YAML that is not a mapping": Bad(b"- id: r1\n- id: r2\n", "policy.not_a_mapping", None, ("list",)),
    "an empty document": Bad(b"", "policy.not_a_mapping", None, ("empty",)),
    "YAML that does not parse": Bad(b"spec: [unclosed\n", "policy.yaml_invalid", None, ("not valid YAML",)),
    "a huge document, refused before parsing": Bad(
        b"# " + b"x" * MAX_DOCUMENT_BYTES + b"\n[", "policy.too_large", None, (str(MAX_DOCUMENT_BYTES),)
    ),
    "an alias bomb": Bad(
        b"a: &a [x, x, x, x, x, x, x, x, x]\n"
        b"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        b"c: [*b, *b, *b, *b]\n",
        "policy.yaml_alias",
        None,
        ("aliases",),
    ),
    "a duplicated key that would silently override the first": Bad(
        _rule("{claim: cpu0.debug, equals: false, equals: true}"), "policy.duplicate_key", None, ("'equals'",)
    ),
    "an unchecked entry for a claim that does not exist": Bad(
        rules_document("- {id: r1, require: {claim: cpu0.debug, equals: false}, message: m}")
        + b"  unchecked: [{claim: cpu0.simulatd, reason: r}]\n",
        "policy.unknown_path",
        None,
        ("cpu0.simulated",),
    ),
    "an unchecked entry for a claim a rule checks": Bad(
        rules_document("- {id: r1, require: {claim: cpu0.debug, equals: false}, message: m}")
        + b"  unchecked: [{claim: cpu0.debug, reason: r}]\n",
        "policy.unchecked_but_checked",
        None,
        ("cpu0.debug",),
    ),
    "a test expecting a rule the policy lacks": Bad(
        rules_document("- {id: r1, require: {claim: cpu0.debug, equals: false}, message: m}")
        + b"  tests: {inputs: {a: {now: '2026-01-01T00:00:00Z'}},\n"
        + b"          cases: [{name: c, input: a, expect: {deny: [r2]}}]}\n",
        "policy.test_invalid",
        None,
        ("r2",),
    ),
    "a test on an input that does not exist": Bad(
        rules_document("- {id: r1, require: {claim: cpu0.debug, equals: false}, message: m}")
        + b"  tests: {inputs: {}, cases: [{name: c, input: nowhere, expect: allow}]}\n",
        "policy.test_invalid",
        None,
        ("nowhere",),
    ),
}


def _problems(document: bytes) -> PolicyInvalidError:
    with pytest.raises(PolicyInvalidError) as caught:
        load_document(document, "bad.yaml", default_sets())
    return caught.value


@pytest.mark.parametrize("bad", BAD_POLICIES.values(), ids=BAD_POLICIES.keys())
def test_a_bad_policy_is_rejected_naming_the_file_the_rule_and_the_problem(bad: Bad) -> None:
    problems = _problems(bad.document).problems
    matching = [problem for problem in problems if problem.code == bad.code]
    assert matching, f"no {bad.code} among {[str(problem) for problem in problems]}"
    problem = matching[0]
    assert problem.source == "bad.yaml"
    assert problem.rule == bad.rule
    for words in bad.says:
        assert words in problem.message, str(problem)
    assert str(problem).startswith("bad.yaml: ")


def test_every_problem_of_a_document_is_listed_at_once() -> None:
    document = rules_document(
        """
        - {id: one, require: {claim: cpu0.snp.vmlp, equals: 0}, message: m}
        - {id: two, require: {claim: cpu0.debug, equal: false}, message: m}
        - {id: three, require: {claim: node.region, in: {set: nowhere}}, message: m}
        - {id: three, require: {claim: cpu0.debug, equals: false}}
        """
    )
    problems = _problems(document).problems
    found = {(problem.rule, problem.code) for problem in problems}
    assert ("one", "policy.unknown_path") in found
    assert ("two", "policy.unknown_operator") in found
    assert ("three", "policy.unknown_reference_set") in found
    assert ("three", "policy.duplicate_rule_id") in found
    assert ("three", "policy.missing_key") in found


def test_the_error_message_summarises_the_problems() -> None:
    error = _problems(_rule("{claim: cpu0.snp.vmlp, equals: 0}"))
    assert error.code == "policy.invalid"
    assert "cpu0.snp.vmlp" in str(error)


def test_a_reference_set_that_does_not_fit_the_rule_is_reported_against_the_rule() -> None:
    broken = reference_set("gpu-driver-minimums", "version-minimums", "[550.90.07, 550.54.14]")
    driver = "gpu.x-nvidia-gpu-driver-version"
    document = _rule(f"{{all_gpus: {{claim: {driver}, version_at_least: {{set: gpu-driver-minimums}}}}}}")
    with pytest.raises(PolicyInvalidError) as caught:
        load_document(document, "bad.yaml", default_sets(broken))
    problem = caught.value.problems[0]
    assert (problem.rule, problem.code) == ("r1", "policy.operand_value")
    assert "two minimums" in problem.message


BAD_REFERENCE_SETS = {
    "an unknown type": (b"spec: {type: numbers, values: [1]}", "policy.reference_set_type"),
    "a value that is not a string": (b"spec: {type: strings, values: [1]}", "policy.operand_type"),
    "a duplicated value": (b"spec: {type: strings, values: [a, a]}", "policy.duplicate_value"),
    "an unknown TCB component": (
        b"spec: {type: snp-tcb-minimums, values: {Milan: {ucode: 1}}}",
        "policy.unknown_key",
    ),
    "a TCB component out of range": (
        b"spec: {type: snp-tcb-minimums, values: {Milan: {microcode: 256}}}",
        "policy.operand_type",
    ),
}


@pytest.mark.parametrize(("spec", "code"), BAD_REFERENCE_SETS.values(), ids=BAD_REFERENCE_SETS.keys())
def test_a_bad_reference_set_is_rejected(spec: bytes, code: str) -> None:
    document = (
        b"apiVersion: ccgate/v1\nkind: ReferenceValues\nmetadata: {name: s, version: 1}\n" + spec + b"\n"
    )
    with pytest.raises(PolicyInvalidError) as caught:
        parse_document(document, "set.yaml")
    assert code in {problem.code for problem in caught.value.problems}


def test_a_reference_set_needs_a_version() -> None:
    header = b"apiVersion: ccgate/v1\nkind: ReferenceValues\n"
    document = header + b"metadata: {name: s}\nspec: {type: strings, values: []}\n"
    with pytest.raises(PolicyInvalidError) as caught:
        parse_document(document, "set.yaml")
    assert "version" in str(caught.value)
