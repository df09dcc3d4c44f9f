"""The bundled baselines and reference values are package data: they must be in the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from policies.baselines import BASELINE_NAMES, REFERENCE_SET_NAMES

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_contains_every_bundled_document(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(tmp_path),
            str(REPOSITORY),
        ],
        capture_output=True,
        check=False,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr.decode(errors="replace")
    (wheel,) = tmp_path.glob("ccgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in BASELINE_NAMES:
        assert f"policies/baselines/{name}.yaml" in names
    for name in REFERENCE_SET_NAMES:
        assert f"policies/baselines/reference-values/{name}.yaml" in names
