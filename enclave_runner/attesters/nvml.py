"""NVIDIA GPU Evidence through NVML (``nvidia-ml-py``), in the NRAS/NVAT shape the gateway verifies.

For every GPU: ``nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)`` returns the SPDM
GET_MEASUREMENTS request + response (``attestationReport``), and
``nvmlDeviceGetConfComputeGpuCertificate(handle)`` the device's attestation certificate chain (PEM).
NVML is reached through the ``Nvml`` protocol so that tests run against a fake NVML; the real module
is imported only when this attester is used (install ``ccgate[nvml]``).
"""

import contextlib
import importlib
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from enclave_runner.errors import AttesterError, AttesterUnavailableError
from enclave_runner.protocol.messages import GpuEvidenceMessage, b64encode

ARCHITECTURES: Final[dict[int, Literal["hopper", "blackwell"]]] = {9: "hopper", 10: "blackwell"}
NONCE_SIZE: Final = 32


class Nvml(Protocol):
    """The NVML calls the attester uses (the names ``pynvml`` exports)."""

    def nvmlInit(self) -> None: ...  # noqa: N802 - NVML's own names.

    def nvmlShutdown(self) -> None: ...  # noqa: N802

    def nvmlDeviceGetCount(self) -> int: ...  # noqa: N802

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object: ...  # noqa: N802

    def nvmlDeviceGetArchitecture(self, handle: object) -> int: ...  # noqa: N802

    def nvmlDeviceGetConfComputeGpuAttestationReport(self, handle: object, nonce: bytes) -> object: ...  # noqa: N802

    def nvmlDeviceGetConfComputeGpuCertificate(self, handle: object) -> object: ...  # noqa: N802


def load_nvml() -> Nvml:
    """Import ``pynvml``.

    Raises:
        AttesterUnavailableError: nvidia-ml-py is not installed.
    """
    try:
        module: Nvml = importlib.import_module("pynvml")
    except ImportError as exc:
        raise AttesterUnavailableError("NVML is not available: install ccgate[nvml] (nvidia-ml-py)") from exc
    return module


def _field_bytes(structure: object, data: str, size: str) -> bytes:
    length = int(getattr(structure, size))
    return bytes(getattr(structure, data)[:length])


@dataclass
class NvmlAttester:
    """GPU Evidence from every GPU NVML sees."""

    nvml: Nvml | None = None

    def collect(self, nonce: bytes) -> tuple[GpuEvidenceMessage, ...]:
        """Collect one SPDM report per GPU answering ``nonce``.

        Raises:
            AttesterUnavailableError: NVML is missing or reports no GPU.
            AttesterError: a GPU is of an unknown architecture or NVML failed.
        """
        if len(nonce) != NONCE_SIZE:
            raise AttesterError("the GPU nonce is 32 bytes")
        nvml = self.nvml or load_nvml()
        try:
            nvml.nvmlInit()
        except Exception as exc:
            raise AttesterUnavailableError(f"NVML did not initialise: {exc}") from exc
        try:
            count = nvml.nvmlDeviceGetCount()
            if count == 0:
                raise AttesterUnavailableError("NVML sees no GPU")
            evidence = []
            for index in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                arch = ARCHITECTURES.get(nvml.nvmlDeviceGetArchitecture(handle))
                if arch is None:
                    raise AttesterError(f"GPU {index} is not a Hopper or Blackwell GPU in confidential mode")
                report = nvml.nvmlDeviceGetConfComputeGpuAttestationReport(handle, nonce)
                certificate = nvml.nvmlDeviceGetConfComputeGpuCertificate(handle)
                spdm = _field_bytes(report, "attestationReport", "attestationReportSize")
                chain = _field_bytes(certificate, "attestationCertChain", "attestationCertChainSize")
                evidence.append(
                    GpuEvidenceMessage(arch=arch, evidence=b64encode(spdm), certificate=b64encode(chain))
                )
            return tuple(evidence)
        except AttesterError:
            raise
        except Exception as exc:
            raise AttesterError(f"NVML failed: {exc}") from exc
        finally:
            # Shutting down after a failure must not mask the failure.
            with contextlib.suppress(Exception):
                nvml.nvmlShutdown()
