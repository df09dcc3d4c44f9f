"""NVIDIA opaque data: the legacy TLV of the real reports and synthetic NVDAOD (no real vector exists)."""

import pytest

from attestation.nvidia.errors import (
    OpaqueDataError,
    OpaqueDuplicateFieldError,
    OpaqueMissingFieldError,
    OpaqueVersionUnsupportedError,
)
from attestation.nvidia.opaque import OpaqueFieldId, OpaqueFormat, format_vbios_version, parse_opaque_data
from attestation.nvidia.spdm import parse_measurement_report
from tests.attestation.nvidia import vectors as v
from tests.attestation.nvidia.spdm_builder import legacy_opaque, nvdaod_opaque, opaque_fields, u16


@pytest.mark.parametrize(
    ("raw", "version"),
    [
        pytest.param("005e009601000000", "96.00.5E.00.01", id="hopper-545"),
        pytest.param("009f009601000000", "96.00.9F.00.01", id="hopper-550"),
        pytest.param("008800970f000000", "97.00.88.00.0F", id="blackwell-575"),
    ],
)
def test_the_vbios_byte_shuffle_reproduces_nvidias_versions(raw: str, version: str) -> None:
    assert format_vbios_version(bytes.fromhex(raw)) == version


@pytest.mark.vectors
@pytest.mark.parametrize(
    ("vector", "driver", "vbios", "project", "sku", "chip_sku", "fwid"),
    [
        pytest.param(v.HOPPER_545, "545.00", "96.00.5E.00.01", "1010", "0200", "882", None, id="hopper-545"),
        pytest.param(
            v.HOPPER_550, "550.90.07", "96.00.9F.00.01", "1010", "0200", "882", "f5c384ae", id="hopper-550"
        ),
        pytest.param(
            v.BLACKWELL_575, "575.32", "97.00.88.00.0F", "G525", "0220", "886", "d090cab1", id="blackwell"
        ),
    ],
)
def test_the_real_reports_opaque_data(
    vector: v.ReportVector, driver: str, vbios: str, project: str, sku: str, chip_sku: str, fwid: str | None
) -> None:
    opaque = parse_opaque_data(parse_measurement_report(v.report_bytes(vector)).opaque_data)
    assert opaque.format is OpaqueFormat.LEGACY_TLV
    assert (opaque.driver_version, opaque.vbios_version) == (driver, vbios)
    assert (opaque.project, opaque.project_sku, opaque.chip_sku) == (project, sku, chip_sku)
    assert opaque.nvdec0_status == 0x55
    assert (opaque.fwid.hex()[:8] if opaque.fwid else None) == fwid
    assert len(opaque.measurement_counts) == 64
    assert opaque.version == 0


def test_nvdaod_opaque_data_parses_with_value_types_and_its_header_version() -> None:
    fields = [(field_id, 0x80 + field_id, value) for field_id, value in opaque_fields(fwid=b"f" * 48)]
    fields.append((35, 0x86, b"GB202\x00"))
    fields.append((200, 0x01, b"\xde\xad"))
    opaque = parse_opaque_data(nvdaod_opaque(fields, major=2, minor=3))
    assert opaque.format is OpaqueFormat.NVDAOD
    assert (opaque.version, opaque.minor_version) == (2, 3)
    assert opaque.driver_version == "550.90.07"
    assert opaque.chip_info == "GB202"
    assert opaque.fwid == b"f" * 48
    assert opaque.raw(200) == b"\xde\xad", "unknown fields are kept, not dropped"
    assert next(f for f in opaque.fields if f.field_id == OpaqueFieldId.DRIVER_VERSION).value_type == 0x83


def test_nvdaod_ignores_a_stray_legacy_version_entry() -> None:
    fields = [(field_id, 0, value) for field_id, value in opaque_fields()] + [(34, 0, u16(99))]
    assert parse_opaque_data(nvdaod_opaque(fields, major=1)).version == 1


def _nvdaod(**header: int) -> bytes:
    return nvdaod_opaque([(field_id, 0, value) for field_id, value in opaque_fields()], **header)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param(
            legacy_opaque([*opaque_fields(), (3, b"1\x00")]), OpaqueDuplicateFieldError, id="driver twice"
        ),
        pytest.param(legacy_opaque(opaque_fields()[1:]), OpaqueMissingFieldError, id="no VBIOS version"),
        pytest.param(legacy_opaque(opaque_fields())[:-1], OpaqueDataError, id="last entry cut short"),
        pytest.param(legacy_opaque(opaque_fields()) + b"\x03", OpaqueDataError, id="half an entry header"),
        pytest.param(
            legacy_opaque([*opaque_fields(), (34, u16(3))]), OpaqueVersionUnsupportedError, id="legacy v3"
        ),
        pytest.param(legacy_opaque([*opaque_fields(), (34, b"")]), OpaqueDataError, id="empty version entry"),
        pytest.param(
            legacy_opaque([*opaque_fields(), (12, b"\x01\x02\x03")]), OpaqueDataError, id="MSRSCNT not u32s"
        ),
        pytest.param(
            legacy_opaque([*opaque_fields(), (22, b"\x01")]), OpaqueDataError, id="switch PDI not 8 bytes"
        ),
        pytest.param(
            legacy_opaque([*opaque_fields()[:-1], (11, b"\x55\x55")]), OpaqueDataError, id="NVDEC0 2 bytes"
        ),
        pytest.param(
            legacy_opaque([(6, b"\x00" * 7), *opaque_fields()[1:]]),
            OpaqueDataError,
            id="VBIOS version 7 bytes",
        ),
        pytest.param(
            legacy_opaque([*opaque_fields()[:4], (3, b"550\x00junk"), *opaque_fields()[5:]]),
            OpaqueDataError,
            id="bytes after a string's NUL",
        ),
        pytest.param(
            legacy_opaque([*opaque_fields()[:4], (3, b"5\xff0\x00"), *opaque_fields()[5:]]),
            OpaqueDataError,
            id="a non-ASCII driver version",
        ),
        pytest.param(_nvdaod(profile=1), OpaqueVersionUnsupportedError, id="NVDAOD profile 1"),
        pytest.param(_nvdaod(major=3), OpaqueVersionUnsupportedError, id="NVDAOD major 3"),
        pytest.param(_nvdaod(reserved=1), OpaqueDataError, id="NVDAOD reserved bytes set"),
        pytest.param(_nvdaod()[:10], OpaqueDataError, id="NVDAOD header cut short"),
        pytest.param(_nvdaod()[:-1], OpaqueDataError, id="NVDAOD last entry cut short"),
        pytest.param(b"", OpaqueMissingFieldError, id="no opaque data at all"),
    ],
)
def test_each_opaque_malformation_has_its_typed_error(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_opaque_data(data)
