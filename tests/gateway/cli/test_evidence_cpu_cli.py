"""``ccgate evidence verify snp|tdx`` gives each vector's stated verdict, exit code and JSON shape."""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TESTVECTORS, vector_dir
from tests.gateway.cli.cli_runner import ccgate

pytestmark = pytest.mark.vectors
SNP = TESTVECTORS / "snp"
TDX = TESTVECTORS / "tdx"


@dataclass(frozen=True)
class CliCase:
    id: str
    args: tuple[str | Path, ...]
    exit_code: int
    error_code: str | None


SNP_CASES = [
    CliCase(
        "milan v2 trustee verifies",
        ("--report", SNP / "milan-v2-trustee/report.bin", "--vcek", SNP / "milan-v2-trustee/vcek.der"),
        0,
        None,
    ),
    CliCase(
        "milan v2 debug is rejected for debug",
        (
            "--report",
            SNP / "milan-v2-debug-gosevguest/report.bin",
            "--vcek",
            SNP / "milan-v2-debug-gosevguest/vcek.der",
        ),
        1,
        "attestation.snp.debug_enabled",
    ),
    CliCase(
        "milan v2 debug passes with --allow-debug",
        (
            "--report",
            SNP / "milan-v2-debug-gosevguest/report.bin",
            "--vcek",
            SNP / "milan-v2-debug-gosevguest/vcek.der",
            "--allow-debug",
        ),
        0,
        None,
    ),
    CliCase(
        "milan v3 vlek is expired at now",
        (
            "--report",
            SNP / "milan-v3-vlek-trustee/report.bin",
            "--vlek",
            SNP / "milan-v3-vlek-trustee/vlek.der",
        ),
        1,
        "attestation.cert_expired",
    ),
    CliCase(
        "milan v3 vlek verifies at 2025-06-01",
        (
            "--report",
            SNP / "milan-v3-vlek-trustee/report.bin",
            "--vlek",
            SNP / "milan-v3-vlek-trustee/vlek.der",
            "--at",
            "2025-06-01T00:00:00Z",
        ),
        0,
        None,
    ),
    CliCase(
        "a tampered vcek does not chain",
        (
            "--report",
            SNP / "milan-v2-trustee/report.bin",
            "--vcek",
            SNP / "milan-vcek-tampered-trustee/vcek-invalid-new.der",
        ),
        1,
        "attestation.cert_chain_invalid",
    ),
]


@pytest.mark.parametrize("case", SNP_CASES, ids=[case.id for case in SNP_CASES])
def test_snp_cli_verdicts(case: CliCase) -> None:
    vector_dir("snp")
    args: list[str | Path] = [
        "evidence",
        "verify",
        "snp",
        "--chain",
        SNP / "roots/milan_ask_ark_asvk.pem",
        "--json",
    ]
    if "--at" not in case.args:
        args += ["--at", "2026-11-26T00:00:00Z"]
    result = ccgate(*args, *case.args)
    assert result.returncode == case.exit_code, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["verified"] is (case.exit_code == 0)
    assert (verdict["error"] or {}).get("code") == case.error_code
    assert verdict["claims"]["tee"] == "snp"


def test_snp_debug_verdict_still_reports_the_debug_claim() -> None:
    vector_dir("snp")
    folder = SNP / "milan-v2-debug-gosevguest"
    result = ccgate(
        "evidence", "verify", "snp", "--report", folder / "report.bin", "--vcek", folder / "vcek.der",
        "--chain", SNP / "roots/milan_ask_ark_asvk.pem", "--at", "2026-11-26T00:00:00Z", "--json",
    )  # fmt: skip
    claims = json.loads(result.stdout)["claims"]
    assert claims["debug"] is True
    assert claims["snp"]["debug_allowed"] is True


def test_snp_usage_errors_exit_2() -> None:
    vector_dir("snp")
    folder = SNP / "milan-v2-trustee"
    chain = SNP / "roots/milan_ask_ark_asvk.pem"
    both = ccgate("evidence", "verify", "snp", "--report", folder / "report.bin", "--chain", chain)
    assert both.returncode == 2
    bad_hex = ccgate(
        "evidence", "verify", "snp", "--report", folder / "report.bin", "--vcek", folder / "vcek.der",
        "--chain", SNP / "roots/milan_ask_ark_asvk.pem", "--expected-report-data", "abcd",
    )  # fmt: skip
    assert bad_hex.returncode == 2


def _directory_with_near_mpc_crls(tmp_path: Path, source: Path) -> Path:
    """A collateral folder: ``source``'s files plus the signature-valid 2026 CRLs of near-mpc."""
    near = json.loads((TDX / "near-mpc-2026-04/collateral.json").read_text())
    target = tmp_path / "collateral"
    target.mkdir()
    for item in source.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    (target / "pck_crl.der").write_bytes(bytes.fromhex(near["pck_crl"]))
    (target / "root_ca_crl.der").write_bytes(bytes.fromhex(near["root_ca_crl"]))
    (target / "pck_crl_issuer_chain.pem").write_text(near["pck_crl_issuer_chain"])
    return target


