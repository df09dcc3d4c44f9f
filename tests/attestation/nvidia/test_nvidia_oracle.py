"""Cross-check: NVIDIA's own local verifier reaches ccgate's verdict on the same vectors.

Runs only where the ``[nvidia]`` extra (nv-attestation-sdk → nv-local-gpu-verifier) is importable;
NVIDIA's verifier runs in a subprocess because it keeps global state and needs its OCSP check
bypassed and its clock pinned (see ``gateway.bench.nvidia_reference``).
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from attestation.errors import AttestationError
from attestation.nvidia import require_measurements_match, verify_gpu_evidence
from tests.attestation.nvidia import vectors as v

pytestmark = [
    pytest.mark.vectors,
    pytest.mark.skipif(
        importlib.util.find_spec("verifier") is None,
        reason="nv-local-gpu-verifier is not installed: pip install 'ccgate[nvidia]' in its own venv",
    ),
]


def _nvidia_verdict(vbios_rim: str, time: str, scratch: Path) -> bool:
    folder = v.nvidia_dir()
    command = [
        sys.executable, "-m", "gateway.bench.nvidia_reference",
        "--report", str(folder / v.HOPPER_545.folder / v.HOPPER_545.report),
        "--chain", str(folder / v.HOPPER_545.folder / v.HOPPER_545.chain),
        "--driver-rim", str(folder / v.DRIVER_TEST_RIM),
        "--vbios-rim", str(folder / vbios_rim),
        "--nonce", v.FULL_PASS_NONCE.hex(),
        "--driver-version", "545.00",
        "--vbios-version", "96.00.5E.00.01",
        "--at", time,
    ]  # fmt: skip
    # NVIDIA's verifier writes verifier.log into its working directory.
    completed = subprocess.run(command, capture_output=True, check=False, timeout=300, cwd=scratch)
    verdict = json.loads(completed.stdout.decode().strip().splitlines()[-1])["verified"]
    assert isinstance(verdict, bool)
    return verdict


def _ccgate_verdict(vbios_rim: str, time: str) -> bool:
    collateral = v.collateral(
        {v.FULL_PASS_DRIVER_ID: (v.DRIVER_TEST_RIM,), v.FULL_PASS_VBIOS_ID: (vbios_rim,)}
    )
    try:
        claims = verify_gpu_evidence(
            v.evidence(v.HOPPER_545), expected_nonce=v.FULL_PASS_NONCE, collateral=collateral, now=v.at(time)
        )
        require_measurements_match(claims)
    except AttestationError:
        return False
    return True


@pytest.mark.parametrize(
    ("vbios_rim", "time", "verified"),
    [
        pytest.param(
            v.VBIOS_TEST_RIM, "2025-05-01T00:00:00Z", True, id="the full-pass vector at its pinned time"
        ),
        pytest.param(v.VBIOS_TEST_RIM, "2026-11-26T00:00:00Z", False, id="the full-pass vector at NOW"),
        pytest.param(v.VBIOS_PROD_RIM, "2025-05-01T00:00:00Z", False, id="the PROD RIM with 4 mismatches"),
    ],
)
def test_nvidias_verifier_agrees_with_ccgate(
    vbios_rim: str, time: str, verified: bool, tmp_path: Path
) -> None:
    assert _ccgate_verdict(vbios_rim, time) is verified
    assert _nvidia_verdict(vbios_rim, time, tmp_path) is verified
