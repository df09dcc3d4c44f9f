"""A simulated node saved to a directory loads back as the same devices; bad directories are refused."""

import json
import os
from pathlib import Path

import pytest

from enclave_runner.protocol.errors import SimulatedDeviceFileError
from enclave_runner.protocol.simulated.storage import SimulatedNode, load_node, save_node
from gateway.simulation import cpu_from_material, gpu_from_material
from tests.simulation import sites


def _node(gpus: int = 2) -> SimulatedNode:
    vendor = sites.vendor()
    return SimulatedNode(
        cpu=cpu_from_material(vendor.issue_cpu(debug=True)),
        gpus=tuple(gpu_from_material(vendor.issue_gpu()) for _ in range(gpus)),
    )


@pytest.fixture
def saved(tmp_path: Path) -> tuple[SimulatedNode, Path]:
    node = _node()
    save_node(tmp_path / "node", node)
    return node, tmp_path / "node"


def test_a_saved_node_loads_as_the_same_devices(saved: tuple[SimulatedNode, Path]) -> None:
    node, directory = saved
    loaded = load_node(directory)
    assert loaded.cpu.chip_id == node.cpu.chip_id
    assert loaded.cpu.measurement == node.cpu.measurement
    assert loaded.cpu.debug is True
    assert len(loaded.gpus) == 2
    for original, back in zip(node.gpus, loaded.gpus, strict=True):
        for name in (
            "certificate_chain_pem",
            "measurements",
            "driver_version",
            "vbios_version",
            "project",
            "project_sku",
            "chip_sku",
            "chip_sku_mod",
            "project_sku_mod",
            "nvdec0_status",
            "fwid",
        ):
            assert getattr(back, name) == getattr(original, name), name
        assert back.leaf_private_key.private_numbers() == original.leaf_private_key.private_numbers()


def test_private_keys_are_written_0600(saved: tuple[SimulatedNode, Path]) -> None:
    _, directory = saved
    for key in directory.rglob("key.pem"):
        assert key.stat().st_mode & 0o777 == 0o600, key


def test_a_key_file_others_can_read_is_refused(saved: tuple[SimulatedNode, Path]) -> None:
    _, directory = saved
    os.chmod(directory / "gpu1" / "key.pem", 0o640)
    with pytest.raises(SimulatedDeviceFileError, match="0600"):
        load_node(directory)


def test_saving_never_overwrites(saved: tuple[SimulatedNode, Path]) -> None:
    node, directory = saved
    with pytest.raises(SimulatedDeviceFileError, match="already exists"):
        save_node(directory, node)


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("node.json", '{"format": "ccgate/v1/simulated-node", "gpus": "2"}'),
        ("node.json", '{"format": "other", "gpus": 2}'),
        ("node.json", '{"format": "ccgate/v1/simulated-node", "gpus": 65}'),
        (
            "cpu/device.json",
            '{"format": "ccgate/v1/simulated-cpu", "chip_id": "zz", "measurement": "", "debug": false}',
        ),
        ("gpu0/device.json", "not json"),
        ("gpu0/key.pem", None),
        ("gpu0/chain.pem", None),
    ],
    ids=[
        "a GPU count as a string",
        "another format",
        "too many GPUs",
        "a chip id that is not hex",
        "a device file that is not JSON",
        "a missing key file",
        "a missing chain file",
    ],
)
def test_a_damaged_directory_is_refused(
    saved: tuple[SimulatedNode, Path], path: str, content: str | None
) -> None:
    _, directory = saved
    target = directory / path
    if content is None:
        target.unlink()
    else:
        target.write_text(content)
    with pytest.raises(SimulatedDeviceFileError):
        load_node(directory)


def test_an_extra_field_is_refused(saved: tuple[SimulatedNode, Path]) -> None:
    _, directory = saved
    document = json.loads((directory / "cpu" / "device.json").read_text())
    document["hypervisor"] = "trusted"
    (directory / "cpu" / "device.json").write_text(json.dumps(document))
    with pytest.raises(SimulatedDeviceFileError):
        load_node(directory)
