"""Composing a SIMULATED site (NOT SECURITY): a simulated vendor plus one node's simulated devices.

The simulation is split by RATS role and the two halves may not import each other: the vendor and
its Verifier live in ``attestation.simulated``, the hardware in ``enclave_runner.protocol.simulated``.
The gateway, the only composition root, joins them here: it turns the vendor's issued material into
devices, and writes a site to disk for ``ccgate sim init`` (the gateway's collateral on one side, the
runner's node directory on the other). The demo, the benchmarks and the tests build sites the same way.
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedRoots
from attestation.simulated.vendor import SimulatedCpuMaterial, SimulatedGpuMaterial, SimulatedVendor
from enclave_runner.protocol.simulated.cpu import SimulatedCpu
from enclave_runner.protocol.simulated.gpu import SimulatedGpu
from enclave_runner.protocol.simulated.storage import SimulatedNode, save_node
from gateway.errors import SimulationDirectoryError

SITE_FORMAT: Final = "ccgate/v1/simulated-site"
ROOTS_DIRECTORY: Final = "gateway/roots"
RIMS_DIRECTORY: Final = "gateway/rims"
NODE_DIRECTORY: Final = "node"
SITE_FILE: Final = "site.json"


def gpu_from_material(material: SimulatedGpuMaterial) -> SimulatedGpu:
    """The simulated GPU that holds what the vendor issued."""
    firmware = material.firmware
    return SimulatedGpu(
        leaf_private_key=material.leaf_private_key,
        certificate_chain_pem=material.certificate_chain_pem,
        measurements=material.measurements,
        driver_version=firmware.driver_version,
        vbios_version=firmware.vbios_version,
        project=firmware.project,
        project_sku=firmware.project_sku,
        chip_sku=firmware.chip_sku,
        chip_sku_mod=firmware.chip_sku_mod,
        nvdec0_status=material.nvdec0_status,
        fwid=material.fwid if material.report_fwid else None,
    )


def cpu_from_material(material: SimulatedCpuMaterial) -> SimulatedCpu:
    """The simulated CPU that holds what the vendor issued."""
    return SimulatedCpu(
        signing_key=material.signing_key,
        certificate_chain_pem=material.certificate_chain_pem,
        chip_id=material.chip_id,
        measurement=material.measurement,
        debug=material.debug,
    )


@dataclass(frozen=True, slots=True)
class SimulatedSite:
    """A simulated vendor's roots and RIMs (gateway side) and one node's devices (runner side)."""

    roots: SimulatedRoots
    rims: dict[str, bytes]
    node: SimulatedNode
    firmware: SimulatedFirmware
    gpu_ueids: tuple[str, ...]


def create_simulated_site(
    now: datetime,
    *,
    gpus: int = 1,
    firmware: SimulatedFirmware | None = None,
    cpu_debug: bool = False,
) -> SimulatedSite:
    """A fresh simulated vendor and one node with a CPU and ``gpus`` GPUs running ``firmware``.

    Warns (``SimulatedTeeWarning``) because it hands out simulated roots.

    Raises:
        ValueError: ``gpus`` is negative.
    """
    if gpus < 0:
        raise ValueError("a node has zero or more GPUs")
    firmware = firmware or SimulatedFirmware()
    vendor = SimulatedVendor.create(now)
    gpu_material = [vendor.issue_gpu(firmware) for _ in range(gpus)]
    node = SimulatedNode(
        cpu=cpu_from_material(vendor.issue_cpu(debug=cpu_debug)),
        gpus=tuple(gpu_from_material(material) for material in gpu_material),
    )
    return SimulatedSite(
        roots=vendor.roots,
        rims=vendor.sign_rims([firmware]),
        node=node,
        firmware=firmware,
        gpu_ueids=tuple(material.ueid for material in gpu_material),
    )


def site_summary(site: SimulatedSite) -> dict[str, object]:
    """What an operator needs to know about a site: versions, reference values and identities."""
    return {
        "format": SITE_FORMAT,
        "simulated": True,
        "driver_version": site.firmware.driver_version,
        "vbios_version": site.firmware.vbios_version,
        "rim_ids": sorted(site.rims),
        "runner_measurement": site.node.cpu.measurement.hex(),
        "cpu_chip_id": site.node.cpu.chip_id.hex(),
        "cpu_debug": site.node.cpu.debug,
        "gpus": len(site.node.gpus),
        "gpu_ueids": list(site.gpu_ueids),
    }


def require_empty_directory(directory: Path) -> None:
    """Refuse a site directory that exists and holds anything.

    Raises:
        SimulationDirectoryError: ``directory`` exists and is not an empty directory.
    """
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise SimulationDirectoryError(f"{directory} exists and is not empty; refusing to overwrite a site")


def write_site(site: SimulatedSite, directory: Path) -> None:
    """Write the site under ``directory``, which must not exist or be empty.

    Layout: ``gateway/roots/{device,rim,cpu}-root.pem`` and ``gateway/rims/<rim id>.xml`` for the
    gateway's collateral; ``node/`` for the runner (private keys 0600); ``site.json``, a summary.

    Raises:
        SimulationDirectoryError: ``directory`` exists and is not an empty directory.
        SimulatedDeviceFileError: a device file already exists.
        OSError: a file cannot be written.
    """
    require_empty_directory(directory)
    (directory / ROOTS_DIRECTORY).mkdir(parents=True)
    (directory / RIMS_DIRECTORY).mkdir(parents=True)
    for name, pem in site.roots.to_pem().items():
        _write_new(directory / ROOTS_DIRECTORY / f"{name}.pem", pem)
    for rim_id, document in site.rims.items():
        _write_new(directory / RIMS_DIRECTORY / f"{rim_id}.xml", document)
    save_node(directory / NODE_DIRECTORY, site.node)
    summary = json.dumps(site_summary(site), indent=2, sort_keys=True) + "\n"
    _write_new(directory / SITE_FILE, summary.encode("utf-8"))


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
