"""``ccgate bench release``: real releases through a real gateway, counted, timed and audited."""

import json

import pytest

from gateway.bench.release import run_release_bench
from tests.gateway.cli.cli_runner import ccgate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("workers", [1, 2])
def test_every_timed_release_succeeds_and_the_ledger_verifies(workers: int) -> None:
    report = run_release_bench(6, gpus=2, concurrency=3, workers=workers)
    assert len(report.full_seconds) == len(report.attest_seconds) == 6
    assert report.refused == 0
    assert all(
        full >= attest > 0 for full, attest in zip(report.full_seconds, report.attest_seconds, strict=True)
    )
    assert report.per_second > 0
    # Per release at least a challenge, two decisions, two key releases and the job's transitions.
    assert report.ledger_entries >= 6 * 5
    assert report.percentile(report.full_seconds, 50) <= report.percentile(report.full_seconds, 99)


def test_the_cli_prints_the_numbers_as_json() -> None:
    done = ccgate("bench", "release", "--releases", "3", "--gpus", "1", "--concurrency", "1", "--json")
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    assert numbers["releases"] == 3
    assert numbers["workers"] == 1
    assert numbers["full_p50_ms"] >= numbers["attest_p50_ms"] > 0
