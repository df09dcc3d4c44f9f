"""Saving and loading SIMULATED devices (NOT SECURITY) to and from a node directory.

The runner's simulated Attester loads its CPU and GPUs from a directory that ``ccgate sim init`` wrote;
file I/O lives here so that the signing code in ``simulated.cpu`` and ``simulated.gpu`` stays pure.
Layout (every file is created exclusively: nothing is ever overwritten)::

    node.json               {"format": "ccgate/v1/simulated-node", "gpus": N}
    cpu/device.json         chip id, measurement, debug flag
    cpu/chain.pem           certificate chain, leaf first
    cpu/key.pem             PKCS#8 private key, mode 0600
    gpu<i>/device.json      firmware versions, ids, NVDEC0 status, FWID, 64 measurements (hex)
    gpu<i>/chain.pem        5-certificate chain, leaf first, ending with the simulated device root
    gpu<i>/key.pem          PKCS#8 private key, mode 0600

A private key file that the group or others may access is refused, as ssh refuses one.
"""

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, ValidationError

from enclave_runner.protocol.errors import SimulatedDeviceError, SimulatedDeviceFileError
from enclave_runner.protocol.simulated.cpu import SimulatedCpu
from enclave_runner.protocol.simulated.gpu import SimulatedGpu

NODE_FORMAT: Final = "ccgate/v1/simulated-node"
CPU_FORMAT: Final = "ccgate/v1/simulated-cpu"
GPU_FORMAT: Final = "ccgate/v1/simulated-gpu"
MAX_GPUS: Final = 64

_DEVICE_FILE: Final = "device.json"
_CHAIN_FILE: Final = "chain.pem"
_KEY_FILE: Final = "key.pem"
_NODE_FILE: Final = "node.json"

_Model = TypeVar("_Model", bound=BaseModel)


class _NodeFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format: Literal["ccgate/v1/simulated-node"]
    gpus: int


class _CpuFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format: Literal["ccgate/v1/simulated-cpu"]
    chip_id: str
    measurement: str
    debug: bool


class _GpuFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    format: Literal["ccgate/v1/simulated-gpu"]
    driver_version: str
    vbios_version: str
    project: str
    project_sku: str
    chip_sku: str
    chip_sku_mod: str
    project_sku_mod: str
    nvdec0_status: int
    fwid: str | None
    measurements: list[str]


@dataclass(frozen=True, slots=True)
class SimulatedNode:
    """The simulated devices of one node: one CPU and its GPUs, in order."""

    cpu: SimulatedCpu
    gpus: tuple[SimulatedGpu, ...]


def save_node(directory: Path, node: SimulatedNode) -> None:
    """Write ``node`` under ``directory`` (created if needed); private keys get mode 0600.

    Raises:
        SimulatedDeviceFileError: a file to write already exists, or the node has too many GPUs.
        OSError: the directory or a file cannot be created.
    """
    if len(node.gpus) > MAX_GPUS:
        raise SimulatedDeviceFileError(f"a simulated node has at most {MAX_GPUS} GPUs")
    directory.mkdir(parents=True, exist_ok=True)
    save_cpu(directory / "cpu", node.cpu)
    for index, gpu in enumerate(node.gpus):
        save_gpu(directory / f"gpu{index}", gpu)
    _write_new(directory / _NODE_FILE, _json({"format": NODE_FORMAT, "gpus": len(node.gpus)}))


def load_node(directory: Path) -> SimulatedNode:
    """Load the node ``save_node`` wrote.

    Raises:
        SimulatedDeviceFileError: a file is missing or malformed, or a key file has lax permissions.
        SimulatedDeviceError: the material does not make a valid device.
    """
    document = _parse(_NodeFile, directory / _NODE_FILE)
    if not 0 <= document.gpus <= MAX_GPUS:
        raise SimulatedDeviceFileError(f"{directory / _NODE_FILE}: gpus must be 0..{MAX_GPUS}")
    gpus = tuple(load_gpu(directory / f"gpu{index}") for index in range(document.gpus))
    return SimulatedNode(cpu=load_cpu(directory / "cpu"), gpus=gpus)


