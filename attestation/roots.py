"""Vendor roots of trust, pinned by the SHA-256 of their DER encoding.

The root certificates themselves are imported into the collateral store by the operator (from the
vendor, or from ``../shared/testvectors`` in tests) and never committed; whatever is imported must
match one of these pins, and a Verifier accepts a root only if its fingerprint is pinned here or the
caller explicitly passes a simulated root.
"""

import hashlib
from enum import StrEnum
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


class PinnedRoot(StrEnum):
    """The roots ccgate trusts, by name."""

    NVIDIA_DEVICE = "nvidia-device-identity"
    NVIDIA_RIM = "nvidia-rim-signing"
    AMD_ARK_MILAN = "amd-ark-milan"
    AMD_ARK_GENOA = "amd-ark-genoa"
    AMD_ARK_TURIN = "amd-ark-turin"
    INTEL_SGX_ROOT = "intel-sgx-root-ca"


PINNED_ROOT_SHA256: Final[dict[PinnedRoot, str]] = {
    # O=NVIDIA, CN=NVIDIA Device Identity CA (2021-11-05 .. 9999-12-31).
    PinnedRoot.NVIDIA_DEVICE: "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48",
    # C=US, O=NVIDIA, CN=NVIDIA CoRIM signing Root CA (2023-03-16 .. 2053-03-08).
    PinnedRoot.NVIDIA_RIM: "12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1",
    # AMD ARK-Milan / ARK-Genoa / ARK-Turin, as served by the AMD KDS.
    PinnedRoot.AMD_ARK_MILAN: "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    PinnedRoot.AMD_ARK_GENOA: "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    PinnedRoot.AMD_ARK_TURIN: "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
    # Intel SGX Root CA (2018-05-21 .. 2049-12-31), the DCAP root for SGX and TDX.
    PinnedRoot.INTEL_SGX_ROOT: "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3",
}


def der_sha256(certificate: x509.Certificate) -> str:
    """The lowercase hex SHA-256 of a certificate's DER encoding."""
    return hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()


def pinned_root_name(certificate: x509.Certificate) -> PinnedRoot | None:
    """Which pinned root ``certificate`` is, or None when it is not pinned."""
    fingerprint = der_sha256(certificate)
    for name, pinned in PINNED_ROOT_SHA256.items():
        if pinned == fingerprint:
            return name
    return None
