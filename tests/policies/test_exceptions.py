"""Expiring exceptions: accepted only until their expiry, only for the value and advisories they name."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from attestation.evidence import TeeType
from attestation.result import RevocationStatus, TcbStatus
from policies import FailureCode, PolicyInput, Verdict, evaluate, explain
from policies.samples import sample_input
from tests.policies.policy_helpers import compile_rules, with_cpu, with_gpu

TDX_TCB = """
- id: tcb-up-to-date
  require:
    claim: cpu0.tcb_status
    equals: UpToDate
    unless:
      - value: SWHardeningNeeded
        advisory_ids: [INTEL-SA-00615, INTEL-SA-00657]
        expires: 2027-01-31
        reason: Mitigated in the guest kernel.
      - value: OutOfDate
        advisory_ids: []
        expires: 2026-06-01T12:00:00Z
        reason: Platform update booked.
  message: The platform TCB must be up to date.
"""


def tdx(now: datetime, status: TcbStatus, advisories: tuple[str, ...] | None) -> PolicyInput:
    return with_cpu(sample_input(now, tee=TeeType.TDX, gpus=1), tcb_status=status, advisory_ids=advisories)


JAN_2027 = datetime(2027, 1, 30, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "status", "advisories", "allowed"),
    [
        (JAN_2027, TcbStatus.UP_TO_DATE, (), True),
        (JAN_2027, TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00615",), True),
        (JAN_2027, TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00657", "INTEL-SA-00615"), True),
        (JAN_2027, TcbStatus.SW_HARDENING_NEEDED, (), True),
        (datetime(2027, 1, 31, tzinfo=UTC), TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00615",), False),
        (JAN_2027, TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00615", "INTEL-SA-00828"), False),
        (JAN_2027, TcbStatus.SW_HARDENING_NEEDED, None, False),
        (JAN_2027, TcbStatus.CONFIGURATION_NEEDED, (), False),
        (datetime(2026, 6, 1, 11, 59, 59, tzinfo=UTC), TcbStatus.OUT_OF_DATE, (), True),
        (datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC), TcbStatus.OUT_OF_DATE, (), False),
        (datetime(2026, 5, 1, tzinfo=UTC), TcbStatus.OUT_OF_DATE, ("INTEL-SA-00615",), False),
    ],
    ids=[
        "an up-to-date TCB needs no exception",
        "a named status with a named advisory is accepted before the expiry",
        "several named advisories are accepted",
        "a named status with no advisories is accepted",
        "a bare-date expiry ends at 00:00 UTC that day",
        "an advisory the exception does not name is refused",
        "missing advisory ids are refused",
        "a status no exception names is refused",
        "a timestamp expiry is honoured to the second",
        "at the expiry instant the exception no longer applies",
        "an exception for no advisories refuses a TCB that has one",
    ],
)
def test_tcb_exceptions(
    now: datetime, status: TcbStatus, advisories: tuple[str, ...] | None, allowed: bool
) -> None:
    policy = compile_rules(TDX_TCB)
    request = tdx(now, status, advisories)
    decision = evaluate(policy, request)
    assert decision.verdict is (Verdict.ALLOW if allowed else Verdict.DENY), decision.failures


def test_an_accepted_exception_is_shown_with_its_reason_and_expiry() -> None:
    policy = compile_rules(TDX_TCB)
    request = tdx(JAN_2027, TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00615",))
    (rule,) = explain(policy, request).rules
    assert rule.status == "passed"
    assert "accepted by an exception until 2027-01-31T00:00:00Z: Mitigated in the guest kernel." in (
        rule.observations[0].note
    )


def test_an_expired_exception_is_named_in_the_failure() -> None:
    policy = compile_rules(TDX_TCB)
    request = tdx(datetime(2027, 2, 1, tzinfo=UTC), TcbStatus.SW_HARDENING_NEEDED, ())
    (failure,) = evaluate(policy, request).failures
    assert failure.code is FailureCode.RULE_FAILED
    assert "expired 2027-01-31T00:00:00Z" in failure.actual


def test_an_exception_cannot_be_judged_without_a_usable_now() -> None:
    policy = compile_rules(TDX_TCB)
    request = tdx(JAN_2027, TcbStatus.SW_HARDENING_NEEDED, ("INTEL-SA-00615",))
    naive = PolicyInput(request.result, request.context, JAN_2027.replace(tzinfo=None))
    assert evaluate(policy, naive).verdict is Verdict.DENY


OCSP = """
- id: gpu-chain-revocation-checked
  require:
    all_gpus:
      claim: gpu.x-nvidia-gpu-attestation-report-cert-chain.x-nvidia-cert-ocsp-status
      equals: checked-good
      unless: [{value: stale, expires: 2026-05-02, reason: 'NVIDIA OCSP outage, ticket 4711.'}]
  message: Revocation must have been checked.
"""


def _ocsp(status: RevocationStatus, now: datetime) -> PolicyInput:
    request = sample_input(now, tee=TeeType.SNP, gpus=3)
    chain = request.result.gpus[2].cert_chain
    return with_gpu(request, 2, cert_chain=replace(chain, ocsp_status=status))


@pytest.mark.parametrize(
    ("status", "now", "allowed"),
    [
        (RevocationStatus.STALE, datetime(2026, 5, 1, tzinfo=UTC), True),
        (RevocationStatus.STALE, datetime(2026, 5, 2, tzinfo=UTC), False),
        (RevocationStatus.NOT_CHECKED, datetime(2026, 5, 1, tzinfo=UTC), False),
        (RevocationStatus.CHECKED_REVOKED, datetime(2026, 5, 1, tzinfo=UTC), False),
    ],
    ids=[
        "stale OCSP on one GPU is accepted while the exception lasts",
        "stale OCSP is refused once the exception expired",
        "unchecked revocation is not what the exception names",
        "a revoked certificate is never accepted",
    ],
)
def test_revocation_exceptions_apply_per_gpu(status: RevocationStatus, now: datetime, allowed: bool) -> None:
    decision = evaluate(compile_rules(OCSP), _ocsp(status, now))
    assert decision.verdict is (Verdict.ALLOW if allowed else Verdict.DENY)
