"""The demo's simulated hardware: ONE simulated vendor and several nodes with different firmware.

The gateway trusts one simulated vendor (its roots and the RIMs it signed); the demo needs two nodes
from it — a current one, and one whose GPUs run an older driver that the artefact policy refuses — so
that the denial is a policy decision about genuine-looking Evidence, not a verification failure.
NOT SECURITY: development and demos only.
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from attestation.simulated.firmware import SimulatedFirmware
from attestation.simulated.roots import SimulatedRoots
from attestation.simulated.vendor import SimulatedVendor
from enclave_runner.protocol.simulated.storage import SimulatedNode, save_node
from gateway.demo.scenario import SiteIdentity
from gateway.simulation import RIMS_DIRECTORY, ROOTS_DIRECTORY, cpu_from_material, gpu_from_material


@dataclass(frozen=True)
class FleetNode:
    """One simulated node: its devices (for the runner) and its identity (for the provider)."""

    name: str
    node: SimulatedNode
    identity: SiteIdentity
    directory: Path


@dataclass(frozen=True)
class Fleet:
    """A simulated vendor's gateway-side material and its nodes."""

    site: Path
    roots: SimulatedRoots
    nodes: dict[str, FleetNode]


def create_fleet(directory: Path, now: datetime, nodes: dict[str, tuple[SimulatedFirmware, int]]) -> Fleet:
    """Create ``directory`` with a vendor (``gateway/roots``, ``gateway/rims``) and one folder per node.

    ``nodes`` maps a node name to (firmware, number of GPUs). Warns (``SimulatedTeeWarning``).
    """
    vendor = SimulatedVendor.create(now)
    (directory / ROOTS_DIRECTORY).mkdir(parents=True)
    (directory / RIMS_DIRECTORY).mkdir(parents=True)
    for name, pem in vendor.roots.to_pem().items():
        (directory / ROOTS_DIRECTORY / f"{name}.pem").write_bytes(pem)
    firmwares = {firmware for firmware, _ in nodes.values()}
    for rim_id, document in vendor.sign_rims(sorted(firmwares, key=lambda f: f.driver_version)).items():
        (directory / RIMS_DIRECTORY / f"{rim_id}.xml").write_bytes(document)
    made: dict[str, FleetNode] = {}
    for name, (firmware, gpus) in nodes.items():
        materials = [vendor.issue_gpu(firmware) for _ in range(gpus)]
        node = SimulatedNode(
            cpu=cpu_from_material(vendor.issue_cpu()), gpus=tuple(gpu_from_material(m) for m in materials)
        )
        folder = directory / "nodes" / name
        save_node(folder, node)
        identity = SiteIdentity(node.cpu.chip_id.hex(), tuple(m.ueid for m in materials))
        (folder / "identity.json").write_text(
            json.dumps({"cpu_chip_id": identity.cpu_id, "gpu_ueids": list(identity.gpu_serials)}, indent=2)
        )
        os.chmod(folder, 0o700)
        made[name] = FleetNode(name, node, identity, folder)
    return Fleet(directory, vendor.roots, made)
