"""``ccgate bench policy``: decisions of the production baseline on a realistic 8-GPU input.

The input is the sample node of ``policies.samples`` (SEV-SNP, eight H100s, every claim set), and
the policy is the bundled production baseline with a ``runner-measurements`` set that allows the
sample runner, so the decision is a full allow: every rule is evaluated and passes, which is the
common case and the one on the release path. A denying input (one GPU with a failed measurement)
is timed too, because a denial also builds its explanation.

Latency is timed per decision with ``perf_counter_ns`` (the timer's own cost, well under a
microsecond, is included); throughput is timed separately over a batch without per-call timing.
"""

import dataclasses
import statistics
import time
from dataclasses import dataclass

from attestation.evidence import TeeType
from policies import Decision, PolicyInput, Verdict, evaluate, load_baseline
from policies.compiler import CompiledPolicy
from policies.samples import SAMPLE_NOW, sample_input, sample_runner_measurements

TARGET_MICROSECONDS = 50.0
_WARMUP = 500


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Per-decision latency in microseconds."""

    median: float
    p99: float
    mean: float


@dataclass(frozen=True, slots=True)
class PolicyBenchReport:
    """What ``ccgate bench policy`` measured."""

    decisions: int
    gpus: int
    rules: int
    policy_digest: str
    allow: LatencySummary
    deny: LatencySummary
    decisions_per_second: float
    deny_failed_rules: tuple[str, ...]

    @property
    def target_met(self) -> bool:
        """Whether the median allow decision is within the 50 µs budget."""
        return self.allow.median <= TARGET_MICROSECONDS


def bench_policy() -> CompiledPolicy:
    """The production baseline with the sample runner allowed (everything else as bundled)."""
    return load_baseline("production", (sample_runner_measurements(),))


def _latencies(policy: CompiledPolicy, request: PolicyInput, decisions: int) -> LatencySummary:
    for _ in range(_WARMUP):
        evaluate(policy, request)
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(decisions):
        started = clock()
        evaluate(policy, request)
        samples.append(clock() - started)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return LatencySummary(statistics.median(samples) / 1000, p99 / 1000, statistics.fmean(samples) / 1000)


def _throughput(policy: CompiledPolicy, request: PolicyInput, decisions: int) -> float:
    started = time.perf_counter()
    for _ in range(decisions):
        evaluate(policy, request)
    return decisions / (time.perf_counter() - started)


def _denying_input(gpus: int) -> PolicyInput:
    request = sample_input(SAMPLE_NOW, tee=TeeType.SNP, gpus=gpus)
    gpu_list = list(request.result.gpus)
    gpu_list[-1] = dataclasses.replace(gpu_list[-1], measres="fail")
    result = dataclasses.replace(request.result, gpus=tuple(gpu_list))
    return dataclasses.replace(request, result=result)


def run_policy_bench(decisions: int = 20_000, gpus: int = 8) -> PolicyBenchReport:
    """Time ``decisions`` decisions of the production baseline on an allowed and a denied input.

    Raises:
        RuntimeError: the sample input is not allowed, or the denying one not denied (the bench
            would be measuring something else than it says).
    """
    policy = bench_policy()
    allowed = sample_input(SAMPLE_NOW, tee=TeeType.SNP, gpus=gpus)
    denied = _denying_input(gpus) if gpus else allowed
    first: Decision = evaluate(policy, allowed)
    if first.verdict is not Verdict.ALLOW:
        raise RuntimeError(f"the bench input is denied: {', '.join(first.failed_rules())}")
    denial = evaluate(policy, denied)
    if gpus and denial.verdict is not Verdict.DENY:
        raise RuntimeError("the denying bench input was allowed")
    return PolicyBenchReport(
        decisions=decisions,
        gpus=gpus,
        rules=len(policy.rules),
        policy_digest=policy.digest,
        allow=_latencies(policy, allowed, decisions),
        deny=_latencies(policy, denied, max(1, decisions // 4)),
        decisions_per_second=_throughput(policy, allowed, decisions),
        deny_failed_rules=denial.failed_rules(),
    )
