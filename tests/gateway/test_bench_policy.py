"""``ccgate bench policy`` measures what it says: the production baseline, allowing an 8-GPU node.

No timing is asserted here (numbers belong in the bench output and the report); the tests check that
the bench times the decisions it claims to time.
"""

import json

import pytest

from gateway.bench.policy import run_policy_bench
from gateway.cli.main import main


def test_the_bench_times_an_allowed_and_a_denied_production_decision() -> None:
    report = run_policy_bench(decisions=200, gpus=8)
    assert report.gpus == 8
    assert report.rules == 47
    assert report.deny_failed_rules == ("gpu-measurements-match",)
    assert report.allow.median > 0
    assert report.allow.p99 >= report.allow.median
    assert report.decisions_per_second > 0


def test_the_bench_command_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["bench", "policy", "--decisions", "100", "--gpus", "2", "--json"])
    assert exited.value.code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["gpus"] == 2
    assert report["target_us"] == 50.0
    assert {"median", "p99", "mean"} <= set(report["allow"])
