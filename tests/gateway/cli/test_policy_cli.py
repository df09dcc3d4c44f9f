"""``ccgate policy …`` as a security team uses it: check, test, explain, and their exit codes."""

import json
from pathlib import Path

import pytest

from gateway.cli.main import main
from policies import input_document
from policies.baselines import baseline_text
from policies.samples import SAMPLE_NOW, sample_input
from tests.gateway.cli.cli_runner import ccgate
from tests.policies.policy_helpers import reference_set_document, rules_document
from tests.policies.test_validation import BAD_POLICIES, Bad


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run the real entry point in this process (fast); (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exited:
        main([str(arg) for arg in args])
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), captured.out, captured.err


@pytest.fixture
def runners(tmp_path: Path) -> Path:
    path = tmp_path / "runners.yaml"
    values = input_document(sample_input(SAMPLE_NOW, gpus=1))["cpu0"]
    assert isinstance(values, dict)
    path.write_bytes(reference_set_document("runner-measurements", "strings", f"[{values['measurement']}]"))
    return path


def test_baseline_prints_the_bundled_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "baseline", "production")
    assert code == 0
    assert out.encode() == baseline_text("production")


def test_an_unknown_baseline_is_one_line_with_a_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "policy", "baseline", "prod")
    assert code == 1
    assert err.startswith("ccgate: policy.baseline_unknown: ")
    assert "development, production" in err


def test_reference_values_lists_and_prints_the_bundled_sets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "policy", "reference-values")
    assert code == 0
    assert "gpu-driver-minimums v1 (version-minimums)" in out
    code, out, _ = run(capsys, "policy", "reference-values", "snp-tcb-minimums")
    assert code == 0
    assert "kind: ReferenceValues" in out


def test_check_accepts_the_baselines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "policy", "check", "baseline:production", "baseline:development")
    assert code == 0, err
    assert "baseline:production: ok: policy production, 47 rules, sha256 " in out


def test_check_lists_every_problem_of_every_file_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first = tmp_path / "first.yaml"
    first.write_bytes(
        rules_document(
            """
            - {id: typo, require: {claim: cpu0.snp.vmlp, equals: 0}, message: m}
            - {id: number, require: {claim: cpu0.snp.vmpl, equals: zero}, message: m}
            - {id: operator, require: {claim: cpu0.debug, equal: false}, message: m}
            - id: scope
              when: {claim: artefact.label, contains: pii}
              require: {claim: node.region, equals: x}
              message: m
            - {id: set, require: {claim: node.region, in: {set: eu-regions}}, message: m}
            """
        )
    )
    second = tmp_path / "second.yaml"
    second.write_bytes(b"- just\n- a list\n")
    code, _, err = run(capsys, "policy", "check", first, second)
    assert code == 1
    lines = err.strip().splitlines()
    for rule, problem in [
        ("typo", "did you mean 'cpu0.snp.vmpl'"),
        ("number", "cannot be compared"),
        ("operator", "did you mean 'equals'"),
        ("scope", "did you mean 'artefact.labels'"),
        ("set", "no reference-value set named 'eu-regions'"),
    ]:
        assert any(line.startswith(f"{first}: rule {rule}: ") and problem in line for line in lines), (
            rule,
            err,
        )
    assert any(line.startswith(f"{second}: ") and "must be a mapping" in line for line in lines)
    assert lines[-1] == "ccgate: policy.invalid: 6 problem(s) in 2 of 2 file(s)"


@pytest.fixture
def eu_policy(tmp_path: Path) -> tuple[Path, Path]:
    """A policy reading the ``eu-regions`` reference set, and that set in its own file."""
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(
        rules_document("- {id: eu, require: {claim: node.region, in: {set: eu-regions}}, message: m}")
    )
    regions = tmp_path / "regions.yaml"
    regions.write_bytes(reference_set_document("eu-regions", "strings", "[eu-west-1]"))
    return policy, regions


def test_check_uses_reference_values_given_alongside(
    capsys: pytest.CaptureFixture[str], eu_policy: tuple[Path, Path]
) -> None:
    policy, regions = eu_policy
    code, out, err = run(capsys, "policy", "check", policy, regions)
    assert code == 0, err
    assert "reference values eu-regions v1 (strings)" in out


