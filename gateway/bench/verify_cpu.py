"""CPU-side rows of ``ccgate bench verify``: SEV-SNP report verification.

"Warm collateral" means the AMD chain is already parsed into an ``SnpCollateral`` (as the gateway
keeps it in memory); each iteration still parses the report and the VCEK and verifies every
signature and link. Wall time per run goes in the row; the mean process CPU time goes in its note,
because DESIGN's SNP target is stated in CPU time.
"""

import time
from datetime import datetime
from pathlib import Path

from attestation.snp import SnpCollateral, verify_snp_report
from gateway.bench.rows import Row

SNP_VECTOR = "milan-v2-trustee"
SNP_COLD = "ccgate snp, cold collateral"
SNP_WARM = "ccgate snp, warm collateral"


def snp_rows(vector: Path, chain: Path, *, now: datetime, iterations: int = 200) -> list[Row]:
    """Time SEV-SNP verification of ``vector``/report.bin with ``vector``/vcek.der under ``chain``.

    Cold: loading the AMD bundle plus one verification. Warm: ``iterations`` runs with the bundle
    already loaded.

    Raises:
        AttestationError: the vector does not verify at ``now`` (a benchmark of a failure is meaningless).
    """
    report = (vector / "report.bin").read_bytes()
    vcek = (vector / "vcek.der").read_bytes()
    bundle = chain.read_bytes()
    started = time.perf_counter()
    collateral = SnpCollateral.from_pem(bundle)
    verify_snp_report(report, vcek_or_vlek=vcek, collateral=collateral, expected_report_data=None, now=now)
    cold = time.perf_counter() - started
    seconds = []
    started_cpu = time.process_time()
    for _ in range(iterations):
        started = time.perf_counter()
        verify_snp_report(
            report, vcek_or_vlek=vcek, collateral=collateral, expected_report_data=None, now=now
        )
        seconds.append(time.perf_counter() - started)
    cpu_ms = (time.process_time() - started_cpu) * 1000 / iterations
    return [
        Row(SNP_COLD, vector.name, (cold,), "verified"),
        Row(SNP_WARM, vector.name, tuple(seconds), "verified", f"mean CPU {cpu_ms:.3f} ms (goal < 5 ms)"),
    ]
