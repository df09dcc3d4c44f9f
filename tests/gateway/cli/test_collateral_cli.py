"""``ccgate collateral import|export|status``, run as a user would (no network: ``fetch`` is not run here)."""

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from tests.conftest import TESTVECTORS, vector_dir
from tests.gateway.cli.cli_runner import ccgate

SNP = TESTVECTORS / "snp"
TDX = TESTVECTORS / "tdx"
NOW = "2026-11-26T00:00:00Z"
# Inside near-mpc's window (PROVENANCE: everything verifies 2026-03-30T11:17:23Z .. 2026-04-29T10:40:05Z).
NEAR_MPC_DAY = "2026-04-15T00:00:00Z"
# The Intel items a TDX quote needs besides its FMSPC's TCB info (see collateral_commands._needed_for_tdx).
INTEL_COMMON = {
    ("root", "intel-sgx-root-ca"),
    ("intel-qe-identity", "td_qe"),
    ("intel-crl", "platform"),
    ("intel-crl", "root"),
    ("intel-chain", "tcb-signing"),
    ("intel-chain", "pck-platform"),
}
# Rich wraps usage errors at the terminal width; a wide one keeps each message on one line.
WIDE = {**os.environ, "COLUMNS": "200"}


def _json(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


def _import(source: Path, store: Path, at: str = NEAR_MPC_DAY) -> dict[str, Any]:
    result = ccgate("collateral", "import", source, "--store", store, "--at", at, "--json")
    assert result.returncode == 0, result.stderr
    return _json(result)


def _status(store: Path, at: str, *evidence: str | Path) -> dict[str, Any]:
    result = ccgate("collateral", "status", "--store", store, "--at", at, "--json", *evidence)
    assert result.returncode == 0, result.stderr
    return _json(result)


def _rows(status: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    items = status["items"]
    assert isinstance(items, list)
    return {(row["kind"], row["key"]): row for row in items}


def _missing(status: dict[str, Any]) -> set[tuple[str, str]]:
    missing = status["missing"]
    assert isinstance(missing, list)
    return {(row["kind"], row["key"]) for row in missing}


def _store_with_amd_and_near_mpc(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    _import(SNP / "roots", store)
    _import(TDX / "near-mpc-2026-04", store)
    return store


@pytest.mark.vectors
def test_import_then_status_shows_what_is_held(tmp_path: Path) -> None:
    vector_dir("snp")
    vector_dir("tdx")
    store = tmp_path / "store"
    amd = _import(SNP / "roots", store)
    stored = {(item["kind"], item["key"]) for item in amd["stored"]}
    assert stored == {
        ("root", "amd-ark-milan"), ("root", "amd-ark-genoa"), ("root", "amd-ark-turin"),
        ("amd-ask", "milan"), ("amd-ask", "genoa"), ("amd-ask", "turin"),
        ("amd-asvk", "milan"), ("amd-asvk", "genoa"), ("amd-asvk", "turin"),
    }  # fmt: skip
    intel = _import(TDX / "near-mpc-2026-04", store)
    # quote.json (the quote as a JSON byte array) is not collateral: listed as skipped, not stored.
    assert [Path(str(item["path"])).name for item in intel["skipped"]] == ["quote.json"]

    status = _status(
        store, NEAR_MPC_DAY,
        "--snp-report", SNP / "milan-v2-trustee/report.bin",
        "--tdx-quote", TDX / "near-mpc-2026-04/quote.dat",
    )  # fmt: skip
    rows = _rows(status)
    assert set(rows) == stored | INTEL_COMMON | {("intel-tcb-info", "b0c06f000000")}
    assert _missing(status) == set()
    assert not any(row["stale"] for row in rows.values())
    tcb_info = rows[("intel-tcb-info", "b0c06f000000")]
    assert tcb_info["fetched_at"] == "2026-04-15T00:00:00+00:00"
    assert tcb_info["next_update"] == "2026-04-29T10:40:05+00:00"
    # The store is the documented layout on disk, each item with its sidecar.
    assert (store / "intel/tcb-info/b0c06f000000.json").is_file()
    assert (store / "intel/tcb-info/b0c06f000000.json.meta.json").is_file()
    assert (store / "amd/milan/ask.pem").is_file()


@pytest.mark.vectors
def test_status_at_now_marks_exactly_the_expired_intel_items_stale(tmp_path: Path) -> None:
    vector_dir("snp")
    vector_dir("tdx")
    store = _store_with_amd_and_near_mpc(tmp_path)
    status = _status(store, NOW)
    stale = {key for key, row in _rows(status).items() if row["stale"]}
    # PROVENANCE: TCB info, QE identity and PCK CRL end 2026-04-29; the root CA CRL runs to 2027-02-26.
    assert stale == {
        ("intel-tcb-info", "b0c06f000000"),
        ("intel-qe-identity", "td_qe"),
        ("intel-crl", "platform"),
    }
    text = ccgate("collateral", "status", "--store", store, "--at", NOW)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.decode().splitlines()
    assert any(line.split()[:3] == ["STALE", "intel-tcb-info", "b0c06f000000"] for line in lines)
    assert any(line.split()[:3] == ["fresh", "intel-crl", "root"] for line in lines)
    assert not any(line.startswith("MISSING") for line in lines)


@pytest.mark.vectors
def test_status_lists_what_an_empty_store_is_missing_for_snp_and_tdx(tmp_path: Path) -> None:
    vector_dir("snp")
    vector_dir("tdx")
    status = _status(
        tmp_path / "empty", NOW,
        # Version 2 names no product: its ASK is needed for whichever product it is.
        "--snp-report", SNP / "milan-v2-trustee/report.bin",
        # Version 3, VLEK-signed, CPUID Milan: the Milan ASVK.
        "--snp-report", SNP / "milan-v3-vlek-trustee/report.bin",
        "--tdx-quote", TDX / "near-mpc-2026-04/quote.dat",
    )  # fmt: skip
    assert status["items"] == []
    assert _missing(status) == {
        ("amd-ask", "milan"), ("amd-ask", "genoa"), ("amd-ask", "turin"),
        ("amd-asvk", "milan"),
        ("intel-tcb-info", "b0c06f000000"),
    } | INTEL_COMMON  # fmt: skip
    text = ccgate(
        "collateral", "status", "--store", tmp_path / "empty", "--at", NOW,
        "--snp-report", SNP / "milan-v3-vlek-trustee/report.bin",
    )  # fmt: skip
    assert text.returncode == 0, text.stderr
    assert [line.split() for line in text.stdout.decode().splitlines()] == [["MISSING", "amd-asvk", "milan"]]


@pytest.mark.vectors
def test_status_names_only_the_tcb_info_another_platform_lacks(tmp_path: Path) -> None:
    vector_dir("snp")
    vector_dir("tdx")
    store = _store_with_amd_and_near_mpc(tmp_path)
    status = _status(
        store, NEAR_MPC_DAY,
        "--tdx-quote", TDX / "v5-gotdxguest/quote.dat",
        "--tdx-quote", TDX / "near-mpc-2026-04/quote.dat",
        "--snp-report", SNP / "milan-v3-vlek-trustee/report.bin",
    )  # fmt: skip
    assert _missing(status) == {("intel-tcb-info", "90c06f000000")}


@pytest.mark.vectors
def test_export_then_import_elsewhere_round_trips(tmp_path: Path) -> None:
    vector_dir("snp")
    vector_dir("tdx")
    first = _store_with_amd_and_near_mpc(tmp_path)
    archive = tmp_path / "collateral.tar.gz"
    exported = ccgate("collateral", "export", archive, "--store", first)
    assert exported.returncode == 0, exported.stderr
    count = len(_rows(_status(first, NOW)))
    assert exported.stdout.decode().split()[:2] == ["exported", str(count)]
    again_json = ccgate("collateral", "export", tmp_path / "again.tar.gz", "--store", first, "--json")
    assert again_json.returncode == 0, again_json.stderr
    assert json.loads(again_json.stdout) == {"exported": count, "target": str(tmp_path / "again.tar.gz")}

    second = tmp_path / "second"
    again = _import(archive, second)
    assert again["skipped"] == []
    assert _status(second, NOW) == _status(first, NOW)
    data = sorted(
        path.relative_to(first) for path in first.rglob("*") if path.is_file() and "meta" not in path.name
    )
    assert len(data) == count
    for relative in data:
        assert (second / relative).read_bytes() == (first / relative).read_bytes(), relative
    # The round-tripped store is usable as it is: the TDX verifier takes it as its collateral folder.
    verdict = ccgate(
        "evidence", "verify", "tdx", "--quote", TDX / "near-mpc-2026-04/quote.dat",
        "--collateral", second, "--at", NEAR_MPC_DAY, "--json",
    )  # fmt: skip
    assert verdict.returncode == 0, verdict.stderr
    assert _json(verdict)["claims"]["tcb_status"] == "UpToDate"


def test_a_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    result = ccgate("collateral", "import", tmp_path / "nowhere", "--store", tmp_path / "store", env=WIDE)
    assert result.returncode == 2
    assert "does not exist" in result.stderr.decode()
    assert not (tmp_path / "store").exists()


def test_a_file_that_is_neither_a_directory_nor_a_tarball_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "collateral.bin"
    junk.write_bytes(b"not a tarball, not a directory")
    result = ccgate("collateral", "import", junk, "--store", tmp_path / "store")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("ccgate: collateral.rejected: ")
    assert "neither a directory nor a readable tarball" in result.stderr.decode()
    assert not (tmp_path / "store").exists()


def _crl_of_an_unknown_issuer() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Somebody Else's CA")]))
        .last_update(moment)
        .next_update(moment + timedelta(days=30))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def test_unknown_kinds_are_skipped_and_a_crl_of_an_unknown_issuer_is_rejected(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "notes.txt").write_text("these are not collateral")
    (source / "other.json").write_text('{"hello": "world"}')
    skipped = ccgate("collateral", "import", source, "--store", tmp_path / "store", "--json")
    assert skipped.returncode == 0, skipped.stderr
    report = _json(skipped)
    assert report["stored"] == []
    assert {Path(str(item["path"])).name: item["reason"] for item in report["skipped"]} == {
        "notes.txt": "not recognised as collateral",
        "other.json": "JSON that is not PCS or dcap-qvl collateral",
    }
    assert _status(tmp_path / "store", NOW)["items"] == []

    (source / "revocations.crl").write_bytes(_crl_of_an_unknown_issuer())
    rejected = ccgate("collateral", "import", source, "--store", tmp_path / "store")
    assert rejected.returncode == 1
    assert rejected.stderr.decode().startswith("ccgate: collateral.rejected: ")
    assert "a CRL from an unknown issuer Somebody Else's CA" in rejected.stderr.decode()


@pytest.mark.vectors
def test_one_bad_item_rejects_the_whole_import(tmp_path: Path) -> None:
    vector_dir("snp")
    source = tmp_path / "in"
    source.mkdir()
    (source / "roots.pem").write_bytes((SNP / "roots/milan_ask_ark_asvk.pem").read_bytes())
    tampered = SNP / "milan-vcek-tampered-trustee/vcek-invalid-legacy.der"
    (source / "vcek.der").write_bytes(tampered.read_bytes())
    result = ccgate("collateral", "import", source, "--store", tmp_path / "store")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("ccgate: collateral.rejected: ")
    assert "SEV-VCEK does not verify" in result.stderr.decode()
    # Not even the valid Milan roots of the same import were written.
    assert _status(tmp_path / "store", NOW)["items"] == []


def test_exporting_an_empty_store_is_refused(tmp_path: Path) -> None:
    result = ccgate("collateral", "export", tmp_path / "out.tar.gz", "--store", tmp_path / "store")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("ccgate: collateral.rejected: ")
    assert "is empty" in result.stderr.decode()
    assert not (tmp_path / "out.tar.gz").exists()


@pytest.mark.parametrize("option", ["--snp-report", "--tdx-quote"])
def test_status_with_evidence_that_does_not_parse_is_a_usage_error(tmp_path: Path, option: str) -> None:
    junk = tmp_path / "evidence.bin"
    junk.write_bytes(b"\x01" * 100)
    result = ccgate("collateral", "status", "--store", tmp_path / "store", option, junk, env=WIDE)
    assert result.returncode == 2
    assert "the Evidence does not parse" in result.stderr.decode()


def test_status_with_a_bad_time_is_a_usage_error(tmp_path: Path) -> None:
    result = ccgate("collateral", "status", "--store", tmp_path / "store", "--at", "yesterday", env=WIDE)
    assert result.returncode == 2
    assert "not an RFC 3339 timestamp" in result.stderr.decode()
