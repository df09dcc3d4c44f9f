"""The collateral store: validating import, export round trip, loaders, and the fetcher (fake server)."""

import json
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.snp import SnpProduct, verify_snp_report
from attestation.tdx import verify_tdx_quote
from gateway.collateral.fetcher import CollateralFetchError, FetchSettings, VendorFetcher
from gateway.collateral.importer import export_collateral, import_collateral
from gateway.collateral.loaders import (
    StoreOcsp,
    StoreRims,
    load_snp_collateral,
    load_tdx_collateral,
    rim_candidates,
)
from gateway.collateral.store import CollateralStore, CollateralStoreError, ItemKind
from gateway.collateral.validation import CollateralRejectedError
from tests.attestation.snp_synthetic import amd_pki
from tests.conftest import TESTVECTORS, vector_dir

NOW = datetime(2026, 11, 26, tzinfo=UTC)
SNP = TESTVECTORS / "snp"
TDX = TESTVECTORS / "tdx"


@pytest.mark.vectors
def test_imported_amd_roots_load_into_a_verifying_collateral(tmp_path: Path) -> None:
    vector_dir("snp")
    store = CollateralStore(tmp_path / "store")
    report = import_collateral(store, SNP / "roots", now=NOW)
    assert {(item.kind, item.key) for item in report.stored} >= {(ItemKind.ROOT, "amd-ark-milan")}
    claims = verify_snp_report(
        (SNP / "milan-v2-trustee/report.bin").read_bytes(),
        vcek_or_vlek=(SNP / "milan-v2-trustee/vcek.der").read_bytes(),
        collateral=load_snp_collateral(store, SnpProduct.MILAN),
        expected_report_data=None,
        now=NOW,
    )
    assert claims.snp is not None


@pytest.mark.vectors
def test_export_then_import_elsewhere_gives_the_same_tdx_collateral(tmp_path: Path) -> None:
    vector_dir("tdx")
    first = CollateralStore(tmp_path / "first")
    import_collateral(first, TDX / "near-mpc-2026-04", now=NOW)
    archive = tmp_path / "collateral.tar.gz"
    assert export_collateral(first, archive) > 0
    second = CollateralStore(tmp_path / "second")
    import_collateral(second, archive, now=NOW)
    claims = verify_tdx_quote(
        (TDX / "near-mpc-2026-04/quote.dat").read_bytes(),
        collateral=load_tdx_collateral(second, "b0c06f000000"),
        expected_report_data=None,
        now=datetime(2026, 4, 15, tzinfo=UTC),
    )
    assert claims.tcb_status.value == "UpToDate"
    stale = {item.key for item in second.items() if item.is_stale(NOW)}
    assert "b0c06f000000" in stale


def test_an_unpinned_root_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    pki = amd_pki()
    source = tmp_path / "in"
    source.mkdir()
    (source / "ark.pem").write_bytes(pki.ark.public_bytes(Encoding.PEM))
    store = CollateralStore(tmp_path / "store")
    with pytest.raises(CollateralRejectedError, match="not a pinned vendor root"):
        import_collateral(store, source, now=NOW)
    assert list(store.items()) == []


@pytest.mark.vectors
def test_a_tcb_info_with_a_bad_signature_is_refused(tmp_path: Path) -> None:
    vector_dir("tdx")
    source = tmp_path / "in"
    source.mkdir()
    (source / "root.pem").write_bytes((TDX / "roots/intel_sgx_root_ca.pem").read_bytes())
    (source / "signer.pem").write_bytes(
        (TDX / "roots/intel_sgx_tcb_signing_2025-05-06_to_2032-05-06.pem").read_bytes()
    )
    text = (TDX / "v5-gotdxguest/tcb_info_90c06f000000.json").read_text()
    (source / "tcb.json").write_text(
        text.replace('"tcbEvaluationDataNumber":18', '"tcbEvaluationDataNumber":19')
    )
    with pytest.raises(CollateralRejectedError, match="signature"):
        import_collateral(CollateralStore(tmp_path / "store"), source, now=NOW)


