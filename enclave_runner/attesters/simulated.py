"""The simulated Attester: Evidence from a simulated node directory (``ccgate sim init``). NOT SECURITY.

It exists so that the whole release protocol, including the real NVIDIA Verifier code, runs on
machines without a TEE. Its Evidence is accepted only by a gateway started with simulation enabled,
and every claim derived from it says ``simulated``.
"""

import warnings
from dataclasses import dataclass
from pathlib import Path

from enclave_runner.errors import AttesterError
from enclave_runner.protocol.errors import ProtocolError
from enclave_runner.protocol.messages import CpuEvidenceMessage, GpuEvidenceMessage, b64encode
from enclave_runner.protocol.simulated.storage import SimulatedNode, load_node


class SimulatedAttesterWarning(UserWarning):
    """Raised once per simulated Attester: its Evidence proves nothing about real hardware."""


def load_simulated_node(directory: Path) -> SimulatedNode:
    """Load a simulated node and warn that it is not security.

    Raises:
        AttesterError: the directory does not hold a valid simulated node.
    """
    warnings.warn(
        f"using SIMULATED TEE hardware from {directory}: development and demos only, NOT security",
        SimulatedAttesterWarning,
        stacklevel=2,
    )
    try:
        return load_node(directory)
    except (ProtocolError, OSError) as exc:
        raise AttesterError(f"cannot load the simulated node in {directory}: {exc}") from exc


@dataclass(frozen=True)
class SimulatedCpuAttester:
    """CPU Evidence from the simulated CPU of a node."""

    node: SimulatedNode

    def collect(self, report_data: bytes) -> CpuEvidenceMessage:
        """Sign a simulated CPU report carrying ``report_data``."""
        collected = self.node.cpu.collect(report_data)
        return CpuEvidenceMessage(
            type="simulated",
            report=b64encode(collected.report),
            certificates=b64encode(collected.certificates),
        )


@dataclass(frozen=True)
class SimulatedGpuAttester:
    """GPU Evidence from every simulated GPU of a node: real-format SPDM, simulated keys."""

    node: SimulatedNode

    def collect(self, nonce: bytes) -> tuple[GpuEvidenceMessage, ...]:
        """One SPDM report per simulated GPU, answering ``nonce``."""
        evidence = []
        for gpu in self.node.gpus:
            collected = gpu.collect(nonce)
            evidence.append(
                GpuEvidenceMessage(
                    arch="hopper",
                    evidence=b64encode(collected.report),
                    certificate=b64encode(collected.certificate_chain),
                )
            )
        return tuple(evidence)
