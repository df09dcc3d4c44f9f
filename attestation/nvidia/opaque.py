"""NVIDIA's opaque data in the MEASUREMENTS response: driver and VBIOS versions, SKUs, NVDEC0, FWID...

Two encodings exist, both little-endian:

* legacy TLV (every report up to CUDA 13.4): ``[u16 type][u16 size][value]...``;
* NVDAOD (the newer, versioned form): a 12-byte header ``"NVDAOD" | u16 profile (0) | u8 major |
  u8 minor | u16 reserved (0)``, then ``[u16 type][u16 value_type][u16 size][value]...``.

The opaque data version is the NVDAOD header's major, or the legacy OPAQUE_DATA_VERSION field (34);
versions above ``MAX_OPAQUE_DATA_VERSION`` are refused. A field id that appears twice is refused
(which value would count is ambiguous). Unknown field ids are kept as raw fields, as NVIDIA's own
verifier does, so a new informational field does not break verification.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from attestation.nvidia.errors import (
    OpaqueDataError,
    OpaqueDuplicateFieldError,
    OpaqueMissingFieldError,
    OpaqueVersionUnsupportedError,
)
from attestation.nvidia.spdm import Field
from attestation.nvidia.wire import ByteReader


class OpaqueFieldId(IntEnum):
    """Opaque data field ids (NVIDIA's OPAQUE_FIELD_ID_*)."""

    CERT_ISSUER_NAME = 1
    CERT_AUTHORITY_KEY_IDENTIFIER = 2
    DRIVER_VERSION = 3
    GPU_INFO = 4
    SKU = 5
    VBIOS_VERSION = 6
    MANUFACTURER_ID = 7
    TAMPER_DETECTION = 8
    SMC = 9
    VPR = 10
    NVDEC0_STATUS = 11
    MSRSCNT = 12
    CPRINFO = 13
    BOARD_ID = 14
    CHIP_SKU = 15
    CHIP_SKU_MOD = 16
    PROJECT = 17
    PROJECT_SKU = 18
    PROJECT_SKU_MOD = 19
    FWID = 20
    PROTECTED_PCIE_STATUS = 21
    SWITCH_PDI = 22
    FLOORSWEPT_PORTS = 23
    POSITION_ID = 24
    LOCK_SWITCH_STATUS = 25
    GPU_LINK_CONN = 32
    SYS_ENABLE_STATUS = 33
    OPAQUE_DATA_VERSION = 34
    CHIP_INFO = 35
    FEATURE_FLAG = 36
    INVALID = 255


class OpaqueFormat(StrEnum):
    """How the opaque data was encoded."""

    LEGACY_TLV = "legacy-tlv"
    NVDAOD = "nvdaod"


NVDAOD_MAGIC = b"NVDAOD"
NVDAOD_PROFILE = 0
MAX_OPAQUE_DATA_VERSION = 2

HEADER_MAGIC = Field("Magic", len(NVDAOD_MAGIC))
HEADER_PROFILE = Field("Profile", 2)
HEADER_MAJOR = Field("MajorVersion", 1)
HEADER_MINOR = Field("MinorVersion", 1)
HEADER_RESERVED = Field("Reserved", 2)
ENTRY_TYPE = Field("DataType", 2)
ENTRY_VALUE_TYPE = Field("DataValueType", 2)
ENTRY_SIZE = Field("DataSize", 2)

VBIOS_VERSION_SIZE = 8
MSRSCNT_ELEMENT_SIZE = 4
SWITCH_PDI_SIZE = 8
MAX_VERSION_FIELD_SIZE = 8
# NVDEC0 and protected-PCIe status bytes: 0xAA enabled, 0x55 disabled.
STATUS_ENABLED = 0xAA
STATUS_DISABLED = 0x55


@dataclass(frozen=True, slots=True)
class OpaqueField:
    """One opaque data entry as sent (``value_type`` is 0 in the legacy format, which has none)."""

    field_id: int
    value_type: int
    value: bytes


@dataclass(frozen=True, slots=True)
class GpuOpaqueData:
    """The opaque data, decoded: the fields every verification needs, plus every raw field."""

    format: OpaqueFormat
    version: int
    minor_version: int
    fields: tuple[OpaqueField, ...]
    driver_version: str
    vbios_version: str
    project: str
    project_sku: str
    chip_sku: str
    chip_sku_mod: str | None
    project_sku_mod: str | None
    chip_info: str | None
    nvdec0_status: int | None
    protected_pcie_status: int | None
    fwid: bytes | None
    measurement_counts: tuple[int, ...]

    def raw(self, field_id: int) -> bytes | None:
        """The raw value of ``field_id``, or None when the report does not carry it."""
        for field in self.fields:
            if field.field_id == field_id:
                return field.value
        return None


def format_vbios_version(raw: bytes) -> str:
    """NVIDIA's VBIOS version string from the 8 raw bytes (e.g. ``005e009601000000`` → ``96.00.5E.00.01``).

    The bytes are read in reverse; the version is the second half of that hex followed by the byte just
    before the middle, grouped in pairs. NVIDIA's verifiers do exactly this; no specification says why.

    Raises:
        OpaqueDataError: the value is not 8 bytes.
    """
    if len(raw) != VBIOS_VERSION_SIZE:
        raise OpaqueDataError(f"the VBIOS version is {len(raw)} bytes, expected {VBIOS_VERSION_SIZE}")
    reversed_hex = raw[::-1].hex()
    middle = len(reversed_hex) // 2
    shuffled = reversed_hex[middle:] + reversed_hex[middle - 2 : middle]
    return ".".join(shuffled[i : i + 2] for i in range(0, len(shuffled), 2)).upper()


def _c_string(value: bytes, field: OpaqueFieldId) -> str:
    """A NUL-terminated ASCII string; only NUL padding may follow the terminator."""
    text, _, padding = value.partition(b"\x00")
    if padding.strip(b"\x00") or not text.isascii() or not text.decode("ascii").isprintable():
        raise OpaqueDataError(f"{field.name} is not a NUL-terminated printable ASCII string")
    return text.decode("ascii")


def _entries(data: bytes) -> tuple[OpaqueFormat, int, int, list[OpaqueField]]:
    reader = ByteReader(data, truncated=OpaqueDataError)
    versioned = data.startswith(NVDAOD_MAGIC)
    major = minor = 0
    if versioned:
        reader.take(HEADER_MAGIC.size, HEADER_MAGIC.name)
        profile = reader.uint(HEADER_PROFILE.size, HEADER_PROFILE.name)
        major = reader.uint(HEADER_MAJOR.size, HEADER_MAJOR.name)
        minor = reader.uint(HEADER_MINOR.size, HEADER_MINOR.name)
        reserved = reader.uint(HEADER_RESERVED.size, HEADER_RESERVED.name)
        if profile != NVDAOD_PROFILE:
            raise OpaqueVersionUnsupportedError(f"NVDAOD profile {profile} is not supported (only 0)")
        if reserved:
            raise OpaqueDataError(f"NVDAOD reserved header bytes are 0x{reserved:04x}, not zero")
    entries: list[OpaqueField] = []
    while reader.remaining:
        field_id = reader.uint(ENTRY_TYPE.size, ENTRY_TYPE.name)
        value_type = reader.uint(ENTRY_VALUE_TYPE.size, ENTRY_VALUE_TYPE.name) if versioned else 0
        size = reader.uint(ENTRY_SIZE.size, ENTRY_SIZE.name)
        entries.append(OpaqueField(field_id, value_type, reader.take(size, f"opaque field {field_id}")))
    return (OpaqueFormat.NVDAOD if versioned else OpaqueFormat.LEGACY_TLV), major, minor, entries


def _unique(entries: Sequence[OpaqueField]) -> dict[int, bytes]:
    values: dict[int, bytes] = {}
    for entry in entries:
        if entry.field_id in values:
            raise OpaqueDuplicateFieldError(f"opaque field {entry.field_id} appears more than once")
        values[entry.field_id] = entry.value
    return values


def _required(values: dict[int, bytes], field: OpaqueFieldId) -> bytes:
    if field not in values:
        raise OpaqueMissingFieldError(f"the report's opaque data has no {field.name}")
    return values[field]


def _optional_string(values: dict[int, bytes], field: OpaqueFieldId) -> str | None:
    return _c_string(values[field], field) if field in values else None


def _status_byte(values: dict[int, bytes], field: OpaqueFieldId) -> int | None:
    if field not in values:
        return None
    if len(values[field]) != 1:
        raise OpaqueDataError(f"{field.name} is {len(values[field])} bytes, expected 1")
    return values[field][0]


def _multiple_of(values: dict[int, bytes], field: OpaqueFieldId, size: int) -> bytes:
    value = values.get(field, b"")
    if len(value) % size:
        raise OpaqueDataError(f"{field.name} is {len(value)} bytes, not a multiple of {size}")
    return value


def _version(format_: OpaqueFormat, major: int, values: dict[int, bytes]) -> int:
    # The NVDAOD header's major IS the version; a stray legacy version entry next to it is ignored,
    # as NVIDIA's verifier does. The legacy format has only the entry (absent means version 0).
    version = major
    if format_ is OpaqueFormat.LEGACY_TLV and OpaqueFieldId.OPAQUE_DATA_VERSION in values:
        raw = values[OpaqueFieldId.OPAQUE_DATA_VERSION]
        if not raw or len(raw) > MAX_VERSION_FIELD_SIZE:
            raise OpaqueDataError(f"OPAQUE_DATA_VERSION is {len(raw)} bytes, expected 1..8")
        version = int.from_bytes(raw, "little")
    if version > MAX_OPAQUE_DATA_VERSION:
        raise OpaqueVersionUnsupportedError(
            f"opaque data version {version} is newer than the supported {MAX_OPAQUE_DATA_VERSION}"
        )
    return version


def parse_opaque_data(data: bytes) -> GpuOpaqueData:
    """Decode the opaque data of a MEASUREMENTS response.

    Raises:
        OpaqueDataError: an entry runs past the end or a value has the wrong shape.
        OpaqueDuplicateFieldError: a field id appears twice.
        OpaqueMissingFieldError: the driver version, VBIOS version or a project id is absent.
        OpaqueVersionUnsupportedError: the NVDAOD profile or the opaque data version is unsupported.
    """
    format_, major, minor, entries = _entries(data)
    values = _unique(entries)
    version = _version(format_, major, values)
    counts = _multiple_of(values, OpaqueFieldId.MSRSCNT, MSRSCNT_ELEMENT_SIZE)
    _multiple_of(values, OpaqueFieldId.SWITCH_PDI, SWITCH_PDI_SIZE)
    fwid = values.get(OpaqueFieldId.FWID)
    return GpuOpaqueData(
        format=format_,
        version=version,
        minor_version=minor,
        fields=tuple(entries),
        driver_version=_c_string(
            _required(values, OpaqueFieldId.DRIVER_VERSION), OpaqueFieldId.DRIVER_VERSION
        ),
        vbios_version=format_vbios_version(_required(values, OpaqueFieldId.VBIOS_VERSION)),
        project=_c_string(_required(values, OpaqueFieldId.PROJECT), OpaqueFieldId.PROJECT),
        project_sku=_c_string(_required(values, OpaqueFieldId.PROJECT_SKU), OpaqueFieldId.PROJECT_SKU),
        chip_sku=_c_string(_required(values, OpaqueFieldId.CHIP_SKU), OpaqueFieldId.CHIP_SKU),
        chip_sku_mod=_optional_string(values, OpaqueFieldId.CHIP_SKU_MOD),
        project_sku_mod=_optional_string(values, OpaqueFieldId.PROJECT_SKU_MOD),
        chip_info=_optional_string(values, OpaqueFieldId.CHIP_INFO),
        nvdec0_status=_status_byte(values, OpaqueFieldId.NVDEC0_STATUS),
        protected_pcie_status=_status_byte(values, OpaqueFieldId.PROTECTED_PCIE_STATUS),
        fwid=fwid if fwid else None,
        measurement_counts=tuple(
            int.from_bytes(counts[i : i + MSRSCNT_ELEMENT_SIZE], "little")
            for i in range(0, len(counts), MSRSCNT_ELEMENT_SIZE)
        ),
    )
