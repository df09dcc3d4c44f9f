"""The NVIDIA GPU Verifier (Hopper, Blackwell): SPDM Evidence + RIMs + OCSP → GPU claims.

Entry point: ``verify_gpu_evidence``; collateral: ``NvidiaCollateral`` with trust anchors from
``nvidia_trust_anchors``; steady-state speed: pass one ``NvidiaVerifierCache`` to every call.
"""

from attestation.nvidia.cache import NvidiaVerifierCache
from attestation.nvidia.collateral import (
    NvidiaCollateral,
    NvidiaTrustAnchors,
    SimulatedRootsWarning,
    nvidia_trust_anchors,
)
from attestation.nvidia.rim_ids import RimIds, expected_rim_ids
from attestation.nvidia.verifier import require_measurements_match, verify_gpu_evidence

__all__ = [
    "NvidiaCollateral",
    "NvidiaTrustAnchors",
    "NvidiaVerifierCache",
    "RimIds",
    "SimulatedRootsWarning",
    "expected_rim_ids",
    "nvidia_trust_anchors",
    "require_measurements_match",
    "verify_gpu_evidence",
]
