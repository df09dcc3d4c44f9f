"""``ccgate bench verify``: per-GPU verification time next to NVIDIA's own verifier, in one run.

ccgate is timed in this process on the full-pass vector, cold (a fresh ``NvidiaVerifierCache`` for
every verification: parse, chain, signature, both RIMs' XML signatures and chains) and warm (one
cache shared by all runs, as the gateway holds it). NVIDIA's nv-local-gpu-verifier, when the
``[nvidia]`` extra is importable by the reference interpreter, runs the same vector in a
subprocess (``gateway.bench.nvidia_reference``: OCSP bypassed, local RIMs, pinned time); its runs
are timed inside that process, so interpreter start-up is not counted against it.

The report is a list of rows so that other verifiers (SEV-SNP, TDX) can add theirs; ratios compare
rows by name. DESIGN §10's goal: warm GPU verification ≥ 15× faster than nv-local-gpu-verifier.
"""

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from attestation.errors import AttestationError
from attestation.evidence import GpuArch, GpuEvidence
from attestation.nvidia import (
    NvidiaCollateral,
    NvidiaVerifierCache,
    nvidia_trust_anchors,
    require_measurements_match,
    verify_gpu_evidence,
)
from gateway.bench.rows import Row
from gateway.bench.verify_cpu import SNP_VECTOR, snp_rows

# The full-pass offline vector of ../shared/testvectors/nvidia/PROVENANCE.md.
VECTOR = "hopper-545-fullpass-gonvtrust"
VECTOR_NONCE = "4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e"
VECTOR_TIME = "2025-05-01T00:00:00Z"
DRIVER_RIM = "rims-nvtrust/Driver_RIM_test_no_gpu.swidtag"
VBIOS_RIM = "rims-nvtrust/1010_0200_882_96005E0001_test_no_gpu.swidtag"
CCGATE_COLD = "ccgate, cold caches"
CCGATE_WARM = "ccgate, warm caches"
NVIDIA_LOCAL = "nv-local-gpu-verifier"


@dataclass(frozen=True)
class Ratio:
    """``reference median / measured median``: how many times faster ``measured`` is."""

    measured: str
    reference: str
    goal: float | None


RATIOS = (Ratio(CCGATE_WARM, NVIDIA_LOCAL, 15.0), Ratio(CCGATE_COLD, NVIDIA_LOCAL, None))


@dataclass
class VerifyBenchReport:
    """Everything ``ccgate bench verify`` prints."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> Row | None:
        """The row called ``name``, if any."""
        return next((row for row in self.rows if row.name == name), None)

    def ratio(self, ratio: Ratio) -> float | None:
        """The measured speed-up, or None when either side did not run."""
        measured, reference = self.row(ratio.measured), self.row(ratio.reference)
        if measured is None or reference is None or measured.median is None or reference.median is None:
            return None
        return reference.median / measured.median


def _time(verify: Callable[[], str], iterations: int) -> tuple[tuple[float, ...], str]:
    seconds = []
    verdict = ""
    for _ in range(iterations):
        start = time.perf_counter()
        verdict = verify()
        seconds.append(time.perf_counter() - start)
    return tuple(seconds), verdict


def ccgate_rows(vectors: Path, iterations: int) -> list[Row]:
    """ccgate's cold and warm timings on the full-pass vector."""
    nvidia = vectors / "nvidia"
    folder = nvidia / VECTOR
    evidence = GpuEvidence(
        GpuArch.HOPPER,
        bytes.fromhex((folder / "attestationReport.txt").read_text().strip()),
        (folder / "gpuAkCertChain.txt").read_bytes(),
    )
    anchors = nvidia_trust_anchors(
        (nvidia / "roots/verifier_device_root.pem").read_bytes(),
        (nvidia / "roots/verifier_RIM_root.pem").read_bytes(),
    )
    collateral = NvidiaCollateral(
        anchors,
        {
            "NV_GPU_DRIVER_GH100_545.00": ((nvidia / DRIVER_RIM).read_bytes(),),
            "NV_GPU_VBIOS_1010_0200_882_96005E0001": ((nvidia / VBIOS_RIM).read_bytes(),),
        },
    )
    now = datetime.fromisoformat(VECTOR_TIME.replace("Z", "+00:00")).astimezone(UTC)
    nonce = bytes.fromhex(VECTOR_NONCE)
    shared = NvidiaVerifierCache()

    def verify(cache: NvidiaVerifierCache) -> str:
        try:
            claims = verify_gpu_evidence(
                evidence, expected_nonce=nonce, collateral=collateral, now=now, cache=cache
            )
            require_measurements_match(claims)
        except AttestationError as exc:
            return f"rejected ({exc.code})"
        return "verified"

    cold, cold_verdict = _time(lambda: verify(NvidiaVerifierCache()), iterations)
    verify(shared)
    warm, warm_verdict = _time(lambda: verify(shared), iterations)
    return [Row(CCGATE_COLD, VECTOR, cold, cold_verdict), Row(CCGATE_WARM, VECTOR, warm, warm_verdict)]


