"""``ccgate bench envelope`` runs end to end on a small file and reports every measurement it promises."""

from pathlib import Path

from gateway.bench.envelope import TARGETS, run_envelope_bench


def test_the_bench_measures_ccgate_and_its_references(tmp_path: Path) -> None:
    report = run_envelope_bench(size=3 << 20, directory=tmp_path, repeat=1, openssl_seconds=1)
    for name in (
        "cp file→file",
        "ccgate encrypt file→file",
        "ccgate decrypt file→file",
        "ccgate decrypt file→/dev/null",
    ):
        assert report.measurements[name].best > 0
    assert report.peak_rss_bytes > 0
    for target in TARGETS:
        ratio = report.ratio(target)
        assert ratio is None or ratio > 0
    assert list(tmp_path.iterdir()) == [], "the bench must clean up its files"
