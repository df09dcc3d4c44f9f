"""``ccgate bench transfer`` runs end to end on a small envelope (the 1 GiB numbers go in the report)."""

import json

import pytest

from tests.gateway.cli.cli_runner import ccgate


@pytest.mark.slow
def test_the_transfer_bench_runs_and_reports_both_directions() -> None:
    done = ccgate("bench", "transfer", "--size", str(4 << 20), "--repeat", "1", "--json")
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["bytes"] > 4 << 20
    assert report["upload"]["best_mb_per_second"] > 0
    assert report["download"]["best_mb_per_second"] > 0