def test_tdx_cli_near_mpc_json_verifies_at_its_window() -> None:
    vector_dir("tdx")
    result = ccgate(
        "evidence", "verify", "tdx", "--quote", TDX / "near-mpc-2026-04/quote.dat",
        "--collateral", TDX / "near-mpc-2026-04/collateral.json",
        "--root", TDX / "roots/intel_sgx_root_ca.pem", "--at", "2026-04-15T00:00:00Z", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["claims"]["tcb_status"] == "UpToDate"
    assert verdict["claims"]["tdx"]["mrtd"].startswith("f06dfda6dce1cf90")


TDX_REJECTIONS = [
    # (id, quote folder, collateral, --at, expected error code)
    ("near-mpc at now is stale", "near-mpc-2026-04", "near-mpc-2026-04/collateral.json", "2026-11-26",
     "attestation.collateral_stale"),
    ("spr has no matching TCB level", "spr-v4-gotdxguest", "collateral-2023-06-gotdxguest", "2023-07-01",
     "attestation.tdx.tcb_level_not_found"),
    ("cos has no collateral for its FMSPC", "cos-v4-padded-gotdxguest", "collateral-2023-06-gotdxguest",
     "2023-07-01", "attestation.collateral_missing"),
    ("outofdate without CRLs lacks collateral", "outofdate-v4-trustee", "outofdate-v4-trustee", "2025-11-01",
     "attestation.collateral_missing"),
    ("v5 lacks a QE identity", "v5-gotdxguest", "v5-gotdxguest", "2026-02-15",
     "attestation.collateral_missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("quote", "collateral", "day", "code"),
    [case[1:] for case in TDX_REJECTIONS],
    ids=[case[0] for case in TDX_REJECTIONS],
)
def test_tdx_cli_rejections(quote: str, collateral: str, day: str, code: str) -> None:
    vector_dir("tdx")
    result = ccgate(
        "evidence", "verify", "tdx", "--quote", TDX / quote / "quote.dat", "--collateral", TDX / collateral,
        "--root", TDX / "roots/intel_sgx_root_ca.pem", "--at", f"{day}T01:00:00Z", "--json",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["error"]["code"] == code


def test_tdx_cli_outofdate_is_refused_unless_allowed(tmp_path: Path) -> None:
    vector_dir("tdx")
    folder = _directory_with_near_mpc_crls(tmp_path, TDX / "outofdate-v4-trustee")
    common = (
        "evidence", "verify", "tdx", "--quote", folder / "quote.dat", "--collateral", folder,
        "--root", TDX / "roots/intel_sgx_root_ca.pem", "--at", "2025-11-01T00:00:00Z", "--json",
    )  # fmt: skip
    refused = ccgate(*common)
    assert refused.returncode == 1, refused.stderr
    verdict = json.loads(refused.stdout)
    assert verdict["error"]["code"] == "attestation.tdx.tcb_status_refused"
    assert verdict["claims"]["tcb_status"] == "OutOfDate"
    allowed = ccgate(*common, "--allow-tcb-status", "OutOfDate")
    assert allowed.returncode == 0, allowed.stderr


NEAR_MPC_REPORT_DATA = (
    "00014ee5e70e861db29a95224e48a47c016ab03c61238333319af7614593cd155ba531073edd69921742beb1c510ff433948"
    + "00" * 14
)


def _verify_near_mpc(*extra: str) -> subprocess.CompletedProcess[bytes]:
    return ccgate(
        "evidence", "verify", "tdx", "--quote", TDX / "near-mpc-2026-04/quote.dat",
        "--collateral", TDX / "near-mpc-2026-04/collateral.json",
        "--root", TDX / "roots/intel_sgx_root_ca.pem", "--at", "2026-04-15T00:00:00Z", "--json", *extra,
    )  # fmt: skip


def test_tdx_cli_expected_report_data_binds_the_quote() -> None:
    vector_dir("tdx")
    unchecked = _verify_near_mpc()
    assert unchecked.returncode == 0, unchecked.stderr
    assert json.loads(unchecked.stdout)["claims"]["report_data_binding"] == "not-checked"
    matching = _verify_near_mpc("--expected-report-data", NEAR_MPC_REPORT_DATA)
    assert matching.returncode == 0, matching.stderr
    claims = json.loads(matching.stdout)["claims"]
    assert claims["report_data_binding"] == "verified"
    assert claims["report_data"] == NEAR_MPC_REPORT_DATA
    # Upper-case hex names the same bytes.
    assert _verify_near_mpc("--expected-report-data", NEAR_MPC_REPORT_DATA.upper()).returncode == 0


def test_tdx_cli_another_report_data_is_refused_with_the_claims_so_far() -> None:
    vector_dir("tdx")
    other = NEAR_MPC_REPORT_DATA[:-2] + "01"
    refused = _verify_near_mpc("--expected-report-data", other)
    assert refused.returncode == 1, refused.stderr
    verdict = json.loads(refused.stdout)
    assert verdict["verified"] is False
    assert verdict["error"]["code"] == "attestation.report_data_mismatch"
    assert verdict["claims"]["report_data"] == NEAR_MPC_REPORT_DATA
    assert verdict["claims"]["tcb_status"] == "UpToDate"


@pytest.mark.parametrize(
    "value",
    ["zz" * 64, NEAR_MPC_REPORT_DATA[:-2], NEAR_MPC_REPORT_DATA + "00", "0"],
    ids=["not hex", "63 bytes", "65 bytes", "odd length"],
)
def test_tdx_cli_malformed_expected_report_data_is_a_usage_error(value: str) -> None:
    vector_dir("tdx")
    result = _verify_near_mpc("--expected-report-data", value)
    assert result.returncode == 2
    assert result.stdout == b""
    assert "--expected-report-data" in result.stderr.decode()
