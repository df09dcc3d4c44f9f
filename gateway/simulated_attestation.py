"""Evidence from a simulated node, in the wire shape, for the gateway's own tools (NOT SECURITY).

The demo enrols its simulated node and the release benchmark generates load with this; the runner
has its own simulated Attester. Both sign with the same simulated devices
(``enclave_runner.protocol.simulated``), so the real Verifier code checks whatever they produce.
"""

from enclave_runner.protocol.binding import gpu_nonce
from enclave_runner.protocol.messages import (
    CpuEvidenceMessage,
    EvidenceMessage,
    GpuEvidenceMessage,
    b64encode,
)
from enclave_runner.protocol.simulated.storage import SimulatedNode


def simulated_evidence(node: SimulatedNode, report_data: bytes) -> EvidenceMessage:
    """The node's CPU report carrying ``report_data`` and every GPU's report answering its GPU nonce."""
    cpu = node.cpu.collect(report_data)
    nonce = gpu_nonce(report_data)
    gpus = []
    for gpu in node.gpus:
        collected = gpu.collect(nonce)
        gpus.append(
            GpuEvidenceMessage(
                arch="hopper",
                evidence=b64encode(collected.report),
                certificate=b64encode(collected.certificate_chain),
            )
        )
    return EvidenceMessage(
        cpu=CpuEvidenceMessage(
            type="simulated", report=b64encode(cpu.report), certificates=b64encode(cpu.certificates)
        ),
        gpus=tuple(gpus),
    )
