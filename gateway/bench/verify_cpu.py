"""CPU-side verification timings for ``ccgate bench verify``: SEV-SNP report verification.

"Warm collateral" means the AMD chain is already parsed into an ``SnpCollateral`` (as the gateway
keeps it in memory); each iteration still parses the report and the VCEK and verifies every signature.
Both process CPU time (``time.process_time``) and wall time are measured.
"""

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from attestation.snp import SnpCollateral, verify_snp_report


@dataclass(frozen=True, slots=True)
class VerifyRow:
    """One benchmark line: the first (cold) run and the mean of the warm runs, in milliseconds."""

    name: str
    cold_ms: float
    warm_ms: float
    warm_cpu_ms: float
    iterations: int


def snp_rows(vector: Path, chain: Path, *, now: datetime, iterations: int = 200) -> list[VerifyRow]:
    """Time SEV-SNP verification of ``vector``/report.bin with ``vector``/vcek.der under ``chain``.

    Cold: loading the AMD bundle plus one verification. Warm: the mean over ``iterations`` runs
    with the bundle already loaded.

    Raises:
        AttestationError: the vector does not verify at ``now`` (a benchmark of a failure is meaningless).
    """
    report = (vector / "report.bin").read_bytes()
    vcek = (vector / "vcek.der").read_bytes()
    bundle = chain.read_bytes()
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    collateral = SnpCollateral.from_pem(bundle)
    verify_snp_report(report, vcek_or_vlek=vcek, collateral=collateral, expected_report_data=None, now=now)
    cold_ms = (time.perf_counter() - started_wall) * 1000
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        verify_snp_report(
            report, vcek_or_vlek=vcek, collateral=collateral, expected_report_data=None, now=now
        )
    warm_ms = (time.perf_counter() - started_wall) * 1000 / iterations
    warm_cpu_ms = (time.process_time() - started_cpu) * 1000 / iterations
    return [VerifyRow("snp report (warm collateral)", cold_ms, warm_ms, warm_cpu_ms, iterations)]
