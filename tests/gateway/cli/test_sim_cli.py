"""``ccgate sim init`` as a user runs it: a site whose devices make Evidence its own collateral verifies."""

import json
import os
import warnings
from datetime import timedelta
from pathlib import Path

import pytest

from attestation.simulated.firmware import RimComponent, SimulatedFirmware
from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from attestation.simulated.verifier import verify_simulated_cpu_report
from enclave_runner.protocol.simulated.storage import load_node
from tests.gateway.cli.cli_runner import ccgate
from tests.simulation import sites
from tests.simulation.spdm_reader import c_string, read_report
from tests.simulation.xmldsig_check import check_rim

pytestmark = pytest.mark.filterwarnings("ignore::attestation.simulated.roots.SimulatedTeeWarning")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sim") / "site"
    done = ccgate("sim", "init", directory, "--gpus", "2", "--driver", sites.OLD_DRIVER)
    assert done.returncode == 0, done.stderr
    assert b"ccgate: warning: the simulated TEE is in use" in done.stderr
    assert b"SIMULATED site" in done.stdout
    return directory


def _roots(site: Path) -> SimulatedRoots:
    folder = site / "gateway" / "roots"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        return SimulatedRoots.from_pem(
            (folder / "device-root.pem").read_bytes(),
            (folder / "rim-root.pem").read_bytes(),
            (folder / "cpu-root.pem").read_bytes(),
        )


def test_the_site_has_gateway_collateral_and_runner_devices(site: Path) -> None:
    assert sorted(p.name for p in (site / "gateway" / "roots").iterdir()) == [
        "cpu-root.pem",
        "device-root.pem",
        "rim-root.pem",
    ]
    firmware = SimulatedFirmware(driver_version=sites.OLD_DRIVER)
    assert sorted(p.name for p in (site / "gateway" / "rims").iterdir()) == sorted(
        f"{firmware.rim_id(component)}.xml" for component in RimComponent
    )
    summary = json.loads((site / "site.json").read_text())
    assert summary["simulated"] is True
    assert summary["driver_version"] == sites.OLD_DRIVER
    assert summary["gpus"] == 2
    for key in site.rglob("key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600


def test_the_node_s_evidence_verifies_against_the_site_s_collateral(site: Path) -> None:
    node = load_node(site / "node")
    roots = _roots(site)
    report_data = os.urandom(64)
    report, certificates = node.cpu.collect(report_data)
    # The site was made at the wall-clock time of the command: verify a day after its roots start.
    now = roots.cpu_root.not_valid_before_utc + timedelta(days=2)
    claims = verify_simulated_cpu_report(
        report, certificates=certificates, roots=roots, expected_report_data=report_data, now=now
    )
    assert claims.simulated is True
    assert claims.measurement == json.loads((site / "site.json").read_text())["runner_measurement"]

    rim_ids = {
        RimComponent.DRIVER: f"NV_GPU_DRIVER_GH100_{sites.OLD_DRIVER}",
        RimComponent.VBIOS: "NV_GPU_VBIOS_1010_0200_882_9600CC0001",
    }
    rims = {
        component: check_rim((site / "gateway" / "rims" / f"{rim_id}.xml").read_bytes(), roots.rim_root, now)
        for component, rim_id in rim_ids.items()
    }
    for gpu in node.gpus:
        spdm = read_report(gpu.collect(bytes(32)).report)
        assert c_string(spdm.field(3)) == sites.OLD_DRIVER
        assert sites.mismatches(tuple(b.digest for b in spdm.blocks), rims, gpu.nvdec0_status) == []


def test_json_output_summarises_the_site(tmp_path: Path) -> None:
    done = ccgate("sim", "init", tmp_path / "s", "--gpus", "0", "--cpu-debug", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["gpus"], document["cpu_debug"], document["simulated"]) == (0, True, True)
    assert document["directory"] == str(tmp_path / "s")


def test_an_existing_site_is_never_overwritten(site: Path) -> None:
    before = (site / "site.json").read_bytes()
    done = ccgate("sim", "init", site)
    assert done.returncode == 1
    assert done.stderr.startswith(b"ccgate: sim.directory_not_empty: ")
    assert (site / "site.json").read_bytes() == before


@pytest.mark.parametrize(
    "arguments",
    [["--driver", "latest"], ["--vbios", "96.00.5E"], ["--gpus", "-1"], ["--gpus", "65"]],
    ids=["a driver version that is not numeric", "a three-part VBIOS", "negative GPUs", "too many GPUs"],
)
def test_bad_options_are_usage_errors(tmp_path: Path, arguments: list[str]) -> None:
    done = ccgate("sim", "init", tmp_path / "s", *arguments)
    assert done.returncode == 2, done.stderr
    assert not (tmp_path / "s").exists()