def _reference_available(python: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec("verifier") is not None
    probe = subprocess.run([python, "-c", "import verifier.cc_admin"], capture_output=True, check=False)
    return probe.returncode == 0


def nvidia_row(vectors: Path, iterations: int, python: str) -> Row:
    """nv-local-gpu-verifier's timings on the same vector, or a row saying why it did not run."""
    if not _reference_available(python):
        return Row(
            NVIDIA_LOCAL,
            VECTOR,
            (),
            "not run",
            f"nv-local-gpu-verifier is not importable by {python}; install ccgate[nvidia] in its own venv "
            "(it pins cryptography 43.0.1) and pass --reference-python",
        )
    # The reference runs in a scratch directory, so every path it is given must be absolute.
    nvidia = vectors.resolve() / "nvidia"
    command = [
        python, "-m", "gateway.bench.nvidia_reference",
        "--report", str(nvidia / VECTOR / "attestationReport.txt"),
        "--chain", str(nvidia / VECTOR / "gpuAkCertChain.txt"),
        "--driver-rim", str(nvidia / DRIVER_RIM),
        "--vbios-rim", str(nvidia / VBIOS_RIM),
        "--nonce", VECTOR_NONCE,
        "--driver-version", "545.00",
        "--vbios-version", "96.00.5E.00.01",
        "--at", VECTOR_TIME,
        "--iterations", str(iterations),
    ]  # fmt: skip
    # NVIDIA's verifier writes verifier.log into its working directory: give it a scratch one.
    with tempfile.TemporaryDirectory(prefix="ccgate-nvidia-reference-") as scratch:
        completed = subprocess.run(command, capture_output=True, check=False, timeout=600, cwd=scratch)
    lines = completed.stdout.decode(errors="replace").strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return Row(NVIDIA_LOCAL, VECTOR, (), "failed", completed.stderr.decode(errors="replace")[-300:])
    verdict = "verified" if result["verified"] else "rejected"
    return Row(NVIDIA_LOCAL, VECTOR, tuple(result["seconds"]), verdict, f"version {result['version']}")


def run_verify_bench(
    vectors: Path, *, iterations: int, reference_iterations: int, reference_python: str | None = None
) -> VerifyBenchReport:
    """Time ccgate (cold, warm) and, when available, nv-local-gpu-verifier on the full-pass vector.

    Raises:
        FileNotFoundError: the vectors are not under ``vectors``.
    """
    if not (vectors / "nvidia" / VECTOR).is_dir():
        raise FileNotFoundError(f"the NVIDIA vectors are not under {vectors}")
    report = VerifyBenchReport(rows=ccgate_rows(vectors, iterations))
    report.rows.append(nvidia_row(vectors, reference_iterations, reference_python or sys.executable))
    snp = vectors / "snp" / SNP_VECTOR
    if snp.is_dir():
        # The milan-v2-trustee chain is time-valid from 2023-01-24 to 2030-01-24; pin inside it.
        pinned = datetime(2026, 11, 26, tzinfo=UTC)
        chain = vectors / "snp" / "roots" / "milan_ask_ark_asvk.pem"
        report.rows.extend(snp_rows(snp, chain, now=pinned, iterations=iterations))
    report.notes.append(
        f"{VECTOR} as of {VECTOR_TIME}; no OCSP responses (ccgate: not-checked; NVIDIA: bypassed)"
    )
    return report