def save_cpu(directory: Path, cpu: SimulatedCpu) -> None:
    """Write one simulated CPU's files under ``directory``.

    Raises:
        SimulatedDeviceFileError: a file to write already exists.
        OSError: a file cannot be created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _write_private_key(directory / _KEY_FILE, cpu.signing_key)
    _write_new(directory / _CHAIN_FILE, cpu.certificate_chain_pem)
    document = {
        "format": CPU_FORMAT,
        "chip_id": cpu.chip_id.hex(),
        "measurement": cpu.measurement.hex(),
        "debug": cpu.debug,
    }
    _write_new(directory / _DEVICE_FILE, _json(document))


def load_cpu(directory: Path) -> SimulatedCpu:
    """Load one simulated CPU.

    Raises:
        SimulatedDeviceFileError: a file is missing or malformed, or the key file has lax permissions.
        SimulatedDeviceError: the material does not make a valid device.
    """
    document = _parse(_CpuFile, directory / _DEVICE_FILE)
    return SimulatedCpu(
        signing_key=_read_private_key(directory / _KEY_FILE),
        certificate_chain_pem=_read(directory / _CHAIN_FILE),
        chip_id=_hex(document.chip_id, directory / _DEVICE_FILE),
        measurement=_hex(document.measurement, directory / _DEVICE_FILE),
        debug=document.debug,
    )


def save_gpu(directory: Path, gpu: SimulatedGpu) -> None:
    """Write one simulated GPU's files under ``directory``.

    Raises:
        SimulatedDeviceFileError: a file to write already exists.
        OSError: a file cannot be created.
    """
    directory.mkdir(parents=True, exist_ok=True)
    _write_private_key(directory / _KEY_FILE, gpu.leaf_private_key)
    _write_new(directory / _CHAIN_FILE, gpu.certificate_chain_pem)
    document = {
        "format": GPU_FORMAT,
        "driver_version": gpu.driver_version,
        "vbios_version": gpu.vbios_version,
        "project": gpu.project,
        "project_sku": gpu.project_sku,
        "chip_sku": gpu.chip_sku,
        "chip_sku_mod": gpu.chip_sku_mod,
        "project_sku_mod": gpu.project_sku_mod,
        "nvdec0_status": gpu.nvdec0_status,
        "fwid": None if gpu.fwid is None else gpu.fwid.hex(),
        "measurements": [measurement.hex() for measurement in gpu.measurements],
    }
    _write_new(directory / _DEVICE_FILE, _json(document))


def load_gpu(directory: Path) -> SimulatedGpu:
    """Load one simulated GPU.

    Raises:
        SimulatedDeviceFileError: a file is missing or malformed, or the key file has lax permissions.
        SimulatedDeviceError: the material does not make a valid device.
    """
    path = directory / _DEVICE_FILE
    document = _parse(_GpuFile, path)
    return SimulatedGpu(
        leaf_private_key=_read_private_key(directory / _KEY_FILE),
        certificate_chain_pem=_read(directory / _CHAIN_FILE),
        measurements=tuple(_hex(value, path) for value in document.measurements),
        driver_version=document.driver_version,
        vbios_version=document.vbios_version,
        project=document.project,
        project_sku=document.project_sku,
        chip_sku=document.chip_sku,
        chip_sku_mod=document.chip_sku_mod,
        project_sku_mod=document.project_sku_mod,
        nvdec0_status=document.nvdec0_status,
        fwid=None if document.fwid is None else _hex(document.fwid, path),
    )


def _json(document: object) -> bytes:
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise SimulatedDeviceFileError(
            f"{path} already exists; refusing to overwrite a simulated device"
        ) from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_new(path, pem, mode=0o600)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise SimulatedDeviceFileError(f"{path} is missing") from exc


def _read_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        with open(path, "rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            pem = handle.read()
    except FileNotFoundError as exc:
        raise SimulatedDeviceFileError(f"{path} is missing") from exc
    # Even a simulated key is refused when others may read it: the habit is the point.
    if mode & 0o077:
        raise SimulatedDeviceFileError(f"{path} has mode {mode:04o}; a private key file must be 0600")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SimulatedDeviceFileError(f"{path} does not hold an unencrypted PEM private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise SimulatedDeviceError(f"{path} does not hold an elliptic-curve private key")
    return key


def _parse(model: type[_Model], path: Path) -> _Model:
    try:
        return model.model_validate_json(_read(path))
    except ValidationError as exc:
        raise SimulatedDeviceFileError(f"{path} is not a valid {model.__name__[1:]}: {exc}") from exc


def _hex(value: str, path: Path) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError as exc:
        raise SimulatedDeviceFileError(f"{path}: {value[:16]!r}… is not hex") from exc
