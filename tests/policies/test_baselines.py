"""The bundled baselines: they load, their embedded tests pass and exercise every rule both ways, and
every claim of the contract is either checked by a rule or listed as deliberately unchecked."""

import pytest

from attestation.evidence import TeeType
from policies import BASELINE_NAMES, ClaimType, Verdict, claims_contract, evaluate, load_baseline, run_tests
from policies.baselines import REFERENCE_SET_NAMES, bundled_reference_sets, reference_set_text
from policies.compiler import CompiledPolicy
from policies.contract import GPU_ROOT
from policies.reference_values import index_reference_sets
from policies.samples import sample_input
from tests.policies.policy_helpers import default_sets


@pytest.fixture(params=BASELINE_NAMES)
def baseline(request: pytest.FixtureRequest) -> CompiledPolicy:
    name: str = request.param
    return load_baseline(name)


def test_the_embedded_tests_pass_and_exercise_every_rule_both_ways(baseline: CompiledPolicy) -> None:
    report = run_tests(baseline, index_reference_sets(bundled_reference_sets()))
    mismatches = [(result.case.name, result.mismatch) for result in report.results if not result.passed]
    assert not mismatches
    assert report.passed
    assert report.unexercised() == {}


def _covered(path: str, covered: set[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:depth]) in covered for depth in range(1, len(parts) + 1))


def test_every_claim_is_checked_or_deliberately_unchecked(baseline: CompiledPolicy) -> None:
    checked = {path for rule in baseline.rules for path in rule.reads}
    unchecked = {entry.path for entry in baseline.unchecked}
    leaves = [spec.path for spec in claims_contract() if spec.kind is not ClaimType.RECORD]
    uncovered = [path for path in leaves if path not in checked and not _covered(path, unchecked)]
    assert not uncovered, f"{baseline.name}: claims neither checked nor listed as unchecked: {uncovered}"
    assert all(entry.reason.strip() for entry in baseline.unchecked)


def test_the_coverage_check_sees_a_new_claim() -> None:
    # A claim no rule reads and no entry lists is reported: the check above can fail.
    production = load_baseline("production")
    unchecked = {entry.path for entry in production.unchecked} - {"node.region"}
    checked = {path for rule in production.rules for path in rule.reads}
    assert "node.region" not in checked
    assert not _covered("node.region", unchecked)


def test_production_reads_the_claims_the_issue_names() -> None:
    checked = {path for rule in load_baseline("production").rules for path in rule.reads}
    for path in (
        "cpu0.simulated",
        "cpu0.debug",
        "cpu0.snp.vmpl",
        "cpu0.tcb_status",
        "gpu.dbgstat",
        "gpu.measres",
        "gpu.x-nvidia-gpu-driver-rim-signature-verified",
        "gpu.x-nvidia-gpu-vbios-rim-version-match",
        "gpu.x-nvidia-gpu-attestation-report-cert-chain.x-nvidia-cert-ocsp-status",
        "gpu.x-nvidia-gpu-driver-version",
        "gpu.x-nvidia-gpu-vbios-version",
        "node.registered_hardware.gpu_serials_match",
        "provider.kyc_status",
        "release.count",
        "session.issued_at",
    ):
        assert path in checked, path


@pytest.mark.parametrize("tee", [TeeType.SNP, TeeType.TDX])
def test_production_allows_a_healthy_node_whose_runner_is_listed(tee: TeeType) -> None:
    policy = load_baseline("production", tuple(default_sets().values()))
    assert evaluate(policy, sample_input(tee=tee, gpus=8)).verdict is Verdict.ALLOW


def test_production_denies_everything_until_runner_measurements_are_configured() -> None:
    decision = evaluate(load_baseline("production"), sample_input(tee=TeeType.SNP, gpus=8))
    assert decision.failed_rules() == ("cpu-runner-measurement-allowed",)


def test_production_denies_the_simulated_tee_and_development_allows_it() -> None:
    request = sample_input(tee=TeeType.SIMULATED, gpus=2)
    production = evaluate(load_baseline("production", tuple(default_sets().values())), request)
    assert {"cpu-tee-is-hardware", "cpu-not-simulated", "gpu-not-simulated"} <= set(production.failed_rules())
    assert evaluate(load_baseline("development"), request).verdict is Verdict.ALLOW


def test_development_still_requires_the_key_binding_and_fresh_evidence() -> None:
    rules = {rule.id: rule for rule in load_baseline("development").rules}
    assert set(rules) == {"cpu-report-data-bound", "gpu-nonce-bound", "evidence-fresh"}
    assert "cpu0.report_data_binding" in rules["cpu-report-data-bound"].reads
    assert "gpu.x-nvidia-gpu-attestation-report-nonce-match" in rules["gpu-nonce-bound"].reads


def test_the_bundled_reference_sets_parse() -> None:
    sets = bundled_reference_sets()
    assert [reference.name for reference in sets] == list(REFERENCE_SET_NAMES)
    for name in REFERENCE_SET_NAMES:
        assert reference_set_text(name).startswith(b"#")


def test_a_tenant_set_replaces_the_bundled_one_by_name() -> None:
    policy = load_baseline("production", tuple(default_sets().values()))
    runners = {ref.name: ref for ref in policy.ref.reference_values}["runner-measurements"]
    bundled = {ref.name: ref for ref in bundled_reference_sets()}["runner-measurements"]
    assert runners.digest != bundled.digest


def test_the_gpu_root_is_accepted_as_a_prefix_in_unchecked() -> None:
    assert GPU_ROOT in {entry.path for entry in load_baseline("development").unchecked}
