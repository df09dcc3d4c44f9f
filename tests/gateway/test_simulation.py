"""Composing a simulated site: the fence's warning, the devices the vendor issued, and refusals."""

from pathlib import Path

import pytest

from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedTeeWarning
from gateway.errors import SimulationDirectoryError
from gateway.simulation import create_simulated_site, require_empty_directory, site_summary
from tests.simulation import sites


def test_a_site_warns_and_holds_what_was_asked_for() -> None:
    firmware = SimulatedFirmware(driver_version=sites.OLD_DRIVER)
    with pytest.warns(SimulatedTeeWarning):
        site = create_simulated_site(sites.NOW, gpus=3, firmware=firmware, cpu_debug=True)
    assert [gpu.driver_version for gpu in site.node.gpus] == [sites.OLD_DRIVER] * 3
    assert len(set(site.gpu_ueids)) == 3
    assert site.node.cpu.debug is True
    assert sorted(site.rims) == sorted([firmware.driver_rim_id, firmware.vbios_rim_id])
    summary = site_summary(site)
    assert (summary["simulated"], summary["gpus"], summary["driver_version"]) == (True, 3, sites.OLD_DRIVER)


def test_a_negative_gpu_count_is_refused() -> None:
    with pytest.raises(ValueError):
        create_simulated_site(sites.NOW, gpus=-1)


def test_a_file_where_the_site_should_go_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "site"
    target.write_text("not a directory")
    with pytest.raises(SimulationDirectoryError):
        require_empty_directory(target)
