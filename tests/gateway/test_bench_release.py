"""``ccgate bench release``: real releases through a real gateway, counted, timed and audited."""

import json
import os
import subprocess
import sys
import time

import pytest

from gateway.bench.release import process_tree_cpu_seconds, run_release_bench
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
    # The gateway's processes (its workers are children of the supervisor) and the load generator
    # both spent CPU on the timed releases; the ceiling is what two such costs allow.
    assert report.gateway_cpu_seconds is not None
    assert report.gateway_cpu_seconds > 0
    assert report.load_cpu_seconds > 0
    assert report.cpu_bound_ceiling is not None
    assert report.cpu_bound_ceiling > 0


def test_the_cli_prints_the_numbers_as_json() -> None:
    done = ccgate("bench", "release", "--releases", "3", "--gpus", "1", "--concurrency", "1", "--json")
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout)
    assert numbers["releases"] == 3
    assert numbers["workers"] == 1
    assert numbers["full_p50_ms"] >= numbers["attest_p50_ms"] > 0
    assert numbers["gateway_cpu_ms_per_release"] > 0
    assert numbers["load_generator_cpu_ms_per_release"] > 0


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="CPU accounting reads Linux /proc")
def test_process_tree_cpu_counts_children_and_knows_no_stranger() -> None:
    child = subprocess.Popen([sys.executable, "-c", "sum(range(30_000_000)); import time; time.sleep(30)"])
    try:
        deadline = time.monotonic() + 30
        while (process_tree_cpu_seconds(child.pid) or 0) < 0.2:  # Until its busy loop has run a while.
            assert time.monotonic() < deadline, "the child never showed CPU time"
            time.sleep(0.1)
        childs = process_tree_cpu_seconds(child.pid)
        mine = process_tree_cpu_seconds(os.getpid())  # Read second: CPU time only grows.
        assert childs is not None
        assert mine is not None
        assert mine >= childs >= 0.2
    finally:
        child.kill()
        child.wait()
    # Above the kernel's largest pid: no such process.
    assert process_tree_cpu_seconds(2**22 + 7) is None
