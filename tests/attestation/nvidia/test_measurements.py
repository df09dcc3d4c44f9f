"""Golden-value comparison facts of PROVENANCE.md that need a RIM without its signature checks."""

import pytest

from attestation.nvidia.measurements import compare_measurements, index_conflicts, skips_nvdec0
from attestation.nvidia.rim import parse_rim_xml, read_rim
from attestation.nvidia.spdm import parse_measurement_report
from tests.attestation.nvidia import vectors as v

pytestmark = pytest.mark.vectors


def _indexes(vector: v.ReportVector, rim: str, *, skip_nvdec0: bool = True) -> list[int]:
    document = read_rim(parse_rim_xml(v.read(rim)))
    comparison = compare_measurements(
        document, parse_measurement_report(v.report_bytes(vector)), skip_nvdec0=skip_nvdec0
    )
    return [mismatch.index for mismatch in comparison.mismatches]


@pytest.mark.parametrize(
    ("rim", "indexes"),
    [
        pytest.param(v.NVAT_DRIVER_550_RIM, [7, 22, 31, 39, 40], id="the 550.144.03 driver RIM"),
        pytest.param(v.VBIOS_TEST_RIM, [1, 2, 3, 9, 11], id="the 96005E0001 test VBIOS RIM"),
        pytest.param(v.NVAT_VBIOS_MISMATCH_RIM, [1, 2, 11], id="NVAT's re-issued VBIOS RIM"),
    ],
)
def test_hopper_550_mismatches_each_public_rim_at_known_indexes(rim: str, indexes: list[int]) -> None:
    assert _indexes(v.HOPPER_550, rim) == indexes


def test_index_35_is_skipped_only_because_nvdec0_is_disabled() -> None:
    with_skip = _indexes(v.HOPPER_545, v.NVAT_EDITED_570_RIM, skip_nvdec0=True)
    without_skip = _indexes(v.HOPPER_545, v.NVAT_EDITED_570_RIM, skip_nvdec0=False)
    assert len(with_skip) == 13
    assert sorted([*with_skip, 35]) == without_skip


@pytest.mark.parametrize(
    ("status", "skips"),
    [
        pytest.param(0x55, True, id="0x55 disabled skips index 35"),
        pytest.param(0xAA, False, id="0xAA enabled compares it"),
        pytest.param(None, False, id="absent compares it (fail closed)"),
        pytest.param(0x00, False, id="an unknown value compares it (fail closed)"),
    ],
)
def test_the_nvdec0_rule(status: int | None, skips: bool) -> None:
    assert skips_nvdec0(status) is skips


def test_the_full_pass_rims_honour_alternatives_and_all_zero_golden_values() -> None:
    report = parse_measurement_report(v.report_bytes(v.HOPPER_545))
    driver = read_rim(parse_rim_xml(v.read(v.DRIVER_TEST_RIM)))
    vbios = read_rim(parse_rim_xml(v.read(v.VBIOS_TEST_RIM)))
    driver_result = compare_measurements(driver, report, skip_nvdec0=True)
    vbios_result = compare_measurements(vbios, report, skip_nvdec0=True)
    assert driver_result.mismatches == vbios_result.mismatches == ()
    assert len(driver_result.compared) + len(vbios_result.compared) == 32
    assert driver_result.skipped == (35,)
    assert index_conflicts(driver, vbios) == ()
    zero = bytes(48)
    for index in (0, 8, 10, 12):
        assert report.digest_at(index + 1) == zero
        assert zero in next(g for g in vbios.measurements if g.index == index).values
    assert report.digest_at(24) == driver.measurements[23].values[1] != driver.measurements[23].values[0]


def test_a_driver_and_vbios_rim_claiming_one_index_conflict() -> None:
    driver = read_rim(parse_rim_xml(v.read(v.DRIVER_TEST_RIM)))
    assert index_conflicts(driver, driver) == tuple(g.index for g in driver.active)
