"""The simulated GPU's Evidence, read back field by field by an independent reader written from PROVENANCE."""

import dataclasses
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from enclave_runner.protocol.errors import SimulatedDeviceError
from enclave_runner.protocol.simulated.gpu import SimulatedGpu
from enclave_runner.protocol.simulated.spdm import encode_vbios_version
from tests.conftest import vector_dir
from tests.simulation import sites
from tests.simulation.spdm_reader import (
    c_string,
    chain_certificates,
    read_report,
    vbios_version,
    verify_report_signature,
)

NONCE = bytes(range(32))
RESPONDER_NONCE = bytes(range(100, 132))
# Opaque field types in the order real Hopper reports list them (PROVENANCE.md), FWID last.
HOPPER_OPAQUE_ORDER = [6, 14, 15, 16, 17, 18, 19, 3, 4, 12, 13, 11]


def test_the_report_has_the_documented_layout_field_by_field() -> None:
    gpu = sites.gpu()
    report_bytes, chain = gpu.collect(NONCE, responder_nonce=RESPONDER_NONCE)
    report = read_report(report_bytes)

    assert report.request_header == bytes.fromhex("11e001ff")
    assert report.nonce == NONCE
    assert report.slot == 0
    assert report.response_header == bytes.fromhex("11600000")
    assert report.block_count == 64
    assert report.record_length == 3520
    for position, block in enumerate(report.blocks):
        assert (block.index, block.spec, block.size, block.value_type, block.value_size) == (
            position + 1,
            0x01,
            51,
            0x01,
            48,
        )
        assert block.digest == gpu.measurements[position]
    assert report.responder_nonce == RESPONDER_NONCE
    assert len(report_bytes) == 37 + 8 + 3520 + 32 + 2 + report.opaque_length + 96
    assert chain == gpu.certificate_chain_pem


def test_the_opaque_data_carries_the_firmware_in_nvidia_encodings() -> None:
    gpu = sites.gpu()
    report = read_report(gpu.collect(NONCE).report)

    assert [kind for kind, _ in report.opaque] == [*HOPPER_OPAQUE_ORDER, 20]
    assert c_string(report.field(3)) == gpu.driver_version
    assert vbios_version(report.field(6)) == gpu.vbios_version
    assert c_string(report.field(17)) == gpu.project
    assert c_string(report.field(18)) == gpu.project_sku
    assert c_string(report.field(15)) == gpu.chip_sku
    assert c_string(report.field(16)) == gpu.chip_sku_mod
    assert report.field(19) == b"\x00\x00"
    assert report.field(11) == b"\x55"
    assert report.field(20) == gpu.fwid
    assert len(report.field(12)) == 256


def test_the_signature_verifies_under_the_leaf_and_fails_for_a_flipped_bit() -> None:
    report_bytes, chain = sites.gpu().collect(NONCE)
    leaf = chain_certificates(chain)[0]
    verify_report_signature(read_report(report_bytes), leaf)

    flipped = bytearray(report_bytes)
    flipped[40] ^= 0x01  # inside the signed response header/record
    with pytest.raises(InvalidSignature):
        verify_report_signature(read_report(bytes(flipped)), leaf)


def test_a_gpu_without_fwid_reporting_leaves_field_20_out() -> None:
    gpu = dataclasses.replace(sites.gpu(), fwid=None)
    report = read_report(gpu.collect(NONCE).report)
    assert [kind for kind, _ in report.opaque] == HOPPER_OPAQUE_ORDER


def test_each_collection_draws_a_fresh_responder_nonce() -> None:
    gpu = sites.gpu()
    first, second = gpu.collect(NONCE).report, gpu.collect(NONCE).report
    assert read_report(first).responder_nonce != read_report(second).responder_nonce


@pytest.mark.parametrize(
    ("version", "raw"),
    [("96.00.5E.00.01", "005e009601000000"), ("97.00.88.00.0F", "008800970f000000")],
    ids=["the hopper-545 vector's VBIOS", "the blackwell-575 vector's VBIOS"],
)
def test_the_vbios_encoding_matches_real_reports(version: str, raw: str) -> None:
    assert encode_vbios_version(version) == bytes.fromhex(raw)
    assert vbios_version(bytes.fromhex(raw)) == version


@pytest.mark.vectors
def test_the_independent_reader_reads_the_real_full_pass_vector() -> None:
    folder = vector_dir("nvidia") / "hopper-545-fullpass-gonvtrust"
    report_bytes = bytes.fromhex((folder / "attestationReport.txt").read_text().strip())
    report = read_report(report_bytes)
    assert [kind for kind, _ in report.opaque] == HOPPER_OPAQUE_ORDER
    assert vbios_version(report.field(6)) == "96.00.5E.00.01"
    assert c_string(report.field(3)) == "545.00"
    verify_report_signature(report, chain_certificates((folder / "gpuAkCertChain.txt").read_bytes())[0])


def _replace(**changes: object) -> None:
    dataclasses.replace(sites.gpu(), **changes)  # type: ignore[arg-type] # the table passes bad types on purpose.


@pytest.mark.parametrize(
    "changes",
    [
        {"measurements": sites.gpu().measurements[:63]},
        {"measurements": (*sites.gpu().measurements[:63], b"\x00" * 47)},
        {"leaf_private_key": ec.generate_private_key(ec.SECP384R1())},
        {"leaf_private_key": ec.generate_private_key(ec.SECP256R1())},
        {"vbios_version": "96.00.5E.00"},
        {"vbios_version": "96.00.5E.00.GG"},
        {"driver_version": "550\n"},
        {"nvdec0_status": 0x100},
        {"fwid": b"\x01" * 47},
        {"certificate_chain_pem": b"not a certificate"},
    ],
    ids=[
        "63 measurements",
        "a 47-byte measurement",
        "a key that is not the leaf's",
        "a P-256 key",
        "a four-part VBIOS version",
        "a VBIOS version that is not hex",
        "a driver version with a control character",
        "an NVDEC0 status past a byte",
        "a 47-byte FWID",
        "a chain that is not PEM",
    ],
)
def test_material_no_real_gpu_could_hold_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SimulatedDeviceError):
        _replace(**changes)


@pytest.mark.parametrize("size", [0, 31, 33], ids=["empty nonce", "31-byte nonce", "33-byte nonce"])
def test_a_nonce_that_is_not_32_bytes_is_refused(size: int) -> None:
    with pytest.raises(SimulatedDeviceError):
        sites.gpu().collect(os.urandom(size))


def test_the_repr_shows_no_key_material() -> None:
    gpu: SimulatedGpu = sites.gpu()
    assert "PRIVATE" not in repr(gpu)
    assert gpu.measurements[1].hex() not in repr(gpu)
