"""``ccgate bench verify``: rows for ccgate (cold, warm) and NVIDIA's verifier, in one report."""

import json
from pathlib import Path

import pytest

from gateway.bench.verify import CCGATE_COLD, CCGATE_WARM, NVIDIA_LOCAL, RATIOS, run_verify_bench
from gateway.bench.verify_cpu import SNP_COLD, SNP_WARM
from tests.attestation.nvidia.vectors import nvidia_dir
from tests.gateway.cli.cli_runner import ccgate

pytestmark = pytest.mark.vectors


def test_the_bench_times_ccgate_cold_and_warm_and_reports_the_reference_row() -> None:
    vectors = nvidia_dir().parent
    report = run_verify_bench(vectors, iterations=3, reference_iterations=1)
    cold, warm, reference = (report.row(name) for name in (CCGATE_COLD, CCGATE_WARM, NVIDIA_LOCAL))
    assert cold is not None
    assert warm is not None
    assert reference is not None
    assert (cold.verdict, warm.verdict) == ("verified", "verified")
    assert len(cold.seconds) == len(warm.seconds) == 3
    if reference.seconds:
        assert reference.verdict == "verified", "NVIDIA's verifier must agree on the full-pass vector"
        assert report.ratio(RATIOS[0]) is not None
    else:
        assert reference.verdict == "not run"
        assert "not importable" in reference.note
        assert report.ratio(RATIOS[0]) is None


def test_the_bench_refuses_a_folder_without_vectors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        run_verify_bench(tmp_path, iterations=2, reference_iterations=1)


@pytest.mark.slow
def test_the_cli_prints_the_rows_as_json() -> None:
    result = ccgate(
        "bench",
        "verify",
        "--vectors",
        nvidia_dir().parent,
        "--iterations",
        "2",
        "--reference-iterations",
        "1",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    names = [row["name"] for row in document["rows"]]
    assert names[:3] == [CCGATE_COLD, CCGATE_WARM, NVIDIA_LOCAL]
    if (nvidia_dir().parent / "snp").is_dir():
        assert names[3:] == [SNP_COLD, SNP_WARM]
        assert document["rows"][4]["verdict"] == "verified"
    assert document["rows"][0]["verdict"] == "verified"
    assert document["ratios"][0]["goal"] == 15.0


def test_the_reference_is_given_absolute_paths_although_it_runs_in_a_scratch_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in for the reference interpreter: it answers the import probe, and reports
    # "verified" only when every file it is handed can be opened from its own working directory.
    fake = tmp_path / "reference-python"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "-c" ]; then exit 0; fi\n'
        "shift 2\n"
        'ok=true; while [ $# -gt 1 ]; do case "$1" in --report|--chain|--driver-rim|--vbios-rim) '
        '[ -f "$2" ] || ok=false;; esac; shift 2; done\n'
        'echo "{\\"verified\\": $ok, \\"seconds\\": [0.01], \\"version\\": \\"fake\\"}"\n'
    )
    fake.chmod(0o700)
    vectors = nvidia_dir().parent
    monkeypatch.chdir(vectors.parent)
    relative = Path(vectors.name)
    from gateway.bench.verify import nvidia_row  # noqa: PLC0415 - the row alone, without ccgate's timings.

    row = nvidia_row(relative, 1, str(fake))
    assert row.verdict == "verified", row.note