def test_a_malformed_rim_is_refused_and_a_good_one_is_stored_by_id(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    (source / "bad.xml").write_bytes(b"<SoftwareIdentity tagId='x'>")
    with pytest.raises(CollateralRejectedError, match="well-formed"):
        import_collateral(CollateralStore(tmp_path / "store"), source, now=NOW)
    good = b"<SoftwareIdentity xmlns='http://standards.iso.org/iso/19770/-2/2015/schema.xsd' tagId='abc'/>"
    (source / "bad.xml").write_bytes(good)
    with pytest.raises(CollateralRejectedError, match="RIM id"):
        import_collateral(CollateralStore(tmp_path / "store"), source, now=NOW)
    (source / "bad.xml").unlink()
    (source / "NV_GPU_DRIVER_GH100_1.0.xml").write_bytes(good)
    (source / "NV_GPU_DRIVER_GH100_1.0").mkdir()
    (source / "NV_GPU_DRIVER_GH100_1.0" / "second.xml").write_bytes(good.replace(b"abc", b"def"))
    store = CollateralStore(tmp_path / "store")
    import_collateral(store, source, now=NOW)
    assert len(rim_candidates(store, "NV_GPU_DRIVER_GH100_1.0")) == 2
    assert StoreRims(store)["NV_GPU_DRIVER_GH100_1.0"] == rim_candidates(store, "NV_GPU_DRIVER_GH100_1.0")
    assert list(StoreRims(store)) == ["NV_GPU_DRIVER_GH100_1.0"]
    with pytest.raises(KeyError):
        StoreRims(store)["NV_GPU_DRIVER_GH100_2.0"]
    # One instance serves one verification: it reads an id once; the next one sees later imports.
    during = StoreRims(store)
    first = during["NV_GPU_DRIVER_GH100_1.0"]
    (source / "NV_GPU_DRIVER_GH100_1.0" / "third.xml").write_bytes(good.replace(b"abc", b"ghi"))
    import_collateral(store, source, now=NOW)
    assert during["NV_GPU_DRIVER_GH100_1.0"] == first
    assert len(StoreRims(store)["NV_GPU_DRIVER_GH100_1.0"]) == 3


def test_a_tampered_item_is_detected_on_read(tmp_path: Path) -> None:
    store = CollateralStore(tmp_path)
    item = store.put(ItemKind.NVIDIA_RIM, "r1", b"<a/>", fetched_at=NOW, next_update=None, source="test")
    item.path.write_bytes(b"<b/>")
    with pytest.raises(CollateralStoreError):
        store.get(ItemKind.NVIDIA_RIM, "r1")


@pytest.mark.parametrize("key", ["../escape", "a/b", ".hidden", ""])
def test_keys_cannot_escape_the_store(tmp_path: Path, key: str) -> None:
    with pytest.raises(CollateralStoreError):
        CollateralStore(tmp_path).path_for(ItemKind.NVIDIA_RIM, key)


def test_a_tarball_with_path_traversal_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as archive:
        archive.add(payload, arcname="../../outside.txt")
    with pytest.raises(CollateralRejectedError):
        import_collateral(CollateralStore(tmp_path / "store"), evil, now=NOW)


@pytest.mark.vectors
def test_fetcher_retries_server_errors_then_stores_validated_items(tmp_path: Path) -> None:
    vector_dir("tdx")
    near = json.loads((TDX / "near-mpc-2026-04/collateral.json").read_text())
    calls: list[str] = []

    def vendor(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path.endswith("/tcb") and calls.count(request.url.path) == 1:
            return httpx.Response(503)
        if request.url.path.endswith("/tcb"):
            body = f'{{"tcbInfo":{near["tcb_info"]},"signature":"{near["tcb_info_signature"]}"}}'
            return httpx.Response(
                200, text=body, headers={"TCB-Info-Issuer-Chain": near["tcb_info_issuer_chain"]}
            )
        if request.url.path.endswith("/identity"):
            body = (
                f'{{"enclaveIdentity":{near["qe_identity"]},"signature":"{near["qe_identity_signature"]}"}}'
            )
            return httpx.Response(200, text=body)
        if request.url.path.endswith("/pckcrl"):
            return httpx.Response(
                200,
                content=bytes.fromhex(near["pck_crl"]),
                headers={"SGX-PCK-CRL-Issuer-Chain": near["pck_crl_issuer_chain"]},
            )
        return httpx.Response(404)

    store = CollateralStore(tmp_path / "store")
    fetcher = VendorFetcher(
        store, httpx.Client(transport=httpx.MockTransport(vendor)), FetchSettings(backoff_seconds=0)
    )
    report = fetcher.intel_tdx("b0c06f000000", now=NOW)
    assert (ItemKind.INTEL_TCB_INFO, "b0c06f000000") in {(item.kind, item.key) for item in report.stored}
    assert calls.count("/tdx/certification/v4/tcb") == 2


def test_fetcher_gives_up_after_bounded_attempts(tmp_path: Path) -> None:
    attempts: list[int] = []

    def down(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(502)

    fetcher = VendorFetcher(
        CollateralStore(tmp_path),
        httpx.Client(transport=httpx.MockTransport(down)),
        FetchSettings(attempts=3, backoff_seconds=0),
    )
    with pytest.raises(CollateralFetchError) as caught:
        fetcher.amd_chain("Milan", vlek=False, now=NOW)
    assert caught.value.code == "collateral.fetch_failed"
    assert len(attempts) == 3


def test_fetcher_does_not_retry_a_client_error(tmp_path: Path) -> None:
    attempts: list[int] = []

    def missing(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        return httpx.Response(404)

    fetcher = VendorFetcher(
        CollateralStore(tmp_path),
        httpx.Client(transport=httpx.MockTransport(missing)),
        FetchSettings(backoff_seconds=0),
    )
    with pytest.raises(CollateralFetchError):
        fetcher.nvidia_rim("NV_GPU_DRIVER_X", now=NOW)
    assert len(attempts) == 1


def test_ocsp_responses_are_read_by_serial_on_demand(tmp_path: Path) -> None:
    store = CollateralStore(tmp_path)
    fetched = datetime(2026, 11, 27, tzinfo=UTC)
    for serial, data in ((0xABC, b"response for abc"), (0xDEF, b"response for def")):
        store.put(
            ItemKind.NVIDIA_OCSP,
            format(serial, "x"),
            data,
            fetched_at=fetched,
            next_update=None,
            source="test",
        )
    responses = StoreOcsp(store)
    assert responses[0xABC] == b"response for abc"
    assert responses.get(0x123) is None
    with pytest.raises(KeyError):
        responses[0x123]
    assert sorted(responses) == [0xABC, 0xDEF]
    assert len(responses) == 2
