"""``ccgate evidence verify nvidia`` run as a user would (a subprocess), on every real vector."""

import json
import shutil
from pathlib import Path

import pytest

from tests.attestation.nvidia import vectors as v
from tests.gateway.cli.cli_runner import ccgate

pytestmark = [pytest.mark.vectors, pytest.mark.slow]

FULL_PASS = [v.DRIVER_TEST_RIM, v.VBIOS_TEST_RIM]


def _run(
    vector: v.ReportVector = v.HOPPER_545,
    *,
    rims: list[str] | None = None,
    nonce: bytes = v.FULL_PASS_NONCE,
    time: str = "2025-05-01T00:00:00Z",
    chain: str | None = None,
    extra: tuple[str | Path, ...] = (),
) -> tuple[int, dict[str, object]]:
    folder = v.nvidia_dir()
    arguments: list[str | Path] = [
        "evidence", "verify", "nvidia",
        "--evidence", folder / vector.folder / vector.report,
        "--cert-chain", folder / vector.folder / (chain or vector.chain),
        "--nonce", nonce.hex(),
        "--device-root", folder / "roots/verifier_device_root.pem",
        "--rim-root", folder / "roots/verifier_RIM_root.pem",
        "--at", time,
        "--json",
    ]  # fmt: skip
    for rim in FULL_PASS if rims is None else rims:
        arguments += ["--rim", folder / rim]
    result = ccgate(*arguments, *extra)
    return result.returncode, json.loads(result.stdout) if result.stdout else {}


def _error(document: dict[str, object]) -> str:
    error = document["error"]
    assert isinstance(error, dict)
    return str(error["code"])


def _claims(document: dict[str, object]) -> dict[str, object]:
    claims = document["claims"]
    assert isinstance(claims, dict)
    return claims


def test_the_full_pass_vector_verifies_with_exit_0() -> None:
    code, document = _run()
    assert code == 0
    assert document["verified"] is True
    assert _claims(document)["measres"] == "success"
    assert _claims(document)["x-nvidia-mismatch-measurement-records"] == []


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        ("2023-06-27T06:10:11Z", 1),
        ("2023-06-27T06:10:13Z", 0),
        ("2025-06-22T09:38:53Z", 0),
        ("2025-06-22T09:38:55Z", 1),
        ("2026-11-26T00:00:00Z", 1),
    ],
)
def test_the_full_pass_vector_holds_exactly_inside_its_window(time: str, expected: int) -> None:
    code, document = _run(time=time)
    assert code == expected
    if expected:
        assert _error(document) == "attestation.nvidia.rim_expired"


@pytest.mark.parametrize(
    ("rims", "indexes"),
    [
        pytest.param([v.DRIVER_TEST_RIM, v.VBIOS_PROD_RIM], [1, 2, 3, 9], id="PROD VBIOS RIM"),
        pytest.param([v.DRIVER_TEST_RIM, v.NVAT_VBIOS_MISMATCH_RIM], [1, 2, 3, 9], id="NVAT VBIOS RIM"),
        pytest.param([v.DRIVER_TEST_RIM, v.VBIOS_0003_RIM], [1, 2, 3, 9, 11], id="96005E0003 RIM"),
        pytest.param(
            [v.NVAT_DRIVER_550_RIM, v.VBIOS_TEST_RIM],
            [7, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 37, 39, 40],
            id="550.144.03 driver RIM",
        ),
    ],
)
def test_substituted_rims_exit_1_with_their_mismatched_indexes(rims: list[str], indexes: list[int]) -> None:
    code, document = _run(rims=rims)
    assert code == 1
    assert _error(document) == "attestation.nvidia.measurement_mismatch"
    records = _claims(document)["x-nvidia-mismatch-measurement-records"]
    assert isinstance(records, list)
    assert [record["index"] for record in records] == indexes


@pytest.mark.parametrize(
    ("rims", "code"),
    [
        pytest.param(
            [v.NVAT_EDITED_535_RIM, v.VBIOS_TEST_RIM],
            "attestation.nvidia.rim_digest_mismatch",
            id="535 edited",
        ),
        pytest.param(
            [v.NVAT_EDITED_570_RIM, v.VBIOS_TEST_RIM],
            "attestation.nvidia.rim_digest_mismatch",
            id="570 edited",
        ),
        pytest.param(
            [v.NVAT_BAD_SIGNATURE_RIM, v.VBIOS_TEST_RIM],
            "attestation.nvidia.rim_signature_invalid",
            id="bad signature",
        ),
        pytest.param(
            [v.DRIVER_TEST_RIM, v.NVAT_BAD_CHAIN_RIM],
            "attestation.nvidia.rim_chain_invalid",
            id="debug chain",
        ),
        pytest.param([v.DRIVER_TEST_RIM], "attestation.nvidia.rim_missing", id="no VBIOS RIM"),
    ],
)
def test_forged_or_missing_rims_exit_1_with_their_code(rims: list[str], code: str) -> None:
    exit_code, document = _run(rims=rims)
    assert exit_code == 1
    assert _error(document) == code


def test_the_invalid_cert_chain_exits_1() -> None:
    code, document = _run(chain="invalidCertChain.txt")
    assert (code, _error(document)) == (1, "attestation.nvidia.device_chain_invalid")


