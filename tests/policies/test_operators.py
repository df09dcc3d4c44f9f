"""Each operator both ways, and closed on missing or mistyped claims (one-rule policies, table-driven)."""

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

import pytest

from attestation.result import SnpTcb, TcbStatus
from policies import FailureCode, Verdict, evaluate, explain
from tests.policies.policy_helpers import (
    Change,
    compile_rules,
    context,
    cpu,
    gpu,
    reported_tcb,
    same,
    snp,
    snp_input,
    with_cpu,
    with_gpus,
)


@dataclass(frozen=True)
class Case:
    """A one-rule policy (its requirement), a change to the healthy SNP input, and the outcome."""

    require: str
    change: Change
    code: FailureCode | None  # None: allowed


DRIVER = "gpu.x-nvidia-gpu-driver-version"
VBIOS = "gpu.x-nvidia-gpu-vbios-version"
MISMATCHES = "gpu.x-nvidia-mismatch-measurement-records"
OK, FAILED = None, FailureCode.RULE_FAILED
MISSING, MISTYPED = FailureCode.CLAIM_MISSING, FailureCode.CLAIM_MISTYPED

CASES = {
    # equals / not_equals
    "a boolean equal to the required value passes": Case("{claim: cpu0.debug, equals: false}", same, OK),
    "a boolean with the other value fails": Case(
        "{claim: cpu0.debug, equals: false}", cpu(debug=True), FAILED
    ),
    "a missing boolean fails": Case("{claim: cpu0.debug, equals: false}", cpu(debug=None), MISSING),
    "a boolean written as a string fails": Case(
        "{claim: cpu0.debug, equals: false}", cpu(debug="false"), MISTYPED
    ),
    "the integer 0 is not the boolean false": Case(
        "{claim: cpu0.debug, equals: false}", cpu(debug=0), MISTYPED
    ),
    "the boolean false is not the integer 0": Case(
        "{claim: cpu0.snp.vmpl, equals: 0}", snp(vmpl=False), MISTYPED
    ),
    "an integer equal to the required value passes": Case("{claim: cpu0.snp.vmpl, equals: 0}", same, OK),
    "an integer written as a string fails": Case(
        "{claim: cpu0.snp.vmpl, equals: 0}", snp(vmpl="0"), MISTYPED
    ),
    "a claim under a missing record is missing": Case(
        "{claim: cpu0.snp.vmpl, equals: 0}", cpu(snp=None), MISSING
    ),
    "a claim under a mistyped record is mistyped": Case(
        "{claim: cpu0.snp.vmpl, equals: 0}", cpu(snp="vmpl 0"), MISTYPED
    ),
    "not_equals passes a different value": Case(
        "{all_gpus: {claim: gpu.dbgstat, not_equals: enabled}}", same, OK
    ),
    "not_equals fails the same value": Case("{claim: cpu0.tee, not_equals: snp}", same, FAILED),
    "not_equals fails a missing value": Case("{claim: cpu0.tee, not_equals: tdx}", cpu(tee=None), MISSING),
    # in / not_in
    "a value in the list passes": Case("{claim: cpu0.tee, in: [snp, tdx]}", same, OK),
    "a value not in the list fails": Case("{claim: cpu0.tee, in: [tdx]}", same, FAILED),
    "an unknown enum value is mistyped, not merely different": Case(
        "{claim: cpu0.tee, not_in: [simulated]}", cpu(tee="sgx"), MISTYPED
    ),
    "not_in passes a value outside the list": Case("{claim: cpu0.tee, not_in: [simulated]}", same, OK),
    "not_in fails a listed value": Case("{claim: cpu0.tee, not_in: [snp]}", same, FAILED),
    "not_in fails a missing value": Case("{claim: cpu0.tee, not_in: [simulated]}", cpu(tee=None), MISSING),
    "an integer list does not take true for 1": Case(
        "{claim: cpu0.snp.vmpl, in: [1]}", snp(vmpl=True), MISTYPED
    ),
    "a value in a reference set passes": Case(
        "{claim: cpu0.measurement, in: {set: runner-measurements}}", same, OK
    ),
    "a value outside a reference set fails": Case(
        "{claim: cpu0.measurement, in: {set: runner-measurements}}", cpu(measurement="00"), FAILED
    ),
    "not_in a reference set fails a listed value": Case(
        "{claim: cpu0.measurement, not_in: {set: runner-measurements}}", same, FAILED
    ),
    # numeric, claim-to-claim and timestamp bounds
    "at_most passes an equal integer": Case("{claim: cpu0.snp.vmpl, at_most: 0}", same, OK),
    "above fails an equal integer": Case("{claim: cpu0.snp.vmpl, above: 0}", same, FAILED),
    "a count below the maximum passes": Case("{claim: release.count, below: {claim: release.max}}", same, OK),
    "a count at the maximum fails": Case(
        "{claim: release.count, below: {claim: release.max}}", context("release", count=10), FAILED
    ),
    "a comparison with a missing claim fails": Case(
        "{claim: release.count, below: {claim: release.max}}", context("release", maximum=None), MISTYPED
    ),
    "a timestamp after a literal passes": Case(
        "{claim: cpu0.cert_chain.x-nvidia-cert-expiration-date, above: '2026-06-01T00:00:00Z'}", same, OK
    ),
    "a timestamp compared with now": Case(
        "{claim: cpu0.cert_chain.x-nvidia-cert-expiration-date, above: {claim: now}}", same, OK
    ),
    "a timestamp without a time zone is mistyped": Case(
        "{claim: cpu0.cert_chain.x-nvidia-cert-expiration-date, above: {claim: now}}",
        lambda r: with_cpu(
            r,
            cert_chain=dataclasses.replace(
                r.result.cpu.cert_chain, expiration_date=r.now.replace(tzinfo=None)
            ),
        ),
        MISTYPED,
    ),
    # ordered TCB status
    "UpToDate is at least SWHardeningNeeded": Case(
        "{claim: cpu0.tcb_status, at_least: SWHardeningNeeded}", cpu(tcb_status=TcbStatus.UP_TO_DATE), OK
    ),
    "OutOfDate is not at least SWHardeningNeeded": Case(
        "{claim: cpu0.tcb_status, at_least: SWHardeningNeeded}", cpu(tcb_status=TcbStatus.OUT_OF_DATE), FAILED
    ),
    "a TD to relaunch is not at least SWHardeningNeeded": Case(
        "{claim: cpu0.tcb_status, at_least: SWHardeningNeeded}",
        cpu(tcb_status=TcbStatus.TD_RELAUNCH_ADVISED),
        FAILED,
    ),
    "a TD to relaunch is at least OutOfDate": Case(
        "{claim: cpu0.tcb_status, at_least: OutOfDate}", cpu(tcb_status=TcbStatus.TD_RELAUNCH_ADVISED), OK
    ),
    "NotApplicable is not comparable, so it fails": Case(
        "{claim: cpu0.tcb_status, at_least: Revoked}", same, FAILED
    ),
    # versions
    "550.127.05 is at least 550.90.07": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_least: 550.90.07}}}}", same, OK
    ),
    "550.127.05 is not at most 550.90.07": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_most: 550.90.07}}}}", same, FAILED
    ),
    "leading zeros do not matter (550.127.5 == 550.127.05)": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_least: 550.127.5}}}}", same, OK
    ),
    "VBIOS components are hexadecimal (96.00.9F > 96.00.A0 is false)": Case(
        f"{{all_gpus: {{claim: {VBIOS}, version_at_least: 96.00.A0.00.00}}}}", same, FAILED
    ),
    "VBIOS 96.00.9F.00.01 is above 96.00.10.00.01": Case(
        f"{{all_gpus: {{claim: {VBIOS}, version_above: 96.00.10.00.01}}}}", same, OK
    ),
    "a driver string that is not a version is mistyped": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_least: 550.90.07}}}}",
        gpu(1, driver_version="550.beta"),
        MISTYPED,
    ),
    "a driver of a branch with a minimum passes": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_least: {{set: gpu-driver-minimums}}}}}}", same, OK
    ),
    "a driver of a branch without a minimum fails": Case(
        f"{{all_gpus: {{claim: {DRIVER}, version_at_least: {{set: gpu-driver-minimums}}}}}}",
        gpu(0, driver_version="560.35.03"),
        FAILED,
    ),
    # string lists and record lists
    "labels contain pii": Case("{claim: artefact.labels, contains: pii}", same, OK),
    "labels do not contain public": Case("{claim: artefact.labels, not_contains: public}", same, OK),
    "a label list holding a number is mistyped": Case(
        "{claim: artefact.labels, not_contains: public}", context("artefact", labels=("pii", 7)), MISTYPED
    ),
    "no mismatch records passes is_empty": Case(
        f"{{all_gpus: {{claim: {MISMATCHES}, is_empty: true}}}}", same, OK
    ),
    "a mismatch list given as a JSON list (not a tuple) is mistyped": Case(
        f"{{all_gpus: {{claim: {MISMATCHES}, is_empty: true}}}}", gpu(0, mismatches=[]), MISTYPED
    ),
    # SEV-SNP TCB components
    "a TCB meeting every minimum passes": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {boot_loader: 3, snp: 8, microcode: 115}}", same, OK
    ),
    "one component below its minimum fails": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {boot_loader: 3, snp: 8, microcode: 116}}", same, FAILED
    ),
    "a minimum for a component the TCB lacks (FMC before Turin) fails": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {fmc: 0}}", same, MISTYPED
    ),
    "a TCB component of the wrong type fails": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {microcode: 100}}",
        reported_tcb(microcode="200"),
        MISTYPED,
    ),
    "per-product minimums from a reference set": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {set: snp-tcb-minimums}}", same, OK
    ),
    "a product without minimums fails": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {set: snp-tcb-minimums}}", snp(product="Genoa"), FAILED
    ),
    "a Turin TCB with an FMC component is compared with the Turin minimums": Case(
        "{claim: cpu0.snp.reported_tcb, tcb_at_least: {set: snp-tcb-minimums}}",
        snp(product="Turin", reported_tcb=SnpTcb("x", 0, 0, 0, 9, fmc=0)),
        OK,
    ),
    # exists
    "exists passes a present claim": Case("{claim: cpu0.snp, exists: true}", same, OK),
    "exists fails a missing claim": Case("{claim: cpu0.tdx, exists: true}", same, FAILED),
    "exists: false passes a missing claim": Case("{claim: cpu0.tdx, exists: false}", same, OK),
    "exists: false fails a present claim": Case("{claim: cpu0.snp, exists: false}", same, FAILED),
    "exists: false does not take a mistyped record for a missing one": Case(
        "{claim: cpu0.snp.vmpl, exists: false}", cpu(snp="garbage"), MISTYPED
    ),
    # GPU quantifiers
    "every GPU passing passes all_gpus": Case("{all_gpus: {claim: gpu.measres, equals: success}}", same, OK),
    "one GPU failing fails all_gpus": Case(
        "{all_gpus: {claim: gpu.measres, equals: success}}", gpu(1, measres="fail"), FAILED
    ),
    "an empty GPU list fails all_gpus": Case(
        "{all_gpus: {claim: gpu.measres, equals: success}}", lambda r: with_gpus(r, 0), FAILED
    ),
    "a boolean 1 does not pass all_gpus equals true": Case(
        "{all_gpus: {claim: gpu.secboot, equals: true}}", gpu(0, secboot=1), MISTYPED
    ),
    "a GPU whose chain record is missing fails a nested claim": Case(
        "{all_gpus: {claim: gpu.x-nvidia-gpu-attestation-report-cert-chain.x-nvidia-cert-status, "
        "equals: valid}}",
        gpu(1, cert_chain=None),
        MISSING,
    ),
    "one GPU passing passes any_gpu": Case(
        "{any_gpu: {claim: gpu.measres, equals: success}}", gpu(1, measres="fail"), OK
    ),
    "no GPU passing fails any_gpu": Case("{any_gpu: {claim: gpu.measres, equals: fail}}", same, FAILED),
    "an empty GPU list fails any_gpu": Case(
        "{any_gpu: {claim: gpu.measres, equals: success}}", lambda r: with_gpus(r, 0), FAILED
    ),
    "gpu_count counts every GPU": Case("{gpu_count: {equals: 2}}", same, OK),
    "gpu_count below the bound fails": Case("{gpu_count: {at_least: 8}}", same, FAILED),
    "gpu_count where counts matching GPUs": Case(
        "{gpu_count: {where: {claim: gpu.x-nvidia-gpu-arch, equals: hopper}, at_least: 2}}", same, OK
    ),
    "gpu_count where with an undecidable GPU fails closed": Case(
        "{gpu_count: {where: {claim: gpu.x-nvidia-gpu-arch, equals: hopper}, at_least: 2}}",
        gpu(1, arch=None),
        MISSING,
    ),
    # evidence age
    "evidence 30 s old is fresh": Case("{evidence_age: {at_most: 120s}}", same, OK),
    "evidence older than the bound is stale": Case("{evidence_age: {at_most: 20s}}", same, FAILED),
    "evidence from the future is never fresh": Case(
        "{evidence_age: {at_most: 120s}}",
        lambda r: context("session", issued_at=r.now + timedelta(seconds=1))(r),
        FAILED,
    ),
    "evidence without an issue time is missing": Case(
        "{evidence_age: {at_most: 120s}}", context("session", issued_at=None), MISSING
    ),
    "evidence judged without a usable now is missing": Case(
        "{evidence_age: {at_most: 120s}}",
        lambda r: dataclasses.replace(r, now="now"),  # type: ignore[arg-type] # a mistyped now is the point.
        MISSING,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_operator_both_ways_and_closed_on_missing_or_mistyped_claims(case: Case) -> None:
    policy = compile_rules(f"- id: the-rule\n  require: {case.require}\n  message: the message")
    request = case.change(snp_input())
    decision = evaluate(policy, request)
    if case.code is None:
        assert decision.verdict is Verdict.ALLOW, decision.failures
        return
    assert decision.verdict is Verdict.DENY
    (failure,) = decision.failures
    assert (failure.rule, failure.code, failure.message) == ("the-rule", case.code, "the message")
    assert failure.actual
    assert failure.expected
    assert failure.requirement
    # The careful explanation agrees with the decision for this rule.
    assert explain(policy, request).rules[0].status == "failed"