def test_test_runs_both_baselines_embedded_tests(capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("development", "production"):
        code, out, err = run(capsys, "policy", "test", f"baseline:{name}", "--require-coverage")
        assert code == 0, err
        assert " 0 failed" in out
        assert "was exercised both ways" in out


def test_test_with_vectors_reports_mismatches_and_unexercised_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(
        rules_document(
            """
            - {id: no-debug, require: {claim: cpu0.debug, equals: false}, message: m}
            - {id: eu, require: {claim: node.region, in: [eu-west-1]}, message: m}
            """
        )
    )
    vectors = tmp_path / "vectors.json"
    vectors.write_text(
        json.dumps(
            {
                "inputs": {"node": input_document(sample_input(SAMPLE_NOW, gpus=1))},
                "cases": [
                    {"name": "healthy", "input": "node", "expect": "allow"},
                    {
                        "name": "debug",
                        "input": "node",
                        "set": {"cpu0.debug": True},
                        "expect": {"deny": ["no-debug"]},
                    },
                    {
                        "name": "wrong",
                        "input": "node",
                        "set": {"cpu0.debug": True},
                        "expect": {"deny": ["eu"]},
                    },
                ],
            }
        )
    )
    code, out, err = run(capsys, "policy", "test", policy, "--vectors", vectors)
    assert code == 1
    assert "FAIL  wrong" in out
    assert "did not fail: eu; also failed: no-debug" in out
    assert "eu: never failed" in out
    assert err.strip() == "ccgate: policy.test_failed: 1 of 3 case(s) did not match"


def test_test_without_any_case_fails(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(rules_document("- {id: r, require: {claim: cpu0.debug, equals: false}, message: m}"))
    code, _, err = run(capsys, "policy", "test", policy)
    assert code == 1
    assert "policy.no_tests" in err


def test_explain_shows_every_rule_and_exits_0_when_allowed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runners: Path
) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(input_document(sample_input(SAMPLE_NOW, gpus=8))))
    code, out, err = run(capsys, "policy", "explain", "baseline:production", "--input", path, "-r", runners)
    assert code == 0, err
    assert "ALLOW, all 47 rules hold" in out
    assert "n/a   tdx-debug-disabled" in out
    assert "pass  gpu-driver-minimum" in out


def test_explain_names_each_failed_rule_with_what_was_found(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, runners: Path
) -> None:
    document = input_document(sample_input(SAMPLE_NOW, gpus=2))
    gpu1 = document["gpu1"]
    assert isinstance(gpu1, dict)
    gpu1["x-nvidia-gpu-driver-version"] = "535.104.05"
    del gpu1["secboot"]
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    code, out, err = run(
        capsys, "policy", "explain", "baseline:production", "--input", path, "-r", runners, "--json"
    )
    assert code == 1
    explained = json.loads(out)
    assert explained["decision"] == "deny"
    failures = {failure["rule"]: failure for failure in explained["failures"]}
    assert set(failures) == {"gpu-driver-minimum", "gpu-secure-boot"}
    assert failures["gpu-secure-boot"]["actual"] == "gpu1.secboot = missing"
    assert failures["gpu-secure-boot"]["code"] == "policy.claim_missing"
    assert failures["gpu-driver-minimum"]["actual"] == "gpu1.x-nvidia-gpu-driver-version = 535.104.05"
    assert len(explained["rules"]) == 47
    assert err.startswith("ccgate: policy.denied: 2 rule(s) failed")


def test_explain_rejects_a_malformed_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"cpu0": {"debgu": False}, "gpu1": {}}))
    code, _, err = run(capsys, "policy", "explain", "baseline:development", "--input", path)
    assert code == 1
    assert "unknown claim 'debgu'" in err
    assert "without gaps" in err
    assert err.strip().splitlines()[-1].startswith("ccgate: policy.input_invalid: ")


def test_sample_input_is_an_input_explain_accepts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(
        capsys, "policy", "sample-input", "--tee", "simulated", "--gpus", "2", "--at", "2026-05-01T12:00:00Z"
    )
    assert code == 0
    path = tmp_path / "input.json"
    path.write_text(out)
    code, out, err = run(capsys, "policy", "explain", "baseline:development", "--input", path)
    assert code == 0, err


def test_the_installed_entry_point_checks_a_policy() -> None:
    done = ccgate("policy", "check", "baseline:development")
    assert done.returncode == 0, done.stderr
    assert b"ok: policy development" in done.stdout


@pytest.mark.parametrize("bad", BAD_POLICIES.values(), ids=BAD_POLICIES.keys())
def test_check_rejects_each_bad_policy_naming_the_rule_and_the_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: Bad
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(bad.document)
    code, _, err = run(capsys, "policy", "check", path)
    assert code == 1
    where = f"{path}: rule {bad.rule}: " if bad.rule is not None else f"{path}: "
    lines = [line for line in err.splitlines() if line.startswith(where) and line.endswith(f"[{bad.code}]")]
    assert lines, err
    assert all(words in lines[0] for words in bad.says), lines[0]
    assert err.strip().splitlines()[-1].startswith("ccgate: policy.invalid: ")


def test_check_json_lists_what_it_accepted_and_every_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, eu_policy: tuple[Path, Path]
) -> None:
    good, regions = eu_policy
    code, out, err = run(capsys, "policy", "check", good, regions, "--json")
    assert code == 0, err
    verdict = json.loads(out)
    assert verdict["ok"] is True
    assert verdict["problems"] == []
    assert [(doc["kind"], doc["name"]) for doc in verdict["accepted"]] == [
        ("ReferenceValues", "eu-regions"),
        ("Policy", "test-policy"),
    ]

    bad = tmp_path / "bad.yaml"
    bad.write_bytes(rules_document("- {id: typo, require: {claim: cpu0.snp.vmlp, equals: 0}, message: m}"))
    code, out, err = run(capsys, "policy", "check", good, bad, regions, "--json")
    assert code == 1
    verdict = json.loads(out)
    assert verdict["ok"] is False
    assert [doc["source"] for doc in verdict["accepted"]] == [str(regions), str(good)]
    assert [(p["source"], p["rule"]) for p in verdict["problems"]] == [(str(bad), "typo")]
    assert verdict["problems"][0]["code"].startswith("policy.")
    assert err.strip().startswith("ccgate: policy.invalid: ")