def test_hopper_550_with_the_wrong_nonce_exits_1() -> None:
    code, document = _run(v.HOPPER_550, rims=[], time="2026-11-26T00:00:00Z")
    assert (code, _error(document)) == (1, "attestation.nonce_mismatch")
    assert _claims(document)["x-nvidia-gpu-attestation-report-signature-verified"] is True


@pytest.mark.parametrize("vector", [v.HOPPER_550, v.BLACKWELL_575], ids=["hopper-550", "blackwell-575"])
def test_reports_without_public_rims_pass_their_checks_then_exit_1_on_the_missing_rim(
    vector: v.ReportVector,
) -> None:
    code, document = _run(vector, rims=[], nonce=v.SAMPLE_NONCE, time="2026-11-26T00:00:00Z")
    assert (code, _error(document)) == (1, "attestation.nvidia.rim_missing")
    assert _claims(document)["x-nvidia-gpu-attestation-report-cert-chain-fwid-match"] is True


def test_a_rim_directory_keyed_by_id_with_several_candidates_for_one_id(tmp_path: Path) -> None:
    folder = v.nvidia_dir()
    shutil.copy(folder / v.DRIVER_TEST_RIM, tmp_path / f"{v.FULL_PASS_DRIVER_ID}.swidtag")
    candidates = tmp_path / v.FULL_PASS_VBIOS_ID
    candidates.mkdir()
    shutil.copy(folder / v.VBIOS_PROD_RIM, candidates / "a-prod.xml")
    shutil.copy(folder / v.VBIOS_TEST_RIM, candidates / "b-test.xml")
    code, document = _run(rims=[], extra=("--rim-dir", tmp_path))
    assert code == 0, document


def test_raw_binary_evidence_is_accepted(tmp_path: Path) -> None:
    raw = tmp_path / "report.bin"
    raw.write_bytes(v.report_bytes(v.HOPPER_545))
    folder = v.nvidia_dir()
    result = ccgate(
        "evidence", "verify", "nvidia", "--evidence", raw,
        "--cert-chain", folder / v.HOPPER_545.folder / v.HOPPER_545.chain,
        "--nonce", v.FULL_PASS_NONCE.hex(),
        "--device-root", folder / "roots/verifier_device_root.pem",
        "--rim-root", folder / "roots/verifier_RIM_root.pem",
        "--rim", folder / v.DRIVER_TEST_RIM, "--rim", folder / v.VBIOS_TEST_RIM,
        "--at", "2025-05-01T00:00:00Z",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().rstrip().endswith("verified")


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(("--nonce", "xyz"), id="a nonce that is not hex"),
        pytest.param(("--at", "yesterday"), id="a time that is not RFC 3339"),
        pytest.param(("--at", "2025-05-01T00:00:00"), id="a time without a zone"),
        pytest.param(("--rim", "/nonexistent.xml"), id="a RIM file that does not exist"),
    ],
)
def test_usage_errors_exit_2(extra: tuple[str, ...]) -> None:
    code, _ = _run(extra=extra)
    assert code == 2


def test_hopper_550_against_the_nearest_public_rims_exits_1_with_19_mismatches() -> None:
    code, document = _run(
        v.HOPPER_550,
        rims=[v.DRIVER_TEST_RIM, v.VBIOS_PROD_RIM],
        nonce=v.SAMPLE_NONCE,
        time="2025-05-01T00:00:00Z",
    )
    assert (code, _error(document)) == (1, "attestation.nvidia.measurement_mismatch")
    records = _claims(document)["x-nvidia-mismatch-measurement-records"]
    assert isinstance(records, list)
    assert [record["index"] for record in records] == [
        1, 2, 7, 9, 11, 21, 22, 25, 26, 27, 29, 30, 31, 32, 34, 36, 37, 39, 40,
    ]  # fmt: skip


def test_the_550_144_03_driver_rim_verifies_at_now_and_only_the_vbios_rim_is_missing() -> None:
    code, document = _run(
        v.HOPPER_550, rims=[v.NVAT_DRIVER_550_RIM], nonce=v.SAMPLE_NONCE, time="2026-11-26T00:00:00Z"
    )
    assert (code, _error(document)) == (1, "attestation.nvidia.rim_missing")
    claims = _claims(document)
    assert claims["x-nvidia-gpu-driver-rim-signature-verified"] is True
    assert claims["x-nvidia-gpu-driver-rim-version-match"] is False


@pytest.mark.parametrize(
    ("vbios_rim", "code"),
    [
        pytest.param(
            v.VBIOS_0003_RIM, "attestation.nvidia.measurement_mismatch", id="96005E0003 still valid"
        ),
        pytest.param(v.VBIOS_PROD_RIM, "attestation.nvidia.rim_expired", id="96005E0001 PROD expired"),
    ],
)
def test_on_2025_07_01_only_the_96005e0003_rim_is_chain_valid(vbios_rim: str, code: str) -> None:
    # The 545.00 test driver RIM expired on 2025-06-26: the still-valid 550.144.03 one takes its slot.
    exit_code, document = _run(rims=[v.NVAT_DRIVER_550_RIM, vbios_rim], time="2025-07-01T00:00:00Z")
    assert (exit_code, _error(document)) == (1, code)
