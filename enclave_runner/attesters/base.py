"""What an Attester provides to the runner's lifecycle."""

from typing import Protocol

from enclave_runner.protocol.messages import CpuEvidenceMessage, GpuEvidenceMessage


class CpuAttester(Protocol):
    """Produces the CPU report of this confidential VM with the given 64-byte report data."""

    def collect(self, report_data: bytes) -> CpuEvidenceMessage:
        """Collect a fresh CPU report binding ``report_data``.

        Raises:
            AttesterError: the report could not be produced.
        """
        ...


class GpuAttester(Protocol):
    """Produces one SPDM measurement report per GPU answering the given 32-byte nonce."""

    def collect(self, nonce: bytes) -> tuple[GpuEvidenceMessage, ...]:
        """Collect fresh Evidence from every GPU.

        Raises:
            AttesterError: a GPU did not answer.
        """
        ...
