"""Shared fixtures: where the vendor test vectors live, and how tests skip when they are absent."""

from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
TESTVECTORS = REPOSITORY.parent / "shared" / "testvectors"


def vector_dir(kind: str) -> Path:
    """The folder of real vendor vectors of ``kind`` (nvidia, snp, tdx), or skip the test with the reason."""
    folder = TESTVECTORS / kind
    if not (folder / "PROVENANCE.md").is_file():
        pytest.skip(f"vendor test vectors are not at {folder} (they live read-only in ../shared/testvectors)")
    return folder
