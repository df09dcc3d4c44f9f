"""The firmware of a SIMULATED NVIDIA GPU (NOT SECURITY): versions, RIM ids and 64 measurements.

The measurement values are derived, deterministically, from the RIM id they belong to, so every GPU
with the same driver and VBIOS reports the same values and one pair of RIMs describes them all, as on
real hardware. The layout copies Hopper's (PROVENANCE.md, "hopper-545-fullpass"): the VBIOS RIM is
active at indexes 0–6 and 8–12, the driver RIM at 7 and 21–40; some golden values are all-zero and
matched by all-zero blocks; some indexes have alternatives and the runtime value is one of them; and
index 35 is the NVDEC0 measurement.
"""

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

BLOCK_COUNT: Final = 64
DIGEST_SIZE: Final = 48
ZERO_DIGEST: Final = bytes(DIGEST_SIZE)

VBIOS_ACTIVE_INDEXES: Final = frozenset((*range(7), *range(8, 13)))
DRIVER_ACTIVE_INDEXES: Final = frozenset((7, *range(21, 41)))
# index -> (number of alternatives, the alternative the runtime value equals).
ALTERNATIVES: Final = {23: (2, 1), 24: (2, 1), 35: (2, 1), 12: (4, 0)}
# (index, alternative) pairs whose golden value is all-zero and matched by an all-zero block, as in
# real RIMs (VBIOS 0, 8, 10 and 12's first alternative; driver 28): Verifiers must not drop them.
ZERO_GOLDEN_VALUES: Final = frozenset({(0, 0), (8, 0), (10, 0), (12, 0), (28, 0)})
NVDEC0_INDEX: Final = 35

_MEASUREMENT_LABEL: Final = b"ccgate/v1/simulated-gpu-firmware"
_FWID_LABEL: Final = b"ccgate/v1/simulated-gpu-fwid"
_DRIVER_VERSION: Final = re.compile(r"[0-9]+(\.[0-9]+){1,3}")
_VBIOS_VERSION: Final = re.compile(r"[0-9A-F]{2}(\.[0-9A-F]{2}){4}")
_ID: Final = re.compile(r"[0-9A-Za-z]{1,16}")


class RimComponent(StrEnum):
    """The two RIMs that describe a GPU's firmware."""

    DRIVER = "driver"
    VBIOS = "vbios"


@dataclass(frozen=True, slots=True)
class GoldenMeasurement:
    """One RIM entry: a 0-based index, whether it is active, and its alternative golden values."""

    index: int
    active: bool
    alternatives: tuple[bytes, ...]


def _lp(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


@dataclass(frozen=True, slots=True)
class SimulatedFirmware:
    """Driver and VBIOS of a simulated Hopper GPU. Defaults describe a current simulated build.

    Raises:
        ValueError: a version or id that a real report could not carry (checked on construction).
    """

    driver_version: str = "550.54.15"
    vbios_version: str = "96.00.CC.00.01"
    chip: str = "GH100"
    project: str = "1010"
    project_sku: str = "0200"
    chip_sku: str = "882"
    chip_sku_mod: str = "0"

    def __post_init__(self) -> None:
        if not _DRIVER_VERSION.fullmatch(self.driver_version):
            raise ValueError(f"a driver version looks like 550.54.15, got {self.driver_version!r}")
        if not _VBIOS_VERSION.fullmatch(self.vbios_version):
            raise ValueError(
                f"a VBIOS version looks like 96.00.CC.00.01 (upper case), got {self.vbios_version!r}"
            )
        for name in ("chip", "project", "project_sku", "chip_sku", "chip_sku_mod"):
            if not _ID.fullmatch(getattr(self, name)):
                raise ValueError(f"{name} must be 1-16 ASCII letters or digits")

    @property
    def driver_rim_id(self) -> str:
        """``NV_GPU_DRIVER_<chip>_<driver>``, the id a Verifier derives from a Hopper report."""
        return f"NV_GPU_DRIVER_{self.chip}_{self.driver_version}"

    @property
    def vbios_rim_id(self) -> str:
        """``NV_GPU_VBIOS_<PROJECT>_<PROJECT_SKU>_<CHIP_SKU>_<vbios without dots>``."""
        version = self.vbios_version.replace(".", "").upper()
        return f"NV_GPU_VBIOS_{self.project}_{self.project_sku}_{self.chip_sku}_{version}"

    def rim_id(self, component: RimComponent) -> str:
        """The RIM id of ``component``."""
        return self.driver_rim_id if component is RimComponent.DRIVER else self.vbios_rim_id

    def colloquial_version(self, component: RimComponent) -> str:
        """The version a RIM of ``component`` states in ``Meta/@colloquialVersion``."""
        return self.driver_version if component is RimComponent.DRIVER else self.vbios_version

    def golden_measurements(self, component: RimComponent) -> tuple[GoldenMeasurement, ...]:
        """All 64 entries of ``component``'s RIM; inactive ones carry one all-zero value, as real RIMs do."""
        active_indexes = DRIVER_ACTIVE_INDEXES if component is RimComponent.DRIVER else VBIOS_ACTIVE_INDEXES
        rim_id = self.rim_id(component).encode("ascii")
        entries = []
        for index in range(BLOCK_COUNT):
            if index not in active_indexes:
                entries.append(GoldenMeasurement(index, active=False, alternatives=(ZERO_DIGEST,)))
                continue
            count, _ = ALTERNATIVES.get(index, (1, 0))
            values = tuple(_golden_value(rim_id, index, alternative) for alternative in range(count))
            entries.append(GoldenMeasurement(index, active=True, alternatives=values))
        return tuple(entries)

    def runtime_measurements(self) -> tuple[bytes, ...]:
        """The 64 blocks a GPU running this firmware reports (block ``i + 1`` holds RIM index ``i``)."""
        blocks = [ZERO_DIGEST] * BLOCK_COUNT
        for component in RimComponent:
            for entry in self.golden_measurements(component):
                if entry.active:
                    _, chosen = ALTERNATIVES.get(entry.index, (1, 0))
                    blocks[entry.index] = entry.alternatives[chosen]
        return tuple(blocks)

    @property
    def fwid(self) -> bytes:
        """The 48-byte FWID of the firmware that certifies the attestation key (leaf and report)."""
        return hashlib.sha384(_FWID_LABEL + _lp(self.vbios_rim_id.encode("ascii"))).digest()


def _golden_value(rim_id: bytes, index: int, alternative: int) -> bytes:
    if (index, alternative) in ZERO_GOLDEN_VALUES:
        return ZERO_DIGEST
    return hashlib.sha384(_MEASUREMENT_LABEL + _lp(rim_id) + bytes([index, alternative])).digest()


def tampered_measurement(original: bytes) -> bytes:
    """A different 48-byte value for a block, to simulate firmware that matches no RIM."""
    return hashlib.sha384(b"ccgate/v1/simulated-tampered-measurement" + original).digest()
