"""Simulated vendors and devices for tests, at a pinned time (tests never read the clock)."""

import functools
import warnings
from datetime import UTC, datetime

from attestation.simulated.firmware import NVDEC0_INDEX, RimComponent, SimulatedFirmware
from attestation.simulated.roots import SimulatedRoots, SimulatedTeeWarning
from attestation.simulated.vendor import SimulatedVendor
from enclave_runner.protocol.simulated.gpu import SimulatedGpu
from gateway.simulation import gpu_from_material
from tests.simulation.xmldsig_check import CheckedRim

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
OLD_DRIVER = "535.86.10"


@functools.cache
def vendor() -> SimulatedVendor:
    """One vendor shared by the tests of a session (its generation is the slow part)."""
    return SimulatedVendor.create(NOW)


@functools.cache
def other_vendor() -> SimulatedVendor:
    """A second, unrelated vendor: its roots must not verify the first one's devices."""
    return SimulatedVendor.create(NOW)


def roots(of: SimulatedVendor | None = None) -> SimulatedRoots:
    """The vendor's roots, without the fence's warning (tests that check the warning ask for it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SimulatedTeeWarning)
        return (of or vendor()).roots


@functools.cache
def gpu(firmware: SimulatedFirmware | None = None) -> SimulatedGpu:
    return gpu_from_material(vendor().issue_gpu(firmware))


def mismatches(
    measurements: tuple[bytes, ...], rims: dict[RimComponent, CheckedRim], nvdec0_status: int
) -> list[int]:
    """An independent comparison: every active golden index (0-based) against block index + 1's value.

    Index 35 (NVDEC0) is skipped when the GPU reports NVDEC0 disabled (0x55), NVIDIA's rule.
    """
    failed = []
    for rim in rims.values():
        for index, golden in sorted(rim.golden.items()):
            if not golden.active or (index == NVDEC0_INDEX and nvdec0_status == 0x55):
                continue
            if measurements[index] not in golden.alternatives:
                failed.append(index)
    return sorted(failed)
